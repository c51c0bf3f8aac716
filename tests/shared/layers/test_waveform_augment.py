import keras
import numpy as np
import pytest
import tensorflow as tf

from shared.layers import WaveformAugment

# An SNR this high adds noise far below float32 resolution: the other steps can be checked exactly.
NO_NOISE = {"min_snr_db": 200.0, "max_snr_db": 200.0}
ONLY = {"max_shift": 0.0, "speed": 0.0, "gain_db": 0.0}


def sines(batch=32, samples=4000, amplitude=0.3):
    t = np.arange(samples) / 16000
    frequencies = np.linspace(200, 900, batch)[:, None]
    return (amplitude * np.sin(2 * np.pi * frequencies * t)).astype("float32")


def ramps(batch=32, samples=1000):
    # Strictly positive and increasing: zeros and shifts are easy to find.
    return np.tile(np.linspace(0.1, 0.9, samples, dtype="float32"), (batch, 1))


@pytest.mark.parametrize("training", [False, None])
def test_identity_at_inference(training):
    x = np.random.default_rng(0).uniform(-1.5, 1.5, (4, 500)).astype("float32")
    np.testing.assert_array_equal(WaveformAugment(seed=0)(x, training=training), x)


def test_training_keeps_the_shape_and_clips_to_unit_range():
    x = np.random.default_rng(0).uniform(-1, 1, (8, 3000)).astype("float32")
    out = np.asarray(WaveformAugment(gain_db=12.0, seed=0)(x, training=True))
    assert out.shape == x.shape
    assert np.abs(out).max() == 1.0  # +12 dB pushes full-scale audio into the clip
    assert not np.allclose(out, x, atol=1e-2)


def test_shift_moves_the_clip_and_fills_with_zeros():
    x = ramps()
    out = np.asarray(WaveformAugment(max_shift=0.2, speed=0.0, gain_db=0.0, **NO_NOISE, seed=0)(x, training=True))
    shifts = []
    for row, original in zip(out, x):
        leading = np.argmax(np.abs(row) > 1e-6)
        trailing = np.argmax(np.abs(row[::-1]) > 1e-6)
        assert leading == 0 or trailing == 0
        shift = leading - trailing
        assert abs(shift) <= 200
        expected = np.zeros_like(original)
        if shift >= 0:
            expected[shift:] = original[: len(original) - shift]
        else:
            expected[:shift] = original[-shift:]
        np.testing.assert_allclose(row, expected, atol=1e-6)
        shifts.append(shift)
    assert min(shifts) < -100 and max(shifts) > 100


def test_speed_resamples_linearly_and_keeps_the_length():
    samples = 1000
    x = np.tile(np.linspace(0.0, 0.9, samples, dtype="float32"), (32, 1))  # x[t] = 0.9 t / (samples - 1)
    out = np.asarray(WaveformAugment(max_shift=0.0, speed=0.2, gain_db=0.0, **NO_NOISE, seed=0)(x, training=True))
    assert out.shape == x.shape
    rates = []
    for row in out:
        rate = (row[1] - row[0]) * (samples - 1) / 0.9
        assert 0.8 - 1e-3 <= rate <= 1.2 + 1e-3
        t = np.arange(samples)
        source = rate * t
        expected = np.where(source <= samples - 1, 0.9 * source / (samples - 1), 0.0)
        inside = np.abs(source - (samples - 1)) > 1  # the step at the clip's end moves with `rate`'s rounding
        np.testing.assert_allclose(row[inside], expected[inside], atol=1e-4)
        rates.append(rate)
    assert min(rates) < 0.9 and max(rates) > 1.1  # slowed down (cropped) and sped up (zero-padded)


def test_gain_scales_each_clip_within_bounds():
    x = sines(64, amplitude=0.2)
    out = np.asarray(WaveformAugment(max_shift=0.0, speed=0.0, gain_db=6.0, **NO_NOISE, seed=0)(x, training=True))
    peak = np.argmax(np.abs(x), axis=1)
    rows = np.arange(len(x))
    gains = out[rows, peak] / x[rows, peak]
    np.testing.assert_allclose(out, gains[:, None] * x, atol=1e-6)  # one gain per clip
    gains_db = 20 * np.log10(gains)
    assert gains_db.min() >= -6.0 - 1e-3 and gains_db.max() <= 6.0 + 1e-3
    assert gains_db.min() < -4 and gains_db.max() > 4


def measured_snr_db(x, out):
    noise = out - x
    return 10 * np.log10(np.mean(x**2, axis=1) / np.mean(noise**2, axis=1))


def test_noise_snr_is_within_the_range_relative_to_each_clip():
    x = sines(64) * np.linspace(0.2, 1.0, 64, dtype="float32")[:, None]  # loud and quiet clips
    out = np.asarray(WaveformAugment(**ONLY, min_snr_db=10.0, max_snr_db=30.0, seed=0)(x, training=True))
    snr = measured_snr_db(x, out)
    assert snr.min() >= 9.5 and snr.max() <= 30.5
    assert snr.min() < 13 and snr.max() > 27
    fixed = np.asarray(WaveformAugment(**ONLY, min_snr_db=25.0, max_snr_db=25.0, seed=0)(x, training=True))
    np.testing.assert_allclose(measured_snr_db(x, fixed), 25.0, atol=0.4)


def test_silence_stays_silent():
    x = np.zeros((2, 800), "float32")
    np.testing.assert_array_equal(WaveformAugment(seed=0)(x, training=True), x)


def test_same_seed_gives_the_same_output():
    x = sines(4)
    a = np.asarray(WaveformAugment(seed=3)(x, training=True))
    b = np.asarray(WaveformAugment(seed=3)(x, training=True))
    c = np.asarray(WaveformAugment(seed=4)(x, training=True))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    layer = WaveformAugment(seed=3)
    assert not np.allclose(layer(x, training=True), layer(x, training=True))


def test_variable_length_in_a_compiled_model():
    inputs = keras.Input((None,))
    model = keras.Model(inputs, WaveformAugment(seed=0)(inputs))
    assert model.output_shape == (None, None)
    step = tf.function(lambda x: model(x, training=True))
    for samples in (300, 1601):
        x = sines(3, samples)
        out = np.asarray(step(x))
        assert out.shape == x.shape
        assert np.isfinite(out).all() and not np.allclose(out, x)
        np.testing.assert_array_equal(model(x, training=False), x)


def test_trains_inside_a_model():
    inputs = keras.Input((400,))
    x = WaveformAugment(seed=0)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    model.compile("sgd", "mse")
    history = model.fit(sines(8, 400), np.zeros((8, 1)), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_float16_output_under_mixed_precision(mixed_precision):
    out = WaveformAugment(seed=0)(sines(2), training=True)
    assert keras.backend.standardize_dtype(out.dtype) == "float16"


def test_config_round_trip():
    layer = WaveformAugment(0.05, 0.2, 3.0, 5.0, 15.0, seed=9)
    config = layer.get_config()
    assert (config["max_shift"], config["speed"], config["gain_db"], config["min_snr_db"], config["max_snr_db"], config["seed"]) == (0.05, 0.2, 3.0, 5.0, 15.0, 9)
    assert WaveformAugment.from_config(config).get_config() == config


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"max_shift": 1.0}, "Received: max_shift=1.0"),
        ({"max_shift": -0.1}, "Received: max_shift=-0.1"),
        ({"speed": 1.5}, "Received: speed=1.5"),
        ({"gain_db": -1.0}, "Received: gain_db=-1.0"),
        ({"gain_db": float("inf")}, "Received: gain_db=inf"),
        ({"min_snr_db": "loud"}, "Received: min_snr_db='loud'"),
        ({"max_snr_db": float("nan")}, "Received: max_snr_db=nan"),
        ({"min_snr_db": 30.0, "max_snr_db": 20.0}, "Received: min_snr_db=30.0, max_snr_db=20.0"),
        ({"seed": 1.5}, "Received: seed=1.5"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        WaveformAugment(**kwargs)


def test_rejects_inputs_that_are_not_waveforms():
    with pytest.raises(ValueError, match=r"Received: input_shape=\(None, 10, 1\)"):
        WaveformAugment()(keras.Input((10, 1)))


def test_reloaded_model_draws_the_same_augmentation(tmp_path):
    inputs = keras.Input((None,))
    model = keras.Model(inputs, WaveformAugment(0.05, 0.2, 3.0, 5.0, 15.0, seed=11)(inputs))
    model.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    x = sines(4, 700)
    np.testing.assert_array_equal(reloaded(x, training=True), model(x, training=True))
