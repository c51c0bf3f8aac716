"""The two encoder-decoder families: `TransformerSeq2Seq` and `RecurrentSeq2Seq`.

Both are `Seq2SeqModel`s (teacher forcing and the masked loss live in
`shared.seq2seq.base`) assembled from `shared.layers`, and both implement
the decoding protocol that `shared.seq2seq.decoding.Decoder` drives.
"""

from __future__ import annotations

import keras
from keras import ops

from shared.layers.argument_checks import check_choice, check_positive_int, check_rate
from shared.layers.positional import PositionalEmbedding
from shared.layers.recurrent import RecurrentBlock
from shared.layers.transformer_decoder import TransformerDecoderBlock
from shared.layers.transformer_encoder import TransformerEncoderBlock
from shared.seq2seq.base import Seq2SeqModel
from shared.seq2seq.tokens import PAD_ID

# Keys of the `encoded` dicts: declared once, read by the models and the decoder.
ENCODER_OUTPUTS = "encoder_outputs"
SOURCE_MASK = "source_mask"
CROSS_ATTENTION_CACHE = "cross_attention_cache"
ATTENTION_KEYS = "attention_keys"
INITIAL_STATE = "initial_state"


@keras.saving.register_keras_serializable(package="dlsuite")
class TransformerSeq2Seq(Seq2SeqModel):
    """Transformer encoder-decoder (post-norm, learned positions).

    The source goes through a `PositionalEmbedding` (PAD masked) and
    `num_layers` `TransformerEncoderBlock`s; the target through its own
    `PositionalEmbedding` and `num_layers` `TransformerDecoderBlock`s, then
    a `Dense(target_vocab_size)` projection. The target embedding masks
    nothing: targets are right-padded and attention is causal, so no real
    position ever reaches a PAD, and the step-by-step decoder sees exactly
    what the full pass sees.

    Decoding caches, per decoder block, the self-attention keys and values
    of the positions decoded so far (the cache) and the cross-attention keys
    and values of the encoder outputs (in `encoded`, computed once per
    sentence).

    Args:
        source_vocab_size: int. Number of source ids, PAD included.
        target_vocab_size: int. Number of target ids, PAD included.
        source_length: int. Longest source sequence.
        target_length: int. Decoder positions `T` (EOS included).
        dim: int. Model width; must be divisible by `num_heads`. Defaults
            to `128`.
        num_layers: int. Encoder blocks, and as many decoder blocks.
            Defaults to `2`.
        num_heads: int. Attention heads. Defaults to `4`.
        ff_dim: int. Feed-forward width. Defaults to `256`.
        dropout: float. In `[0, 1)`. Defaults to `0.1`.
        label_smoothing: float. In `[0, 1)`. Defaults to `0.0`.
        **kwargs: Base model arguments (`name`, `dtype`, `trainable`).

    Example:

    ```python
    import numpy as np
    from shared.seq2seq import TransformerSeq2Seq

    model = TransformerSeq2Seq(20, 20, source_length=6, target_length=7, dim=16, num_heads=2, ff_dim=32)
    model.compile("adam")  # no loss: it is computed from inputs["target"]
    inputs = {"source": np.array([[5, 6, 7, 0, 0, 0]]), "target": np.array([[2, 7, 6, 5, 3, 0, 0, 0]])}
    logits = model(inputs)  # predicts target[:, 1:] from target[:, :-1]
    assert logits.shape == (1, 7, 20)
    assert float(model.compute_loss(x=inputs, y_pred=logits)) > 0
    ```

    Reference:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762):
          Attention Is All You Need.
    """

    def __init__(
        self,
        source_vocab_size,
        target_vocab_size,
        source_length,
        target_length,
        dim=128,
        num_layers=2,
        num_heads=4,
        ff_dim=256,
        dropout=0.1,
        label_smoothing=0.0,
        **kwargs,
    ):
        super().__init__(source_vocab_size, target_vocab_size, source_length, target_length, label_smoothing, **kwargs)
        self.dim = check_positive_int("dim", dim)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.num_heads = check_positive_int("num_heads", num_heads)
        self.ff_dim = check_positive_int("ff_dim", ff_dim)
        self.dropout = check_rate("dropout", dropout)
        if self.dim % self.num_heads:
            raise ValueError(
                f"`dim` must be divisible by `num_heads` (each head gets dim // num_heads). Received: dim={dim}, num_heads={num_heads}"
            )
        key_dim = self.dim // self.num_heads
        self.source_embedding = PositionalEmbedding(
            self.source_vocab_size, self.source_length, self.dim, name="source_embedding"
        )
        self.source_dropout = keras.layers.Dropout(self.dropout)
        self.encoder_blocks = [
            TransformerEncoderBlock(self.num_heads, key_dim, self.ff_dim, self.dropout, name=f"encoder_{i}")
            for i in range(self.num_layers)
        ]
        self.target_embedding = PositionalEmbedding(
            self.target_vocab_size, self.target_length, self.dim, mask_zero=False, name="target_embedding"
        )
        self.target_dropout = keras.layers.Dropout(self.dropout)
        self.decoder_blocks = [
            TransformerDecoderBlock(self.num_heads, key_dim, self.ff_dim, self.dropout, name=f"decoder_{i}")
            for i in range(self.num_layers)
        ]
        self.output_projection = keras.layers.Dense(self.target_vocab_size, name="output_projection")

    def build(self, input_shape=None):
        # Every shape follows from the config, so a reloaded model builds
        # without data.
        self.source_embedding.build((None, None))
        self.target_embedding.build((None, None))
        for block in self.encoder_blocks:
            block.build((None, None, self.dim))
        for block in self.decoder_blocks:
            block.build((None, None, self.dim), (None, None, self.dim))
        self.output_projection.build((None, None, self.dim))
        self.built = True

    def encode(self, source_ids, training=False, for_decoding=True):
        """`{ENCODER_OUTPUTS, SOURCE_MASK[, CROSS_ATTENTION_CACHE]}` of `(batch, S)` source ids."""
        source_mask = ops.not_equal(source_ids, PAD_ID)
        x = self.source_dropout(self.source_embedding(source_ids), training=training)
        for block in self.encoder_blocks:
            x = block(x, mask=source_mask, training=training)
        encoded = {ENCODER_OUTPUTS: x, SOURCE_MASK: source_mask}
        if for_decoding:
            encoded[CROSS_ATTENTION_CACHE] = tuple(block.compute_cross_attention_cache(x) for block in self.decoder_blocks)
        return encoded

    def initial_cache(self, encoded, max_length=None):
        """One empty `(batch, 2, max_length, heads, key_dim)` self-attention cache per decoder block."""
        batch = ops.shape(encoded[ENCODER_OUTPUTS])[0]
        length = self.target_length if max_length is None else max_length
        return tuple(block.initial_self_attention_cache(batch, length) for block in self.decoder_blocks)

    def decode_step(self, token_ids, cache, index, encoded):
        x = self.target_embedding(token_ids, start_index=index)
        new_cache = []
        for block, self_cache, cross_cache in zip(self.decoder_blocks, cache, encoded[CROSS_ATTENTION_CACHE]):
            x, self_cache, _ = block(
                x,
                encoded[ENCODER_OUTPUTS],
                encoder_outputs_mask=encoded[SOURCE_MASK],
                self_attention_cache=self_cache,
                self_attention_cache_update_index=index,
                cross_attention_cache=cross_cache,
            )
            new_cache.append(self_cache)
        return self.output_projection(x)[:, 0], tuple(new_cache)

    def decode_full(self, prefix_ids, encoded, training=False):
        return self.output_projection(self._decoder_states(prefix_ids, encoded, training=training)[0])

    def cross_attention(self, source_ids, target_in_ids):
        encoded = self.encode(source_ids, for_decoding=False)
        _, scores = self._decoder_states(target_in_ids, encoded, return_cross_attention=True)
        return ops.cast(ops.mean(scores, axis=1), "float32")

    def _decoder_states(self, prefix_ids, encoded, training=False, return_cross_attention=False):
        x = self.target_dropout(self.target_embedding(prefix_ids), training=training)
        scores = None
        for i, block in enumerate(self.decoder_blocks):
            last = return_cross_attention and i == len(self.decoder_blocks) - 1
            x = block(
                x, encoded[ENCODER_OUTPUTS], encoder_outputs_mask=encoded[SOURCE_MASK],
                return_cross_attention=last, training=training,
            )
            if last:
                x, scores = x
        return x, scores

    def get_config(self):
        return {
            **super().get_config(),
            "dim": self.dim,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "ff_dim": self.ff_dim,
            "dropout": self.dropout,
        }


# The attention layer's score functions by name; another is one more entry.
ATTENTION_SCORES = {"luong": "dot"}


@keras.saving.register_keras_serializable(package="dlsuite")
class RecurrentSeq2Seq(Seq2SeqModel):
    """Bidirectional-LSTM encoder and LSTM decoder with Luong attention.

    Encoder: `Embedding(mask_zero=True)` and a bidirectional `RecurrentBlock`
    (LSTM, `units` per direction) returning every step. Its final states
    (the forward output at the last real token and the backward output at
    the first; sources are right-padded) are projected into the decoder
    LSTM's initial `h` and `c`. Decoder: `Embedding` and an `LSTM(units)`,
    then Luong attention after the LSTM ("general" score `h_t W a_s`: the
    encoder outputs are projected once into keys, and
    `keras.layers.Attention` takes the dot product under the source padding
    mask), `Dense(units, tanh)` over `[h_t; context]` and
    `Dense(target_vocab_size)`. Since attention follows the LSTM, a
    decoding step needs only the LSTM state: `{"h", "c"}` is the cache.

    Args:
        source_vocab_size: int. Number of source ids, PAD included.
        target_vocab_size: int. Number of target ids, PAD included.
        source_length: int. Longest source sequence.
        target_length: int. Decoder positions `T` (EOS included).
        embedding_dim: int. Token vector size. Defaults to `128`.
        units: int. LSTM size (encoder: per direction). Defaults to `256`.
        dropout: float. On embeddings and the attentional vector, in
            `[0, 1)`. Defaults to `0.1`.
        attention: str. Score function; `"luong"`. Defaults to `"luong"`.
        label_smoothing: float. In `[0, 1)`. Defaults to `0.0`.
        **kwargs: Base model arguments (`name`, `dtype`, `trainable`).

    Example:

    ```python
    import numpy as np
    from shared.seq2seq import RecurrentSeq2Seq

    model = RecurrentSeq2Seq(20, 20, source_length=6, target_length=7, embedding_dim=8, units=16)
    inputs = {"source": np.array([[5, 6, 7, 0, 0, 0]]), "target": np.array([[2, 7, 6, 5, 3, 0, 0, 0]])}
    assert model(inputs).shape == (1, 7, 20)
    assert model.cross_attention(inputs["source"], inputs["target"][:, :-1]).shape == (1, 7, 6)
    ```

    Reference:
        - [Luong et al., 2015](https://arxiv.org/abs/1508.04025): Effective
          Approaches to Attention-based Neural Machine Translation.
    """

    def __init__(
        self,
        source_vocab_size,
        target_vocab_size,
        source_length,
        target_length,
        embedding_dim=128,
        units=256,
        dropout=0.1,
        attention="luong",
        label_smoothing=0.0,
        **kwargs,
    ):
        super().__init__(source_vocab_size, target_vocab_size, source_length, target_length, label_smoothing, **kwargs)
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        self.units = check_positive_int("units", units)
        self.dropout = check_rate("dropout", dropout)
        score_mode = check_choice("attention", attention, ATTENTION_SCORES)
        self.attention = attention
        self.source_embedding = keras.layers.Embedding(
            self.source_vocab_size, self.embedding_dim, mask_zero=True, name="source_embedding"
        )
        self.encoder = RecurrentBlock(self.units, cell="lstm", bidirectional=True, return_sequences=True, name="encoder")
        self.initial_h = keras.layers.Dense(self.units, activation="tanh", name="initial_h")
        self.initial_c = keras.layers.Dense(self.units, name="initial_c")
        self.target_embedding = keras.layers.Embedding(self.target_vocab_size, self.embedding_dim, name="target_embedding")
        self.decoder_lstm = keras.layers.LSTM(self.units, return_sequences=True, return_state=True, name="decoder_lstm")
        self.attention_keys = keras.layers.Dense(self.units, use_bias=False, name="attention_keys")
        self.attention_layer = keras.layers.Attention(score_mode=score_mode, name="attention")
        self.attentional = keras.layers.Dense(self.units, activation="tanh", name="attentional")
        self.output_projection = keras.layers.Dense(self.target_vocab_size, name="output_projection")
        self.embedding_dropout = keras.layers.Dropout(self.dropout)
        self.output_dropout = keras.layers.Dropout(self.dropout)

    def build(self, input_shape=None):
        encoded = 2 * self.units
        self.source_embedding.build((None, None))
        self.encoder.build((None, None, self.embedding_dim))
        self.initial_h.build((None, encoded))
        self.initial_c.build((None, encoded))
        self.target_embedding.build((None, None))
        self.decoder_lstm.build((None, None, self.embedding_dim))
        self.attention_keys.build((None, None, encoded))
        self.attention_layer.build([(None, None, self.units), (None, None, encoded), (None, None, self.units)])
        self.attentional.build((None, None, self.units + encoded))
        self.output_projection.build((None, None, self.units))
        self.built = True

    def encode(self, source_ids, training=False, for_decoding=True):
        """`{ENCODER_OUTPUTS, ATTENTION_KEYS, SOURCE_MASK, INITIAL_STATE: (h, c)}` of `(batch, S)` source ids."""
        del for_decoding  # the same tensors serve training and decoding
        source_mask = ops.not_equal(source_ids, PAD_ID)
        x = self.embedding_dropout(self.source_embedding(source_ids), training=training)
        outputs = self.encoder(x, mask=source_mask, training=training)
        last = ops.maximum(ops.sum(ops.cast(source_mask, "int32"), axis=1) - 1, 0)
        forward = ops.take_along_axis(outputs[..., : self.units], last[:, None, None], axis=1)[:, 0]
        # Keras re-aligns the backward direction in time, so its final state sits at step 0.
        summary = ops.concatenate([forward, outputs[:, 0, self.units :]], axis=-1)
        return {
            ENCODER_OUTPUTS: outputs,
            ATTENTION_KEYS: self.attention_keys(outputs),
            SOURCE_MASK: source_mask,
            INITIAL_STATE: (self.initial_h(summary), self.initial_c(summary)),
        }

    def initial_cache(self, encoded, max_length=None):
        """The decoder LSTM state `{"h", "c"}`, `(batch, units)` each; `max_length` is not needed."""
        h, c = encoded[INITIAL_STATE]
        return {"h": h, "c": c}

    def decode_step(self, token_ids, cache, index, encoded):
        del index  # the LSTM state already carries the position
        x = self.target_embedding(token_ids)
        outputs, h, c = self.decoder_lstm(x, initial_state=[cache["h"], cache["c"]])
        logits, _ = self._readout(outputs, encoded)
        return logits[:, 0], {"h": h, "c": c}

    def decode_full(self, prefix_ids, encoded, training=False):
        return self._readout(self._decoder_states(prefix_ids, encoded, training), encoded, training)[0]

    def cross_attention(self, source_ids, target_in_ids):
        encoded = self.encode(source_ids)
        _, scores = self._readout(self._decoder_states(target_in_ids, encoded), encoded)
        return ops.cast(scores, "float32")

    def _decoder_states(self, prefix_ids, encoded, training=False):
        x = self.embedding_dropout(self.target_embedding(prefix_ids), training=training)
        outputs, _, _ = self.decoder_lstm(x, initial_state=list(encoded[INITIAL_STATE]), training=training)
        return outputs

    def _readout(self, states, encoded, training=False):
        """Logits `(batch, t, V)` and attention weights `(batch, t, S)` of decoder states `(batch, t, units)`."""
        context, scores = self.attention_layer(
            [states, encoded[ENCODER_OUTPUTS], encoded[ATTENTION_KEYS]],
            mask=[None, encoded[SOURCE_MASK]],
            return_attention_scores=True,
        )
        attentional = self.attentional(ops.concatenate([states, context], axis=-1))
        return self.output_projection(self.output_dropout(attentional, training=training)), scores

    def get_config(self):
        return {
            **super().get_config(),
            "embedding_dim": self.embedding_dim,
            "units": self.units,
            "dropout": self.dropout,
            "attention": self.attention,
        }
