"""Transformer encoder block: self-attention and a feed-forward network."""

from __future__ import annotations

import keras
from keras import ops

from shared.layers.argument_checks import (
    check_non_negative,
    check_positive_int,
    check_rate,
)


@keras.saving.register_keras_serializable(package="dlsuite")
class TransformerEncoderBlock(keras.layers.Layer):
    """Post-norm Transformer encoder block.

    `x = LayerNorm(x + Dropout(SelfAttention(x)))`, then
    `x = LayerNorm(x + Dropout(FFN(x)))` with `FFN = Dense(ff_dim, relu) ->
    Dense(dim)`. A padding mask (from `PositionalEmbedding`, an
    `Embedding(mask_zero=True)` or passed as `mask=`) stops every position
    from attending to padded positions, and is passed on to the output.

    Args:
        num_heads: int. Number of attention heads. Must be positive.
        key_dim: int. Size of each head's query and key projections. Must be
            positive.
        ff_dim: int. Width of the feed-forward hidden layer. Must be
            positive.
        dropout: float. Dropout rate on the attention weights and on both
            residual branches, in `[0, 1)`. Defaults to `0.1`.
        epsilon: float. Small constant added to the variance in both layer
            normalizations. Defaults to `1e-6`.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`).

    Call arguments:
        inputs: `(batch_size, timesteps, dim)` float tensor.
        mask: optional `(batch_size, timesteps)` boolean tensor, `True` for
            real positions. Taken from the inputs' Keras mask when omitted.
        training: bool. Whether dropout is active.

    Input shape:
        `(batch_size, timesteps, dim)`.

    Output shape:
        `(batch_size, timesteps, dim)`, with the input's mask.

    Example:

    ```python
    import numpy as np
    from shared.layers import PositionalEmbedding, TransformerEncoderBlock

    tokens = np.array([[4, 8, 15, 0], [16, 23, 42, 7]])
    embedded = PositionalEmbedding(50, sequence_length=4, embedding_dim=8)(tokens)
    encoded = TransformerEncoderBlock(num_heads=2, key_dim=4, ff_dim=16)(embedded)
    assert encoded.shape == (2, 4, 8)
    ```

    Reference:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762):
          Attention Is All You Need.
    """

    def __init__(
        self,
        num_heads,
        key_dim,
        ff_dim,
        dropout=0.1,
        epsilon=1e-6,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = check_positive_int("num_heads", num_heads)
        self.key_dim = check_positive_int("key_dim", key_dim)
        self.ff_dim = check_positive_int("ff_dim", ff_dim)
        self.dropout = check_rate("dropout", dropout)
        self.epsilon = check_non_negative("epsilon", epsilon)
        self.supports_masking = True

    def build(self, input_shape):
        dim = input_shape[-1]
        if len(input_shape) != 3 or dim is None:
            raise ValueError(
                "TransformerEncoderBlock expects inputs of shape (batch, timesteps, "
                f"dim) with a known dim. Received: input_shape={tuple(input_shape)}"
            )
        policy = self.dtype_policy
        self.attention = keras.layers.MultiHeadAttention(
            self.num_heads, self.key_dim, dropout=self.dropout, dtype=policy,
            name="self_attention",
        )
        self.attention.build(input_shape, input_shape)
        self.attention_dropout = keras.layers.Dropout(self.dropout, dtype=policy)
        self.attention_norm = keras.layers.LayerNormalization(
            epsilon=self.epsilon, dtype=policy, name="attention_norm"
        )
        self.attention_norm.build(input_shape)

        self.ffn_hidden = keras.layers.Dense(
            self.ff_dim, activation="relu", dtype=policy, name="ffn_hidden"
        )
        self.ffn_hidden.build(input_shape)
        self.ffn_output = keras.layers.Dense(dim, dtype=policy, name="ffn_output")
        self.ffn_output.build((*input_shape[:-1], self.ff_dim))
        self.ffn_dropout = keras.layers.Dropout(self.dropout, dtype=policy)
        self.ffn_norm = keras.layers.LayerNormalization(
            epsilon=self.epsilon, dtype=policy, name="ffn_norm"
        )
        self.ffn_norm.build(input_shape)

    def call(self, inputs, mask=None, training=None):
        # Keras' MultiHeadAttention deletes the Keras mask of the tensors it
        # is given; attending over a copy keeps the caller's mask for other
        # consumers of `inputs`. A value mask alone is enough: it keeps padded
        # positions out of every attention distribution, and what padded
        # positions output is never used.
        sequence = ops.copy(inputs)
        attended = self.attention(
            sequence, sequence, value_mask=mask, training=training
        )
        x = self.attention_norm(
            ops.add(inputs, self.attention_dropout(attended, training=training))
        )
        hidden = self.ffn_output(self.ffn_hidden(x))
        return self.ffn_norm(
            ops.add(x, self.ffn_dropout(hidden, training=training))
        )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "ff_dim": self.ff_dim,
            "dropout": self.dropout,
            "epsilon": self.epsilon,
        }
