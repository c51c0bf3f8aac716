import keras
import numpy as np
import pytest

from shared.layers import PositionalEmbedding, TransformerDecoderBlock, TransformerEncoderBlock

RNG = np.random.default_rng(0)
TARGETS = RNG.standard_normal((2, 5, 8)).astype("float32")
SOURCES = RNG.standard_normal((2, 6, 6)).astype("float32")


def block(**kwargs):
    return TransformerDecoderBlock(num_heads=2, key_dim=4, ff_dim=16, **kwargs)


def test_output_shape():
    decoder = block()
    assert decoder(TARGETS, SOURCES).shape == (2, 5, 8)
    assert decoder.compute_output_shape(TARGETS.shape, SOURCES.shape) == (2, 5, 8)


def test_does_not_look_ahead():
    decoder = block()
    original = decoder(TARGETS, SOURCES)
    changed = TARGETS.copy()
    changed[:, 3] = 100.0
    outputs = decoder(changed, SOURCES)
    np.testing.assert_allclose(outputs[:, :3], original[:, :3], atol=1e-5)
    assert not np.allclose(outputs[:, 3:], original[:, 3:], atol=1e-3)


def test_padded_encoder_positions_are_not_attended_to():
    decoder = block()
    source_mask = np.array([[True] * 4 + [False] * 2, [True] * 6])
    changed = SOURCES.copy()
    changed[0, 4:] = 100.0
    original = decoder(TARGETS, SOURCES, encoder_outputs_mask=source_mask)
    outputs = decoder(TARGETS, changed, encoder_outputs_mask=source_mask)
    np.testing.assert_allclose(outputs, original, atol=1e-5)
    assert not np.allclose(decoder(TARGETS, changed), decoder(TARGETS, SOURCES), atol=1e-3)


def test_padded_target_positions_are_not_attended_to():
    decoder = block()
    target_mask = np.array([[True, False, True, True, True], [True] * 5])
    changed = TARGETS.copy()
    changed[0, 1] = 100.0
    original = decoder(TARGETS, SOURCES, inputs_mask=target_mask)
    outputs = decoder(changed, SOURCES, inputs_mask=target_mask)
    np.testing.assert_allclose(outputs[0, 2:], original[0, 2:], atol=1e-5)


def test_input_mask_is_passed_on(keras_mask):
    tokens = np.array([[1, 2, 3, 0], [4, 5, 6, 7]])
    embedded = PositionalEmbedding(10, sequence_length=4, embedding_dim=8)(tokens)
    np.testing.assert_array_equal(keras_mask(block()(embedded, SOURCES)), tokens != 0)


def test_stacked_decoders_keep_the_encoder_mask():
    # Padding the source must change nothing if every block sees its mask.
    sources = keras.Input((None,), dtype="int32")
    targets = keras.Input((4,), dtype="int32")
    encoded = TransformerEncoderBlock(2, 4, 16)(PositionalEmbedding(20, 6, 8)(sources))
    x = PositionalEmbedding(20, 4, 8)(targets)
    x = block()(x, encoded)
    x = block()(x, encoded)
    model = keras.Model([sources, targets], x)
    target_tokens = np.array([[1, 2, 3, 4]])
    padded = model([np.array([[5, 6, 7, 0, 0]]), target_tokens])
    unpadded = model([np.array([[5, 6, 7]]), target_tokens])
    np.testing.assert_allclose(padded, unpadded, atol=1e-5)


def test_dropout_only_while_training():
    decoder = block(dropout=0.5)
    np.testing.assert_allclose(
        decoder(TARGETS, SOURCES, training=False), decoder(TARGETS, SOURCES, training=False)
    )
    assert not np.allclose(decoder(TARGETS, SOURCES, training=True), decoder(TARGETS, SOURCES))


def test_config_round_trip():
    decoder = block(dropout=0.0, epsilon=1e-5)
    config = decoder.get_config()
    assert TransformerDecoderBlock.from_config(config).get_config() == config


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_heads": -1, "key_dim": 4, "ff_dim": 8}, "Received: num_heads=-1"),
        ({"num_heads": 2, "key_dim": 0, "ff_dim": 8}, "Received: key_dim=0"),
        ({"num_heads": 2, "key_dim": 4, "ff_dim": "8"}, "Received: ff_dim='8'"),
        ({"num_heads": 2, "key_dim": 4, "ff_dim": 8, "dropout": -0.1}, "Received: dropout=-0.1"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TransformerDecoderBlock(**kwargs)


def test_rejects_encoder_outputs_without_a_time_axis():
    with pytest.raises(ValueError, match=r"Received: encoder_outputs shape=\(2, 6\)"):
        block()(TARGETS, np.zeros((2, 6), "float32"))
