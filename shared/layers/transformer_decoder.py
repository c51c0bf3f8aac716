"""Transformer decoder block: causal self-attention, cross-attention, FFN."""

from __future__ import annotations

import keras
from keras import ops

from shared.layers.argument_checks import (
    check_non_negative,
    check_positive_int,
    check_rate,
)


@keras.saving.register_keras_serializable(package="dlsuite")
class TransformerDecoderBlock(keras.layers.Layer):
    """Post-norm Transformer decoder block.

    Three residual sub-blocks, each followed by layer normalization:
    causal self-attention over `inputs` (position `t` only sees positions
    `<= t`), cross-attention from `inputs` to `encoder_outputs`, and a
    feed-forward network `Dense(ff_dim, relu) -> Dense(dim)`. Padding masks
    of both sequences are honoured, and the mask of `inputs` is passed on to
    the output.

    Args:
        num_heads: int. Number of attention heads in both attention layers.
            Must be positive.
        key_dim: int. Size of each head's query and key projections. Must be
            positive.
        ff_dim: int. Width of the feed-forward hidden layer. Must be
            positive.
        dropout: float. Dropout rate on the attention weights and on every
            residual branch, in `[0, 1)`. Defaults to `0.1`.
        epsilon: float. Small constant added to the variance in the layer
            normalizations. Defaults to `1e-6`.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`).

    Call arguments:
        inputs: `(batch_size, target_timesteps, dim)` float tensor: the
            (shifted) target sequence.
        encoder_outputs: `(batch_size, source_timesteps, encoder_dim)` float
            tensor to attend to.
        inputs_mask: optional `(batch_size, target_timesteps)` boolean
            padding mask, `True` for real positions. Taken from the Keras
            mask of `inputs` when omitted.
        encoder_outputs_mask: optional `(batch_size, source_timesteps)`
            boolean padding mask. Taken from the Keras mask of
            `encoder_outputs` when omitted.
        training: bool. Whether dropout is active.

    Output shape:
        `(batch_size, target_timesteps, dim)`, with the mask of `inputs`.

    Example:

    ```python
    import numpy as np
    from shared.layers import TransformerDecoderBlock

    targets = np.random.rand(2, 3, 8).astype("float32")
    sources = np.random.rand(2, 5, 6).astype("float32")
    decoder = TransformerDecoderBlock(num_heads=2, key_dim=4, ff_dim=16)
    assert decoder(targets, sources).shape == (2, 3, 8)
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

    def build(self, inputs_shape, encoder_outputs_shape):
        for name, shape in (
            ("inputs", inputs_shape),
            ("encoder_outputs", encoder_outputs_shape),
        ):
            if len(shape) != 3 or shape[-1] is None:
                raise ValueError(
                    f"TransformerDecoderBlock expects `{name}` of shape (batch, "
                    f"timesteps, dim) with a known dim. Received: {name} shape="
                    f"{tuple(shape)}"
                )
        dim = inputs_shape[-1]
        policy = self.dtype_policy

        self.self_attention = keras.layers.MultiHeadAttention(
            self.num_heads, self.key_dim, dropout=self.dropout, dtype=policy,
            name="self_attention",
        )
        self.self_attention.build(inputs_shape, inputs_shape)
        self.self_attention_dropout = keras.layers.Dropout(self.dropout, dtype=policy)
        self.self_attention_norm = keras.layers.LayerNormalization(
            epsilon=self.epsilon, dtype=policy, name="self_attention_norm"
        )
        self.self_attention_norm.build(inputs_shape)

        self.cross_attention = keras.layers.MultiHeadAttention(
            self.num_heads, self.key_dim, dropout=self.dropout, dtype=policy,
            name="cross_attention",
        )
        self.cross_attention.build(inputs_shape, encoder_outputs_shape)
        self.cross_attention_dropout = keras.layers.Dropout(self.dropout, dtype=policy)
        self.cross_attention_norm = keras.layers.LayerNormalization(
            epsilon=self.epsilon, dtype=policy, name="cross_attention_norm"
        )
        self.cross_attention_norm.build(inputs_shape)

        self.ffn_hidden = keras.layers.Dense(
            self.ff_dim, activation="relu", dtype=policy, name="ffn_hidden"
        )
        self.ffn_hidden.build(inputs_shape)
        self.ffn_output = keras.layers.Dense(dim, dtype=policy, name="ffn_output")
        self.ffn_output.build((*inputs_shape[:-1], self.ff_dim))
        self.ffn_dropout = keras.layers.Dropout(self.dropout, dtype=policy)
        self.ffn_norm = keras.layers.LayerNormalization(
            epsilon=self.epsilon, dtype=policy, name="ffn_norm"
        )
        self.ffn_norm.build(inputs_shape)

    def call(
        self,
        inputs,
        encoder_outputs,
        inputs_mask=None,
        encoder_outputs_mask=None,
        training=None,
    ):
        # Keras' MultiHeadAttention deletes the Keras mask of the tensors it
        # is given; attending over copies keeps the callers' masks, which
        # matters when several decoder blocks share `encoder_outputs`.
        targets = ops.copy(inputs)
        sources = ops.copy(encoder_outputs)

        attended = self.self_attention(
            targets,
            targets,
            value_mask=inputs_mask,
            use_causal_mask=True,
            training=training,
        )
        x = self.self_attention_norm(
            ops.add(inputs, self.self_attention_dropout(attended, training=training))
        )
        attended = self.cross_attention(
            x, sources, value_mask=encoder_outputs_mask, training=training
        )
        x = self.cross_attention_norm(
            ops.add(x, self.cross_attention_dropout(attended, training=training))
        )
        hidden = self.ffn_output(self.ffn_hidden(x))
        return self.ffn_norm(ops.add(x, self.ffn_dropout(hidden, training=training)))

    def compute_mask(self, inputs, previous_mask=None):
        # Keras hands over only the mask of the first argument, `inputs`.
        return previous_mask

    def compute_output_shape(self, inputs_shape, encoder_outputs_shape):
        return inputs_shape

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "ff_dim": self.ff_dim,
            "dropout": self.dropout,
            "epsilon": self.epsilon,
        }
