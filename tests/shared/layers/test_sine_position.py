import keras
import numpy as np
import pytest

from shared.layers import SinePositionEncoding


def reference_encoding(timesteps, dim, max_wavelength):
    positions = np.arange(timesteps)[:, None]
    pair_start = (np.arange(dim) // 2) * 2
    angles = positions / np.power(max_wavelength, pair_start / dim)
    return np.where(np.arange(dim) % 2 == 0, np.sin(angles), np.cos(angles))


@pytest.mark.parametrize("dim", [4, 5])
@pytest.mark.parametrize("max_wavelength", [10000, 50.0])
def test_adds_the_sinusoidal_encoding(dim, max_wavelength):
    inputs = np.random.default_rng(0).standard_normal((2, 7, dim)).astype("float32")
    outputs = SinePositionEncoding(max_wavelength=max_wavelength)(inputs)
    expected = inputs + reference_encoding(7, dim, max_wavelength)[None]
    np.testing.assert_allclose(outputs, expected, atol=1e-5)


def test_passes_the_mask_through(keras_mask):
    tokens = np.array([[3, 4, 0]])
    embedded = keras.layers.Embedding(10, 4, mask_zero=True)(tokens)
    outputs = SinePositionEncoding()(embedded)
    np.testing.assert_array_equal(keras_mask(outputs), tokens != 0)


def test_accepts_any_sequence_length():
    inputs = keras.Input((None, 4))
    model = keras.Model(inputs, SinePositionEncoding()(inputs))
    assert model(np.zeros((1, 3, 4), "float32")).shape == (1, 3, 4)
    assert model(np.zeros((1, 11, 4), "float32")).shape == (1, 11, 4)


def test_config_round_trip():
    layer = SinePositionEncoding(max_wavelength=500)
    config = layer.get_config()
    assert SinePositionEncoding.from_config(config).get_config() == config


@pytest.mark.parametrize("max_wavelength", [0, -3.0, "big", True])
def test_bad_max_wavelength(max_wavelength):
    with pytest.raises(ValueError, match=f"Received: max_wavelength={max_wavelength!r}"):
        SinePositionEncoding(max_wavelength=max_wavelength)


def test_rejects_inputs_without_a_time_axis():
    with pytest.raises(ValueError, match=r"Received: input_shape=\(2, 4\)"):
        SinePositionEncoding()(np.zeros((2, 4), "float32"))
