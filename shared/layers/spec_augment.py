"""SpecAugment: random frequency and time masks on spectrograms in training."""

from __future__ import annotations

import numbers

import keras
from keras import ops

from shared.layers.argument_checks import check_non_negative_int


def band_mask(batch, length, count, max_width, seed):
    """Boolean `(batch, length)`: True inside `count` random bands per row.

    Each band has a width drawn uniformly from `0..max_width` (capped at
    `length`) and a start drawn uniformly among the positions where it fits.
    """
    length_f = ops.cast(length, "float32")
    widths = ops.floor(keras.random.uniform((batch, count), 0.0, max_width + 1.0, seed=seed))
    widths = ops.minimum(widths, length_f)
    room = length_f - widths + 1.0
    starts = ops.minimum(ops.floor(keras.random.uniform((batch, count), seed=seed) * room), room - 1.0)
    positions = ops.cast(ops.arange(length), "float32")[None, None, :]
    inside = ops.logical_and(positions >= starts[..., None], positions < (starts + widths)[..., None])
    return ops.any(inside, axis=1)


@keras.saving.register_keras_serializable(package="dlsuite")
class SpecAugment(keras.layers.Layer):
    """Masks random frequency bands and time spans of spectrograms in training.

    Each example of the batch gets its own `freq_masks` bands of mel bins
    and `time_masks` spans of frames, each of a width drawn uniformly from
    `0` to the maximum width (a width of 0 masks nothing), at a uniformly
    drawn position where it fits. Bands may overlap. Masked values are set
    to zero, as in the paper, where zero is the mean of the normalised
    features; on raw log-mel input zero is a fixed level rather than each
    example's mean, and the normalisation layer that follows (BatchNorm in
    the speech models) learns around it. The time masks work with any
    number of frames, including a dynamic (`None`) one.

    When `training` is falsy the layer returns its input unchanged. It has
    no weights; the draws come from a `keras.random.SeedGenerator`, so the
    masks differ from call to call and repeat for a fixed `seed`.

    Args:
        freq_masks: int. Frequency bands masked per example; `0` disables
            them. Defaults to `2`.
        freq_mask_width: int. Largest width of a frequency band, in bins.
            Defaults to `6`.
        time_masks: int. Time spans masked per example; `0` disables them.
            Defaults to `2`.
        time_mask_width: int. Largest width of a time span, in frames.
            Defaults to `10`.
        seed: int or `None`. Seed of the random masks. Defaults to `None`.
        **kwargs: Base layer arguments (`name`, `dtype`).

    Input shape:
        `(batch_size, frames, bins)`; `frames` may be `None`.

    Output shape:
        Same as the input.

    Example:

    ```python
    import numpy as np
    from shared.layers import SpecAugment

    log_mel = np.ones((2, 50, 40), "float32")
    masked = np.asarray(SpecAugment(seed=1)(log_mel, training=True))
    assert masked.shape == (2, 50, 40) and (masked == 0).any()
    assert (np.asarray(SpecAugment()(log_mel)) == log_mel).all()  # inference: unchanged
    ```

    Reference:
        - [Park et al., 2019](https://arxiv.org/abs/1904.08779): SpecAugment:
          A Simple Data Augmentation Method for Automatic Speech Recognition.
    """

    def __init__(self, freq_masks=2, freq_mask_width=6, time_masks=2, time_mask_width=10, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.freq_masks = check_non_negative_int("freq_masks", freq_masks)
        self.freq_mask_width = check_non_negative_int("freq_mask_width", freq_mask_width)
        self.time_masks = check_non_negative_int("time_masks", time_masks)
        self.time_mask_width = check_non_negative_int("time_mask_width", time_mask_width)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise ValueError(f"`seed` must be an integer or None. Received: seed={seed!r}")
        self.seed = None if seed is None else int(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                "SpecAugment expects spectrograms of shape (batch, frames, bins). "
                f"Received: input_shape={tuple(input_shape)}"
            )

    def call(self, inputs, training=None):
        if not training:
            return inputs
        shape = ops.shape(inputs)
        batch, frames, bins = shape[0], shape[1], shape[2]
        keep = None
        if self.freq_masks and self.freq_mask_width:
            masked = band_mask(batch, bins, self.freq_masks, self.freq_mask_width, self.seed_generator)
            keep = ops.logical_not(masked)[:, None, :]
        if self.time_masks and self.time_mask_width:
            masked = band_mask(batch, frames, self.time_masks, self.time_mask_width, self.seed_generator)
            time_keep = ops.logical_not(masked)[:, :, None]
            keep = time_keep if keep is None else ops.logical_and(keep, time_keep)
        if keep is None:
            return inputs
        return ops.where(keep, inputs, ops.zeros((), inputs.dtype))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "freq_masks": self.freq_masks,
            "freq_mask_width": self.freq_mask_width,
            "time_masks": self.time_masks,
            "time_mask_width": self.time_mask_width,
            "seed": self.seed,
        }
