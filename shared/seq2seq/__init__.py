"""Sequence-to-sequence translation: encoder-decoder models and fast decoding.

Token ids only (tokenizers live in `shared.text`): `PAD_ID=0`, `UNK_ID=1`,
`BOS_ID=2`, `EOS_ID=3` (`shared.seq2seq.tokens`).

- `TransformerSeq2Seq`, `RecurrentSeq2Seq` (`shared.seq2seq.models`):
  `Seq2SeqModel`s taking `{SOURCE: (batch, S), TARGET: (batch, T + 1)}`
  int32 ids, targets `BOS, tokens..., EOS, PAD...`. `call` returns the
  teacher-forced logits `(batch, T, target_vocab_size)`; `compute_loss` is
  the PAD-masked cross-entropy over `target[:, 1:]`, so `fit` trains on a
  dataset of input dicts alone. Registered as `dlsuite>ClassName`: they
  reload with `keras.saving.load_model(path, safe_mode=True)` once
  `shared.seq2seq.models` is imported.
- `Decoder`, `DecodeResult`, `BeamHypotheses` (`shared.seq2seq.decoding`):
  greedy and beam search (GNMT length penalty) through keras-hub's
  samplers, compiled once per decoding method.
- `cache_speedup` (`shared.seq2seq.benchmark`): greedy tokens/s with the
  decoder's key/value cache over tokens/s without it.

Decoding protocol (what `Decoder` needs from a model; both families
implement it, and any object with these members, `source_length` and
`target_length` can be decoded):

    encode(source_ids, training=False) -> encoded
        A dict of batch-first tensors computed once per sentence: encoder
        outputs, the source padding mask, and whatever else the decoder
        reuses at every step (the transformer's cross-attention keys and
        values per decoder block; the recurrent model's attention keys and
        initial LSTM state).
    initial_cache(encoded, max_length=None) -> cache
        Nested batch-first tensors: the state before position 0 (empty
        self-attention key/value caches of `max_length` positions; the
        initial LSTM state).
    decode_step(token_ids (batch, 1), cache, index, encoded) -> (logits (batch, V), cache)
        Reads the token at decoder position `index` (BOS at 0) and returns
        the logits for position `index + 1` of the target, with the cache
        updated.
    decode_full(prefix_ids (batch, t), encoded) -> logits (batch, t, V)
        Recomputes every position from the prefix: the uncached reference,
        equal to `decode_step` at every position.
    cross_attention(source_ids, target_in_ids (batch, T)) -> (batch, T, S) float32
        The last decoder layer's attention over the source when predicting
        each position (transformer: mean over heads).

Names are imported on first use, so that the token ids can be read without
importing Keras.
"""

import importlib

_MODULES = {
    "PAD_ID": "tokens",
    "UNK_ID": "tokens",
    "BOS_ID": "tokens",
    "EOS_ID": "tokens",
    "SPECIAL_IDS": "tokens",
    "SOURCE": "base",
    "TARGET": "base",
    "Seq2SeqModel": "base",
    "TransformerSeq2Seq": "models",
    "RecurrentSeq2Seq": "models",
    "Decoder": "decoding",
    "DecodeResult": "decoding",
    "BeamHypotheses": "decoding",
    "DECODING_METHODS": "decoding",
    "cache_speedup": "benchmark",
}


def __getattr__(name: str):
    if name in _MODULES:
        return getattr(importlib.import_module(f"shared.seq2seq.{_MODULES[name]}"), name)
    raise AttributeError(f"module 'shared.seq2seq' has no attribute {name!r}")


__all__ = sorted(_MODULES)
