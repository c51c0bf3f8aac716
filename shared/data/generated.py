"""A cache of generated data sets (synthetic demo data written as files).

Some demo data sets are files on disk, as users' own data is (audio clips
in class folders, a manifest next to them). Generating them takes seconds
to minutes, so each one is written once per set of settings and reused:

    root = generated_dir("speech-keywords", {"seed": 0, "speakers": 24}, write)

The folder is `<cache>/<kind>-<sha256 of the settings>[:16]`, where
`<cache>` is `$DLSUITE_DATA_CACHE`, else `~/.cache/dlsuite/data`. It is
written into a temporary sibling and renamed into place when complete, so an
interrupted or concurrent generation never leaves a half-written set
behind; a folder without its `generated.json` is not used.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

CACHE_ENV = "DLSUITE_DATA_CACHE"
MARKER = "generated.json"


def cache_root() -> Path:
    """`$DLSUITE_DATA_CACHE`, else `~/.cache/dlsuite/data`."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "dlsuite" / "data"


def settings_key(settings: dict) -> str:
    """A stable 16-hex-digit key of JSON-able settings."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def generated_dir(kind: str, settings: dict, write: Callable[[Path], object], root: Path | None = None) -> Path:
    """The folder holding the data set `kind` generated with `settings`; generated on first use.

    Args:
        kind: str. A short name for the data set (part of the folder name).
        settings: dict. Everything the generated files depend on (JSON-able).
        write: `write(folder)` writes the data set into an empty folder.
        root: Path or None. The cache folder. Defaults to `cache_root()`.

    Returns:
        Path: the complete folder.
    """
    root = Path(root) if root is not None else cache_root()
    final = root / f"{kind}-{settings_key(settings)}"
    if (final / MARKER).is_file():
        return final
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{final.name}."))
    try:
        write(staging)
        (staging / MARKER).write_text(json.dumps({"kind": kind, "settings": settings}, indent=2, sort_keys=True, default=str) + "\n")
        if final.exists():  # an incomplete earlier attempt: no marker
            if (final / MARKER).is_file():
                return final
            shutil.rmtree(final, ignore_errors=True)
        try:
            os.replace(staging, final)
        except OSError:  # another process finished first
            if not (final / MARKER).is_file():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return final
