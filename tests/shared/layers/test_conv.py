import numpy as np
import pytest

from shared.layers import ConvBlock

IMAGES = np.random.default_rng(0).standard_normal((2, 8, 8, 3)).astype("float32")
FRAMES = np.random.default_rng(0).standard_normal((2, 10, 3)).astype("float32")


@pytest.mark.parametrize(
    "rank, inputs, kwargs, expected_shape",
    [
        (2, IMAGES, {}, (2, 8, 8, 4)),
        (2, IMAGES, {"strides": 2}, (2, 4, 4, 4)),
        (2, IMAGES, {"padding": "valid"}, (2, 6, 6, 4)),
        (1, FRAMES, {}, (2, 10, 4)),
        (1, FRAMES, {"strides": 3, "kernel_size": 5}, (2, 4, 4)),
        (1, FRAMES, {"padding": "valid"}, (2, 8, 4)),
    ],
)
def test_output_shapes(rank, inputs, kwargs, expected_shape):
    block = ConvBlock(4, rank=rank, **kwargs)
    outputs = block(inputs)
    assert outputs.shape == expected_shape
    assert block.compute_output_shape(inputs.shape) == expected_shape


@pytest.mark.parametrize("rank, conv_type", [(1, "Conv1D"), (2, "Conv2D")])
def test_rank_picks_the_convolution(rank, conv_type):
    block = ConvBlock(4, rank=rank)
    block(FRAMES if rank == 1 else IMAGES)
    assert type(block.conv).__name__ == conv_type


@pytest.mark.parametrize("batch_norm", [True, False])
def test_batch_norm_option(batch_norm):
    block = ConvBlock(4, batch_norm=batch_norm)
    block(IMAGES)
    assert (block.norm is not None) == batch_norm
    assert (block.conv.bias is None) == batch_norm


def test_dropout_only_while_training():
    block = ConvBlock(8, dropout=0.5, batch_norm=False, activation="sigmoid")
    np.testing.assert_allclose(block(IMAGES, training=False), block(IMAGES, training=False))
    assert np.mean(block(IMAGES, training=True) == 0.0) > 0.2
    no_dropout = ConvBlock(4)
    no_dropout(IMAGES)
    assert no_dropout.dropout_layer is None


def test_l2_adds_a_loss():
    with_penalty = ConvBlock(4, l2=0.01)
    with_penalty(IMAGES)
    assert len(with_penalty.losses) == 1
    without = ConvBlock(4)
    without(IMAGES)
    assert len(without.losses) == 0


def test_config_round_trip():
    block = ConvBlock(
        4, kernel_size=5, strides=2, rank=1, activation="gelu",
        batch_norm=False, dropout=0.1, l2=0.01, padding="valid",
    )
    config = block.get_config()
    assert ConvBlock.from_config(config).get_config() == config


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"filters": 0}, "Received: filters=0"),
        ({"filters": 4, "kernel_size": 0}, "Received: kernel_size=0"),
        ({"filters": 4, "strides": -2}, "Received: strides=-2"),
        ({"filters": 4, "rank": 3}, r"Received: rank=3; expected one of \[1,2\]"),
        ({"filters": 4, "padding": "full"}, "Received: padding='full'"),
        ({"filters": 4, "dropout": -0.1}, "Received: dropout=-0.1"),
        ({"filters": 4, "l2": -1}, "Received: l2=-1"),
        ({"filters": 4, "activation": "bogus"}, "Received: activation='bogus'"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ConvBlock(**kwargs)


def test_input_rank_must_match():
    with pytest.raises(ValueError, match=r"Received: input_shape=\(2, 10, 3\)"):
        ConvBlock(4, rank=2)(FRAMES)
