"""Fixed sinusoidal position encoding added to sequences of vectors."""

from __future__ import annotations

import numbers

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="dlsuite")
class SinePositionEncoding(keras.layers.Layer):
    """Adds the fixed sine/cosine position encoding of the Transformer.

    Use it for inputs that are already vectors (audio frames, sensor
    readings, patch features), where there is no token id to embed. Channel
    `2i` of position `p` gets `sin(p / max_wavelength ** (2i / dim))` and
    channel `2i + 1` the matching cosine. The layer has no weights, accepts
    any sequence length, and passes an incoming mask through unchanged.

    Args:
        max_wavelength: float. Longest wavelength of the sinusoids; sets how
            slowly the lowest-frequency channels vary. Must be positive.
            Defaults to `10000`.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`).

    Input shape:
        `(batch_size, timesteps, dim)`.

    Output shape:
        Same as the input: `inputs + encoding`.

    Example:

    ```python
    import numpy as np
    from shared.layers import SinePositionEncoding

    frames = np.zeros((2, 5, 4), "float32")
    encoded = SinePositionEncoding()(frames)
    assert encoded.shape == (2, 5, 4)
    np.testing.assert_allclose(encoded[0, 0], [0.0, 1.0, 0.0, 1.0])  # sin 0, cos 0
    ```

    Reference:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762):
          Attention Is All You Need, section 3.5.
    """

    def __init__(self, max_wavelength=10000, **kwargs):
        super().__init__(**kwargs)
        if (
            isinstance(max_wavelength, bool)
            or not isinstance(max_wavelength, numbers.Real)
            or max_wavelength <= 0
        ):
            raise ValueError(
                "`max_wavelength` must be a positive number. "
                f"Received: max_wavelength={max_wavelength!r}"
            )
        self.max_wavelength = max_wavelength
        self.supports_masking = True

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                "SinePositionEncoding expects inputs of shape "
                f"(batch, timesteps, dim). Received: input_shape={tuple(input_shape)}"
            )

    def call(self, inputs):
        shape = ops.shape(inputs)
        timesteps, dim = shape[-2], shape[-1]
        # Computed in float32 even under mixed precision: float16 angles
        # lose the precision needed at long positions.
        positions = ops.cast(ops.arange(timesteps), "float32")
        channels = ops.arange(dim)
        pair_start = ops.cast(channels - channels % 2, "float32")
        inverse_timescales = ops.power(
            float(self.max_wavelength), -pair_start / ops.cast(dim, "float32")
        )
        angles = ops.expand_dims(positions, -1) * ops.expand_dims(inverse_timescales, 0)
        encoding = ops.where(
            ops.equal(channels % 2, 0), ops.sin(angles), ops.cos(angles)
        )
        return ops.add(inputs, ops.cast(encoding, inputs.dtype))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_wavelength": self.max_wavelength}
