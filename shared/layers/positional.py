"""Token embedding plus a learned position embedding."""

from __future__ import annotations

import keras
from keras import ops

from shared.layers.argument_checks import check_positive_int


@keras.saving.register_keras_serializable(package="dlsuite")
class PositionalEmbedding(keras.layers.Layer):
    """Embeds token ids and adds a learned embedding of each position.

    Token id `0` is padding when `mask_zero=True`: the layer then emits a
    `(batch_size, sequence_length)` mask that downstream layers
    (`TransformerEncoderBlock`, `RecurrentBlock`, `AttentionPooling`, ...)
    use to ignore padded positions.

    Args:
        vocabulary_size: int. Number of token ids, including the padding id
            `0`. Must be positive.
        sequence_length: int. Longest sequence the layer accepts; one
            position vector is learned per position. Must be positive.
        embedding_dim: int. Size of the token and position vectors. Must be
            positive.
        mask_zero: bool. Whether id `0` is padding and should be masked.
            Defaults to `True`.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`).

    Call arguments:
        inputs: `(batch_size, timesteps)` integer token ids.
        start_index: int or int tensor. Position of the first token, for
            step-by-step decoding where `inputs` holds the next token only.
            Defaults to `0`.

    Input shape:
        `(batch_size, timesteps)` integer token ids with
        `start_index + timesteps <= sequence_length`.

    Output shape:
        `(batch_size, timesteps, embedding_dim)`, with a
        `(batch_size, timesteps)` mask when `mask_zero=True`.

    Example:

    ```python
    import numpy as np
    from shared.layers import PositionalEmbedding

    layer = PositionalEmbedding(vocabulary_size=100, sequence_length=6, embedding_dim=8)
    tokens = np.array([[5, 7, 9, 0, 0], [1, 2, 3, 4, 5]])
    assert layer(tokens).shape == (2, 5, 8)
    mask = layer.compute_mask(tokens)  # False where the token id is 0
    third = layer(tokens[:, 2:3], start_index=2)  # the same vectors, one position at a time
    np.testing.assert_allclose(third[:, 0], layer(tokens)[:, 2], atol=1e-6)
    ```

    Reference:
        - [Devlin et al., 2019](https://arxiv.org/abs/1810.04805): BERT
          (learned position embeddings).
    """

    def __init__(
        self,
        vocabulary_size,
        sequence_length,
        embedding_dim,
        mask_zero=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = check_positive_int("vocabulary_size", vocabulary_size)
        self.sequence_length = check_positive_int("sequence_length", sequence_length)
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        self.mask_zero = bool(mask_zero)

    def build(self, input_shape):
        timesteps = input_shape[-1]
        if timesteps is not None and timesteps > self.sequence_length:
            raise ValueError(
                f"Inputs have {timesteps} timesteps but the layer only learns "
                f"sequence_length={self.sequence_length} positions; raise "
                f"`sequence_length` or truncate the inputs. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        self.token_embedding = keras.layers.Embedding(
            self.vocabulary_size,
            self.embedding_dim,
            dtype=self.dtype_policy,
            name="token_embedding",
        )
        self.token_embedding.build(input_shape)
        self.position_embeddings = self.add_weight(
            name="position_embeddings",
            shape=(self.sequence_length, self.embedding_dim),
            initializer="glorot_uniform",
        )

    def call(self, inputs, start_index=0):
        tokens = self.token_embedding(inputs)
        positions = ops.arange(ops.shape(inputs)[-1], dtype="int32") + ops.cast(start_index, "int32")
        position_vectors = ops.take(self.position_embeddings, positions, axis=0)
        return ops.add(tokens, ops.cast(position_vectors, tokens.dtype))

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.embedding_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "sequence_length": self.sequence_length,
            "embedding_dim": self.embedding_dim,
            "mask_zero": self.mask_zero,
        }
