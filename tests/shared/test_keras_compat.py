"""One test per private-Keras workaround in shared/keras_compat.py.

Each test reproduces the Keras behaviour the workaround exists for, so it
fails once Keras changes it: then the workaround can go.
"""

import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from shared import keras_compat


def test_the_workarounds_were_checked_against_this_keras():
    assert keras.__version__ == keras_compat.KERAS_TESTED


def test_keras_offers_no_public_way_to_read_the_safe_mode(tmp_path):
    public = [n for n in dir(keras.config) + dir(keras.saving) if "safe" in n.lower()]
    assert public == ["enable_unsafe_deserialization"], f"Keras now has {public}: use it in keras_compat.in_safe_mode"
    assert keras_compat.in_safe_mode() is None  # outside any load scope
    seen = []

    @keras.saving.register_keras_serializable(package="compat_test")
    class Probe(keras.layers.Layer):
        @classmethod
        def from_config(cls, config):
            seen.append(keras_compat.in_safe_mode())
            return cls(**config)

    keras.Sequential([keras.Input((2,)), Probe()]).save(tmp_path / "m.keras")
    keras.saving.load_model(tmp_path / "m.keras")
    keras.saving.load_model(tmp_path / "m.keras", safe_mode=False)
    assert seen == [True, False]


def test_keras_has_no_public_helper_for_the_variables_a_function_captures():
    assert not any("variables_used" in n for n in dir(keras.export)), "Keras now exposes it: use the public helper"
    kept = tf.Variable(2.0, name="kept")
    frozen = tf.Variable(3.0, trainable=False, name="frozen")

    @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
    def fn(x):
        return x * kept + frozen

    trainable, other = keras_compat.variables_used_by([fn.get_concrete_function()])
    assert [v.name for v in trainable] == ["kept:0"]
    assert [v.name for v in other] == ["frozen:0"]


def test_distribute_strategy_is_still_read_only_and_detach_resets_it():
    assert keras.Model.distribute_strategy.fset is None, "Keras now lets distribute_strategy be set: drop detach_strategy"
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    assert model.distribute_strategy is strategy
    keras_compat.detach_strategy(model)
    assert model.distribute_strategy is tf.distribute.get_strategy()
    np.testing.assert_allclose(model.predict(np.ones((3, 2)), verbose=0).shape, (3, 1))


SCRIPT = textwrap.dedent(
    """
    import sys
    from shared.training.strategy import split_cpu
    split_cpu(2)
    import keras, tensorflow as tf
    from shared import keras_compat

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    ds = tf.data.Dataset.from_tensor_slices((tf.constant(["a", "b", "c", "a"] * 4), tf.constant([0.0, 1.0, 0.0, 1.0] * 4))).batch(4)
    with strategy.scope():
        words = keras.Input((), dtype="string")
        ids = keras.layers.StringLookup(vocabulary=["a", "b", "c"])(words)
        model = keras.Model(words, keras.layers.Dense(1)(keras.layers.CategoryEncoding(4, output_mode="one_hot")(ids)))
        model.compile("sgd", "mse")
    if sys.argv[1] == "workaround":
        keras_compat.build_from_local_batch(model, next(iter(ds)), strategy)
    try:
        model.fit(ds, epochs=1, verbose=0)
    except Exception as exc:
        print("FAILED", type(exc).__name__, str(exc).splitlines()[0][:200])
    else:
        print("TRAINED")
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("mode, expected", [("plain", "FAILED"), ("workaround", "TRAINED")])
def test_string_inputs_fail_a_multi_replica_build_without_the_local_batch_build(mode, expected):
    result = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=300)
    out = result.stdout.strip().splitlines()
    assert out and out[-1].startswith(expected), (mode, result.stdout[-800:], result.stderr[-1500:])
