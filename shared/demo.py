"""Demo models: small trained runs kept under data/demo_models for the app.

`dlsuite demo --build` trains each domain's demo tasks with its demo
overrides and keeps only what serving needs (no checkpoints, logs or data
shards). Each model is written to a temporary directory and renamed into
place, so a failed build never damages the models already there.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from shared.domain import Domain
from shared.errors import RunError

REPO_ROOT = Path(__file__).resolve().parents[1]
PRUNE = ("checkpoints", "logs", "data")


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
