"""Sharded TFRecord files: write once, stream many times.

Training never holds a whole dataset in memory: a task converts its input
into shards of `tf.train.Example`s, and `read_records` streams them back with
parallel interleave, to be shuffled, batched and parsed a batch at a time
(`batch_parser`); `read_shards` yields parsed examples one by one. A manifest
records the spec, the shard names, their row counts and SHA-256 checksums;
it is written last, so a shard set without a complete manifest is treated as
absent and rewritten.

`ShardWriter` appends rows chunk by chunk, so the input never has to fit in
memory either; `shard_errors` turns a corrupt record met while streaming into
a one-line `DataError`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np

from shared.errors import DataError, first_line
from shared.runs import write_json

MANIFEST = "manifest.json"
# name -> {"dtype": "float"|"int"|"string", "shape": [..]}
Spec = Mapping[str, Mapping]
# dtype -> (value-list message, its field in `tf.train.Feature`, numpy dtype)
_LISTS = {
    "float": ("tensorflow.FloatList", "float_list", "float32"),
    "int": ("tensorflow.Int64List", "int64_list", "int64"),
    "string": ("tensorflow.BytesList", "bytes_list", str),
}

# How columns are laid out in each record. The scalar columns of one dtype
# travel together as one feature, `scalars:<dtype>`, whose value list holds
# them in spec order; every other column (an array per example) is a feature
# of its own. A wide table then costs one feature per dtype instead of one per
# column: writing and parsing are several times faster, and records are
# smaller, since each record repeats its feature names (bench/README.md).
# Manifests record the layout: `write_shards` writes shards of another layout
# again, and `read_manifest` refuses them (a pack must be packed again).
LAYOUT = 2
GROUP_PREFIX = "scalars:"


def group_name(dtype: str) -> str:
    """The on-disk feature holding the scalar columns of `dtype`."""
    return f"{GROUP_PREFIX}{dtype}"


def storage(spec: Spec) -> tuple[dict[str, list[str]], list[str]]:
    """The on-disk layout of a spec: (dtype -> its scalar columns, the other columns).

    Raises:
        DataError: a column name starts with `GROUP_PREFIX` (reserved).
        ValueError: a dtype is not float, int or string.
    """
    groups: dict[str, list[str]] = {}
    others: list[str] = []
    for name, s in spec.items():
        if s["dtype"] not in _LISTS:
            raise ValueError(f"column {name!r} has dtype {s['dtype']!r}; use one of {', '.join(_LISTS)}")
        if name.startswith(GROUP_PREFIX):
            raise DataError(f"column name {name!r} is reserved for the record layout (names starting {GROUP_PREFIX!r}); rename the column")
        if list(s.get("shape", [])):
            others.append(name)
        else:
            groups.setdefault(s["dtype"], []).append(name)
    return groups, others


def serialize(columns: Mapping[str, np.ndarray], spec: Spec) -> np.ndarray:
    """Serialize aligned column arrays as `tf.train.Example` strings, one per row.

    Columns are laid out as `storage` says. Each level of the message
    (value list, `Feature`, map entry, `Features`, `Example`) is built for
    all rows at once with `tf.io.encode_proto`, an order of magnitude faster
    than building protos row by row in Python.

    Args:
        columns: dict of name -> array with the same first dimension.
        spec: dict of name -> {"dtype", "shape"} describing one example.

    Returns:
        1-D numpy array of `bytes`.
    """
    import tensorflow as tf

    n = len(next(iter(columns.values())))
    groups, others = storage(spec)
    features = {group_name(dtype): (dtype, np.stack([_values(columns[c], n, dtype)[:, 0] for c in names], axis=1)) for dtype, names in groups.items()}
    features.update({name: (spec[name]["dtype"], _values(columns[name], n, spec[name]["dtype"])) for name in others})
    ones = tf.ones((n, 1), tf.int32)
    entries = []
    for name, (dtype, values) in features.items():
        message, field, _ = _LISTS[dtype]
        value_list = tf.io.encode_proto(tf.fill((n, 1), values.shape[1]), [tf.constant(values)], ["value"], message)
        feature = tf.io.encode_proto(ones, [value_list[:, None]], [field], "tensorflow.Feature")
        key = tf.fill((n, 1), name)
        entries.append(tf.io.encode_proto(tf.fill((n, 2), 1), [key, feature[:, None]], ["key", "value"], "tensorflow.Features.FeatureEntry"))
    message = tf.io.encode_proto(tf.fill((n, 1), len(entries)), [tf.stack(entries, axis=1)], ["feature"], "tensorflow.Features")
    return tf.io.encode_proto(ones, [message[:, None]], ["features"], "tensorflow.Example").numpy()


def _values(column, n: int, dtype: str) -> np.ndarray:
    """A column as an (n, values per example) array of its storage dtype."""
    return np.asarray(column).reshape(n, -1).astype(_LISTS[dtype][2])


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class ShardWriter:
    """Append rows to TFRecord shards, starting a new file every `rows_per_shard` rows.

    Rows arrive in chunks of any size (`write`), so the whole input never has
    to be in memory. `close` finishes the last shard and writes the manifest:
    spec, total rows, and each shard's rows and SHA-256. Used as a context
    manager, a block that raises leaves no manifest, so the partial set reads
    as absent. Part files and a manifest already in `out_dir` are removed
    first: the writer owns the directory's shards.

    Args:
        out_dir: directory for `part-00000.tfrecord`... and `manifest.json`.
        spec: dict of name -> {"dtype", "shape"} describing one example.
        rows_per_shard: int. Rows per shard file. Defaults to `50000`.
        fingerprint: str. Identifies the source; stored in the manifest.
    """

    def __init__(self, out_dir: str | Path, spec: Spec, rows_per_shard: int = 50_000, fingerprint: str = ""):
        if rows_per_shard < 1:
            raise ValueError(f"rows_per_shard must be >= 1. Received: rows_per_shard={rows_per_shard}")
        self.out_dir = Path(out_dir)
        self.spec = {k: dict(v) for k, v in spec.items()}
        self.rows_per_shard = rows_per_shard
        self.fingerprint = fingerprint
        self.rows = 0
        self.shards: list[dict] = []
        self.manifest: dict | None = None
        self._writer = None
        self._in_shard = 0
        self.out_dir.mkdir(parents=True, exist_ok=True)
        (self.out_dir / MANIFEST).unlink(missing_ok=True)
        for stale in self.out_dir.glob("part-*.tfrecord"):
            stale.unlink()

    def write(self, columns: Mapping[str, np.ndarray]) -> None:
        """Append aligned column arrays (name -> array, one row per entry)."""
        import tensorflow as tf

        examples = serialize(columns, self.spec) if len(next(iter(columns.values()))) else []
        done = 0
        while done < len(examples):
            if self._writer is None:
                self._writer = tf.io.TFRecordWriter(str(self._path(len(self.shards))))
            take = min(self.rows_per_shard - self._in_shard, len(examples) - done)
            for example in examples[done : done + take]:
                self._writer.write(example)
            done += take
            self._in_shard += take
            if self._in_shard == self.rows_per_shard:
                self._finish_shard()
        self.rows += len(examples)

    def close(self) -> dict:
        """Finish the last shard and write the manifest; returns the manifest."""
        if self._writer is not None:
            self._finish_shard()
        self.manifest = {"spec": self.spec, "layout": LAYOUT, "rows": self.rows, "shards": self.shards, "fingerprint": self.fingerprint}
        write_json(self.out_dir / MANIFEST, self.manifest)
        return self.manifest

    def _path(self, index: int) -> Path:
        return self.out_dir / f"part-{index:05d}.tfrecord"

    def _finish_shard(self) -> None:
        self._writer.close()
        self._writer = None
        path = self._path(len(self.shards))
        self.shards.append({"file": path.name, "rows": self._in_shard, "sha256": sha256(path)})
        self._in_shard = 0

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        elif self._writer is not None:
            self._writer.close()


def write_shards(
    columns: Mapping[str, np.ndarray],
    spec: Spec,
    out_dir: str | Path,
    rows_per_shard: int = 50_000,
    fingerprint: str = "",
    progress: Callable[[Iterable], Iterable] | None = None,
) -> dict:
    """Write aligned column arrays as TFRecord shards plus a manifest.

    Args:
        columns: dict of name -> array with the same first dimension.
        spec: dict of name -> {"dtype", "shape"} describing one example.
        out_dir: directory for `part-00000.tfrecord`... and `manifest.json`.
        rows_per_shard: int. Rows per shard file. Defaults to `50000`.
        fingerprint: str. Identifies the source; a matching complete
            manifest means the shards are reused.
        progress: callable or None. Wraps the iterable of shard start rows
            (e.g. `shared.progress.track`).
    """
    try:
        existing = read_manifest(out_dir, missing_ok=True)
    except DataError:
        existing = None  # unreadable: write the set again
    if existing and existing.get("fingerprint") == fingerprint and fingerprint:
        return existing
    n = len(next(iter(columns.values())))
    starts = range(0, n, rows_per_shard)
    with ShardWriter(out_dir, spec, rows_per_shard, fingerprint) as writer:
        for start in progress(starts) if progress else starts:
            writer.write({k: v[start : start + rows_per_shard] for k, v in columns.items()})
    return writer.manifest


def read_manifest(out_dir: str | Path, missing_ok: bool = False) -> dict | None:
    path = Path(out_dir) / MANIFEST
    if not path.exists():
        if missing_ok:
            return None
        raise DataError(f"no {MANIFEST} in {out_dir}; the shards were not written completely")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise DataError(f"{path} is unreadable") from None
    if not isinstance(manifest, dict) or not {"spec", "rows", "shards"} <= set(manifest):
        raise DataError(f"{path} is unreadable: it is not a shard manifest")
    if manifest.get("layout", 1) != LAYOUT:
        raise DataError(
            f"{path} describes shards of record layout {manifest.get('layout', 1)!r}, from another version of dlsuite; "
            f"this version reads layout {LAYOUT}: write or pack the data again"
        )
    problem = _manifest_problem(manifest)
    if problem:
        raise DataError(f"{path} is damaged: {problem}; write or pack the data again")
    return manifest


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _manifest_problem(manifest: dict) -> str | None:
    """What is wrong with a parsed manifest's spec, rows and shard list, or None."""
    spec, shards = manifest["spec"], manifest["shards"]
    if not isinstance(spec, dict) or not spec:
        return "its spec is not a non-empty mapping of columns"
    for name, column in spec.items():
        if not isinstance(column, dict) or not isinstance(column.get("dtype"), str) or column["dtype"] not in _LISTS:
            return f"column {name!r} has no dtype among {', '.join(_LISTS)}"
        shape = column.get("shape", [])
        if not isinstance(shape, list) or not all(_count(d) and d > 0 for d in shape):
            return f"column {name!r} has shape {shape!r}, not a list of positive sizes"
        if name.startswith(GROUP_PREFIX):
            return f"column name {name!r} is reserved for the record layout"
    if not _count(manifest["rows"]):
        return f"rows is {manifest['rows']!r}, not a row count"
    if not isinstance(shards, list) or not all(isinstance(sh, dict) for sh in shards):
        return "its shard list is not a list of shard entries"
    for shard in shards:
        file = shard.get("file")
        if not isinstance(file, str) or not file or Path(file).name != file or file in (".", ".."):
            return f"shard file {file!r} is not a file name in the shard directory"
        if not _count(shard.get("rows")) or not isinstance(shard.get("sha256"), str):
            return f"shard {file!r} lacks its row count or checksum"
    if sum(shard["rows"] for shard in shards) != manifest["rows"]:
        return f"its shards hold {sum(shard['rows'] for shard in shards)} rows in all, not the {manifest['rows']} it lists"
    return None


def shard_counts(root: str | Path, splits: tuple[str, ...] = ("train", "validation")) -> dict[str, int]:
    """Number of shard files of each split's shard set under `root`.

    A multi-worker run splits a dataset between workers by file when each
    worker gets at least one.
    """
    return {name: len(read_manifest(Path(root) / name)["shards"]) for name in splits}


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


# Failures met while streaming shards that mean the files are damaged or do
# not hold the records their manifest describes: any data loss, a count that
# differs from the manifest's, and a record that does not parse as its spec.
_READ_FAILURES = {
    "DataLossError": (),
    "FailedPreconditionError": ("was expected to contain",),
    "InvalidArgumentError": ("is required but could not be found", "parse", "Key: ", "Feature: "),
}


@contextlib.contextmanager
def shard_errors(*roots: str | Path) -> Iterator[None]:
    """Report a damaged shard met while streaming as one `DataError` line.

    TensorFlow raises `DataLossError` ("corrupted record at 1234"), a
    cardinality or a parse error from wherever the dataset is iterated,
    without naming the file. On such an error the shard sets under `roots`
    (any directory holding a manifest) are checked against their checksums,
    so the message names the damaged shard when it can. Other errors pass.
    """
    import tensorflow as tf

    try:
        yield
    except (tf.errors.OpError, UnicodeDecodeError) as exc:
        if isinstance(exc, UnicodeDecodeError):
            # TensorFlow quotes an unparsable record in its message and fails decoding it.
            detail = "a record does not parse as an Example"
        else:
            detail = first_line(exc)  # e.g. "corrupted record at 198"
            markers = _READ_FAILURES.get(type(exc).__name__)
            if markers is None or (markers and not any(m in str(exc) for m in markers)):
                raise
        for root in map(Path, roots):
            for manifest in sorted(root.rglob(MANIFEST)) if root.is_dir() else ():
                try:
                    verify_shards(manifest.parent)
                except DataError as damaged:
                    raise DataError(f"{damaged}; reading it failed with: {detail}") from None
        where = ", ".join(map(str, roots)) or "the input"
        raise DataError(f"reading TFRecord shards under {where} failed: {detail}; write or pack them again") from None


def parse_spec(spec: Spec) -> dict:
    """The `tf.io.parse_example` features of the records of `spec` (their on-disk layout)."""
    import tensorflow as tf

    dtypes = {"float": tf.float32, "int": tf.int64, "string": tf.string}
    groups, others = storage(spec)
    features = {group_name(dtype): tf.io.FixedLenFeature([len(names)], dtypes[dtype]) for dtype, names in groups.items()}
    features.update({k: tf.io.FixedLenFeature(list(spec[k]["shape"]), dtypes[spec[k]["dtype"]]) for k in others})
    return features


def unpack(parsed: dict, spec: Spec, groups: Mapping[str, list[str]] | None = None) -> dict:
    """Parsed records (one or a batch) as a dict of the spec's columns, in spec order.

    Args:
        parsed: dict. What `tf.io.parse_example` returned for `parse_spec(spec)`.
        spec: dict of name -> {"dtype", "shape"} describing one example.
        groups: dict of str to list of str, or None. Output name -> scalar
            columns of one dtype, returned stacked as one `(..., len(columns))`
            tensor under that name instead of one tensor each; a group equal to
            the on-disk group of its dtype is returned as parsed, without any
            copy. A model of a wide table then takes one input per group.
            Defaults to `None` (every column on its own).
    """
    import tensorflow as tf

    stored, _ = storage(spec)
    grouped = _check_groups(groups or {}, spec, stored)
    columns = {k: v for k, v in parsed.items() if not k.startswith(GROUP_PREFIX)}
    out = {}
    for name, names in grouped.items():
        dtype = spec[names[0]]["dtype"]
        block = parsed[group_name(dtype)]
        if names != stored[dtype]:
            position = {c: i for i, c in enumerate(stored[dtype])}
            block = tf.gather(block, [position[c] for c in names], axis=-1)
        out[name] = block
    taken = {c for names in grouped.values() for c in names}
    for dtype, names in stored.items():
        rest = [c for c in names if c not in taken]
        if rest:
            unstacked = dict(zip(names, tf.unstack(parsed[group_name(dtype)], num=len(names), axis=-1)))
            columns.update((c, unstacked[c]) for c in rest)
    out.update({k: columns[k] for k in spec if k not in taken})
    return out


def _check_groups(groups: Mapping[str, list[str]], spec: Spec, stored: dict[str, list[str]]) -> dict[str, list[str]]:
    """`groups` without empty entries, after checking each holds scalar columns of one dtype."""
    out = {}
    for name, names in groups.items():
        names = list(names)
        if not names:
            continue
        unknown = [c for c in names if c not in spec or list(spec[c].get("shape", []))]
        if unknown:
            raise ValueError(f"group {name!r} may hold only scalar columns of the spec. Received: columns {unknown}")
        dtypes = sorted({spec[c]["dtype"] for c in names})
        if len(dtypes) > 1:
            raise ValueError(f"group {name!r} mixes dtypes. Received: dtypes {dtypes}")
        clash = name in spec and name not in names
        if clash:
            raise ValueError(f"group name {name!r} is also a column of the spec. Received: groups {sorted(groups)}")
        out[name] = names
    return out


def batch_parser(spec: Spec, groups: Mapping[str, list[str]] | None = None) -> Callable:
    """A function that parses a batch (1-D string tensor) of serialized examples into a dict of batched tensors.

    Parsing a whole batch in one op is several times faster than parsing
    example by example, and serialized records are far cheaper to shuffle
    than parsed feature dicts; `read_records` + `shuffle` + `batch` + this
    parser is the fast way to train from shards. `groups` returns scalar
    columns stacked, as in `unpack`.
    """
    import tensorflow as tf

    features = parse_spec(spec)
    stored, _ = storage(spec)
    _check_groups(groups or {}, spec, stored)

    def parse(serialized):
        return unpack(tf.io.parse_example(serialized, features), spec, groups)

    return parse


def read_records(out_dir: str | Path, verify: bool = False, deterministic: bool = True):
    """Stream a shard set's serialized examples (unparsed, unbatched).

    The source is the list of shard files, interleaved, so `tf.distribute`
    can shard the input by file across workers. Iterate it inside
    `shard_errors(out_dir)` to get a readable error for a corrupt shard.
    """
    import tensorflow as tf

    out_dir = Path(out_dir)
    manifest = verify_shards(out_dir) if verify else read_manifest(out_dir)
    files = [str(out_dir / s["file"]) for s in manifest["shards"]]
    ds = tf.data.Dataset.from_tensor_slices(files)
    ds = ds.interleave(
        tf.data.TFRecordDataset,
        cycle_length=min(len(files), 4),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=deterministic,
    )
    # Known size lets Keras show real progress bars and epoch lengths.
    return ds.apply(tf.data.experimental.assert_cardinality(int(manifest["rows"])))


def read_shards(out_dir: str | Path, verify: bool = False, deterministic: bool = True):
    """Stream a shard set as an unbatched dataset of feature dicts."""
    import tensorflow as tf

    spec = read_manifest(out_dir)["spec"]
    features = parse_spec(spec)
    ds = read_records(out_dir, verify=verify, deterministic=deterministic)
    return ds.map(lambda rec: unpack(tf.io.parse_single_example(rec, features), spec), num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
