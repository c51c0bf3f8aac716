"""Self-describing run directories and atomic writes.

A run directory holds everything needed to understand, reuse and serve a
trained model:

    config.yaml      the resolved config
    status.json      running | complete | failed, with timestamps
    metadata.json    versions, input/output spec, intended use, data provenance, task state
    metrics.json     evaluation metrics
    history.csv      per-epoch training log
    curves.png       training curves
    model.keras      the Keras model
    saved_model/     the serving export
    model_card.md    data, metrics, intended use, limits
    checkpoints/     best weights and the backup used by `--resume`
    logs/            TensorBoard

Every file is written to a temporary sibling and renamed into place, so an
interrupted write never damages what was there before.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import platform
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from shared.errors import RunError

REQUIRED_FILES = ("config.yaml", "metadata.json", "model.keras")


# --- atomic writes -------------------------------------------------------------


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it over `path` on success.

    Works for files and directories. On error the temporary path is removed
    and `path` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    target = tmp / (path.name + suffix) if suffix else tmp / path.name
    try:
        yield target
        if target.is_dir() and path.is_dir():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(target, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(target, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, data: Any) -> None:
    """Write strict JSON: NaN and infinity (undefined metrics) become null."""
    text = json.dumps(_strict(data), indent=2, sort_keys=False, default=_json_default, allow_nan=False)
    write_text(path, text + "\n")


def _strict(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_strict(v) for v in obj]
    if hasattr(obj, "item") and getattr(obj, "ndim", 1) == 0:
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _json_default(obj: Any) -> Any:
    for attr in ("item", "tolist"):
        if hasattr(obj, attr):
            return getattr(obj, attr)()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


# --- metadata ----------------------------------------------------------------


def versions() -> dict:
    """Versions of the libraries a model depends on."""
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for name in ("dlsuite", "tensorflow", "keras", "numpy", "scikit-learn", "pandas"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def new_run_dir(output_dir: str | Path, domain: str, task: str, name: str | None = None) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(output_dir) / domain / (name or f"{task}-{stamp}")
    path, i = base, 1
    while path.exists():
        i += 1
        path = base.with_name(f"{base.name}-{i}")
    path.mkdir(parents=True)
    return path


# --- reading runs --------------------------------------------------------------


@dataclass
class Run:
    """A trained run directory, opened for evaluation, prediction or export."""

    path: Path

    @classmethod
    def open(cls, path: str | Path) -> Run:
        """Open a run directory, checking it is complete and readable."""
        path = Path(path)
        if not path.exists():
            raise RunError(f"run directory not found: {path}")
        if not path.is_dir():
            raise RunError(f"not a run directory (it is a file): {path}")
        missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
        if missing:
            hint = ""
            if (path / "status.json").is_file():
                state = _read_json(path / "status.json", path).get("state")
                hint = f" (status: {state}; resume it with `dlsuite train --resume {path}`)" if state != "complete" else ""
            raise RunError(f"run directory {path} is incomplete: missing {', '.join(missing)}{hint}")
        run = cls(path)
        run.metadata  # noqa: B018 - fail early on unreadable metadata
        run.config_data  # noqa: B018
        return run

    @cached_property
    def config_data(self) -> dict:
        try:
            data = yaml.safe_load((self.path / "config.yaml").read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError, UnicodeDecodeError):
            raise RunError(f"run directory {self.path}: config.yaml is unreadable") from None
        if not isinstance(data, dict) or "domain" not in data or "task" not in data:
            raise RunError(f"run directory {self.path}: config.yaml has no domain/task")
        return data

    @cached_property
    def metadata(self) -> dict:
        return _read_json(self.path / "metadata.json", self.path)

    @cached_property
    def metrics(self) -> dict:
        p = self.path / "metrics.json"
        return _read_json(p, self.path) if p.exists() else {}

    @property
    def domain_name(self) -> str:
        return self.config_data["domain"]

    @property
    def task_name(self) -> str:
        return self.config_data["task"]

    @property
    def state(self) -> dict:
        """Task state saved at training time (feature columns, threshold...)."""
        return self.metadata.get("task_state", {})

    def config(self, schema: Any) -> Any:
        from shared.config import validate

        return validate(schema, self.config_data)

    @cached_property
    def model(self):
        """The Keras model, loaded once with safe_mode on."""
        import keras

        try:
            return keras.saving.load_model(self.path / "model.keras", compile=False, safe_mode=True)
        except Exception as exc:  # noqa: BLE001 - any load failure is a bad run dir
            detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise RunError(
                f"run directory {self.path}: model.keras could not be loaded ({detail}); open runs through "
                "`dlsuite` or `shared.domain.get_task` first so the domain's layers are registered"
            ) from None


def _read_json(path: Path, run_dir: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        raise RunError(f"run directory {run_dir}: {path.name} is unreadable") from None
    if not isinstance(data, dict):
        raise RunError(f"run directory {run_dir}: {path.name} is not a JSON object")
    return data


def read_status(run_dir: Path) -> dict:
    path = run_dir / "status.json"
    if path.exists():
        with contextlib.suppress(RunError):
            return _read_json(path, run_dir)
    return {}


def write_status(run_dir: Path, state: str, **extra: Any) -> None:
    previous = read_status(run_dir)
    path = run_dir / "status.json"
    status = {**previous, "state": state, "updated": now(), **extra}
    status.setdefault("started", now())
    write_json(path, status)


def save_with(path: Path, saver: Callable[[Path], Any]) -> None:
    """Run `saver(tmp_path)` and rename the result over `path`."""
    with atomic_path(path) as tmp:
        saver(tmp)
