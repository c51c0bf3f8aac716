import keras
import numpy as np
import pytest

from shared.layers import PositionalEmbedding

TOKENS = np.array([[5, 7, 9, 0, 0], [1, 2, 3, 4, 5]])


def test_output_shape_and_mask(keras_mask):
    layer = PositionalEmbedding(20, sequence_length=6, embedding_dim=4)
    outputs = layer(TOKENS)
    assert outputs.shape == (2, 5, 4)
    assert layer.compute_output_shape(TOKENS.shape) == (2, 5, 4)
    np.testing.assert_array_equal(keras_mask(outputs), TOKENS != 0)


def test_no_mask_without_mask_zero(keras_mask):
    layer = PositionalEmbedding(20, sequence_length=6, embedding_dim=4, mask_zero=False)
    assert keras_mask(layer(TOKENS)) is None
    assert layer.compute_mask(TOKENS) is None


def test_adds_a_learned_vector_per_position():
    layer = PositionalEmbedding(20, sequence_length=4, embedding_dim=4)
    outputs = layer(np.array([[3, 3, 3, 3]]))
    tokens = layer.token_embedding(np.array([3]))[0]
    positions = keras.ops.convert_to_numpy(layer.position_embeddings)
    np.testing.assert_allclose(outputs[0], tokens[None, :] + positions, atol=1e-6)


def test_accepts_variable_length_inputs():
    inputs = keras.Input((None,), dtype="int32")
    model = keras.Model(inputs, PositionalEmbedding(20, 6, 4)(inputs))
    assert model(np.array([[1, 2]])).shape == (1, 2, 4)
    assert model(np.array([[1, 2, 3, 4, 5, 6]])).shape == (1, 6, 4)


def test_mask_reaches_downstream_layers():
    inputs = keras.Input((5,), dtype="int32")
    embedded = PositionalEmbedding(20, sequence_length=5, embedding_dim=4)(inputs)
    pooled = keras.layers.GlobalAveragePooling1D()(embedded)
    sequences, averages = keras.Model(inputs, [embedded, pooled])(TOKENS)
    np.testing.assert_allclose(averages[0], np.mean(sequences[0, :3], axis=0), atol=1e-6)


def test_too_long_inputs_are_rejected():
    with pytest.raises(ValueError, match="sequence_length=4"):
        PositionalEmbedding(20, sequence_length=4, embedding_dim=4)(TOKENS)


def test_config_round_trip():
    layer = PositionalEmbedding(20, sequence_length=6, embedding_dim=4, mask_zero=False)
    config = layer.get_config()
    assert PositionalEmbedding.from_config(config).get_config() == config


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"vocabulary_size": 0, "sequence_length": 4, "embedding_dim": 4}, "Received: vocabulary_size=0"),
        ({"vocabulary_size": 9, "sequence_length": -4, "embedding_dim": 4}, "Received: sequence_length=-4"),
        ({"vocabulary_size": 9, "sequence_length": 4, "embedding_dim": 2.5}, "Received: embedding_dim=2.5"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PositionalEmbedding(**kwargs)


def test_start_index_shifts_the_positions():
    layer = PositionalEmbedding(20, sequence_length=5, embedding_dim=4)
    full = keras.ops.convert_to_numpy(layer(TOKENS))
    for start in range(5):
        step = layer(TOKENS[:, start : start + 1], start_index=start)
        np.testing.assert_allclose(step[:, 0], full[:, start], atol=1e-6)
    np.testing.assert_allclose(layer(TOKENS[:, 2:], start_index=2), full[:, 2:], atol=1e-6)
