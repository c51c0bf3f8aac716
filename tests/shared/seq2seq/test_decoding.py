import keras
import numpy as np
import pytest
from keras import ops

from shared.seq2seq import BOS_ID, EOS_ID, PAD_ID, Decoder, DecodeResult
from shared.seq2seq.decoding import length_penalty_factor, sequence_lengths

TARGET_LENGTH = 7
A, B = 4, 5  # the two ordinary tokens of `ScriptedModel`


class ScriptedModel:
    """A decoding-protocol model whose next-token distribution depends on the position alone.

    `probabilities[p]` is the distribution of output token `p` (0-based, after BOS), whatever came before, so
    every hypothesis' log-probability is known in closed form.
    """

    source_length = 3

    def __init__(self, probabilities):
        self.probabilities = np.asarray(probabilities, "float32")
        self.target_length = len(self.probabilities)
        self.logits = ops.convert_to_tensor(np.log(np.maximum(self.probabilities, 1e-12)))

    def encode(self, source_ids, training=False):
        return {"source": ops.cast(source_ids, "float32")}

    def initial_cache(self, encoded, max_length=None):
        return {"steps": ops.zeros_like(encoded["source"][:, :1])}

    def decode_step(self, token_ids, cache, index, encoded):
        logits = ops.take(self.logits, ops.full((ops.shape(token_ids)[0],), index, dtype="int32"), axis=0)
        return logits, {"steps": cache["steps"] + 1.0}

    def decode_full(self, prefix_ids, encoded, training=False):
        positions = ops.arange(ops.shape(prefix_ids)[1], dtype="int32")
        return ops.broadcast_to(ops.take(self.logits, positions, axis=0)[None], (ops.shape(prefix_ids)[0], ops.shape(prefix_ids)[1], 6))


def scripted(first, later=None, length=4):
    """Position 0 draws from `first`; then `a` is followed by `a` once and EOS after (`later` overrides)."""
    rows = [first, later or {A: 0.98, B: 0.01, EOS_ID: 0.01}] + [{EOS_ID: 0.98, A: 0.01, B: 0.01}] * (length - 2)
    table = np.full((length, 6), 1e-9)
    for position, row in enumerate(rows):
        for token, probability in row.items():
            table[position, token] = probability
    return ScriptedModel(table / table.sum(axis=1, keepdims=True))


SOURCE = np.array([[4, 5, 0]], "int32")
# Ends at once with 0.45, or goes "a a EOS" with 0.4 * 0.98 * 0.98 ~ 0.384.
SHORT_OR_LONG = {EOS_ID: 0.45, A: 0.4, B: 0.15}


@pytest.fixture(scope="module", params=["recurrent", "transformer"])
def decoding(request, model_families):
    """`(decoder, encode_calls)` of a tiny model per family, shared by the module so each loop is traced once."""
    keras.utils.set_random_seed(0)
    model = model_families[request.param]()
    model.build()
    calls = []
    encode = model.encode
    model.encode = lambda *args, **kwargs: calls.append(1) or encode(*args, **kwargs)
    return Decoder(model), calls


def test_cached_greedy_equals_uncached_greedy(decoding, sources):
    decoder, _ = decoding
    cached, uncached = decoder.greedy(sources), decoder.greedy(sources, use_cache=False)
    np.testing.assert_array_equal(cached.ids, uncached.ids)
    np.testing.assert_array_equal(cached.lengths, uncached.lengths)
    np.testing.assert_allclose(cached.scores, uncached.scores, atol=1e-5)


def test_greedy_result_layout(decoding, sources):
    result = decoding[0].greedy(sources)
    assert isinstance(result, DecodeResult) and result.seconds > 0 and result.beams is None
    assert result.ids.shape == (5, TARGET_LENGTH) and result.ids.dtype == np.int32 and result.lengths.dtype == np.int32
    assert result.scores.shape == (5,) and result.scores.dtype == np.float32 and np.all(result.scores <= 0)
    assert not np.isin(result.ids, [BOS_ID]).any()
    positions = np.arange(TARGET_LENGTH)[None, :]
    np.testing.assert_array_equal(result.ids[positions >= result.lengths[:, None]], PAD_ID)
    assert not np.isin(result.ids[positions < result.lengths[:, None]], [PAD_ID]).any()


def test_beam_width_one_is_greedy(decoding, sources):
    decoder, _ = decoding
    greedy, beam = decoder.greedy(sources), decoder.beam(sources, beam_width=1, length_penalty=0.0)
    np.testing.assert_array_equal(beam.ids, greedy.ids)
    np.testing.assert_allclose(beam.scores, greedy.scores, atol=1e-4)


def test_beams_are_sorted_by_penalized_score(decoding, sources):
    result = decoding[0].beam(sources, beam_width=2, length_penalty=0.6)
    beams = result.beams
    assert beams.ids.shape == (5, 2, TARGET_LENGTH)
    assert np.all(np.diff(beams.scores, axis=1) <= 0)
    np.testing.assert_allclose(beams.scores, beams.log_probs / length_penalty_factor(beams.lengths, 0.6), rtol=1e-5)
    np.testing.assert_array_equal(beams.lengths, sequence_lengths(beams.ids))
    np.testing.assert_array_equal(result.ids, beams.ids[:, 0])
    np.testing.assert_array_equal(result.scores, beams.scores[:, 0])


def test_each_loop_is_traced_once_and_encodes_once(decoding, sources):
    decoder, calls = decoding
    for rows in (5, 2, 3):
        decoder.greedy(sources[:rows])
        decoder.beam(sources[:rows], beam_width=2)
    assert decoder.tracing_count("greedy") == 1 and decoder.tracing_count("beam", beam_width=2) == 1
    # Once per traced loop (greedy with and without the cache, beams of width
    # 1 and 2), outside the step loop.
    assert len(calls) == sum(decoder.tracing_count(*key) for key in [("greedy", 1, True), ("greedy", 1, False), ("beam", 1), ("beam", 2)])


def test_translate_batches_equals_one_call(decoding, sources):
    decoder, _ = decoding
    whole = decoder.beam(sources, beam_width=2)
    batched = decoder.translate_batches(sources, batch_size=2, method="beam", beam_width=2)
    np.testing.assert_array_equal(batched.ids, whole.ids)
    np.testing.assert_allclose(batched.beams.scores, whole.beams.scores, atol=1e-5)
    np.testing.assert_array_equal(decoder.translate_batches(sources, batch_size=3).ids, decoder.greedy(sources).ids)


def test_attention_rows_follow_the_output(decoding, sources):
    decoder, _ = decoding
    scores = decoder.attention(sources, decoder.greedy(sources).ids)
    assert scores.shape == (5, TARGET_LENGTH, 6) and scores.dtype == np.float32
    np.testing.assert_allclose(scores.sum(axis=-1), 1.0, atol=1e-5)


def test_a_finished_beam_keeps_its_score():
    # The short beam ends at step 1 while the long one runs two more steps; the
    # short one's log-probability must still be exactly log(0.45).
    beams = Decoder(scripted(SHORT_OR_LONG)).beam(SOURCE, beam_width=2, length_penalty=0.0).beams
    np.testing.assert_array_equal(beams.ids[0], [[EOS_ID, PAD_ID, PAD_ID, PAD_ID], [A, A, EOS_ID, PAD_ID]])
    np.testing.assert_allclose(beams.log_probs[0], np.log([0.45, 0.4 * 0.98 * 0.98]), atol=1e-5)
    np.testing.assert_array_equal(beams.lengths[0], [1, 3])


def test_length_penalty_favours_the_longer_beam():
    decoder = Decoder(scripted(SHORT_OR_LONG))
    assert decoder.beam(SOURCE, beam_width=2, length_penalty=0.0).ids[0, 0] == EOS_ID
    # log(0.384) / (8 / 6) = -0.72 beats log(0.45) / 1 = -0.80.
    penalized = decoder.beam(SOURCE, beam_width=2, length_penalty=1.0)
    np.testing.assert_array_equal(penalized.ids[0], [A, A, EOS_ID, PAD_ID])
    np.testing.assert_allclose(penalized.scores[0], np.log(0.4 * 0.98 * 0.98) / (8 / 6), atol=1e-5)


def test_greedy_scores_are_summed_log_probabilities():
    result = Decoder(scripted({A: 0.6, B: 0.3, EOS_ID: 0.1})).greedy(np.array([[4, 0, 0], [5, 6, 0]]))
    np.testing.assert_array_equal(result.ids, [[A, A, EOS_ID, PAD_ID]] * 2)
    np.testing.assert_allclose(result.scores, np.log(0.6 * 0.98 * 0.98), atol=1e-5)


def test_max_length_cuts_the_output():
    result = Decoder(scripted({A: 0.6, B: 0.3, EOS_ID: 0.1}), max_length=2).greedy(SOURCE)
    np.testing.assert_array_equal(result.ids, [[A, A]])
    np.testing.assert_array_equal(result.lengths, [2])


def test_never_emits_pad_or_bos_before_eos():
    # PAD and BOS are the likeliest next tokens here, yet neither is chosen.
    model = scripted({PAD_ID: 0.5, BOS_ID: 0.3, A: 0.15, EOS_ID: 0.05})
    result = Decoder(model).greedy(SOURCE)
    np.testing.assert_array_equal(result.ids[0], [A, A, EOS_ID, PAD_ID])


def test_sequence_lengths_and_penalty():
    np.testing.assert_array_equal(sequence_lengths(np.array([[4, 3, 0], [4, 4, 4], [3, 0, 0]])), [2, 3, 1])
    np.testing.assert_allclose(length_penalty_factor(np.array([1, 7]), 0.0), [1.0, 1.0])
    np.testing.assert_allclose(length_penalty_factor(np.array([1, 7]), 1.0), [1.0, 2.0])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda d: d.translate_batches(SOURCE, method="sampling"), "Received: method='sampling'"),
        (lambda d: d.beam(SOURCE, beam_width=0), "Received: beam_width=0"),
        (lambda d: d.beam(SOURCE, length_penalty=-1), "Received: length_penalty=-1"),
        (lambda d: d.greedy(np.zeros((1, 4), "int32")), "source_length=3"),
        (lambda d: d.attention(SOURCE, np.array([1, 2])), r"Received: output_ids shape=\(2,\)"),
    ],
)
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call(Decoder(scripted(SHORT_OR_LONG)))


def test_max_length_is_bounded_by_the_model():
    with pytest.raises(ValueError, match="target_length=4. Received: max_length=5"):
        Decoder(scripted(SHORT_OR_LONG), max_length=5)


def test_xla_loops_decode_the_same():
    model = scripted(SHORT_OR_LONG)
    plain, compiled = Decoder(model), Decoder(model, jit_compile=True)
    for use_cache in (True, False):
        np.testing.assert_array_equal(compiled.greedy(SOURCE, use_cache=use_cache).ids, plain.greedy(SOURCE).ids)
    np.testing.assert_allclose(compiled.beam(SOURCE, beam_width=2).beams.scores, plain.beam(SOURCE, beam_width=2).beams.scores, atol=1e-6)

