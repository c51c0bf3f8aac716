import numpy as np
import pytest

from shared.layers import ResidualBlock

IMAGES = np.random.default_rng(0).standard_normal((2, 8, 8, 4)).astype("float32")
FRAMES = np.random.default_rng(0).standard_normal((2, 9, 4)).astype("float32")


@pytest.mark.parametrize(
    "inputs, kwargs, expected_shape, projected",
    [
        (IMAGES, {"filters": 4}, (2, 8, 8, 4), False),
        (IMAGES, {"filters": 6}, (2, 8, 8, 6), True),
        (IMAGES, {"filters": 4, "strides": 2}, (2, 4, 4, 4), True),
        (FRAMES, {"filters": 4, "rank": 1}, (2, 9, 4), False),
        (FRAMES, {"filters": 8, "rank": 1, "strides": 2}, (2, 5, 8), True),
    ],
)
def test_shortcut_is_projected_only_when_shape_changes(
    inputs, kwargs, expected_shape, projected
):
    block = ResidualBlock(**kwargs)
    outputs = block(inputs)
    assert outputs.shape == expected_shape
    assert block.compute_output_shape(inputs.shape) == expected_shape
    assert (block.projection is not None) == projected
    assert np.min(outputs) >= 0.0  # final relu


def test_identity_shortcut_adds_the_input():
    block = ResidualBlock(4)
    block(IMAGES)
    # With the residual branch silenced, the block reduces to relu(inputs).
    block.norm2.gamma.assign(np.zeros(4, "float32"))
    np.testing.assert_allclose(block(IMAGES, training=False), np.maximum(IMAGES, 0.0), atol=1e-6)


@pytest.mark.parametrize("filters, expected_losses", [(4, 2), (6, 3)])
def test_l2_adds_a_loss_per_convolution(filters, expected_losses):
    block = ResidualBlock(filters, l2=0.01)
    block(IMAGES)
    assert len(block.losses) == expected_losses
    plain = ResidualBlock(filters)
    plain(IMAGES)
    assert len(plain.losses) == 0


def test_dropout_only_while_training():
    block = ResidualBlock(4, dropout=0.5)
    block(IMAGES)
    assert block.dropout_layer is not None
    np.testing.assert_allclose(block(IMAGES, training=False), block(IMAGES, training=False))
    assert not np.allclose(block(IMAGES, training=True), block(IMAGES, training=False))
    no_dropout = ResidualBlock(4)
    no_dropout(IMAGES)
    assert no_dropout.dropout_layer is None


def test_config_round_trip():
    block = ResidualBlock(8, kernel_size=5, strides=2, rank=1, l2=0.01, dropout=0.2)
    config = block.get_config()
    assert ResidualBlock.from_config(config).get_config() == config


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"filters": -1}, "Received: filters=-1"),
        ({"filters": 4, "rank": 0}, r"Received: rank=0; expected one of \[1,2\]"),
        ({"filters": 4, "strides": 0}, "Received: strides=0"),
        ({"filters": 4, "l2": -1.0}, "Received: l2=-1.0"),
        ({"filters": 4, "dropout": 1.0}, "Received: dropout=1.0"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ResidualBlock(**kwargs)


def test_input_rank_must_match():
    with pytest.raises(ValueError, match="rank=1 expects 3D inputs"):
        ResidualBlock(4, rank=1)(IMAGES)


@pytest.mark.parametrize("shape", [(2, 9, 7, 3), (2, 8, 8, 1)])
def test_strided_projection_equals_a_strided_1x1_convolution(shape):
    """The shortcut subsamples, then applies a stride-1 1x1 conv: the same map as a stride-2 1x1 conv with its kernel."""
    import keras
    import numpy as np

    from shared.layers import ResidualBlock

    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    block = ResidualBlock(4, strides=2)
    block(x)
    reference = keras.layers.Conv2D(4, 1, strides=2, padding="same", use_bias=False)
    reference.build(shape)
    reference.set_weights(block.projection.get_weights())
    np.testing.assert_allclose(block.projection(block._subsample(x)), reference(x), rtol=1e-5, atol=1e-6)


def test_norm_momentum_reaches_every_batch_norm_and_the_config():
    import numpy as np

    from shared.layers import ConvBlock, ResidualBlock

    x = np.zeros((1, 8, 8, 2), "float32")
    for block in (ResidualBlock(4, strides=2, norm_momentum=0.9), ConvBlock(4, norm_momentum=0.9)):
        block(x)
        norms = [layer for layer in block._flatten_layers() if layer.__class__.__name__ == "BatchNormalization"]
        assert norms and all(n.momentum == 0.9 for n in norms)
        assert type(block).from_config(block.get_config()).norm_momentum == 0.9
    for bad in (0, 1, 1.5, True, "0.9"):
        with pytest.raises(ValueError, match="norm_momentum"):
            ResidualBlock(4, norm_momentum=bad)
