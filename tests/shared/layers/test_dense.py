import keras
import numpy as np
import pytest

from shared.layers import DenseBlock

X = np.random.default_rng(0).standard_normal((8, 5)).astype("float32")


@pytest.mark.parametrize("batch_norm", [True, False])
def test_batch_norm_option(batch_norm):
    block = DenseBlock(4, batch_norm=batch_norm)
    assert block(X).shape == (8, 4)
    assert (block.norm is not None) == batch_norm
    # The bias is dropped only when batch norm re-centres the outputs.
    assert (block.dense.bias is None) == batch_norm


def test_activation_is_applied():
    assert np.min(DenseBlock(4, batch_norm=False)(X)) >= 0.0
    linear = DenseBlock(4, activation=None, batch_norm=False)
    assert np.min(linear(X)) < 0.0


def test_dropout_only_while_training():
    block = DenseBlock(64, dropout=0.5, batch_norm=False, activation="sigmoid")
    inference = block(X, training=False)
    np.testing.assert_allclose(block(X, training=False), inference)
    assert np.mean(block(X, training=True) == 0.0) > 0.2


def test_no_dropout_layer_when_rate_is_zero():
    block = DenseBlock(4)
    block.build((None, 5))
    assert block.dropout_layer is None


def test_l2_adds_a_loss():
    with_penalty = DenseBlock(4, l2=0.01)
    with_penalty(X)
    assert len(with_penalty.losses) == 1
    without = DenseBlock(4)
    without(X)
    assert len(without.losses) == 0


def test_applies_to_last_axis_of_sequences():
    assert DenseBlock(3)(np.ones((2, 6, 5), "float32")).shape == (2, 6, 3)


def test_config_round_trip():
    block = DenseBlock(4, activation="tanh", dropout=0.1, batch_norm=False, l2=0.5)
    config = block.get_config()
    assert DenseBlock.from_config(config).get_config() == config


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"units": -1}, "Received: units=-1"),
        ({"units": 4, "dropout": 1.5}, "Received: dropout=1.5"),
        ({"units": 4, "l2": -0.1}, "Received: l2=-0.1"),
        ({"units": 4, "activation": "nope"}, "Received: activation='nope'"),
        ({"units": 4, "activation": keras.activations.relu}, "Received: activation="),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DenseBlock(**kwargs)
