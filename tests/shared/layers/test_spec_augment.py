import keras
import numpy as np
import pytest
import tensorflow as tf

from shared.layers import SpecAugment


def spectrograms(batch=64, frames=60, bins=40):
    # Strictly positive, so a zero can only come from a mask.
    return np.random.default_rng(0).uniform(1, 2, (batch, frames, bins)).astype("float32")


def runs(flags):
    """Lengths of the runs of True in a 1-D boolean array."""
    padded = np.concatenate([[False], flags, [False]]).astype(int)
    edges = np.flatnonzero(np.diff(padded))
    return edges[1::2] - edges[::2]


@pytest.mark.parametrize("training", [False, None])
def test_identity_at_inference(training):
    x = spectrograms(4)
    np.testing.assert_array_equal(SpecAugment(seed=0)(x, training=training), x)


def test_frequency_masks_are_whole_bands_up_to_the_max_width():
    x = spectrograms()
    out = np.asarray(SpecAugment(freq_masks=1, freq_mask_width=6, time_masks=0, seed=0)(x, training=True))
    zero = out == 0
    np.testing.assert_array_equal(out[~zero], x[~zero])
    widths, starts = [], set()
    for example in zero:
        # A frequency mask covers every frame of the bins it hits.
        assert (example == example[:1]).all()
        band = runs(example[0])
        assert len(band) <= 1
        widths.append(band[0] if len(band) else 0)
        if len(band):
            starts.add(int(np.argmax(example[0])))
    assert max(widths) == 6
    assert min(widths) == 0
    assert len(starts) > 15  # each example draws its own position


def test_time_masks_are_whole_spans_up_to_the_max_width():
    x = spectrograms()
    out = np.asarray(SpecAugment(freq_masks=0, time_masks=1, time_mask_width=10, seed=0)(x, training=True))
    zero = out == 0
    widths = []
    for example in zero:
        assert (example == example[:, :1]).all()
        span = runs(example[:, 0])
        assert len(span) <= 1
        widths.append(span[0] if len(span) else 0)
    assert max(widths) == 10
    assert len(set(widths)) > 5


def test_several_masks_stay_within_their_total_width():
    x = spectrograms()
    out = np.asarray(SpecAugment(freq_masks=2, freq_mask_width=5, time_masks=3, time_mask_width=4, seed=0)(x, training=True))
    zero = out == 0
    masked_bins = zero.all(axis=1).sum(axis=1)
    masked_frames = zero.all(axis=2).sum(axis=1)
    assert masked_bins.max() <= 2 * 5 and masked_frames.max() <= 3 * 4
    assert masked_bins.max() > 5 and masked_frames.max() > 4  # the bands are not all stacked
    # Every zero lies in a fully masked bin or a fully masked frame.
    explained = zero.all(axis=1, keepdims=True) | zero.all(axis=2, keepdims=True)
    np.testing.assert_array_equal(zero, explained)


def test_masks_differ_between_examples_and_between_calls():
    x = np.ones((8, 30, 20), "float32")
    layer = SpecAugment(seed=0)
    first = np.asarray(layer(x, training=True))
    second = np.asarray(layer(x, training=True))
    patterns = {example.tobytes() for example in first == 0}
    assert len(patterns) == 8
    assert not np.array_equal(first, second)


def test_same_seed_gives_the_same_masks():
    x = spectrograms(8)
    a = np.asarray(SpecAugment(seed=7)(x, training=True))
    b = np.asarray(SpecAugment(seed=7)(x, training=True))
    c = np.asarray(SpecAugment(seed=8)(x, training=True))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_dynamic_frames_in_a_compiled_model():
    inputs = keras.Input((None, 16))
    layer = SpecAugment(time_masks=2, time_mask_width=10, seed=0)
    model = keras.Model(inputs, layer(inputs))
    assert model.output_shape == (None, None, 16)
    step = tf.function(lambda x: model(x, training=True))
    for frames in (3, 25, 70):
        x = spectrograms(4, frames, 16)
        out = np.asarray(step(x))
        assert out.shape == x.shape
        zero = out == 0
        assert zero.any()
        np.testing.assert_array_equal(out[~zero], x[~zero])


def test_spans_wider_than_the_input_are_capped():
    x = spectrograms(16, 4, 3)
    out = np.asarray(SpecAugment(freq_masks=1, freq_mask_width=10, time_masks=1, time_mask_width=10, seed=0)(x, training=True))
    assert out.shape == x.shape
    assert (out == 0).all(axis=(1, 2)).any()  # some example is masked entirely


@pytest.mark.parametrize("kwargs", [{"freq_masks": 0, "time_masks": 0}, {"freq_mask_width": 0, "time_mask_width": 0}])
def test_zero_masks_or_widths_disable_masking(kwargs):
    x = spectrograms(4)
    np.testing.assert_array_equal(SpecAugment(seed=0, **kwargs)(x, training=True), x)


def test_masks_in_float16(mixed_precision):
    out = SpecAugment(seed=0)(spectrograms(4), training=True)
    assert keras.backend.standardize_dtype(out.dtype) == "float16"
    assert (np.asarray(out) == 0).any()


def test_config_round_trip():
    layer = SpecAugment(1, 4, 3, 12, seed=5)
    config = layer.get_config()
    assert config["seed"] == 5 and config["time_mask_width"] == 12
    assert SpecAugment.from_config(config).get_config() == config


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"freq_masks": -1}, "Received: freq_masks=-1"),
        ({"freq_mask_width": 2.5}, "Received: freq_mask_width=2.5"),
        ({"time_masks": True}, "Received: time_masks=True"),
        ({"time_mask_width": -3}, "Received: time_mask_width=-3"),
        ({"seed": "x"}, "Received: seed='x'"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SpecAugment(**kwargs)


def test_rejects_inputs_that_are_not_spectrograms():
    with pytest.raises(ValueError, match=r"Received: input_shape=\(None, 10\)"):
        SpecAugment()(keras.Input((10,)))


def test_reloaded_model_draws_the_same_masks(tmp_path):
    inputs = keras.Input((None, 16))
    model = keras.Model(inputs, SpecAugment(2, 4, 2, 5, seed=11)(inputs))
    model.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    x = spectrograms(4, 30, 16)
    np.testing.assert_array_equal(reloaded(x, training=True), model(x, training=True))
