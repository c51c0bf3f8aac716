"""Log-mel spectrogram of raw audio, built from TFLite builtin ops only."""

from __future__ import annotations

import numbers

import keras
import numpy as np
from keras import ops

from shared.layers.argument_checks import check_positive_int


def _hertz_to_mel(frequencies_hertz):
    """HTK mel scale, as in `tf.signal.linear_to_mel_weight_matrix`."""
    return 1127.0 * np.log1p(np.asarray(frequencies_hertz, "float64") / 700.0)


def mel_weight_matrix(
    num_mel_bins: int,
    num_spectrogram_bins: int,
    sample_rate: int,
    lower_edge_hertz: float,
    upper_edge_hertz: float,
) -> np.ndarray:
    """NumPy port of `tf.signal.linear_to_mel_weight_matrix`.

    Returns a float64 array of shape `[num_spectrogram_bins, num_mel_bins]`
    of triangular filters, equally spaced on the HTK mel scale between the
    two edges. The DC bin gets no weight.
    """
    linear_frequencies = np.linspace(0.0, sample_rate / 2.0, num_spectrogram_bins)[1:]
    spectrogram_bins_mel = _hertz_to_mel(linear_frequencies)[:, None]
    band_edges_mel = np.linspace(_hertz_to_mel(lower_edge_hertz), _hertz_to_mel(upper_edge_hertz), num_mel_bins + 2)
    lower_edge_mel = band_edges_mel[None, :-2]
    center_mel = band_edges_mel[None, 1:-1]
    upper_edge_mel = band_edges_mel[None, 2:]
    lower_slopes = (spectrogram_bins_mel - lower_edge_mel) / (center_mel - lower_edge_mel)
    upper_slopes = (upper_edge_mel - spectrogram_bins_mel) / (upper_edge_mel - center_mel)
    weights = np.maximum(0.0, np.minimum(lower_slopes, upper_slopes))
    return np.pad(weights, [[1, 0], [0, 0]])


def windowed_dft_kernel(frame_length: int, fft_length: int) -> np.ndarray:
    """Convolution kernel `[frame_length, 1, 2 * (fft_length // 2 + 1)]`.

    Output channel `k` is the real part and channel `bins + k` the imaginary
    part of DFT bin `k` of a periodic-Hann-windowed frame zero-padded to
    `fft_length` (the padding contributes nothing, so only the first
    `frame_length` rows of the DFT matrix are kept).
    """
    n = np.arange(frame_length, dtype="float64")
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / frame_length)
    k = np.arange(fft_length // 2 + 1, dtype="float64")
    angles = 2.0 * np.pi * np.outer(n, k) / fft_length
    basis = np.concatenate([np.cos(angles), -np.sin(angles)], axis=1) * window[:, None]
    return basis[:, None, :]


def _check_hertz(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
        raise ValueError(f"`{name}` must be a frequency >= 0 in hertz. Received: {name}={value!r}")
    return float(value)


@keras.saving.register_keras_serializable(package="dlsuite")
class LogMelSpectrogram(keras.layers.Layer):
    """Turns raw waveforms into log-mel spectrograms inside the model.

    With the front end as a layer, a trained or exported model takes raw
    audio and needs no feature code at serving time. The short-time Fourier
    transform is written as one strided convolution whose fixed kernel holds
    the Hann-windowed real and imaginary DFT basis, followed by squares, a
    matrix product with the mel filterbank and a log. Those are all TFLite
    builtin ops, so a model using this layer converts without
    `SELECT_TF_OPS`. The kernel and filterbank are constants derived from
    the configuration: they are not weights, are not trained and are not
    stored in `.keras` files.

    The result equals `tf.signal.stft(x, frame_length, frame_step,
    fft_length, pad_end=False)` (periodic Hann window), squared magnitude,
    `tf.signal.linear_to_mel_weight_matrix` and `log(mel + log_offset)`, up
    to float32 rounding. Frames are not padded: a clip of `samples` samples
    gives `1 + (samples - frame_length) // frame_step` frames, and clips
    shorter than `frame_length` are an error. Computed in float32 (also under
    mixed precision); the output is cast to the layer's compute dtype.

    Args:
        sample_rate: int. Sample rate of the input audio in hertz.
        frame_length: int. Samples per analysis window. Defaults to `400`
            (25 ms at 16 kHz).
        frame_step: int. Samples between the starts of consecutive frames.
            Defaults to `160` (10 ms at 16 kHz).
        fft_length: int. DFT size; a power of two, at least `frame_length`
            (each frame is zero-padded to it). Gives `fft_length // 2 + 1`
            linear frequency bins. Defaults to `512`.
        num_mel_bins: int. Number of mel bands in the output. Defaults to
            `40`.
        lower_edge_hertz: float. Lower edge of the lowest mel band.
            Defaults to `20.0`.
        upper_edge_hertz: float or `None`. Upper edge of the highest mel
            band, at most `sample_rate / 2`; `None` means `sample_rate / 2`.
            Defaults to `None`.
        log_offset: float. Added to the mel energies before the log, so that
            silence stays finite. Must be positive. Defaults to `1e-6`.
        **kwargs: Base layer arguments (`name`, `dtype`).

    Input shape:
        `(batch_size, samples)` float waveform; `samples` may be `None`
        (clips of any length of at least `frame_length` samples).

    Output shape:
        `(batch_size, frames, num_mel_bins)` with
        `frames = 1 + (samples - frame_length) // frame_step` (`None` when
        `samples` is).

    Example:

    ```python
    import numpy as np
    from shared.layers import LogMelSpectrogram

    t = np.arange(16000) / 16000
    audio = np.sin(2 * np.pi * 440 * t)[None].astype("float32")  # 1 s of A4
    features = LogMelSpectrogram(sample_rate=16000)(audio)
    assert features.shape == (1, 98, 40)  # 1 + (16000 - 400) // 160 frames
    ```

    Reference:
        - [`tf.signal.stft`](https://www.tensorflow.org/api_docs/python/tf/signal/stft) and
          [`tf.signal.linear_to_mel_weight_matrix`](https://www.tensorflow.org/api_docs/python/tf/signal/linear_to_mel_weight_matrix),
          which this layer reproduces (HTK mel scale,
          `1127 * ln(1 + f / 700)`).
    """

    def __init__(
        self,
        sample_rate,
        frame_length=400,
        frame_step=160,
        fft_length=512,
        num_mel_bins=40,
        lower_edge_hertz=20.0,
        upper_edge_hertz=None,
        log_offset=1e-6,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.sample_rate = check_positive_int("sample_rate", sample_rate)
        self.frame_length = check_positive_int("frame_length", frame_length)
        self.frame_step = check_positive_int("frame_step", frame_step)
        self.fft_length = check_positive_int("fft_length", fft_length)
        if self.fft_length & (self.fft_length - 1) or self.fft_length < self.frame_length:
            raise ValueError(
                "`fft_length` must be a power of two and at least `frame_length`. "
                f"Received: fft_length={fft_length!r}, frame_length={frame_length!r}"
            )
        self.num_mel_bins = check_positive_int("num_mel_bins", num_mel_bins)
        nyquist = self.sample_rate / 2.0
        self.lower_edge_hertz = _check_hertz("lower_edge_hertz", lower_edge_hertz)
        self.upper_edge_hertz = None if upper_edge_hertz is None else _check_hertz("upper_edge_hertz", upper_edge_hertz)
        upper = nyquist if self.upper_edge_hertz is None else self.upper_edge_hertz
        if upper > nyquist:
            raise ValueError(
                "`upper_edge_hertz` must be at most sample_rate / 2. "
                f"Received: upper_edge_hertz={upper_edge_hertz!r}, sample_rate={sample_rate!r}"
            )
        if self.lower_edge_hertz >= upper:
            raise ValueError(
                "`lower_edge_hertz` must be below the upper edge (`upper_edge_hertz`, or sample_rate / 2). "
                f"Received: lower_edge_hertz={lower_edge_hertz!r}, upper_edge_hertz={upper_edge_hertz!r}, sample_rate={sample_rate!r}"
            )
        if isinstance(log_offset, bool) or not isinstance(log_offset, numbers.Real) or not log_offset > 0:
            raise ValueError(f"`log_offset` must be a positive number. Received: log_offset={log_offset!r}")
        self.log_offset = float(log_offset)
        self._dft_kernel = None
        self._mel_matrix = None

    @property
    def input_dtype(self):
        # Audio is read in float32 under mixed precision: float16 squares of
        # quiet samples underflow.
        return "float32"

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                "LogMelSpectrogram expects waveforms of shape (batch, samples). "
                f"Received: input_shape={tuple(input_shape)}"
            )
        samples = input_shape[1]
        if samples is not None and samples < self.frame_length:
            raise ValueError(
                "Clips must hold at least `frame_length` samples. "
                f"Received: samples={samples}, frame_length={self.frame_length}"
            )
        # NumPy constants, converted in call(): each traced graph embeds its
        # own copy, and nothing is tracked as a variable.
        self._dft_kernel = windowed_dft_kernel(self.frame_length, self.fft_length).astype("float32")
        mel = mel_weight_matrix(
            self.num_mel_bins,
            self.fft_length // 2 + 1,
            self.sample_rate,
            self.lower_edge_hertz,
            self.sample_rate / 2.0 if self.upper_edge_hertz is None else self.upper_edge_hertz,
        )
        # Real and imaginary channels share the filterbank: mel = [re^2, im^2] @ [M; M].
        self._mel_matrix = np.concatenate([mel, mel], axis=0).astype("float32")

    def call(self, inputs):
        audio = ops.expand_dims(ops.cast(inputs, "float32"), -1)
        spectrum = ops.conv(audio, ops.convert_to_tensor(self._dft_kernel), strides=self.frame_step, padding="valid")
        mel = ops.matmul(ops.square(spectrum), ops.convert_to_tensor(self._mel_matrix))
        return ops.cast(ops.log(mel + self.log_offset), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        samples = input_shape[1]
        frames = None if samples is None else 1 + (samples - self.frame_length) // self.frame_step
        return (input_shape[0], frames, self.num_mel_bins)

    def get_config(self):
        return {
            **super().get_config(),
            "sample_rate": self.sample_rate,
            "frame_length": self.frame_length,
            "frame_step": self.frame_step,
            "fft_length": self.fft_length,
            "num_mel_bins": self.num_mel_bins,
            "lower_edge_hertz": self.lower_edge_hertz,
            "upper_edge_hertz": self.upper_edge_hertz,
            "log_offset": self.log_offset,
        }
