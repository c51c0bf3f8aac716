"""Packed data sets: a domain's input converted once into streamable shards.

`dlsuite data pack` turns an input too large for memory into

    DIR/pack.json
    DIR/train/part-00000.tfrecord ... manifest.json
    DIR/validation/...
    DIR/test/...

and `dlsuite train DOMAIN --data DIR` streams it back. Each split is a shard
set of `shared.data.records` (its manifest lists every shard's rows and
SHA-256); `pack.json` says what the set is: format version, domain, task,
example spec, the state the task needs (e.g. feature columns), rows per
split and a fingerprint of the source file. The task writes the content;
this module provides the directory layout, the atomic write and the checks.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from shared import runs
from shared.data.records import ShardWriter, Spec, read_manifest, sha256, verify_shards
from shared.data.splits import SPLIT_NAMES
from shared.errors import DataError
from shared.progress import RunningCount

PACK_FILE = "pack.json"
FORMAT_VERSION = 2  # 2: shards of record layout 2 (shared.data.records.LAYOUT)
# What every pack.json holds besides `format`; a task may add its own keys.
REQUIRED_KEYS = ("domain", "task", "source", "split", "spec", "state", "splits")


def is_pack(path: str | Path) -> bool:
    """True for a directory written by `writing_pack` (it holds `pack.json`)."""
    return (Path(path) / PACK_FILE).is_file()


@contextlib.contextmanager
def writing_pack(out_dir: str | Path) -> Iterator[Path]:
    """Yield an empty temporary directory that replaces `out_dir` on success.

    The directory is a hidden sibling of `out_dir`; it is renamed over
    `out_dir` only when the block finishes and has written `pack.json`, so a
    failed or interrupted pack never leaves a half-written `out_dir`. An
    existing pack is replaced; any other existing file or non-empty directory
    is refused.
    """
    out_dir = Path(out_dir)
    empty_dir = out_dir.is_dir() and not any(out_dir.iterdir())
    if out_dir.exists() and not (is_pack(out_dir) or empty_dir):
        kind = "directory" if out_dir.is_dir() else "file"
        raise DataError(f"{out_dir} is an existing {kind}, not a packed data set (no {PACK_FILE}); choose a new output directory")
    with runs.atomic_path(out_dir) as tmp:
        tmp.mkdir()
        yield tmp
        if not is_pack(tmp):
            raise RuntimeError(f"the pack in {tmp} was not finished with write_pack_file")


class SplitShards:
    """One `ShardWriter` per split under `root`, fed chunks of rows with their split names.

    Reports the rows written so far on stderr.

    Args:
        root: directory of the pack being written.
        spec: dict of name -> {"dtype", "shape"} describing one example.
        rows_per_shard: int. Rows per shard file.
    """

    def __init__(self, root: Path, spec: Spec, rows_per_shard: int):
        self.writers = {name: ShardWriter(root / name, spec, rows_per_shard) for name in SPLIT_NAMES}
        self.progress = RunningCount("packed {:,} rows")

    def write(self, assign: np.ndarray, columns: Mapping[str, np.ndarray]) -> None:
        """Append one chunk: `assign` holds each row's split name."""
        for name, writer in self.writers.items():
            rows = assign == name
            writer.write({k: v[rows] for k, v in columns.items()})
        self.progress.add(len(assign), self._detail())

    def close(self) -> dict[str, dict]:
        """Finish every split; returns the manifests by split name.

        Raises:
            DataError: a split received no rows.
        """
        self.progress.done(self._detail())
        for name, writer in self.writers.items():
            if writer.rows == 0:
                raise DataError(f"the {name} split is empty; add data or change the split fractions")
        return {name: writer.close() for name, writer in self.writers.items()}

    def _detail(self) -> str:
        return ", ".join(f"{name} {writer.rows:,}" for name, writer in self.writers.items())


def source_fingerprint(path: str | Path) -> dict:
    """Identify an input file: resolved path, size, modification time and SHA-256."""
    path = Path(path)
    stat = path.stat()
    return {"path": str(path.resolve()), "bytes": stat.st_size, "modified": stat.st_mtime, "sha256": sha256(path)}


def write_pack_file(root: Path, info: dict) -> dict:
    """Write `pack.json` (the format version first, then `info`); returns its content.

    `info` holds at least `REQUIRED_KEYS`: the domain and task that packed
    it, the `source_fingerprint`, the split settings, the example spec, the
    task's state (e.g. feature columns) and per-split counts (`rows`...).
    """
    missing = [k for k in REQUIRED_KEYS if k not in info]
    if missing:
        raise ValueError(f"pack.json needs {missing}. Received: keys {sorted(info)}")
    content = {"format": FORMAT_VERSION, **info}
    runs.write_json(root / PACK_FILE, content)
    return content


def read_pack(path: str | Path, domain: str, verify: bool = True) -> dict:
    """Read and check a pack for `domain`; with `verify`, checksum every shard.

    Raises:
        DataError: `pack.json` or a manifest is unreadable, the pack is of
            another format version or domain, or a shard is missing or does
            not match its checksum.
    """
    path = Path(path)
    file = path / PACK_FILE
    try:
        info = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise DataError(f"{file} is unreadable; pack the data again with `dlsuite data pack`") from None
    if not isinstance(info, dict) or not {"format", *REQUIRED_KEYS} <= set(info):
        raise DataError(f"{file} is unreadable: it is not a pack description; pack the data again with `dlsuite data pack`")
    if info["format"] != FORMAT_VERSION:
        raise DataError(f"{file} has pack format {info['format']!r}; this version reads format {FORMAT_VERSION}; pack the data again")
    if info["domain"] != domain:
        raise DataError(f"{path} holds data packed for {info['domain']!r}, not {domain!r}")
    splits = info["splits"] if isinstance(info["splits"], dict) else {}
    for name in SPLIT_NAMES:
        manifest = (verify_shards if verify else read_manifest)(path / name)
        entry = splits.get(name)
        listed = entry.get("rows") if isinstance(entry, dict) else None
        if listed != manifest["rows"]:
            raise DataError(f"{file} lists {listed!r} rows for the {name} split but its manifest has {manifest['rows']}; pack the data again")
        if info["spec"] != manifest["spec"]:
            raise DataError(f"{file} describes other columns (spec) than the {name} split's manifest; pack the data again")
    return info
