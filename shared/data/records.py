"""Sharded TFRecord files: write once, stream many times.

Training never holds a whole dataset in memory: a task converts its input
into shards of `tf.train.Example`s, and `read_shards` streams them back with
parallel interleave and parallel parsing. A manifest records the spec, the
shard names, their row counts and SHA-256 checksums; a shard set without a
complete manifest is treated as absent and rewritten.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from shared.errors import DataError
from shared.runs import atomic_path, write_json

MANIFEST = "manifest.json"
# name -> {"dtype": "float"|"int"|"string", "shape": [..]}
Spec = Mapping[str, Mapping]


def _feature(values: np.ndarray, dtype: str):
    import tensorflow as tf

    flat = np.asarray(values).reshape(-1)
    if dtype == "float":
        return tf.train.Feature(float_list=tf.train.FloatList(value=flat.astype("float32")))
    if dtype == "int":
        return tf.train.Feature(int64_list=tf.train.Int64List(value=flat.astype("int64")))
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[str(v).encode() for v in flat]))


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_shards(
    columns: Mapping[str, np.ndarray],
    spec: Spec,
    out_dir: str | Path,
    rows_per_shard: int = 50_000,
    fingerprint: str = "",
    progress: Iterable | None = None,
) -> dict:
    """Write aligned column arrays as TFRecord shards plus a manifest.

    Args:
        columns: dict of name -> array with the same first dimension.
        spec: dict of name -> {"dtype", "shape"} describing one example.
        out_dir: directory for `part-00000.tfrecord`... and `manifest.json`.
        rows_per_shard: int. Rows per shard file. Defaults to `50000`.
        fingerprint: str. Identifies the source; a matching complete
            manifest means the shards are reused.
    """
    import tensorflow as tf

    out_dir = Path(out_dir)
    existing = read_manifest(out_dir, missing_ok=True)
    if existing and existing.get("fingerprint") == fingerprint and fingerprint:
        return existing
    n = len(next(iter(columns.values())))
    out_dir.mkdir(parents=True, exist_ok=True)
    shards = []
    starts = range(0, n, rows_per_shard)
    for i, start in enumerate(progress(starts) if progress else starts):
        stop = min(start + rows_per_shard, n)
        final = out_dir / f"part-{i:05d}.tfrecord"
        with atomic_path(final) as tmp:
            with tf.io.TFRecordWriter(str(tmp)) as writer:
                for row in range(start, stop):
                    feats = {k: _feature(columns[k][row], s["dtype"]) for k, s in spec.items()}
                    writer.write(tf.train.Example(features=tf.train.Features(feature=feats)).SerializeToString())
        shards.append({"file": final.name, "rows": stop - start, "sha256": sha256(final)})
    manifest = {"spec": {k: dict(v) for k, v in spec.items()}, "rows": n, "shards": shards, "fingerprint": fingerprint}
    write_json(out_dir / MANIFEST, manifest)
    return manifest


def read_manifest(out_dir: str | Path, missing_ok: bool = False) -> dict | None:
    path = Path(out_dir) / MANIFEST
    if not path.exists():
        if missing_ok:
            return None
        raise DataError(f"no {MANIFEST} in {out_dir}; the shards were not written completely")
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        raise DataError(f"{path} is unreadable") from None


def verify_shards(out_dir: str | Path) -> dict:
    """Check every shard exists and matches its checksum."""
    out_dir = Path(out_dir)
    manifest = read_manifest(out_dir)
    for shard in manifest["shards"]:
        path = out_dir / shard["file"]
        if not path.exists():
            raise DataError(f"shard {path} listed in the manifest is missing")
        if sha256(path) != shard["sha256"]:
            raise DataError(f"shard {path} does not match its manifest checksum (corrupt or modified)")
    return manifest


def parse_spec(spec: Spec) -> dict:
    import tensorflow as tf

    dtypes = {"float": tf.float32, "int": tf.int64, "string": tf.string}
    return {k: tf.io.FixedLenFeature(list(s.get("shape", [])), dtypes[s["dtype"]]) for k, s in spec.items()}


def read_shards(out_dir: str | Path, verify: bool = False, deterministic: bool = True):
    """Stream a shard set as an unbatched dataset of feature dicts."""
    import tensorflow as tf

    out_dir = Path(out_dir)
    manifest = verify_shards(out_dir) if verify else read_manifest(out_dir)
    files = [str(out_dir / s["file"]) for s in manifest["shards"]]
    features = parse_spec(manifest["spec"])
    ds = tf.data.Dataset.from_tensor_slices(files)
    ds = ds.interleave(
        tf.data.TFRecordDataset,
        cycle_length=min(len(files), 4),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=deterministic,
    )
    # Known size lets Keras show real progress bars and epoch lengths.
    ds = ds.apply(tf.data.experimental.assert_cardinality(int(manifest["rows"])))
    return ds.map(lambda rec: tf.io.parse_single_example(rec, features), num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
