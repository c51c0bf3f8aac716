import keras
import numpy as np
import pytest

from shared.layers import AttentionPooling

SEQUENCES = np.random.default_rng(0).standard_normal((2, 5, 6)).astype("float32")
MASK = np.array([[True, True, True, False, False], [True] * 5])


@pytest.mark.parametrize("units, hidden", [(None, 6), (3, 3)])
def test_output_shape_and_units(units, hidden):
    layer = AttentionPooling(units=units)
    assert layer(SEQUENCES).shape == (2, 6)
    assert tuple(layer.score_kernel.shape) == (6, hidden)


def test_returns_weights_that_sum_to_one():
    pooled, weights = AttentionPooling()(SEQUENCES, mask=MASK, return_attention_scores=True)
    assert weights.shape == (2, 5)
    np.testing.assert_allclose(np.sum(weights, axis=-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(weights[0, 3:], 0.0)
    expected = np.sum(SEQUENCES * np.asarray(weights)[..., None], axis=1)
    np.testing.assert_allclose(pooled, expected, atol=1e-6)


def test_padded_steps_do_not_change_the_result():
    layer = AttentionPooling()
    changed = SEQUENCES.copy()
    changed[0, 3:] = 50.0
    np.testing.assert_allclose(
        layer(changed, mask=MASK), layer(SEQUENCES, mask=MASK), atol=1e-6
    )


def test_uses_the_keras_mask_and_removes_it(keras_mask):
    tokens = np.array([[3, 4, 0, 0], [1, 2, 3, 4]])
    embedded = keras.layers.Embedding(10, 6, mask_zero=True)(tokens)
    layer = AttentionPooling()
    pooled = layer(embedded)
    np.testing.assert_allclose(pooled, layer(embedded, mask=tokens != 0), atol=1e-6)
    assert keras_mask(pooled) is None


def test_attention_scores_in_a_functional_model():
    inputs = keras.Input((5, 6))
    pooled, weights = AttentionPooling(units=4)(inputs, return_attention_scores=True)
    model = keras.Model(inputs, [pooled, weights])
    pooled, weights = model(SEQUENCES)
    assert pooled.shape == (2, 6) and weights.shape == (2, 5)


def test_config_round_trip():
    layer = AttentionPooling(units=7)
    config = layer.get_config()
    assert AttentionPooling.from_config(config).get_config() == config


@pytest.mark.parametrize("units", [0, -1, 2.5])
def test_bad_units(units):
    with pytest.raises(ValueError, match=f"Received: units={units!r}"):
        AttentionPooling(units=units)


def test_rejects_inputs_without_a_time_axis():
    with pytest.raises(ValueError, match=r"Received: input_shape=\(2, 6\)"):
        AttentionPooling()(np.zeros((2, 6), "float32"))
