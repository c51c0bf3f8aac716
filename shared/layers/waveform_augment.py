"""Random shift, speed, gain and white noise on raw waveforms in training."""

from __future__ import annotations

import numbers

import keras
from keras import ops

from shared.layers.argument_checks import check_non_negative, check_rate


def _check_db(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value or abs(value) == float("inf"):
        raise ValueError(f"`{name}` must be a finite number of decibels. Received: {name}={value!r}")
    return float(value)


@keras.saving.register_keras_serializable(package="dlsuite")
class WaveformAugment(keras.layers.Layer):
    """Perturbs raw audio clips in training: shift, speed, gain and noise.

    Each example of the batch draws its own perturbations, applied in this
    order:

    1. speed: the clip is resampled by linear interpolation to play at a
       factor drawn uniformly from `[1 - speed, 1 + speed]` (pitch moves
       with it). The length is kept: a sped-up clip is zero-padded at the
       end, a slowed-down one cropped.
    2. shift: the clip moves by a whole number of samples drawn uniformly
       from `[-max_shift * samples, max_shift * samples]`. The vacated
       samples are zeros; nothing wraps around.
    3. gain: the clip is scaled by a gain drawn uniformly in decibels from
       `[-gain_db, gain_db]`.
    4. noise: white Gaussian noise is added at a signal-to-noise ratio drawn
       uniformly in decibels from `[min_snr_db, max_snr_db]`, relative to
       the clip's own RMS (a silent clip gets no noise).

    The result is clipped to `[-1, 1]`. `speed=0`, `max_shift=0` and
    `gain_db=0` each switch their step off. When `training` is falsy the
    layer returns its input unchanged (not clipped). It has no weights and
    works on clips of any length, including a dynamic (`None`) one, so a
    model can apply it to its raw audio input. It computes in float32 (also
    under mixed precision) and casts the output to the compute dtype.

    Args:
        max_shift: float. Largest shift as a fraction of the clip length, in
            `[0, 1)`. Defaults to `0.1`.
        speed: float. Largest relative speed change, in `[0, 1)`. Defaults
            to `0.1`.
        gain_db: float. Largest gain change in decibels, `>= 0`. Defaults to
            `6.0`.
        min_snr_db: float. Lowest signal-to-noise ratio of the added noise,
            in decibels. Defaults to `20.0`.
        max_snr_db: float. Highest signal-to-noise ratio, in decibels; at
            least `min_snr_db`. Defaults to `50.0`.
        seed: int or `None`. Seed of the random draws. Defaults to `None`.
        **kwargs: Base layer arguments (`name`, `dtype`).

    Input shape:
        `(batch_size, samples)` float waveform in `[-1, 1]`; `samples` may
        be `None`.

    Output shape:
        Same as the input.

    Example:

    ```python
    import numpy as np
    from shared.layers import WaveformAugment

    t = np.arange(8000) / 16000
    audio = 0.5 * np.sin(2 * np.pi * 440 * t)[None].astype("float32")
    augmented = np.asarray(WaveformAugment(seed=1)(audio, training=True))
    assert augmented.shape == audio.shape and np.abs(augmented).max() <= 1
    assert (np.asarray(WaveformAugment()(audio)) == audio).all()  # inference: unchanged
    ```

    Reference:
        - [Ko et al., 2015](https://www.isca-archive.org/interspeech_2015/ko15_interspeech.html):
          Audio Augmentation for Speech Recognition (speed perturbation).
    """

    def __init__(self, max_shift=0.1, speed=0.1, gain_db=6.0, min_snr_db=20.0, max_snr_db=50.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.max_shift = check_rate("max_shift", max_shift)
        self.speed = check_rate("speed", speed)
        self.gain_db = check_non_negative("gain_db", gain_db)
        if self.gain_db == float("inf"):
            raise ValueError(f"`gain_db` must be finite. Received: gain_db={gain_db!r}")
        self.min_snr_db = _check_db("min_snr_db", min_snr_db)
        self.max_snr_db = _check_db("max_snr_db", max_snr_db)
        if self.min_snr_db > self.max_snr_db:
            raise ValueError(
                f"`min_snr_db` must be at most `max_snr_db`. Received: min_snr_db={min_snr_db!r}, max_snr_db={max_snr_db!r}"
            )
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise ValueError(f"`seed` must be an integer or None. Received: seed={seed!r}")
        self.seed = None if seed is None else int(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    @property
    def input_dtype(self):
        # Read in float32 under mixed precision, like LogMelSpectrogram.
        return "float32"

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                "WaveformAugment expects waveforms of shape (batch, samples). "
                f"Received: input_shape={tuple(input_shape)}"
            )

    def _uniform(self, batch, low, high):
        return keras.random.uniform((batch, 1), low, high, seed=self.seed_generator)

    def _resample(self, x, batch, samples):
        """Speed change then shift: `out[t] = x[rate * (t - shift)]`, zero outside the clip."""
        length = ops.cast(samples, "float32")
        rate = self._uniform(batch, 1.0 - self.speed, 1.0 + self.speed) if self.speed else ops.ones((batch, 1))
        if self.max_shift:
            largest = ops.floor(self.max_shift * length)
            shift = ops.floor(keras.random.uniform((batch, 1), seed=self.seed_generator) * (2.0 * largest + 1.0)) - largest
            shift = ops.clip(shift, -largest, largest)
        else:
            shift = ops.zeros((batch, 1))
        source = rate * (ops.cast(ops.arange(samples), "float32")[None, :] - shift)
        inside = ops.logical_and(source >= 0.0, source <= length - 1.0)
        source = ops.clip(source, 0.0, length - 1.0)
        left = ops.floor(source)
        fraction = source - left
        left = ops.cast(left, "int32")
        right = ops.minimum(left + 1, ops.cast(samples, "int32") - 1)
        value = (1.0 - fraction) * ops.take_along_axis(x, left, axis=1) + fraction * ops.take_along_axis(x, right, axis=1)
        return ops.where(inside, value, 0.0)

    def call(self, inputs, training=None):
        if not training:
            return ops.cast(inputs, self.compute_dtype)
        x = ops.cast(inputs, "float32")
        shape = ops.shape(x)
        batch, samples = shape[0], shape[1]
        if self.speed or self.max_shift:
            x = self._resample(x, batch, samples)
        if self.gain_db:
            x = x * ops.power(10.0, self._uniform(batch, -self.gain_db, self.gain_db) / 20.0)
        rms = ops.sqrt(ops.mean(ops.square(x), axis=1, keepdims=True))
        snr_db = self._uniform(batch, self.min_snr_db, self.max_snr_db) if self.max_snr_db > self.min_snr_db else self.min_snr_db
        noise_std = rms * ops.power(10.0, -snr_db / 20.0)
        x = x + noise_std * keras.random.normal((batch, samples), seed=self.seed_generator)
        return ops.cast(ops.clip(x, -1.0, 1.0), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "max_shift": self.max_shift,
            "speed": self.speed,
            "gain_db": self.gain_db,
            "min_snr_db": self.min_snr_db,
            "max_snr_db": self.max_snr_db,
            "seed": self.seed,
        }
