"""One training run, start to finish, for any task of any domain.

`task` is any `shared.domain.Task`: the runner only calls its hooks
(`load_data`, `build_model`, `compile`, `fit_data`, `evaluate`, `input_spec`).

The runner resolves the pieces (config, strategy, precision, callbacks),
asks the task for data and a model, hands them to the engine, then writes
the self-describing run directory. It never builds domain objects itself.
"""

from __future__ import annotations

import csv
import logging
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared import model_card, runs
from shared.config import dump, validate
from shared.errors import ConfigError, RunError
from shared.progress import Stages, keras_verbosity
from shared.training.cluster import read_tf_config

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    run_dir: Path
    metrics: dict
    history: dict


def prepare_run(task, cfg, run_dir: Path | None = None) -> Path:
    """Create the run directory and write the resolved config into it.

    In a multi-worker cluster (`TF_CONFIG`), every worker names the same
    `run_dir` and only the chief writes it.
    """
    cluster = read_tf_config()
    if cluster is not None and cluster.size > 1:
        if run_dir is None:
            raise ConfigError("a multi-worker run needs --run-dir: the same directory for every worker, on storage they share")
        if not cluster.is_chief:
            return run_dir
    if run_dir is None:
        run_dir = runs.new_run_dir(cfg.run.output_dir, task.domain.name, task.name, cfg.run.name)
    else:
        run_dir.mkdir(parents=True, exist_ok=True)
    runs.write_text(run_dir / "config.yaml", dump(cfg))
    runs.write_status(run_dir, "running")
    return run_dir


def load_for_resume(task_lookup, run_dir: Path) -> tuple[Any, Any]:
    """Re-open an interrupted run: its config and task come from the directory."""
    if not (run_dir / "config.yaml").is_file():
        raise RunError(f"cannot resume {run_dir}: no config.yaml there (is it a run directory?)")
    run = runs.Run(run_dir)
    task = task_lookup(run.domain_name, run.task_name)
    return task, validate(task.config_schema(), run.config_data)


def train(task, cfg, run_dir: Path) -> RunResult:
    """Train `task` with `cfg`, writing everything into `run_dir`."""
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

        with stages.stage(f"building model {cfg.model.type!r}"):
            with strategy.scope():
                model = task.build_model(cfg, data)

        phases = task.phases(cfg)
        total = sum(p.epochs for p in phases)
        with stages.stage(f"training for up to {total} epochs in {len(phases)} phase(s)"):
            train_ds, val_ds = task.fit_data(data)
            class_weight = data.class_weight if cfg.trainer.class_weight == "balanced" else None
            run_phases(task, cfg, model, phases, strategy, run_dir, train_ds, val_ds, class_weight, out_dir=out_dir, source_files=data.source_files)
            history = read_history(out_dir / "history.csv")
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

            export_savedmodel(model, out_dir / "saved_model")
            metadata = {
                "domain": task.domain.name,
                "task": task.name,
                "model_type": cfg.model.type,
                "parameters": int(model.count_params()),
                "created": runs.now(),
                "versions": runs.versions(),
                "training": {**describe(strategy), "precision": policy, "epochs_run": len(history.get("loss", []))},
                "intended_use": cfg.run.intended_use or task.intended_use,
                "limitations": task.limitations,
                "data": data.provenance,
                **task.input_spec(data),
                "task_state": data.state,
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
