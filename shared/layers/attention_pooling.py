"""Additive attention pooling over the time axis."""

from __future__ import annotations

import keras
from keras import ops

from shared.layers.argument_checks import check_positive_int

# Added to the scores of padded steps; large enough to zero their softmax
# weight, small enough to stay finite in float32.
_MASKED_SCORE = -1e9


@keras.saving.register_keras_serializable(package="dlsuite")
class AttentionPooling(keras.layers.Layer):
    """Pools a sequence into one vector with learned additive attention.

    Each step `h_t` gets the score `s_t = v . tanh(W h_t + b)`; the output is
    `sum_t softmax(s)_t * h_t`. Padded steps (from the inputs' Keras mask or
    `mask=`) get zero weight.

    Args:
        units: int. Size of the hidden scoring projection `W`. `None` uses
            the input feature size. Defaults to `None`.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`).

    Call arguments:
        inputs: `(batch_size, timesteps, dim)` float tensor.
        mask: optional `(batch_size, timesteps)` boolean tensor, `True` for
            real steps. Taken from the inputs' Keras mask when omitted.
        return_attention_scores: bool. Whether to also return the attention
            weights. Defaults to `False`.

    Input shape:
        `(batch_size, timesteps, dim)`.

    Output shape:
        `(batch_size, dim)`; with `return_attention_scores=True`, the tuple
        `(pooled, weights)` where `weights` has shape
        `(batch_size, timesteps)`, sums to 1 over time, and is 0 at padded
        steps. Weights are float32 even under mixed precision.

    Example:

    ```python
    import numpy as np
    from shared.layers import AttentionPooling

    frames = np.random.rand(2, 5, 8).astype("float32")
    mask = np.array([[True] * 5, [True, True, False, False, False]])
    pooled, weights = AttentionPooling(units=4)(
        frames, mask=mask, return_attention_scores=True
    )
    assert pooled.shape == (2, 8) and weights.shape == (2, 5)
    np.testing.assert_allclose(weights[1, 2:], 0.0)
    ```

    Reference:
        - [Bahdanau et al., 2015](https://arxiv.org/abs/1409.0473): additive
          attention.
        - [Yang et al., 2016](https://aclanthology.org/N16-1174/):
          attention pooling for document classification.
    """

    def __init__(self, units=None, **kwargs):
        super().__init__(**kwargs)
        self.units = None if units is None else check_positive_int("units", units)

    def build(self, input_shape):
        dim = input_shape[-1]
        if len(input_shape) != 3 or dim is None:
            raise ValueError(
                "AttentionPooling expects inputs of shape (batch, timesteps, dim) "
                f"with a known dim. Received: input_shape={tuple(input_shape)}"
            )
        units = self.units or dim
        self.score_kernel = self.add_weight(
            name="score_kernel", shape=(dim, units), initializer="glorot_uniform"
        )
        self.score_bias = self.add_weight(
            name="score_bias", shape=(units,), initializer="zeros"
        )
        self.score_vector = self.add_weight(
            name="score_vector", shape=(units, 1), initializer="glorot_uniform"
        )

    def call(self, inputs, mask=None, return_attention_scores=False):
        hidden = ops.tanh(
            ops.add(ops.matmul(inputs, self.score_kernel), self.score_bias)
        )
        # Softmax in float32: float16 cannot hold the masking offset and
        # loses precision over long sequences.
        scores = ops.squeeze(ops.matmul(hidden, self.score_vector), -1)
        scores = ops.cast(scores, "float32")
        if mask is not None:
            scores = ops.where(ops.cast(mask, "bool"), scores, _MASKED_SCORE)
        weights = ops.softmax(scores, axis=-1)
        pooled = ops.sum(
            ops.multiply(inputs, ops.expand_dims(ops.cast(weights, inputs.dtype), -1)),
            axis=1,
        )
        if return_attention_scores:
            return pooled, weights
        return pooled

    def compute_mask(self, inputs, mask=None):
        # The time axis is pooled away, so no mask is left to pass on.
        return None

    # No `compute_output_shape`: Keras would use it for every output and give
    # the float32 attention weights the layer's compute dtype; tracing
    # `call()` gets both outputs right.

    def get_config(self):
        return {**super().get_config(), "units": self.units}
