"""tf.data feeding for the fraud tasks: from memory, or from TFRecord shards.

A table that fits in memory is fed from memory: the grouped model inputs
stay in tensors, training shuffles row indices and each batch gathers its
rows in one op. Shards are written and read only when the run needs files:
a multi-worker run (workers split the training set by file) or a packed
data set (`dlsuite data pack`), which is never loaded into memory.

TensorFlow is imported inside the functions, so that `task.py` imports
this module without starting TensorFlow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from domains.fraud_detection.sources import LABEL, FeatureColumns, features_only, grouped_arrays
from shared.data.pipeline import split_datasets
from shared.data.records import batch_parser, read_records, shard_counts, write_shards
from shared.data.splits import SPLIT_NAMES
from shared.errors import DlsuiteError

ADAPT_BATCH = 4096  # rows per batch the preprocessing layers adapt on


def needs_shards(cfg) -> bool:
    """Whether this run trains from files: a multi-worker cluster splits the training set by file.

    Decided from `TF_CONFIG` (`shared.training.cluster`), as the strategy
    is, without starting TensorFlow.
    """
    from shared.training.cluster import read_tf_config

    if cfg.trainer.strategy not in ("auto", "multi_worker"):
        return False
    try:
        spec = read_tf_config()
    except DlsuiteError:
        return False  # the strategy reports a malformed TF_CONFIG itself
    return spec is not None and spec.size > 1


def as_tensors(inputs: dict) -> dict:
    """Model inputs as tensors (Keras refuses 2-D NumPy string arrays); text columns hold `str` objects."""
    import tensorflow as tf

    return {k: tf.constant(v) for k, v in inputs.items()}


def predict_scores(model, inputs: dict, batch_size: int) -> np.ndarray:
    """One score per row: `predict_on_batch` over slices of `batch_size` rows of the whole table.

    Far cheaper than `Model.predict` (no per-call dataset, callbacks or
    progress machinery) while the slices bound the memory of large tables.
    """
    tensors = as_tensors(inputs)
    rows = len(next(iter(inputs.values())))
    parts = [np.asarray(model.predict_on_batch({k: v[i : i + batch_size] for k, v in tensors.items()})).reshape(-1) for i in range(0, rows, batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0,), "float32")


def memory_datasets(cfg, arrays: dict, assign: np.ndarray, columns: dict) -> tuple[dict, Any]:
    """Batched `(inputs, label)` datasets of each split held in memory, and the batched training inputs.

    Each split's grouped inputs become tensors once. Every epoch the
    training split is put in a fresh random order (seeded; validation and
    test keep theirs) with one `tf.gather` per input over the whole split,
    and then cut into batches by slicing, so that feeding a batch costs no
    more than reading a cached one. The tensors are the cache:
    `trainer.cache` has nothing left to do here.
    """
    import tensorflow as tf

    grouped = grouped_arrays(arrays, columns)
    tensors = {name: as_tensors({k: v[assign == name] for k, v in grouped.items()}) for name in SPLIT_NAMES}
    size = cfg.trainer.batch_size

    def batches(name):
        split = tensors[name]
        n = int((assign == name).sum())
        full, rest = divmod(n, size)

        def cut(order):
            rows = {k: tf.gather(v, order) for k, v in split.items()}
            head = {k: tf.reshape(v[: full * size], [full, size, *v.shape[1:]]) for k, v in rows.items()}
            out = tf.data.Dataset.from_tensor_slices(head)
            if rest:
                out = out.concatenate(tf.data.Dataset.from_tensors({k: v[full * size :] for k, v in rows.items()}))
            return out

        if name == "train":
            # A fresh permutation of every row index each epoch, drawn in one op: each pass over
            # `Dataset.random` yields a new seed for the stateless shuffle (reproducible under run.seed).
            seeds = tf.data.Dataset.random(seed=cfg.run.seed, rerandomize_each_iteration=True).take(1)
            order = seeds.map(lambda r: tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int64), seed=tf.stack([r, tf.constant(0, tf.int64)])))
        else:
            order = tf.data.Dataset.from_tensors(tf.range(n, dtype=tf.int64))
        ds = order.flat_map(cut).map(lambda batch: (features_only(batch), batch[LABEL]))
        return ds.apply(tf.data.experimental.assert_cardinality(full + (1 if rest else 0))).prefetch(tf.data.AUTOTUNE)

    splits = {name: batches(name) for name in SPLIT_NAMES}
    adapt = tf.data.Dataset.from_tensor_slices(features_only(tensors["train"])).batch(ADAPT_BATCH)
    return splits, adapt


def shard_spec(cols: FeatureColumns, state: dict) -> dict:
    """The `shared.data.records` spec of a fraud table's shards: one entry per column, plus the label and history."""
    spec = {c: {"dtype": "float", "shape": []} for c in cols.numeric}
    spec.update({c: {"dtype": "string", "shape": []} for c in cols.categorical})
    spec[LABEL] = {"dtype": "int", "shape": []}
    if "history" in state:
        spec["history"] = {"dtype": "float", "shape": [len(cols.numeric), state["history"]["length"]]}
        spec["history_mask"] = {"dtype": "float", "shape": [state["history"]["length"]]}
    return spec


def write_split_shards(arrays: dict, assign: np.ndarray, spec: dict, root: Path, rows_per_shard: int, fingerprint: str) -> dict:
    """Write each split's rows into TFRecord shards under `root/<split>`; return the files per split."""
    for name in SPLIT_NAMES:
        rows = assign == name
        write_shards({k: v[rows] for k, v in arrays.items()}, spec, root / name, rows_per_shard, fingerprint)
    return shard_counts(root)


def shard_datasets(cfg, root: Path, spec: dict, groups: dict, cache: bool) -> tuple[dict, Any]:
    """Batched `(inputs, label)` datasets of the split shard sets under `root`,
    and the batched training inputs that `adapt` the preprocessing.

    Serialized records are shuffled and batched, then parsed a batch at a
    time, the columns of each of `groups` stacked into one model input.
    """
    import tensorflow as tf

    parse = batch_parser(spec, groups)

    def as_pair(serialized):
        example = parse(serialized)
        return features_only(example), example[LABEL]

    def inputs_only(serialized):
        return features_only(parse(serialized))

    t = cfg.trainer
    splits = split_datasets(lambda name: read_records(root / name), t.batch_size, shuffle_buffer=t.shuffle_buffer, seed=cfg.run.seed, cache=cache, batch_map_fn=as_pair)
    return splits, read_records(root / "train").batch(ADAPT_BATCH).map(inputs_only, num_parallel_calls=tf.data.AUTOTUNE)
