import numpy as np
import pytest

from shared.layers import PositionalEmbedding, TransformerEncoderBlock

SEQUENCES = np.random.default_rng(0).standard_normal((2, 5, 8)).astype("float32")
MASK = np.array([[True, True, True, False, False], [True] * 5])


def block(**kwargs):
    return TransformerEncoderBlock(num_heads=2, key_dim=4, ff_dim=16, **kwargs)


def test_output_shape():
    assert block()(SEQUENCES).shape == (2, 5, 8)


def test_padded_positions_are_not_attended_to():
    encoder = block()
    changed = SEQUENCES.copy()
    changed[0, 3:] = 100.0
    original = encoder(SEQUENCES, mask=MASK)
    np.testing.assert_allclose(
        encoder(changed, mask=MASK)[0, :3], original[0, :3], atol=1e-5
    )
    # Without the mask the change is visible, so the check above is meaningful.
    assert not np.allclose(encoder(changed)[0, :3], encoder(SEQUENCES)[0, :3], atol=1e-3)


def test_keras_mask_is_used_and_passed_on(keras_mask):
    tokens = np.array([[4, 8, 15, 0], [16, 23, 42, 7]])
    embedded = PositionalEmbedding(50, sequence_length=4, embedding_dim=8)(tokens)
    encoder = block()
    encoded = encoder(embedded)
    np.testing.assert_array_equal(keras_mask(encoded), tokens != 0)
    np.testing.assert_allclose(encoded, encoder(embedded, mask=tokens != 0), atol=1e-6)
    # Keras' attention layer strips masks; the caller's tensor must keep its own.
    np.testing.assert_array_equal(keras_mask(embedded), tokens != 0)


def test_dropout_only_while_training():
    encoder = block(dropout=0.5)
    np.testing.assert_allclose(
        encoder(SEQUENCES, training=False), encoder(SEQUENCES, training=False)
    )
    assert not np.allclose(encoder(SEQUENCES, training=True), encoder(SEQUENCES))


def test_config_round_trip():
    encoder = block(dropout=0.2, epsilon=1e-5)
    config = encoder.get_config()
    assert TransformerEncoderBlock.from_config(config).get_config() == config


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_heads": 0, "key_dim": 4, "ff_dim": 8}, "Received: num_heads=0"),
        ({"num_heads": 2, "key_dim": -4, "ff_dim": 8}, "Received: key_dim=-4"),
        ({"num_heads": 2, "key_dim": 4, "ff_dim": None}, "Received: ff_dim=None"),
        ({"num_heads": 2, "key_dim": 4, "ff_dim": 8, "dropout": 1}, "Received: dropout=1"),
        ({"num_heads": 2, "key_dim": 4, "ff_dim": 8, "epsilon": -1e-6}, "Received: epsilon=-1e-06"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TransformerEncoderBlock(**kwargs)


def test_rejects_inputs_without_a_time_axis():
    with pytest.raises(ValueError, match=r"Received: input_shape=\(2, 8\)"):
        block()(np.zeros((2, 8), "float32"))
