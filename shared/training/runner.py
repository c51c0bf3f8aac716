"""One training run, start to finish, for any task of any domain.

`task` is any `shared.domain.Task`: the runner only calls its hooks
(`load_data`, `build_model`, `compile`, `fit_data`, `evaluate`, `input_spec`).

The runner resolves the pieces (config, strategy, precision, callbacks),
asks the task for data and a model, hands them to the engine, then writes
the self-describing run directory. It never builds domain objects itself.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shared import model_card, run_files, runs
from shared.config import dump, validate
from shared.errors import ConfigError, RunError
from shared.progress import Stages, keras_verbosity
from shared.run_lock import LOCK_NAME, RunLock
from shared.training.cluster import read_tf_config

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    run_dir: Path
    metrics: dict
    history: dict


# An `--overwrite` moves the old run here first and deletes it once the new
# config is written; a start that finds it (after a crash) deletes it.
REPLACED_NAME = ".replaced-run.old"
_SHOWN_CHANGES = 3
_UNSET = object()


def prepare_run(task, cfg, run_dir: Path | None = None, *, overwrite: bool = False) -> Path:
    """Create the run directory and write the resolved config into it.

    An existing `run_dir` must be empty: one that holds a run is refused
    (with the config keys that differ, or a pointer to `--resume` when none
    do) unless `overwrite` is set, and one that holds other files is always
    refused. Call it under the directory's lock (`start_run`) when other
    processes may write the same directory.

    In a multi-worker cluster (`TF_CONFIG`), every worker names the same
    `run_dir` and only the chief writes it.
    """
    if not _writes_run_dir(run_dir):
        return run_dir
    run_dir, named = _run_dir_for(task, cfg, run_dir)
    replaced = _claim_for_new_run(run_dir, cfg, overwrite) if named else None
    runs.write_text(run_dir / "config.yaml", dump(cfg))
    runs.write_status(run_dir, "running")
    if replaced is not None:
        shutil.rmtree(replaced, ignore_errors=True)
    return run_dir


@contextlib.contextmanager
def start_run(task, cfg, run_dir: Path | None = None, *, overwrite: bool = False) -> Iterator[Path]:
    """`prepare_run` under the run directory's lock, held until the block ends.

    Yields the run directory. The lock (`shared.run_lock.RunLock`) makes
    this process its only writer; in a multi-worker cluster only the chief
    takes it, since the other workers only read the directory.
    """
    if not _writes_run_dir(run_dir):
        yield prepare_run(task, cfg, run_dir)
        return
    run_dir, _ = _run_dir_for(task, cfg, run_dir)
    with RunLock(run_dir):
        yield prepare_run(task, cfg, run_dir, overwrite=overwrite)


def load_for_resume(task_lookup, run_dir: Path, expected=None) -> tuple[Any, Any]:
    """Re-open an interrupted run: its config and task come from the directory.

    `expected`, a config the caller resolved from its own options, must
    equal the saved one.
    """
    if not (run_dir / "config.yaml").is_file():
        raise RunError(f"cannot resume {run_dir}: no config.yaml there (is it a run directory?)")
    run = runs.Run(run_dir)
    if expected is not None:
        changes = config_changes(run.config_data, expected)
        if changes:
            raise RunError(f"cannot resume {run_dir} with another config ({_show_changes(changes)}); give `dlsuite train --resume {run_dir}` alone to continue it as saved")
    task = task_lookup(run.domain_name, run.task_name)
    return task, validate(task.config_schema(), run.config_data)


@contextlib.contextmanager
def resume_run(task_lookup, run_dir: Path, expected=None) -> Iterator[tuple[Any, Any]]:
    """`load_for_resume` under the run directory's lock, held until the block ends.

    Yields `(task, cfg)`. Once the lock is held, the leftovers of saves that
    were interrupted (`.NAME.*.tmp`, `.NAME.old`) are removed. In a
    multi-worker cluster only the chief takes the lock and cleans up.
    """
    if not _writes_run_dir(run_dir):
        yield load_for_resume(task_lookup, run_dir, expected)
        return
    if not (run_dir / "config.yaml").is_file():
        raise RunError(f"cannot resume {run_dir}: no config.yaml there (is it a run directory?)")
    with RunLock(run_dir):
        loaded = load_for_resume(task_lookup, run_dir, expected)
        remove_interrupted_saves(run_dir)
        yield loaded


def config_changes(saved: dict, cfg) -> list[str]:
    """`key: old -> new` for each config key whose value differs, in `cfg`'s key order."""
    before = _flatten(saved if isinstance(saved, dict) else {})
    after = _flatten(yaml.safe_load(dump(cfg)))
    keys = [*after, *(k for k in before if k not in after)]
    return [
        f"{key}: {_show(before.get(key, _UNSET))} -> {_show(after.get(key, _UNSET))}"
        for key in keys
        if before.get(key, _UNSET) != after.get(key, _UNSET)
    ]


def remove_interrupted_saves(run_dir: Path) -> list[Path]:
    """Delete what interrupted atomic writes left in `run_dir`, at any depth.

    `shared.runs.atomic_path` writes into a `.NAME.<random>.tmp` sibling and
    parks a replaced directory as `.NAME.old`; a process killed meanwhile
    leaves them behind. Call only while holding the run directory's lock.
    """
    removed = []
    for root, dirs, files in os.walk(run_dir):
        for name in [*dirs, *files]:
            if _is_interrupted_save(name):
                path = Path(root) / name
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
                removed.append(path)
        dirs[:] = [d for d in dirs if not _is_interrupted_save(d)]
    if removed:
        print(f"removed {len(removed)} leftover(s) of interrupted saves from {run_dir}", file=sys.stderr, flush=True)
    return removed


def _is_interrupted_save(name: str) -> bool:
    return name.startswith(".") and name.endswith((".tmp", ".old"))


def _writes_run_dir(run_dir: Path | None) -> bool:
    """False on a non-chief worker of a cluster, which only reads the shared run directory."""
    cluster = read_tf_config()
    if cluster is not None and cluster.size > 1:
        if run_dir is None:
            raise ConfigError("a multi-worker run needs --run-dir: the same directory for every worker, on storage they share")
        return cluster.is_chief
    return True


def _run_dir_for(task, cfg, run_dir: Path | None) -> tuple[Path, bool]:
    """(the run directory, created if needed; whether the user named it).

    Unnamed, it is a new `runs/<domain>/<task>-<time>`; named, it may hold
    a run already, which `_claim_for_new_run` then checks.
    """
    if run_dir is None:
        return runs.new_run_dir(cfg.run.output_dir, task.domain.name, task.name, cfg.run.name), False
    _make_dir(run_dir)
    return run_dir, True


def _make_dir(run_dir: Path) -> None:
    if run_dir.exists() and not run_dir.is_dir():
        raise RunError(f"--run-dir {run_dir} is a file, not a directory; choose another path")
    run_dir.mkdir(parents=True, exist_ok=True)


def _claim_for_new_run(run_dir: Path, cfg, overwrite: bool) -> Path | None:
    """Check that a new run may be written into `run_dir`; with `overwrite`, move the old run aside.

    Returns the directory the old run was moved into (to delete once the new
    config is written), or None. Changes nothing when it refuses.
    """
    entries = sorted(p.name for p in run_dir.iterdir() if p.name not in (LOCK_NAME, REPLACED_NAME))
    if not entries:
        return run_dir / REPLACED_NAME if (run_dir / REPLACED_NAME).exists() else None
    if "config.yaml" not in entries and "status.json" not in entries:
        shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
        raise RunError(
            f"--run-dir {run_dir} is not empty and holds no dlsuite run ({shown}); choose a new or empty directory "
            "(--overwrite replaces only run directories)"
        )
    replaceable = not overwrite and _failed_before_training(run_dir, entries)
    if not overwrite and not replaceable:
        saved = runs.read_config_yaml(run_dir)
        if not isinstance(saved, dict):
            raise RunError(f"--run-dir {run_dir} holds a run whose config.yaml is missing or unreadable; choose another --run-dir, or pass --overwrite to replace it")
        changes = config_changes(saved, cfg)
        if changes:
            raise RunError(
                f"--run-dir {run_dir} already holds a run with another config ({_show_changes(changes)}); "
                "choose another --run-dir, or pass --overwrite to replace that run"
            )
        state = runs.read_status(run_dir).get("state", "unknown")
        raise RunError(
            f"--run-dir {run_dir} already holds a run with this config (status: {state}); "
            f"continue it with `dlsuite train --resume {run_dir}`, or pass --overwrite to train it again from scratch"
        )
    # Move everything aside under the lock, config.yaml last: until the new config
    # is written the directory still reads as the old run, never as a mix.
    replaced = run_dir / REPLACED_NAME
    shutil.rmtree(replaced, ignore_errors=True)
    replaced.mkdir()
    for name in sorted(entries, key=lambda n: n == "config.yaml"):
        os.replace(run_dir / name, replaced / name)
    reason = "it failed before training anything" if replaceable else "--overwrite"
    print(f"replacing the run in {run_dir} ({reason})", file=sys.stderr, flush=True)
    return replaced


# What a run holds once its first epoch has trained; a failed run without any
# of them (e.g. a data error) has nothing worth keeping.
_TRAINED_ARTEFACTS = ("history.csv", "checkpoints", "model.keras", "saved_model", "metrics.json")


def _failed_before_training(run_dir: Path, entries: list[str]) -> bool:
    state = runs.read_status(run_dir).get("state")
    return state in ("failed", "interrupted") and not any(name in entries for name in _TRAINED_ARTEFACTS)


def _flatten(data: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and value:
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _show(value: Any) -> str:
    if value is _UNSET:
        return "(unset)"
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    return repr(value) if isinstance(value, str) else str(value)


def _show_changes(changes: list[str]) -> str:
    more = len(changes) - _SHOWN_CHANGES
    return "; ".join(changes[:_SHOWN_CHANGES]) + (f"; and {more} more" if more > 0 else "")


def train(task, cfg, run_dir: Path, tuning: dict | None = None) -> RunResult:
    """Train `task` with `cfg`, writing everything into `run_dir`.

    `tuning` (from `shared.tuning.search.tuning_record`) is the search that
    chose `cfg`; metadata.json and the model card cite it.
    """
    import keras

    from shared.evaluation import plots
    from shared.training.engine import detach_from_cluster, weights_fingerprint
    from shared.training.precision import apply_precision, resolve_precision
    from shared.training.strategy import describe, is_chief, is_multi_worker, resolve_strategy

    stages = Stages(5)
    out_dir = None
    try:
        # A multi-worker strategy must exist before TensorFlow runs anything else.
        strategy = resolve_strategy(cfg.trainer.strategy, worker_timeout=cfg.trainer.worker_timeout)
        keras.utils.set_random_seed(cfg.run.seed)
        policy = resolve_precision(cfg.trainer.mixed_precision, strategy)
        apply_precision(policy)
        # Only the chief writes the run directory; other workers write the same
        # files into a scratch directory of their own (saving is collective).
        out_dir = run_dir if is_chief(strategy) else Path(tempfile.mkdtemp(prefix="dlsuite-worker-"))

        with stages.stage("loading and splitting data"):
            data = task.load_data(cfg, out_dir / "data")
        if data.split is not None:
            stages.note(f"data split: {data.split.reason}")

        with stages.stage(f"building model {cfg.model.type!r}"):
            with strategy.scope():
                model = task.build_model(cfg, data)

        phases = task.phases(cfg)
        total = sum(p.epochs for p in phases)
        with stages.stage(f"training for up to {total} epochs in {len(phases)} phase(s)"):
            started = time.perf_counter()
            train_ds, val_ds = task.fit_data(data, cfg)
            class_weight = data.class_weight if cfg.trainer.class_weight == "balanced" else None
            run_phases(task, cfg, model, phases, strategy, run_dir, train_ds, val_ds, class_weight, out_dir=out_dir, source_files=data.source_files)
            history = read_history(out_dir / "history.csv")
            train_seconds = round(time.perf_counter() - started, 1)
            if is_multi_worker(strategy):
                detach_from_cluster(model)
                print(f"this worker's weights fingerprint: {weights_fingerprint(model)} (equal on every worker)", file=sys.stderr, flush=True)

        with stages.stage("evaluating on the held-out test split"):
            metrics = task.evaluate(model, data, cfg, out_dir)
            runs.write_json(out_dir / "metrics.json", metrics)
            if history:
                plots.save_figure(plots.training_curves(history), out_dir / "curves.png")

        with stages.stage("saving model, serving export and model card"):
            runs.save_with(out_dir / "model.keras", model.save)
            from shared.export import export_savedmodel

            export_savedmodel(model, out_dir / "saved_model", task.serving_endpoints(model, cfg.model_dump(mode="json")))
            from shared.hub.layer import hub_backbones

            metadata = {
                "domain": task.domain.name,
                "task": task.name,
                "model_type": cfg.model.type,
                "parameters": int(model.count_params()),
                "created": runs.now(),
                "versions": runs.versions(),
                "training": {**describe(strategy), "precision": policy, "epochs_run": len(history.get("loss", [])), "seconds": train_seconds},
                "intended_use": cfg.run.intended_use or task.intended_use,
                "limitations": task.limitations,
                "data": data.provenance,
                "split": data.split.to_dict() if data.split is not None else None,
                **task.input_spec(data),
                # Checked when the run is opened, so that another run's model.keras is refused.
                "signature": run_files.model_signature(model),
                "task_state": data.state,
                "hub_backbones": hub_backbones(model),
                **({"tuning": tuning} if tuning else {}),
            }
            runs.write_json(out_dir / "metadata.json", metadata)
            runs.write_text(out_dir / "model_card.md", model_card.render(metadata, metrics))
    except BaseException as exc:
        if out_dir == run_dir:
            runs.write_status(run_dir, "failed" if not isinstance(exc, KeyboardInterrupt) else "interrupted", error=str(exc)[:500])
        raise
    finally:
        if out_dir not in (None, run_dir):
            shutil.rmtree(out_dir, ignore_errors=True)
    if out_dir == run_dir:
        runs.write_status(run_dir, "complete")
    return RunResult(run_dir=run_dir, metrics=metrics, history=history)


def run_phases(
    task, cfg, model, phases, strategy, run_dir: Path, train_ds, val_ds, class_weight, out_dir: Path | None = None, source_files: dict | None = None
) -> None:
    """Fit each phase in turn, skipping phases a resumed run already finished.

    Each finished phase leaves its weights in `checkpoints/phase-<name>.weights.h5`
    and its name in `status.json`; an interrupted phase resumes from its own
    backup checkpoint. State is read from `run_dir` and written to `out_dir`
    (a non-chief worker's scratch directory; `run_dir` by default).
    """
    out_dir = out_dir or run_dir
    from shared.training.callbacks import standard_callbacks
    from shared.training.engine import Trainer
    from shared.training.optimizers import make_optimizer

    done = set(runs.read_status(run_dir).get("phases_done", []))
    start = 0
    for index, phase in enumerate(phases):
        end = start + phase.epochs
        weights = run_dir / "checkpoints" / f"phase-{phase.name}.weights.h5"
        weights_out = out_dir / weights.relative_to(run_dir)
        if phase.prepare is not None:
            phase.prepare(model)
        # (Re)compiling per phase applies trainability changes and the phase's learning rate.
        with strategy.scope():
            task.compile(model, cfg, lambda p=phase: make_optimizer(cfg.optimizer, p.learning_rate_scale))
        if phase.name in done and weights.exists():
            model.load_weights(weights)
            print(f"phase {phase.name!r} already finished; loaded its weights", file=sys.stderr, flush=True)
        elif phase.epochs:
            if len(phases) > 1:
                print(f"phase {index + 1}/{len(phases)} {phase.name!r}: epochs {start + 1}-{end}", file=sys.stderr, flush=True)
            trainer = Trainer(
                strategy=strategy,
                callbacks=standard_callbacks(cfg, run_dir, phase=phase.name, out_dir=out_dir),
                epochs=end,
                verbose=keras_verbosity(cfg.trainer.verbose),
            )
            trainer.fit(model, train_ds, val_ds, class_weight=class_weight, initial_epoch=start, source_files=source_files)
            runs.save_with(weights_out, model.save_weights)
            done.add(phase.name)
            runs.write_status(out_dir, "running", phases_done=sorted(done))
        start = end


def read_history(path: Path) -> dict[str, list[float]]:
    """Per-epoch history from the CSV log, which spans resumed runs too."""
    if not path.exists():
        return {}
    by_epoch: dict[int, dict] = {}
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("epoch", "").isdigit():
                by_epoch[int(row["epoch"])] = row  # a resumed epoch replaces a partial one
    out: dict[str, list[float]] = {}
    for epoch in sorted(by_epoch):
        for key, value in by_epoch[epoch].items():
            if key == "epoch":
                continue
            try:
                out.setdefault(key, []).append(float(value))
            except (TypeError, ValueError):
                continue
    return out
