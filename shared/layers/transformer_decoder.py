"""Transformer decoder block: causal self-attention, cross-attention, FFN."""

from __future__ import annotations

import keras
from keras import ops
from keras_hub.layers import CachedMultiHeadAttention

from shared.layers.argument_checks import (
    check_non_negative,
    check_positive_int,
    check_rate,
)


def causal_attention_mask(query_length, key_length, start_index=0):
    """Boolean `(1, query_length, key_length)`: query `i` (at position `start_index + i`) sees keys `<= start_index + i`."""
    query_positions = ops.arange(query_length, dtype="int32") + ops.cast(start_index, "int32")
    key_positions = ops.arange(key_length, dtype="int32")
    return ops.expand_dims(key_positions[None, :] <= query_positions[:, None], 0)


@keras.saving.register_keras_serializable(package="dlsuite")
class TransformerDecoderBlock(keras.layers.Layer):
    """Post-norm Transformer decoder block, with an optional key/value cache.

    Three residual sub-blocks, each followed by layer normalization:
    causal self-attention over `inputs` (position `t` only sees positions
    `<= t`), cross-attention from `inputs` to `encoder_outputs`, and a
    feed-forward network `Dense(ff_dim, relu) -> Dense(dim)`. Padding masks
    of both sequences are honoured, and the mask of `inputs` is passed on to
    the output.

    Both attention layers are `keras_hub.layers.CachedMultiHeadAttention`
    (Keras' `MultiHeadAttention` plus a cache, same weights), so the block
    also decodes step by step: given a self-attention cache, `inputs` holds
    the tokens at positions `[index, index + t)` only, their keys and values
    are written into the cache at `index`, and the queries attend to the
    cached positions `<= index + i`. The cross-attention keys and values of
    the encoder outputs are computed once per sequence
    (`compute_cross_attention_cache`) and reused at every step. A cached
    prefix is assumed to hold no padding.

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
            (shifted) target sequence, or with a cache the
            `target_timesteps` new positions from
            `self_attention_cache_update_index` on.
        encoder_outputs: `(batch_size, source_timesteps, encoder_dim)` float
            tensor to attend to. May be `None` when `cross_attention_cache`
            is given.
        inputs_mask: optional `(batch_size, target_timesteps)` boolean
            padding mask, `True` for real positions. Taken from the Keras
            mask of `inputs` when omitted. Not used with a cache.
        encoder_outputs_mask: optional `(batch_size, source_timesteps)`
            boolean padding mask. Taken from the Keras mask of
            `encoder_outputs` when omitted.
        self_attention_cache: optional `(batch_size, 2, max_length,
            num_heads, key_dim)` keys and values of the positions decoded so
            far (zeros from `initial_self_attention_cache`). Switches on
            cached decoding.
        self_attention_cache_update_index: int or int tensor. Position of
            the first of `inputs`; required with `self_attention_cache`.
        cross_attention_cache: optional `(batch_size, 2, source_timesteps,
            num_heads, key_dim)` from `compute_cross_attention_cache`; only
            with `self_attention_cache`. Computed from `encoder_outputs`
            when omitted.
        return_cross_attention: bool. Whether to also return the
            cross-attention weights, `(batch_size, num_heads,
            target_timesteps, source_timesteps)`. Defaults to `False`.
        training: bool. Whether dropout is active.

    Output shape:
        `(batch_size, target_timesteps, dim)`, with the mask of `inputs`.
        With a cache: `(outputs, self_attention_cache,
        cross_attention_cache)`, the first cache updated. The
        cross-attention weights are appended when `return_cross_attention`.

    Example:

    ```python
    import numpy as np
    from shared.layers import TransformerDecoderBlock

    targets = np.random.rand(2, 3, 8).astype("float32")
    sources = np.random.rand(2, 5, 6).astype("float32")
    decoder = TransformerDecoderBlock(num_heads=2, key_dim=4, ff_dim=16)
    full = decoder(targets, sources)
    assert full.shape == (2, 3, 8)

    # The same outputs one position at a time, from a key/value cache.
    cache = decoder.initial_self_attention_cache(batch_size=2, max_length=3)
    cross = decoder.compute_cross_attention_cache(sources)
    for index in range(3):
        step, cache, cross = decoder(
            targets[:, index : index + 1], sources, self_attention_cache=cache,
            self_attention_cache_update_index=index, cross_attention_cache=cross,
        )
        np.testing.assert_allclose(step[:, 0], full[:, index], atol=1e-5)
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
            if shape is None or len(shape) != 3 or shape[-1] is None:
                raise ValueError(
                    f"TransformerDecoderBlock expects `{name}` of shape (batch, "
                    f"timesteps, dim) with a known dim. Received: {name} shape="
                    f"{None if shape is None else tuple(shape)}"
                )
        dim = inputs_shape[-1]
        policy = self.dtype_policy

        self.self_attention = CachedMultiHeadAttention(
            self.num_heads, self.key_dim, dropout=self.dropout, dtype=policy,
            name="self_attention",
        )
        self.self_attention.build(inputs_shape, inputs_shape)
        self.self_attention_dropout = keras.layers.Dropout(self.dropout, dtype=policy)
        self.self_attention_norm = keras.layers.LayerNormalization(
            epsilon=self.epsilon, dtype=policy, name="self_attention_norm"
        )
        self.self_attention_norm.build(inputs_shape)

        self.cross_attention = CachedMultiHeadAttention(
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

    def initial_self_attention_cache(self, batch_size, max_length):
        """Zeros `(batch_size, 2, max_length, num_heads, key_dim)` in the compute dtype: an empty self-attention cache."""
        shape = (batch_size, 2, max_length, self.num_heads, self.key_dim)
        return ops.zeros(shape, dtype=self.compute_dtype)

    def compute_cross_attention_cache(self, encoder_outputs):
        """Cross-attention keys and values of `encoder_outputs`, `(batch, 2, source_timesteps, num_heads, key_dim)`."""
        if not self.built:
            raise ValueError(
                "TransformerDecoderBlock builds its cross-attention on the first call; call it (or `build` it) "
                f"before computing a cross-attention cache. Received: encoder_outputs shape={tuple(encoder_outputs.shape)}"
            )
        # A copy: the projections would otherwise warn that they drop the
        # Keras mask that encoder blocks attach to their outputs.
        encoder_outputs = ops.copy(encoder_outputs)
        keys = self.cross_attention.key_dense(encoder_outputs)
        values = self.cross_attention.value_dense(encoder_outputs)
        return ops.stack((keys, values), axis=1)

    def call(
        self,
        inputs,
        encoder_outputs=None,
        inputs_mask=None,
        encoder_outputs_mask=None,
        self_attention_cache=None,
        self_attention_cache_update_index=None,
        cross_attention_cache=None,
        return_cross_attention=False,
        training=None,
    ):
        cached = self_attention_cache is not None
        self._check_cache_arguments(
            cached, encoder_outputs, self_attention_cache_update_index, cross_attention_cache
        )
        # Keras' MultiHeadAttention deletes the Keras mask of the tensors it
        # is given; attending over copies keeps the callers' masks, which
        # matters when several decoder blocks share `encoder_outputs`.
        targets = ops.copy(inputs)
        query_length = ops.shape(inputs)[1]
        if cached:
            self_mask = causal_attention_mask(
                query_length, ops.shape(self_attention_cache)[2], self_attention_cache_update_index
            )
        else:
            self_mask = causal_attention_mask(query_length, query_length)
            if inputs_mask is not None:
                self_mask = ops.logical_and(self_mask, ops.expand_dims(ops.cast(inputs_mask, "bool"), 1))
        self_mask = ops.broadcast_to(self_mask, (ops.shape(inputs)[0], *ops.shape(self_mask)[1:]))
        attended = self.self_attention(
            targets,
            targets,
            attention_mask=self_mask,
            cache=self_attention_cache,
            cache_update_index=self_attention_cache_update_index,
            training=training,
        )
        if cached:
            attended, self_attention_cache = attended
        x = self.self_attention_norm(
            ops.add(inputs, self.self_attention_dropout(attended, training=training))
        )

        if cached and cross_attention_cache is None:
            cross_attention_cache = self.compute_cross_attention_cache(encoder_outputs)
        # With a cross-attention cache the keys and values come from it and
        # `value` is not read, so it need not be copied.
        sources = x if cached else ops.copy(encoder_outputs)
        cross_mask = None
        if encoder_outputs_mask is not None:
            cross_mask = ops.expand_dims(ops.cast(encoder_outputs_mask, "bool"), 1)
        attended = self.cross_attention(
            x,
            sources,
            attention_mask=cross_mask,
            cache=cross_attention_cache,
            return_attention_scores=return_cross_attention,
            training=training,
        )
        scores = None
        if return_cross_attention:
            attended, scores = attended[0], attended[1]
        elif cached:
            attended = attended[0]
        x = self.cross_attention_norm(
            ops.add(x, self.cross_attention_dropout(attended, training=training))
        )
        hidden = self.ffn_output(self.ffn_hidden(x))
        outputs = self.ffn_norm(ops.add(x, self.ffn_dropout(hidden, training=training)))

        results = (outputs, self_attention_cache, cross_attention_cache) if cached else (outputs,)
        if return_cross_attention:
            results = (*results, scores)
        return results if len(results) > 1 else outputs

    def _check_cache_arguments(self, cached, encoder_outputs, update_index, cross_attention_cache):
        if cached and update_index is None:
            raise ValueError(
                "TransformerDecoderBlock needs the position of `inputs` with a cache: pass "
                "`self_attention_cache_update_index`. Received: self_attention_cache_update_index=None"
            )
        if not cached and (update_index is not None or cross_attention_cache is not None):
            raise ValueError(
                "`self_attention_cache_update_index` and `cross_attention_cache` are only used with a "
                "`self_attention_cache`; pass one (see `initial_self_attention_cache`). "
                "Received: self_attention_cache=None"
            )
        if encoder_outputs is None and cross_attention_cache is None:
            raise ValueError(
                "TransformerDecoderBlock attends to `encoder_outputs`; pass them, or a "
                "`cross_attention_cache` when decoding with a cache. Received: encoder_outputs=None"
            )

    def compute_mask(self, inputs, previous_mask=None):
        # Keras hands over only the mask of the first argument, `inputs`,
        # and sets it on the first output only (not on the caches).
        return previous_mask

    def compute_output_shape(self, inputs_shape, encoder_outputs_shape=None):
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
