"""tf.data input pipelines: cache, shuffle, parallel map, batch, prefetch.

One function builds every domain's pipeline. Variable-length examples are
padded per batch (`padded_shapes`) or grouped into length buckets
(`bucket_boundaries`) so that padding stays small.
"""

from __future__ import annotations

from collections.abc import Callable

SPLIT_NAMES = ("train", "validation", "test")
SHUFFLE_BUFFER_MAX = 4096  # examples; a larger buffer costs memory and start-up time for little gain


def split_datasets(
    unbatched: Callable[[str], object],
    batch_size: int,
    *,
    shuffle_buffer: int,
    seed: int | None,
    cache: bool = False,
    names: tuple[str, ...] = SPLIT_NAMES,
    **batch_options,
) -> dict:
    """The batched train/validation/test datasets; only `train` is shuffled.

    Args:
        unbatched: `unbatched(name)` -> the split's unbatched dataset (or
            serialized records, with `batch_map_fn` parsing each batch).
        batch_size: int. Global batch size.
        shuffle_buffer: int. The training split's buffer, capped at
            `SHUFFLE_BUFFER_MAX`; validation and test keep their order.
        seed: int or None. Shuffle seed.
        cache: bool. Cache every split in memory after its first pass.
        names: the splits to build.
        **batch_options: passed to `batched` (`map_fn`, `batch_map_fn`, ...).

    Returns:
        dict: split name -> batched, prefetched dataset.
    """
    return {
        name: batched(
            unbatched(name),
            batch_size,
            shuffle_buffer=min(shuffle_buffer, SHUFFLE_BUFFER_MAX) if name == "train" else 0,
            seed=seed,
            cache=cache,
            **batch_options,
        )
        for name in names
    }


def batched(
    ds,
    batch_size: int,
    *,
    shuffle_buffer: int = 0,
    seed: int | None = None,
    cache: bool = False,
    map_fn: Callable | None = None,
    batch_map_fn: Callable | None = None,
    padded_shapes=None,
    padding_values=None,
    bucket_boundaries: list[int] | None = None,
    length_fn: Callable | None = None,
    drop_remainder: bool = False,
):
    """Turn an unbatched dataset into a training-ready batched one.

    Args:
        ds: tf.data.Dataset. Unbatched examples.
        batch_size: int. Global batch size.
        shuffle_buffer: int. 0 disables shuffling (evaluation). Defaults to `0`.
        seed: int or None. Shuffle seed, for reproducible runs.
        cache: bool. Cache parsed examples in memory after the first epoch.
        map_fn: callable or None. Per-example transform, run in parallel.
        batch_map_fn: callable or None. Per-batch transform after batching,
            run in parallel; e.g. parse a batch of serialized records in one
            op (`shared.data.records.batch_parser`).
        padded_shapes: nested shapes or None. Pads variable-length examples.
        padding_values: nested values or None. Values used for padding.
        bucket_boundaries: list of int or None. Sequence-length bucket edges;
            needs `length_fn`.
        length_fn: callable or None. Example -> length (int32 scalar tensor).
        drop_remainder: bool. Drop the last partial batch.

    Example:

    >>> import tensorflow as tf
    >>> ds = tf.data.Dataset.range(10)
    >>> [int(b.shape[0]) for b in batched(ds, 4)]
    [4, 4, 2]
    """
    import tensorflow as tf

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1. Received: batch_size={batch_size}")
    if bucket_boundaries and length_fn is None:
        raise ValueError("bucket_boundaries needs a length_fn. Received: length_fn=None")
    if map_fn is not None:
        ds = ds.map(map_fn, num_parallel_calls=tf.data.AUTOTUNE)
    if cache:
        ds = ds.cache()
    if shuffle_buffer:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if bucket_boundaries:
        ds = ds.bucket_by_sequence_length(
            element_length_func=length_fn,
            bucket_boundaries=list(bucket_boundaries),
            bucket_batch_sizes=[batch_size] * (len(bucket_boundaries) + 1),
            padded_shapes=padded_shapes,
            padding_values=padding_values,
            drop_remainder=drop_remainder,
        )
    elif padded_shapes is not None:
        ds = ds.padded_batch(batch_size, padded_shapes=padded_shapes, padding_values=padding_values, drop_remainder=drop_remainder)
    else:
        ds = ds.batch(batch_size, drop_remainder=drop_remainder, num_parallel_calls=tf.data.AUTOTUNE)
    if batch_map_fn is not None:
        ds = ds.map(batch_map_fn, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)
