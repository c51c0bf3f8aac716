import keras
import numpy as np
import pytest
import tensorflow as tf

from shared.layers import LogMelSpectrogram
from shared.layers.log_mel import mel_weight_matrix

CONFIGS = [
    {"sample_rate": 16000},
    {"sample_rate": 8000, "frame_length": 200, "frame_step": 80, "fft_length": 256, "num_mel_bins": 20, "lower_edge_hertz": 50.0, "upper_edge_hertz": 3000.0},
    {"sample_rate": 22050, "frame_length": 512, "frame_step": 256, "fft_length": 1024, "num_mel_bins": 64, "lower_edge_hertz": 0.0, "log_offset": 1e-3},
]


def audio(batch, samples, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (batch, samples)).astype("float32")


def reference_log_mel(x, sample_rate, frame_length=400, frame_step=160, fft_length=512, num_mel_bins=40, lower_edge_hertz=20.0, upper_edge_hertz=None, log_offset=1e-6):
    stft = tf.signal.stft(x, frame_length, frame_step, fft_length, window_fn=tf.signal.hann_window, pad_end=False)
    power = tf.math.square(tf.abs(stft))
    upper = sample_rate / 2 if upper_edge_hertz is None else upper_edge_hertz
    mel_matrix = tf.signal.linear_to_mel_weight_matrix(num_mel_bins, fft_length // 2 + 1, sample_rate, lower_edge_hertz, upper)
    return np.log(np.asarray(tf.tensordot(power, mel_matrix, 1)) + log_offset)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: str(c["sample_rate"]))
def test_matches_tf_signal_stft_and_mel_matrix(config):
    x = audio(3, 6000)
    outputs = np.asarray(LogMelSpectrogram(**config)(x))
    expected = reference_log_mel(x, **config)
    assert outputs.shape == expected.shape
    np.testing.assert_allclose(outputs, expected, rtol=1e-4, atol=1e-5)


def test_matches_on_quiet_audio_and_silence():
    t = np.arange(4000) / 16000
    x = np.stack([1e-3 * np.sin(2 * np.pi * 300 * t), np.zeros_like(t)]).astype("float32")
    outputs = np.asarray(LogMelSpectrogram(16000)(x))
    np.testing.assert_allclose(outputs, reference_log_mel(x, 16000), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(outputs[1], np.log(1e-6), rtol=1e-6)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: str(c["sample_rate"]))
def test_numpy_mel_matrix_matches_tensorflow(config):
    layer = LogMelSpectrogram(**config)
    upper = layer.sample_rate / 2 if layer.upper_edge_hertz is None else layer.upper_edge_hertz
    ours = mel_weight_matrix(layer.num_mel_bins, layer.fft_length // 2 + 1, layer.sample_rate, layer.lower_edge_hertz, upper)
    theirs = tf.signal.linear_to_mel_weight_matrix(layer.num_mel_bins, layer.fft_length // 2 + 1, layer.sample_rate, layer.lower_edge_hertz, upper)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_variable_length_input_gives_the_leading_frames_of_the_whole_clip():
    inputs = keras.Input((None,))
    layer = LogMelSpectrogram(16000)
    model = keras.Model(inputs, layer(inputs))
    assert model.output_shape == (None, None, 40)
    x = audio(2, 3000)
    whole = np.asarray(model(x))
    assert whole.shape == (2, 1 + (3000 - 400) // 160, 40)
    for samples in (400, 559, 560, 1999):
        part = np.asarray(model(x[:, :samples]))
        frames = 1 + (samples - 400) // 160
        assert part.shape == (2, frames, 40)
        np.testing.assert_allclose(part, whole[:, :frames], atol=1e-5)


def test_output_shape_and_no_weights():
    layer = LogMelSpectrogram(16000, num_mel_bins=32)
    outputs = layer(keras.Input((16000,)))
    assert outputs.shape == (None, 98, 32)
    assert layer.compute_output_shape((None, 16000)) == (None, 98, 32)
    assert layer.compute_output_shape((4, None)) == (4, None, 32)
    assert layer.weights == []


def test_computes_in_float32_and_returns_the_compute_dtype(mixed_precision):
    x = audio(2, 2000)
    outputs = LogMelSpectrogram(16000)(x)
    assert keras.backend.standardize_dtype(outputs.dtype) == "float16"
    np.testing.assert_allclose(np.asarray(outputs, "float32"), reference_log_mel(x, 16000), atol=1e-2)


def test_config_round_trip():
    layer = LogMelSpectrogram(8000, frame_length=256, frame_step=128, fft_length=256, num_mel_bins=24, upper_edge_hertz=3800.0)
    config = layer.get_config()
    assert LogMelSpectrogram.from_config(config).get_config() == config


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"sample_rate": 0}, "Received: sample_rate=0"),
        ({"sample_rate": 16000.5}, "Received: sample_rate=16000.5"),
        ({"sample_rate": 16000, "frame_step": 0}, "Received: frame_step=0"),
        ({"sample_rate": 16000, "fft_length": 500}, "Received: fft_length=500, frame_length=400"),
        ({"sample_rate": 16000, "fft_length": 256}, "Received: fft_length=256, frame_length=400"),
        ({"sample_rate": 16000, "num_mel_bins": 0}, "Received: num_mel_bins=0"),
        ({"sample_rate": 16000, "upper_edge_hertz": 9000.0}, "Received: upper_edge_hertz=9000.0, sample_rate=16000"),
        ({"sample_rate": 16000, "lower_edge_hertz": -1.0}, "Received: lower_edge_hertz=-1.0"),
        ({"sample_rate": 16000, "lower_edge_hertz": 8000.0}, "Received: lower_edge_hertz=8000.0, upper_edge_hertz=None"),
        ({"sample_rate": 16000, "lower_edge_hertz": 300.0, "upper_edge_hertz": 200.0}, "Received: lower_edge_hertz=300.0, upper_edge_hertz=200.0"),
        ({"sample_rate": 16000, "log_offset": 0}, "Received: log_offset=0"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LogMelSpectrogram(**kwargs)


def test_rejects_bad_input_shapes():
    with pytest.raises(ValueError, match=r"Received: input_shape=\(None, 100, 1\)"):
        LogMelSpectrogram(16000)(keras.Input((100, 1)))
    with pytest.raises(ValueError, match="Received: samples=399, frame_length=400"):
        LogMelSpectrogram(16000)(keras.Input((399,)))


def test_converts_to_tflite_with_builtin_ops_only():
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    inputs = keras.Input((16000,))
    x = LogMelSpectrogram(16000)(inputs)
    x = keras.layers.Flatten()(x)
    model = keras.Model(inputs, keras.layers.Dense(3)(x))
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    blob = converter.convert()

    interpreter = Interpreter(model_content=blob, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interpreter.allocate_tensors()
    op_names = {op["op_name"] for op in interpreter._get_ops_details()}
    assert "CONV_2D" in op_names and "LOG" in op_names
    assert not any(name.startswith("Flex") or name == "CUSTOM" for name in op_names)

    x = audio(1, 16000, seed=1)
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    lite = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(lite, np.asarray(model(x)), rtol=1e-4, atol=1e-4)
