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
import textwrap
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from shared import run_files
from shared.errors import DlsuiteError, RunError

REQUIRED_FILES = ("config.yaml", "metadata.json", "model.keras")


# --- atomic writes -------------------------------------------------------------


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it over `path` on success.

    Works for files and directories. On error the temporary path is removed
    and `path` is left as it was. A file gets the mode `open()` gives a new
    file (0666 less the umask), like every other artefact of a run.
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
            if target.is_file():
                os.chmod(target, 0o666 & ~_umask())
            os.replace(target, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _umask() -> int:
    """The process umask, read without changing it where the system allows."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, data: Any) -> None:
    """Write strict JSON: NaN and infinity (undefined metrics) become null."""
    write_text(path, json_text(data) + "\n")


def json_text(data: Any) -> str:
    """`data` as strict, indented JSON: NaN and infinity become null, numpy scalars plain numbers."""
    return json.dumps(_strict(data), indent=2, sort_keys=False, default=_json_default, allow_nan=False)


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


def read_config_yaml(run_dir: Path) -> Any:
    """The parsed `config.yaml` of `run_dir`, or None when it is missing or not UTF-8 YAML.

    Every reader of a run's config goes through here, so a hostile file
    (bad encoding, an impossible date such as `2023-02-30`, which yaml
    raises as a plain `ValueError`, or deep nesting) is one outcome: None.
    """
    try:
        return yaml.safe_load((Path(run_dir) / "config.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, ValueError, RecursionError):  # ValueError: bad encoding, impossible dates
        return None


@dataclass
class Run:
    """A trained run directory, opened for evaluation, prediction or export.

    Its files are checked against the schemas in `shared.run_files` as they
    are read; a bad file is one `RunError` line naming the file and the key.
    """

    path: Path

    @classmethod
    def open(cls, path: str | Path) -> Run:
        """Open a run directory, checking it is complete and its files readable and well-formed."""
        path = Path(path)
        if not path.exists():
            raise RunError(f"run directory not found: {path}")
        if not path.is_dir():
            raise RunError(f"not a run directory (it is a file): {path}")
        missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
        if missing:
            hint = ""
            if (path / "status.json").is_file():
                state = read_status(path).get("state")
                hint = f" (status: {state}; resume it with `dlsuite train --resume {path}`)" if state != "complete" else ""
            raise RunError(f"run directory {path} is incomplete: missing {', '.join(missing)}{hint}")
        run = cls(path)
        # Fail early, with one line, on any unreadable or malformed file.
        run.metadata_file  # noqa: B018
        run.config_data  # noqa: B018
        run.metrics  # noqa: B018
        run.status  # noqa: B018
        run._check_identity()
        return run

    @cached_property
    def config_data(self) -> dict:
        data = read_config_yaml(self.path)
        if data is None:
            raise RunError(f"run directory {self.path}: config.yaml is unreadable (not UTF-8 YAML); {run_files.RESTORE_HINT}")
        if not isinstance(data, dict):
            raise RunError(f"run directory {self.path}: config.yaml is not a mapping (received {type(data).__name__}); {run_files.RESTORE_HINT}")
        run_files.validated(run_files.ConfigFile, data, self.path, "config.yaml")
        return data

    @cached_property
    def metadata(self) -> dict:
        return _read_json(self.path / "metadata.json", self.path)

    @cached_property
    def metadata_file(self) -> run_files.MetadataFile:
        """`metadata.json`, validated: the keys the suite reads have their types."""
        return run_files.validated(run_files.MetadataFile, self.metadata, self.path, "metadata.json")

    @cached_property
    def metrics(self) -> dict:
        """`metrics.json` (free-form, validated as a JSON object); empty when the run has none."""
        p = self.path / "metrics.json"
        if not p.exists():
            return {}
        data = _read_json(p, self.path)
        run_files.validated(run_files.MetricsFile, data, self.path, "metrics.json")
        return data

    @cached_property
    def status(self) -> dict:
        """`status.json`, validated; empty when the run has none."""
        p = self.path / "status.json"
        if not p.exists():
            return {}
        data = _read_json(p, self.path)
        run_files.validated(run_files.StatusFile, data, self.path, "status.json")
        return data

    def _check_identity(self) -> None:
        meta = self.metadata_file
        recorded = (meta.domain or self.domain_name, meta.task or self.task_name)
        if recorded != (self.domain_name, self.task_name):
            raise RunError(
                f"run directory {self.path}: metadata.json describes a {recorded[0]} {recorded[1]!r} run but config.yaml a "
                f"{self.domain_name} {self.task_name!r} run; the files come from different runs. {run_files.RESTORE_HINT.capitalize()}"
            )

    @property
    def domain_name(self) -> str:
        return self.config_data["domain"]

    @property
    def task_name(self) -> str:
        return self.config_data["task"]

    @property
    def state(self) -> dict:
        """Task state saved at training time (feature columns, threshold...), unchecked.

        Tasks read it through `task_state(schema)`, which validates it.
        """
        return self.metadata.get("task_state") or {}

    def task_state(self, schema: Any) -> Any:
        """The task state validated against `schema` (a task's `state_schema`), once per schema.

        Raises:
            RunError: one line naming `metadata.json`, the key path under
                `task_state` and the value received.
        """
        cache = self.__dict__.setdefault("_task_states", {})
        if schema not in cache:
            if "task_state" not in self.metadata:
                raise RunError(f"run directory {self.path}: metadata.json at task_state: required key is missing; {run_files.RESTORE_HINT}")
            cache[schema] = run_files.validated(schema, self.metadata["task_state"], self.path, "metadata.json", ("task_state",))
        return cache[schema]

    def metrics_as(self, schema: Any) -> Any:
        """`metrics.json` validated against `schema` (the metrics a task reads back, e.g. its threshold)."""
        return run_files.validated(schema, self.metrics, self.path, "metrics.json")

    def config(self, schema: Any) -> Any:
        from shared.config import validate

        return validate(schema, self.config_data)

    def _register_layers(self) -> None:
        """Register the layer classes `model.keras` may name: the shared ones and those of the run's task.

        Loading registers nothing by itself, and a `.keras` file naming an
        unregistered class fails to load, so this runs first. Nothing from
        the file decides what is imported: only the suite's own modules.
        """
        import shared.hub.layer  # noqa: F401 - registers HubBackbone
        import shared.layers
        from shared.domain import get_task
        from shared.errors import UnknownNameError

        shared.layers.register_all()
        try:
            get_task(self.domain_name, self.task_name).import_model_modules()
        except UnknownNameError:  # another domain's run: Run.open's identity checks name it
            pass

    @cached_property
    def model(self):
        """The Keras model, loaded once with safe_mode on and checked against the run's metadata."""
        import keras

        path = self.path / "model.keras"
        if not zipfile.is_zipfile(path):
            raise RunError(_damaged_model(self.path, "it is not a complete zip archive"))
        from shared.hub.handles import recorded_backbones

        self._register_layers()
        try:
            # Backbones are checked against what training recorded, and never fetched.
            with recorded_backbones(self.metadata.get("hub_backbones")):
                model = keras.saving.load_model(self.path / "model.keras", compile=False, safe_mode=True)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise RunError(_damaged_model(self.path, _model_error(exc))) from None
        except Exception as exc:  # noqa: BLE001 - any other load failure is a bad run dir
            refusal = _own_error(exc)
            if refusal is not None:  # e.g. a backbone safe loading refused: its message says what to do
                raise RunError(f"run directory {self.path}: model.keras was not loaded: {refusal}") from None
            raise RunError(_load_failure(self.path, exc)) from None
        run_files.check_model(model, self.metadata_file, self.path)
        return model


def _own_error(exc: BaseException) -> DlsuiteError | None:
    """A suite error raised inside Keras' loading, which wraps it in its own."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, DlsuiteError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _damaged_model(run_dir: Path, detail: str) -> str:
    return (
        f"run directory {run_dir}: model.keras could not be loaded: model.keras is damaged or not a Keras archive ({detail}); "
        "copy it again from the training run, or train the run again"
    )


# Keras wraps the real cause of a failed deserialization in the full layer config.
_CONFIG_DUMPS = ("Full object config:", "\n\nconfig=", "config={")
_UNREGISTERED = ("Could not locate class", "Could not locate function", "Unknown layer", "Unknown object")


def _model_error(exc: BaseException, limit: int = 300) -> str:
    """The meaningful part of a Keras load error: its innermost cause, without config dumps."""
    text = str(exc)
    if "Exception encountered:" in text:
        text = text.rsplit("Exception encountered:", 1)[1]
    for marker in _CONFIG_DUMPS:
        text = text.split(marker, 1)[0]
    text = " ".join(text.split()).rstrip(" .")
    if not text:
        return type(exc).__name__
    return textwrap.shorten(text, limit, placeholder=" ...")


def _load_failure(run_dir: Path, exc: BaseException) -> str:
    detail = _model_error(exc)
    if any(marker in detail for marker in _UNREGISTERED):
        detail = detail.split(". ", 1)[0]  # the rest is Keras' advice on decorating classes
        if _domains_discovered():
            hint = "it uses a class this installation does not define; it may come from another version of dlsuite (see versions in metadata.json)"
        else:
            hint = "open runs through `dlsuite` or `shared.domain.get_task` first so the domain's layers are registered"
    elif isinstance(exc, OSError):
        return _damaged_model(run_dir, detail)
    else:
        hint = "it may come from another version of dlsuite or Keras (see versions in metadata.json); train the run again with this version"
    return f"run directory {run_dir}: model.keras could not be loaded ({detail}); {hint}"


def _domains_discovered() -> bool:
    """Whether `shared.domain.discover` ran, so every domain's layers are registered."""
    import sys

    domain = sys.modules.get("shared.domain")
    return getattr(domain, "_DOMAINS", None) is not None


def _read_json(path: Path, run_dir: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # ValueError: bad JSON or encoding
        raise RunError(f"run directory {run_dir}: {path.name} is unreadable (not UTF-8 JSON); {run_files.RESTORE_HINT}") from None
    if not isinstance(data, dict):
        raise RunError(f"run directory {run_dir}: {path.name} is not a JSON object (received {type(data).__name__}); {run_files.RESTORE_HINT}")
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
