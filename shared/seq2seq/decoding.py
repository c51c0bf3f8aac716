"""Greedy and beam-search decoding of `shared.seq2seq` models, through keras-hub's samplers.

`Decoder(model)` drives any model that implements the decoding protocol of
`shared.seq2seq` (both model families do). Each decoding loop is one
`tf.function` with a dynamic batch, traced once per (method, beam width,
cache use) and reused for every later batch; `jit_compile=True` also
compiles it with XLA (faster steps, but one compilation per batch shape). The encoder runs once per
sentence, before the loop; inside it each step feeds one token through
`model.decode_step` and its cache (or, with `use_cache=False`, re-runs
`model.decode_full` over the whole prefix: the reference and the baseline
that the cache is measured against).

The loop is a `keras_hub.samplers.GreedySampler` or `BeamSampler` with a
`next(prompt, cache, index)` closure. The prompt is `BOS` followed by
`max_length` PAD slots; the sampler writes position `index` from the logits
of the token at `index - 1`, and stops once every sequence holds an EOS.
Two things the samplers leave to the caller are done here:

- Finished sequences. Once a sequence holds EOS, `next` returns logits that
  put probability 1 on PAD (0 for PAD, -1e9 elsewhere), so its
  log-probability stops changing and a finished beam competes with the
  unfinished ones on its final score. Before EOS, PAD and BOS are never
  chosen (neither is ever a label).
- Length penalty. `BeamSampler` ranks beams by their summed
  log-probability, which favours short outputs; the returned beams are
  re-ranked by `log_prob / ((5 + length) / 6) ** length_penalty` (GNMT;
  `length` counts the tokens up to and including EOS; 0 disables it).

Reference:
    - [Wu et al., 2016](https://arxiv.org/abs/1609.08144): Google's Neural
      Machine Translation System (the length penalty).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import keras
import keras_hub
import numpy as np
import tensorflow as tf
from keras import ops

from shared.layers.argument_checks import check_choice, check_non_negative, check_positive_int
from shared.seq2seq.base import Seq2SeqModel
from shared.seq2seq.tokens import BOS_ID, EOS_ID, PAD_ID

# Large enough that softmax gives exactly 0, small enough to stay finite in float32.
BLOCKED_LOGIT = -1e9
_SOURCE_SPEC = tf.TensorSpec((None, None), tf.int32)


@dataclass(frozen=True)
class BeamHypotheses:
    """Every beam of every sentence, best first by penalized score.

    Attributes:
        ids: int32 `(batch, beam_width, max_length)`, no BOS, PAD after EOS.
        lengths: int32 `(batch, beam_width)`, tokens up to and including EOS
            (`max_length` when a beam never ends).
        log_probs: float32 `(batch, beam_width)`, summed log-probabilities.
        scores: float32 `(batch, beam_width)`, `log_probs` divided by the
            length penalty; descending along each row.
    """

    ids: np.ndarray
    lengths: np.ndarray
    log_probs: np.ndarray
    scores: np.ndarray


@dataclass(frozen=True)
class DecodeResult:
    """One output sequence per source sentence.

    Attributes:
        ids: int32 `(batch, max_length)`, no BOS, PAD after EOS.
        lengths: int32 `(batch,)`, tokens up to and including EOS
            (`max_length` when a sequence never ends).
        scores: float32 `(batch,)`. Greedy: the summed log-probability of
            the output; beam: the length-penalized score of the best beam.
        seconds: float. Wall time of the call.
        beams: all beams (beam search only), else `None`.
    """

    ids: np.ndarray
    lengths: np.ndarray
    scores: np.ndarray
    seconds: float
    beams: BeamHypotheses | None = None

    @property
    def tokens_per_second(self) -> float:
        return float(self.lengths.sum()) / self.seconds if self.seconds > 0 else float("inf")


def sequence_lengths(ids: np.ndarray) -> np.ndarray:
    """Tokens up to and including the first EOS along the last axis (its size when there is none)."""
    is_eos = ids == EOS_ID
    return np.where(is_eos.any(axis=-1), is_eos.argmax(axis=-1) + 1, ids.shape[-1]).astype("int32")


def length_penalty_factor(lengths: np.ndarray, alpha: float) -> np.ndarray:
    """GNMT's `((5 + length) / 6) ** alpha`; 1 everywhere when `alpha` is 0."""
    return ((5.0 + np.asarray(lengths, "float64")) / 6.0) ** alpha


def constrain_logits(logits, finished):
    """float32 logits where an unfinished sequence cannot pick PAD or BOS and a finished one picks PAD with probability 1.

    `finished` is boolean and broadcasts against `logits` without its vocabulary axis kept: `(batch, 1)` for
    `(batch, V)` logits, `(batch, t, 1)` for `(batch, t, V)`.
    """
    logits = ops.cast(logits, "float32")
    vocabulary = ops.arange(ops.shape(logits)[-1], dtype="int32")
    is_pad = ops.equal(vocabulary, PAD_ID)
    never_next = ops.logical_or(is_pad, ops.equal(vocabulary, BOS_ID))
    open_logits = ops.where(never_next, BLOCKED_LOGIT, logits)
    pad_only = ops.where(is_pad, 0.0, BLOCKED_LOGIT)
    return ops.where(finished, pad_only, open_logits)


class Decoder:
    """Greedy and beam-search decoding of one model.

    Args:
        model: a model implementing the `shared.seq2seq` decoding protocol
            (a `Seq2SeqModel` is built here if it is not yet).
        max_length: int. Tokens to decode at most, EOS included; at most
            the model's `target_length`. Defaults to `model.target_length`.
        jit_compile: bool. Whether to compile the loops with XLA. XLA needs
            static shapes, so each new `(batch, S)` shape compiles anew
            (seconds), and `use_cache=False` re-runs `decode_full` over the
            whole prompt buffer instead of the prefix. Defaults to `False`.

    Example:

    ```python
    import numpy as np
    from shared.seq2seq import Decoder, TransformerSeq2Seq

    model = TransformerSeq2Seq(20, 20, source_length=6, target_length=7, dim=16, num_heads=2, ff_dim=32)
    source_ids = np.array([[5, 6, 7, 0, 0, 0], [8, 9, 0, 0, 0, 0]])
    decoder = Decoder(model)  # decodes up to model.target_length tokens
    result = decoder.beam(source_ids, beam_width=4, length_penalty=0.6)
    assert result.ids.shape == (2, 7)  # no BOS; PAD after EOS
    assert result.beams.ids.shape == (2, 4, 7)  # every beam, best first
    assert decoder.translate_batches(source_ids, batch_size=1, method="greedy").ids.shape == (2, 7)
    assert decoder.attention(source_ids, result.ids).shape == (2, 7, 6)
    ```
    """

    def __init__(self, model, max_length: int | None = None, jit_compile: bool = False):
        if isinstance(model, Seq2SeqModel) and not model.built:
            model.build()  # variables must exist before the loops are traced
        self.model = model
        limit = model.target_length
        self.max_length = limit if max_length is None else check_positive_int("max_length", max_length)
        if self.max_length > limit:
            raise ValueError(
                f"`max_length` must be at most the model's target_length={limit}. Received: max_length={max_length}"
            )
        self.jit_compile = bool(jit_compile)
        self._functions: dict[tuple, tf.types.experimental.PolymorphicFunction] = {}

    # Public entry points ------------------------------------------------

    def greedy(self, source_ids, use_cache: bool = True) -> DecodeResult:
        """Greedy decoding of `(batch, S)` source ids; `use_cache=False` re-runs the full decoder every step."""
        use_cache = bool(use_cache)
        function = self._function(("greedy", 1, use_cache), lambda source: self._greedy_graph(source, use_cache))
        start = time.perf_counter()
        ids, log_probs = function(self._source(source_ids))
        ids = ids.numpy().astype("int32")
        log_probs = log_probs.numpy().astype("float32")
        return DecodeResult(ids, sequence_lengths(ids), log_probs, time.perf_counter() - start)

    def beam(self, source_ids, beam_width: int = 4, length_penalty: float = 0.6) -> DecodeResult:
        """Beam search over `(batch, S)` source ids, beams re-ranked with the GNMT length penalty."""
        beam_width = check_positive_int("beam_width", beam_width)
        alpha = check_non_negative("length_penalty", length_penalty)
        function = self._function(("beam", beam_width, True), lambda source: self._beam_graph(source, beam_width))
        start = time.perf_counter()
        ids, log_probs = function(self._source(source_ids))
        ids = ids.numpy().astype("int32")
        log_probs = log_probs.numpy().astype("float32")
        lengths = sequence_lengths(ids)
        scores = (log_probs / length_penalty_factor(lengths, alpha)).astype("float32")
        order = np.argsort(-scores, axis=1, kind="stable")
        beams = BeamHypotheses(
            ids=np.take_along_axis(ids, order[..., None], axis=1),
            lengths=np.take_along_axis(lengths, order, axis=1),
            log_probs=np.take_along_axis(log_probs, order, axis=1),
            scores=np.take_along_axis(scores, order, axis=1),
        )
        seconds = time.perf_counter() - start
        return DecodeResult(beams.ids[:, 0], beams.lengths[:, 0], beams.scores[:, 0], seconds, beams)

    def translate_batches(self, source_ids, batch_size: int = 64, method: str = "greedy", **kwargs) -> DecodeResult:
        """Decodes many sentences, `batch_size` at a time, with `method` (`"greedy"` or `"beam"`) and its `kwargs`."""
        batch_size = check_positive_int("batch_size", batch_size)
        run = check_choice("method", method, DECODING_METHODS)
        source_ids = np.asarray(source_ids)
        parts = [run(self, source_ids[i : i + batch_size], **kwargs) for i in range(0, len(source_ids), batch_size)]
        if not parts:
            raise ValueError(f"translate_batches needs at least one source sentence. Received: source_ids shape={source_ids.shape}")
        beams = None
        if parts[0].beams is not None:
            beams = BeamHypotheses(
                *(np.concatenate([getattr(part.beams, field) for part in parts]) for field in ("ids", "lengths", "log_probs", "scores"))
            )
        return DecodeResult(
            ids=np.concatenate([part.ids for part in parts]),
            lengths=np.concatenate([part.lengths for part in parts]),
            scores=np.concatenate([part.scores for part in parts]),
            seconds=sum(part.seconds for part in parts),
            beams=beams,
        )

    def attention(self, source_ids, output_ids) -> np.ndarray:
        """Cross-attention `(batch, T, S)` while the model produced `output_ids` (`DecodeResult.ids`): row `t` is output token `t`."""
        output_ids = np.asarray(output_ids, "int32")
        if output_ids.ndim != 2:
            raise ValueError(f"`output_ids` must be (batch, T) ids, as in DecodeResult.ids. Received: output_ids shape={output_ids.shape}")
        bos = np.full((len(output_ids), 1), BOS_ID, "int32")
        target_in = np.concatenate([bos, output_ids[:, :-1]], axis=1)
        scores = self.model.cross_attention(self._source(source_ids), tf.constant(target_in))
        return ops.convert_to_numpy(scores).astype("float32")

    def tracing_count(self, method: str = "greedy", beam_width: int = 1, use_cache: bool = True) -> int:
        """How many times that decoding loop was traced (0 before its first call): stays 1 across batch sizes."""
        function = self._functions.get((method, beam_width, bool(use_cache)))
        return 0 if function is None else function.experimental_get_tracing_count()

    # Graphs ---------------------------------------------------------------

    def _function(self, key: tuple, graph: Callable):
        if key not in self._functions:
            self._functions[key] = tf.function(
                graph, input_signature=[_SOURCE_SPEC], reduce_retracing=True, jit_compile=self.jit_compile
            )
        return self._functions[key]

    def _source(self, source_ids):
        source_ids = tf.convert_to_tensor(np.asarray(source_ids), dtype=tf.int32)
        if source_ids.shape.rank != 2 or source_ids.shape[1] > self.model.source_length:
            raise ValueError(
                f"`source_ids` must be (batch, S) ids with S <= the model's source_length={self.model.source_length}. "
                f"Received: source_ids shape={tuple(source_ids.shape)}"
            )
        return source_ids

    def _start(self, batch):
        """The prompt `(batch, 1 + max_length)`: BOS then PAD slots, and the mask marking BOS as given."""
        prompt = ops.concatenate(
            [ops.full((batch, 1), BOS_ID, dtype="int32"), ops.full((batch, self.max_length), PAD_ID, dtype="int32")], axis=1
        )
        mask = ops.concatenate([ops.ones((batch, 1), dtype="bool"), ops.zeros((batch, self.max_length), dtype="bool")], axis=1)
        return prompt, mask

    def _next(self, encoded, use_cache):
        """The sampler's `next(prompt, cache, index)`: logits for position `index` from the token at `index - 1`."""
        model, static_shapes = self.model, self.jit_compile

        def next(prompt, cache, index):
            position = index - 1
            batch = ops.shape(prompt)[0]
            finished = ops.any(ops.equal(prompt, EOS_ID), axis=-1, keepdims=True)
            if use_cache:
                token = ops.slice(prompt, [0, position], [batch, 1])
                logits, cache = model.decode_step(token, cache, position, encoded)
            elif static_shapes:
                # XLA cannot slice to a prefix of dynamic length; the decoder
                # is causal, so the PAD slots after `position` change nothing.
                logits = ops.take(model.decode_full(prompt[:, :-1], encoded), position, axis=1)
            else:
                prefix = ops.slice(prompt, [0, 0], [batch, index])
                logits = model.decode_full(prefix, encoded)[:, -1]
            return constrain_logits(logits, finished), None, cache

        return next

    def _greedy_graph(self, source_ids, use_cache):
        encoded = self.model.encode(source_ids, training=False)
        prompt, mask = self._start(ops.shape(source_ids)[0])
        cache = self.model.initial_cache(encoded, self.max_length) if use_cache else None
        prompt = keras_hub.samplers.GreedySampler()(
            self._next(encoded, use_cache), prompt, cache=cache, index=1, mask=mask, stop_token_ids=(EOS_ID,)
        )
        return prompt[:, 1:], self._log_probs(prompt, encoded)

    def _beam_graph(self, source_ids, beam_width):
        encoded = self.model.encode(source_ids, training=False)
        # BeamSampler repeats the prompt and the cache per beam with
        # `repeat(axis=0)` (a sentence's beams side by side) and, every step,
        # reorders beams only within a sentence. Every beam of a sentence
        # reads the same encoder outputs, so repeating them once in that
        # layout keeps them aligned without a gather per step, and keeps
        # them out of the loop state.
        beam_encoded = keras.tree.map_structure(lambda tensor: ops.repeat(tensor, beam_width, axis=0), encoded)
        prompt, mask = self._start(ops.shape(source_ids)[0])
        sampler = keras_hub.samplers.BeamSampler(num_beams=beam_width, return_all_beams=True)
        prompts, log_probs = sampler(
            self._next(beam_encoded, use_cache=True),
            prompt,
            cache=self.model.initial_cache(encoded, self.max_length),
            index=1,
            mask=mask,
            stop_token_ids=(EOS_ID,),
        )
        return prompts[:, :, 1:], log_probs

    def _log_probs(self, prompt, encoded):
        """Summed log-probability `(batch,)` of each decoded sequence, under the same constraints, in one full pass."""
        ids = prompt[:, 1:]
        logits = self.model.decode_full(prompt[:, :-1], encoded)
        is_eos = ops.cast(ops.equal(ids, EOS_ID), "int32")
        finished_before = ops.expand_dims(ops.cumsum(is_eos, axis=1) - is_eos > 0, -1)
        log_probs = ops.log_softmax(constrain_logits(logits, finished_before), axis=-1)
        chosen = ops.take_along_axis(log_probs, ops.expand_dims(ids, -1), axis=-1)[..., 0]
        return ops.sum(chosen, axis=1)


# Decoding methods by name, for `translate_batches` and configs.
DECODING_METHODS = {"greedy": Decoder.greedy, "beam": Decoder.beam}
