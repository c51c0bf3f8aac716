"""Demo models: small trained runs kept under data/demo_models for the app.

`dlsuite demo --build` trains each domain's demo tasks with its demo
overrides and keeps only what serving needs (no checkpoints, logs or data
shards). Each model is written to a temporary directory and renamed into
place, so a failed build never damages the models already there.

The app serves only these demo models and the runs found under one runs
root (`dlsuite demo --runs-root DIR`, passed to the app as
`DLSUITE_RUNS_ROOT`; default `runs/` under the working directory). It never
opens a path a visitor types: `trained_runs` lists what may be picked and
`servable_run` refuses anything else.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from shared.domain import Domain
from shared.errors import RunError
from shared.runs import REQUIRED_FILES, read_config_yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
PRUNE = ("checkpoints", "logs", "data")
RUNS_ROOT_ENV = "DLSUITE_RUNS_ROOT"
DEFAULT_RUNS_ROOT = Path("runs")
# `dlsuite train` writes ROOT/<domain>/<task>-<time>; `--run-dir` may put a run at ROOT/<name>.
RUN_DEPTHS = (1, 2)
# Files of a run the app reads; each must resolve inside the runs root.
SERVED_FILES = (*REQUIRED_FILES, "metrics.json", "status.json")
DEMO_HOST = "127.0.0.1"  # the app is private to this machine unless `dlsuite demo --host` says otherwise
LOOPBACK_HOSTS = (DEMO_HOST, "localhost", "::1")  # `--host` values that keep it private: no warning
MAX_UPLOAD_MB = 50  # `dlsuite demo --max-upload-mb`; Streamlit's own default is 200


def demo_root() -> Path:
    return Path(os.environ.get("DLSUITE_DEMO_DIR", REPO_ROOT / "data" / "demo_models"))


def demo_run_dir(domain: str, task: str) -> Path:
    return demo_root() / domain / task


def available(domain: Domain) -> dict[str, Path]:
    """Demo runs of `domain` that exist and are complete, by task name."""
    out = {}
    for task in domain.tasks.names():
        path = demo_run_dir(domain.name, task)
        if (path / "model.keras").is_file() and (path / "metadata.json").is_file():
            out[task] = path
    return out


def runs_root() -> Path:
    """The runs root the app lists trained runs from: `DLSUITE_RUNS_ROOT`, or `runs/` under the working directory."""
    return Path(os.environ.get(RUNS_ROOT_ENV) or DEFAULT_RUNS_ROOT).absolute()


def trained_runs(domain: str, task: str | None = None, root: Path | None = None) -> dict[str, Path]:
    """Complete run directories of `domain` (and of `task`, when given) under the runs root.

    A run is listed when it lies one or two levels below `root`, holds every
    file `Run.open` needs, and its `config.yaml` names `domain` (and `task`).
    Hidden folders (a build's staging copies) and anything that resolves
    outside `root` (a symlinked run, or a symlinked `model.keras`) are left
    out, so the list never reaches past the root.

    Args:
        domain: str. Domain name the runs must belong to.
        task: str. Task name the runs must belong to. Defaults to `None` (any task).
        root: Path. Folder to search. Defaults to `runs_root()`.

    Returns:
        Run directories by their path relative to `root` (POSIX form), sorted by that name.
    """
    root = (root or runs_root()).absolute()
    if not root.is_dir():
        return {}
    real_root = root.resolve()
    found = {}
    for depth in RUN_DEPTHS:
        for path in root.glob("/".join(["[!.]*"] * depth)):
            if path.is_dir() and _inside(path, real_root) and _belongs(path, domain, task):
                found[path.relative_to(root).as_posix()] = path
    return dict(sorted(found.items()))


def servable_run(path: str | Path) -> Path:
    """`path` if it is a demo model or lies under the runs root; otherwise a `RunError`.

    The app loads nothing else, whatever reaches its loader.
    """
    path = Path(path)
    for root in (demo_root(), runs_root()):
        if root.is_dir() and path.absolute().is_relative_to(root.absolute()) and _inside(path, root.resolve()):
            return path
    raise RunError(f"{path} is neither a demo model nor a run under the runs root ({RUNS_ROOT_ENV})")


def _inside(run_dir: Path, real_root: Path) -> bool:
    """Whether `run_dir` and the files the app reads from it resolve inside `real_root`."""
    targets = [run_dir, *(run_dir / name for name in SERVED_FILES if (run_dir / name).exists())]
    return all(target.resolve().is_relative_to(real_root) for target in targets)


def _belongs(run_dir: Path, domain: str, task: str | None) -> bool:
    if not all((run_dir / name).is_file() for name in REQUIRED_FILES):
        return False
    data = read_config_yaml(run_dir)
    return isinstance(data, dict) and data.get("domain") == domain and (task is None or data.get("task") == task)


def build(domain: Domain) -> list[Path]:
    """Train every demo task of `domain`; return the demo run directories."""
    from shared.training.runner import prepare_run, train

    built = []
    for task_name, overrides in domain.demo_tasks.items():
        task = domain.task(task_name)
        target = demo_run_dir(domain.name, task_name)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{task_name}.", dir=target.parent))
        try:
            cfg = task.resolve_config(overrides=[*overrides, "trainer.tensorboard=false", f"run.name={task_name}"])
            run_dir = prepare_run(task, cfg, staging / task_name)
            train(task, cfg, run_dir)
            for name in PRUNE:
                shutil.rmtree(run_dir / name, ignore_errors=True)
            old = target.with_name(f".{task_name}.old")
            shutil.rmtree(old, ignore_errors=True)
            if target.exists():
                os.replace(target, old)
            os.replace(run_dir, target)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        built.append(target)
    if not built:
        raise RunError(f"domain {domain.name!r} declares no demo tasks")
    return built
