"""`dlsuite tune`: keras-tuner over a task's search space, every trial trained by the suite's own engine.

keras-tuner's oracles (random search, Bayesian optimization, Hyperband)
propose values; `SuiteTuner.run_trial` turns them into `--set` overrides
of the task's config and trains the trial like `dlsuite train` does: the
task's data loading, model builder, phases, strategy, precision, early
stopping and progress lines. The trial is scored by the task's own
`evaluate` on the VALIDATION split (`Task.tuning_data`), never on the test
split, under the task's declared `objective` (AUPRC for fraud, mIoU for
segmentation, WER for speech recognition...).

The oracle keeps its state in the tuner directory, so a killed search
resumes where it stopped (the trial that was running is run again). The
directory also holds `dlsuite_tune.json` (what is being searched), and
after the search `trials.csv`, `tune.png` (objective per trial and per
parameter) and `best_config.yaml`.

Distributed search uses keras-tuner's own chief/worker mode: set
`KERASTUNER_TUNER_ID` (`chief` on the chief), `KERASTUNER_ORACLE_IP` and
`KERASTUNER_ORACLE_PORT` the same on every process, and start the same
command on each.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from shared.errors import ConfigError, DlsuiteError, RunError
from shared.runs import atomic_path, now, write_json
from shared.tuning.space import Param, hyperparameters, overrides, parse_space

SEARCHES = ("random", "bayesian", "hyperband")
STATE_FILE = "dlsuite_tune.json"
PROJECT = "search"  # keras-tuner's project folder inside the tuner directory


@dataclass
class TuneResult:
    """What a search found: the tuner directory, the trials and the best one."""

    directory: Path
    objective: tuple[str, str]
    trials: list[dict] = field(default_factory=list)
    best: dict | None = None
    best_overrides: list[str] = field(default_factory=list)
    seconds: float = 0.0
    worker: str | None = None  # a distributed search's worker: the chief holds the trials


def _objective(task) -> tuple[str, str]:
    objective = getattr(task, "objective", None)
    if not objective:
        raise ConfigError(f"{task.domain.name} task {task.name!r} declares no tuning objective")
    return objective


def _check_state(directory: Path, state: dict) -> None:
    """A tuner directory belongs to one task and one search; reusing it for another is refused."""
    path = directory / STATE_FILE
    if not path.is_file():
        return
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise RunError(f"{path} is unreadable; give another --dir or delete the directory") from None
    if not isinstance(saved, dict):
        raise RunError(f"{path} is not a dlsuite tuning state; give another --dir")
    for key in ("domain", "task", "search", "space", "objective"):
        if saved.get(key) != state[key]:
            shown = "search space" if key == "space" else key
            raise RunError(
                f"tuner directory {directory} holds a search of {saved.get('domain')}/{saved.get('task')} with another {shown} "
                f"({saved.get(key)!r}, not {state[key]!r}); give another --dir, or --overwrite to start again"
            )


def tune(task, *, files=(), overrides_base=(), data=None, directory: Path, trials: int, search: str = "random",
         seed: int = 0, overwrite: bool = False, max_epochs: int | None = None, stream=None) -> TuneResult:
    """Run (or resume) the search; return its trials and the best config's overrides.

    Args:
        task: the `Task`.
        files: config files (their `tune:` section replaces the preset's).
        overrides_base: `--set` overrides applied to every trial.
        data: str or None. `data.path` for every trial.
        directory: the tuner directory.
        trials: int >= 1. Trials to run in total (a resumed search counts
            the finished ones). Hyperband ignores it: its brackets (from
            `max_epochs` and a reduction factor of 3) decide the trials.
        search: `"random"`, `"bayesian"` or `"hyperband"`.
        seed: the oracle's seed.
        overwrite: start again in an existing directory.
        max_epochs: Hyperband's largest epoch budget (default: the config's
            `trainer.epochs`).
    """
    import keras_tuner as kt

    stream = stream or sys.stderr
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ConfigError(f"--trials must be a positive integer, received {trials!r}")
    if search not in SEARCHES:
        raise ConfigError(f"--search must be one of {', '.join(SEARCHES)}, received {search!r}")
    key, direction = _objective(task)
    params = parse_space(task, task.search_space(list(files)))
    extra = {"data": {"path": str(data)}} if data else None
    base = task.resolve_config(list(files), list(overrides_base), extra)
    epochs_key = None
    if search == "hyperband":
        if len(task.phases(base)) != 1 or not hasattr(base.trainer, "epochs"):
            raise ConfigError(f"hyperband schedules epochs through trainer.epochs; {task.domain.name}/{task.name} trains in phases, so use --search random or bayesian")
        epochs_key = "trainer.epochs"
        max_epochs = max_epochs or int(base.trainer.epochs)
    directory = Path(directory)
    state = {"domain": task.domain.name, "task": task.name, "search": search, "space": [p.describe() for p in params],
             "objective": [key, direction]}
    if overwrite and directory.exists():
        import shutil

        shutil.rmtree(directory)
    _check_state(directory, state)
    directory.mkdir(parents=True, exist_ok=True)
    if not (directory / STATE_FILE).is_file():
        write_json(directory / STATE_FILE, {**state, "created": now(), "seed": seed})

    objective = kt.Objective(key, direction)
    hp = hyperparameters(params)
    common = {"objective": objective, "hyperparameters": hp, "allow_new_entries": False, "tune_new_entries": False, "seed": seed}
    if search == "random":
        oracle = kt.oracles.RandomSearchOracle(max_trials=trials, **common)
    elif search == "bayesian":
        oracle = kt.oracles.BayesianOptimizationOracle(max_trials=trials, num_initial_points=min(2, trials), **common)
    else:
        oracle = kt.oracles.HyperbandOracle(max_epochs=max_epochs, factor=3, hyperband_iterations=1, **common)  # its brackets set the trial count
    tuner = SuiteTuner(task, params, list(files), list(overrides_base), extra, epochs_key, stream,
                       oracle=oracle, directory=str(directory), project_name=PROJECT)
    start = time.perf_counter()
    try:
        tuner.search()
    except kt.errors.FatalError:
        if tuner.stopped is not None:
            raise tuner.stopped from None
        raise
    from keras_tuner.src.distribute import utils as dist_utils

    if dist_utils.has_chief_oracle() and not dist_utils.is_chief_oracle():
        return TuneResult(directory, (key, direction), seconds=round(time.perf_counter() - start, 1), worker=tuner.tuner_id)
    result = summarize(tuner, task, params, directory, (key, direction), base, list(files), list(overrides_base), extra)
    # The trials' own training time: a resumed search counts the trials of every session.
    result.seconds = round(sum(r["seconds"] or 0.0 for r in result.trials), 1) or round(time.perf_counter() - start, 1)
    return result


def _base_tuner():
    import keras_tuner as kt

    return kt.engine.base_tuner.BaseTuner


class SuiteTuner(_base_tuner()):
    """A keras-tuner `BaseTuner` whose trials are the suite's training runs."""

    def __init__(self, task, params: list[Param], files, overrides_base, extra, epochs_key, stream, **kwargs):
        self.task, self.params, self.files, self.overrides_base, self.extra = task, params, files, overrides_base, extra
        self.epochs_key, self.stream = epochs_key, stream
        super().__init__(**kwargs)

    stopped: Exception | None = None  # the suite error that ended the search, re-raised by `tune`

    def run_trial(self, trial, *args, **kwargs):
        import keras_tuner as kt

        try:
            return self._trial(trial)
        except DlsuiteError as exc:  # bad data or config: every trial would fail the same way
            self.stopped = exc
            raise kt.errors.FatalError(str(exc)) from None

    def _trial(self, trial):
        values = dict(trial.hyperparameters.values)
        sets = overrides(self.params, values)
        if self.epochs_key and "tuner/epochs" in values:
            sets.append(f"{self.epochs_key}={int(values['tuner/epochs'])}")
        cfg = self.task.resolve_config(self.files, [*self.overrides_base, *sets, *_quiet_evaluation(self.task)], self.extra)
        trial_dir = Path(self.project_dir) / f"trial_{trial.trial_id}" / "run"
        print(f"trial {trial.trial_id}: {', '.join(sets)}", file=self.stream, flush=True)
        started = time.perf_counter()
        report = train_trial(self.task, cfg, trial_dir)
        key = self.oracle.objective.name
        value = report.get(key)
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            raise RunError(f"{self.task.domain.name}/{self.task.name}: evaluate() reported no number under the objective {key!r}")
        if not math.isfinite(value):
            raise RunError(f"trial {trial.trial_id}: the validation {key} is {value} (is a class missing from the validation split?); use more data or another split")
        seconds = round(time.perf_counter() - started, 1)
        write_json(trial_dir.parent / "trial_result.json", {"values": values, "overrides": sets, "objective": {key: float(value)}, "seconds": seconds})
        print(f"trial {trial.trial_id}: validation {key} {float(value):.4f} ({seconds:.0f} s)", file=self.stream, flush=True)
        return {key: float(value)}


def _quiet_evaluation(task) -> list[str]:
    """Turn off the from-scratch twin and overlays where the task has them: a trial only needs its score."""
    fields = getattr(task.evaluation_config, "model_fields", {}) if task.evaluation_config else {}
    out = []
    if "compare_from_scratch" in fields:
        out.append("evaluation.compare_from_scratch=false")
    if "overlay_examples" in fields:
        out.append("evaluation.overlay_examples=0")
    if "baseline" in fields:  # a reference model fitted and scored on the test split
        out.append("evaluation.baseline=false")
    return out


def train_trial(task, cfg, trial_dir: Path) -> dict:
    """Train one trial through the engine (resuming its finished phases) and score it on the validation split."""
    import keras

    from shared.training.precision import apply_precision, resolve_precision
    from shared.training.runner import run_phases
    from shared.training.strategy import resolve_strategy

    keras.backend.clear_session()
    trial_dir.mkdir(parents=True, exist_ok=True)
    strategy = resolve_strategy(cfg.trainer.strategy, worker_timeout=cfg.trainer.worker_timeout)
    keras.utils.set_random_seed(cfg.run.seed)
    apply_precision(resolve_precision(cfg.trainer.mixed_precision, strategy))
    data = task.load_data(cfg, trial_dir / "data")
    with strategy.scope():
        model = task.build_model(cfg, data)
    train_ds, val_ds = task.fit_data(data, cfg)
    class_weight = data.class_weight if cfg.trainer.class_weight == "balanced" else None
    run_phases(task, cfg, model, task.phases(cfg), strategy, trial_dir, train_ds, val_ds, class_weight, source_files=data.source_files)
    out = trial_dir / "validation"
    out.mkdir(exist_ok=True)
    return task.evaluate(model, task.tuning_data(data), cfg, out)


def summarize(tuner, task, params, directory: Path, objective, base, files, overrides_base, extra) -> TuneResult:
    """Write trials.csv, tune.png and best_config.yaml; return the result."""
    from shared.config import dump

    key, direction = objective
    rows = []
    for trial in sorted(tuner.oracle.trials.values(), key=lambda t: int(t.trial_id) if str(t.trial_id).isdigit() else str(t.trial_id)):
        values = trial.hyperparameters.values
        score = trial.metrics.get_best_value(key) if trial.metrics.exists(key) else None
        result_file = directory / PROJECT / f"trial_{trial.trial_id}" / "trial_result.json"
        seconds = json.loads(result_file.read_text()).get("seconds") if result_file.is_file() else None
        rows.append({"trial": trial.trial_id, "status": str(trial.status).lower(), **{p.key: values.get(p.key) for p in params},
                     **({"tuner/epochs": values.get("tuner/epochs")} if "tuner/epochs" in values else {}), key: score, "seconds": seconds})
    scored = [r for r in rows if r[key] is not None]
    best = (max if direction == "max" else min)(scored, key=lambda r: r[key]) if scored else None
    with atomic_path(directory / "trials.csv") as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["trial"])
        writer.writeheader()
        writer.writerows(rows)
    result = TuneResult(directory, objective, rows, best)
    if best is not None:
        result.best_overrides = overrides(params, {p.key: best[p.key] for p in params})
        if "tuner/epochs" in best and best["tuner/epochs"]:
            result.best_overrides.append(f"trainer.epochs={int(best['tuner/epochs'])}")
        cfg = task.resolve_config(files, [*overrides_base, *result.best_overrides], extra)
        header = f"# Best of {len(scored)} trials of `dlsuite tune {task.domain.name} --task {task.name}` (validation {key} {best[key]:.4f}, {direction})\n"
        with atomic_path(directory / "best_config.yaml") as tmp:
            tmp.write_text(header + dump(cfg), encoding="utf-8")
        _plot(rows, params, key, directory / "tune.png", direction)
    return result


def _plot(rows, params, key, path: Path, direction: str = "max") -> None:
    """The objective per trial (with the best so far) and against each searched value, over the searched range."""
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import MaxNLocator, NullFormatter

    from shared.evaluation import plots

    scored = [r for r in rows if r[key] is not None]
    ys = np.array([r[key] for r in scored], dtype=float)
    panels = 1 + len(params)
    fig, axes = plt.subplots(1, panels, figsize=(3.6 * panels, 3.2), squeeze=False)
    ax = axes[0][0]
    ax.plot(range(1, len(ys) + 1), ys, "o", label="trial")
    ax.plot(range(1, len(ys) + 1), (np.maximum if direction == "max" else np.minimum).accumulate(ys), "-", label="best so far")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(f"validation {key}")
    ax.set_title("objective per trial")
    ax.legend(fontsize=8)
    for ax, p in zip(axes[0][1:], params):
        xs = [r[p.key] for r in scored]
        if p.kind == "choice":
            labels = [str(v) for v in p.values]
            ax.scatter([labels.index(str(x)) for x in xs], ys)
            ax.set_xticks(range(len(labels)), labels, rotation=30)
            ax.set_xlim(-0.5, len(labels) - 0.5)
        else:
            ax.scatter(xs, ys)
            if p.kind == "log_uniform":
                ax.set_xscale("log")
                ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xlim(p.low, p.high)
        ax.set_xlabel(f"{p.key} (searched range)")
        ax.set_title(p.key)
    fig.tight_layout()
    plots.save_figure(fig, path)


def tuning_record(result: TuneResult) -> dict:
    """What a retrained run's metadata and model card cite about the search."""
    key, direction = result.objective
    best = result.best or {}
    return {
        "directory": str(os.path.abspath(result.directory)),
        "objective": f"validation {key} ({direction})",
        "trials": len([r for r in result.trials if r.get(key) is not None]),
        "seconds": result.seconds,
        "best_value": best.get(key),
        "best_overrides": result.best_overrides,
    }
