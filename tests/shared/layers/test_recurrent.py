import re

import keras
import numpy as np
import pytest

from shared.layers import RecurrentBlock

SEQUENCES = np.random.default_rng(0).standard_normal((2, 6, 3)).astype("float32")


@pytest.mark.parametrize("cell, layer_type", [("lstm", "LSTM"), ("gru", "GRU")])
def test_cell_picks_the_recurrent_layer(cell, layer_type):
    block = RecurrentBlock(4, cell=cell)
    assert block(SEQUENCES).shape == (2, 4)
    assert type(block.rnn).__name__ == layer_type


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_bidirectional_doubles_the_features(cell):
    block = RecurrentBlock(4, cell=cell, bidirectional=True)
    assert block(SEQUENCES).shape == (2, 8)
    assert type(block.rnn).__name__ == "Bidirectional"


@pytest.mark.parametrize(
    "bidirectional, expected_shape", [(False, (2, 6, 4)), (True, (2, 6, 8))]
)
def test_return_sequences(bidirectional, expected_shape):
    block = RecurrentBlock(4, bidirectional=bidirectional, return_sequences=True)
    assert block(SEQUENCES).shape == expected_shape
    assert block.compute_output_shape(SEQUENCES.shape) == expected_shape


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_is_skipped(cell, bidirectional):
    embedding = keras.layers.Embedding(10, 3, mask_zero=True)
    block = RecurrentBlock(4, cell=cell, bidirectional=bidirectional)
    padded = block(embedding(np.array([[4, 2, 7, 0, 0]])))
    unpadded = block(embedding(np.array([[4, 2, 7]])))
    np.testing.assert_allclose(padded, unpadded, atol=1e-6)


def test_mask_propagates_only_with_sequences(keras_mask):
    tokens = np.array([[4, 2, 7, 0, 0], [1, 1, 1, 1, 1]])
    embedded = keras.layers.Embedding(10, 3, mask_zero=True)(tokens)
    sequences = RecurrentBlock(4, return_sequences=True)(embedded)
    np.testing.assert_array_equal(keras_mask(sequences), tokens != 0)
    assert keras_mask(RecurrentBlock(4)(embedded)) is None


def test_mask_propagates_in_a_functional_model():
    inputs = keras.Input((5,), dtype="int32")
    x = keras.layers.Embedding(10, 3, mask_zero=True)(inputs)
    x = RecurrentBlock(4, return_sequences=True)(x)
    # GlobalAveragePooling1D averages only unmasked steps.
    outputs = keras.layers.GlobalAveragePooling1D()(x)
    model = keras.Model(inputs, [x, outputs])
    sequences, pooled = model(np.array([[4, 2, 7, 0, 0]]))
    np.testing.assert_allclose(pooled[0], np.mean(sequences[0, :3], axis=0), atol=1e-6)


@pytest.mark.parametrize("option", ["dropout", "recurrent_dropout"])
def test_dropout_only_while_training(option):
    block = RecurrentBlock(8, return_sequences=True, **{option: 0.5})
    np.testing.assert_allclose(
        block(SEQUENCES, training=False), block(SEQUENCES, training=False)
    )
    assert not np.allclose(block(SEQUENCES, training=True), block(SEQUENCES, training=False))


def test_config_round_trip():
    block = RecurrentBlock(
        4, cell="gru", bidirectional=True, return_sequences=True,
        dropout=0.1, recurrent_dropout=0.2,
    )
    config = block.get_config()
    assert RecurrentBlock.from_config(config).get_config() == config


def test_unknown_cell():
    message = "Received: cell='x'; expected one of ['gru','lstm']"
    with pytest.raises(ValueError, match=re.escape(message)):
        RecurrentBlock(4, cell="x")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"units": 0}, "Received: units=0"),
        ({"units": 4, "dropout": 2}, "Received: dropout=2"),
        ({"units": 4, "recurrent_dropout": -0.5}, "Received: recurrent_dropout=-0.5"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RecurrentBlock(**kwargs)
