import numpy as np
import pytest
import tensorflow as tf

from shared.data.pipeline import batched


def test_plain_batches_and_shuffle_is_seeded():
    ds = tf.data.Dataset.range(100)
    a = np.concatenate(list(batched(ds, 32, shuffle_buffer=100, seed=3).as_numpy_iterator()))
    b = np.concatenate(list(batched(ds, 32, shuffle_buffer=100, seed=3).as_numpy_iterator()))
    assert sorted(a.tolist()) == list(range(100)) and (a == b).all() and (a != np.arange(100)).any()
    assert [len(x) for x in batched(ds, 32, drop_remainder=True)] == [32, 32, 32]


def test_map_and_cache():
    ds = batched(tf.data.Dataset.range(4), 4, map_fn=lambda x: x * 2, cache=True)
    assert next(iter(ds)).numpy().tolist() == [0, 2, 4, 6]


def test_batch_map_runs_on_whole_batches():
    ds = batched(tf.data.Dataset.range(10), 4, batch_map_fn=lambda b: {"n": tf.shape(b)[0], "sum": tf.reduce_sum(b)})
    assert [(int(b["n"]), int(b["sum"])) for b in ds] == [(4, 6), (4, 22), (2, 17)]


def variable_length(n=40):
    lengths = np.random.default_rng(0).integers(1, 20, size=n)
    return tf.data.Dataset.from_generator(lambda: (np.ones(k, "int32") for k in lengths), output_signature=tf.TensorSpec([None], tf.int32)), lengths


def test_padded_batches():
    ds, lengths = variable_length()
    batches = list(batched(ds, 8, padded_shapes=[None]).as_numpy_iterator())
    assert sum(b.shape[0] for b in batches) == 40
    assert batches[0].shape[1] == lengths[:8].max()


def test_bucketing_reduces_padding():
    ds, lengths = variable_length(200)
    plain = sum(b.size for b in batched(ds, 8, padded_shapes=[None]).as_numpy_iterator())
    bucketed = list(batched(ds, 8, padded_shapes=[None], bucket_boundaries=[5, 10, 15], length_fn=lambda x: tf.shape(x)[0]).as_numpy_iterator())
    assert sum((b > 0).sum() for b in bucketed) == lengths.sum()
    assert sum(b.size for b in bucketed) < plain


def test_argument_errors():
    with pytest.raises(ValueError, match="Received: batch_size=0"):
        batched(tf.data.Dataset.range(3), 0)
    with pytest.raises(ValueError, match="needs a length_fn"):
        batched(tf.data.Dataset.range(3), 2, bucket_boundaries=[2])
