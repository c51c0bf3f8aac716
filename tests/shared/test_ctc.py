import json
import math
import re
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from tests_support import PROCESSES

from shared.ctc import (
    BLANK,
    LABELS,
    LOGIT_LENGTH,
    CharVocabulary,
    CTCModel,
    ctc_beam_decode,
    ctc_greedy_decode,
    ctc_losses,
    decode_texts,
)
from shared.ctc import vocabulary as vocabulary_module
from shared.errors import DataError

ABC = CharVocabulary("abc ")  # a=1, b=2, c=3, space=4


def docstring_example(obj) -> str:
    (code,) = re.findall(r"```python\n(.*?)```", obj.__doc__, flags=re.S)
    return textwrap.dedent(code)


def spell(path: str, vocab: CharVocabulary, sharp: float = 8.0) -> np.ndarray:
    """Logits (frames, vocab.size) whose best id per frame spells `path`, with `_` the blank."""
    ids = [BLANK if c == "_" else vocab.characters.index(c) + 1 for c in path]
    logits = np.zeros((len(ids), vocab.size), "float32")
    logits[np.arange(len(ids)), ids] = sharp
    return logits


def padded(rows, width=None) -> np.ndarray:
    width = width or max(len(r) for r in rows)
    out = np.zeros((len(rows), width), "int32")
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


# --- vocabulary ----------------------------------------------------------------------


@pytest.mark.parametrize("obj", [vocabulary_module, CharVocabulary], ids=["module", "class"])
def test_vocabulary_docstring_examples_run(obj):
    namespace = {"CharVocabulary": CharVocabulary}
    code = docstring_example(obj)
    # The module example states its results in comments; check them too.
    exec(code, namespace)
    if obj is vocabulary_module:
        assert namespace["vocab"].characters == ("a", "b", "c", "e", "h", "t", " ")
        assert namespace["ids"].tolist() == [6, 5, 4, 7, 2, 1, 6]


def test_blank_is_zero_and_size_counts_it():
    vocab = CharVocabulary()
    assert BLANK == 0
    assert vocab.size == 29
    assert vocab.encode("a")[0] == 1
    assert vocab.encode("a").dtype == np.int32


@pytest.mark.parametrize(
    "text, expected",
    [
        ("  Hello,\tWORLD!\n ", "hello world"),
        ("Don\u2019t stop", "don't stop"),  # typographic apostrophe folded
        ("\ufb01ne \uff21\uff22", "fine ab"),  # NFKC: ligature and full-width letters
        ("caf\u00e9 in 1984", "caf\u00e9 in 1984"),  # letters and digits outside `keep` stay, to be reported
        ("a - b & c", "a b c"),  # punctuation and symbols go
    ],
)
def test_normalize(text, expected):
    assert CharVocabulary().normalize(text) == expected


def test_normalize_keeps_punctuation_that_is_in_keep_and_drops_spaces_not_in_it():
    assert CharVocabulary(keep="ab-").normalize("a-b, a") == "a-ba"


def test_from_transcripts_keeps_seen_characters_in_keep_order():
    vocab = CharVocabulary.from_transcripts(["Bad cab!", "caf\u00e9"])
    assert vocab.characters == ("a", "b", "c", "d", "f", " ")
    assert vocab.size == 7


def test_from_transcripts_with_no_usable_character_is_a_data_error():
    with pytest.raises(DataError, match=r"no character of keep=.* occurs in the 2 transcripts"):
        CharVocabulary.from_transcripts(["!!", "123"])


def test_encode_decode_round_trip():
    vocab = CharVocabulary()
    ids = vocab.encode("The cat's   hat.")
    assert vocab.decode(ids) == "the cat's hat"


def test_json_round_trip_is_plain_data():
    vocab = CharVocabulary.from_transcripts(["it's a cab"])
    data = json.loads(vocab.to_json())
    assert data == {"blank": 0, "characters": ["a", "b", "c", "i", "s", "t", "'", " "], "keep": vocabulary_module.DEFAULT_KEEP}
    again = CharVocabulary.from_json(vocab.to_json())
    assert again == vocab and again.characters == vocab.characters
    assert CharVocabulary.from_dict(vocab.to_dict()) == vocab
    assert again != CharVocabulary()


def test_out_of_vocabulary_characters_are_named_on_one_line():
    with pytest.raises(DataError) as info:
        ABC.encode("a dab, cad")
    message = str(info.value)
    assert "outside the vocabulary: ['d']" in message and 'unknown="drop"' in message
    assert "\n" not in message


def test_unknown_drop_removes_characters():
    assert ABC.encode("a dab", unknown="drop").tolist() == [1, 4, 1, 2]


def test_encode_all_counts_what_it_drops():
    ids, dropped = ABC.encode_all(["a dab", "caf\u00e9", "cab"], unknown="drop")
    assert [row.tolist() for row in ids] == [[1, 4, 1, 2], [3, 1], [3, 1, 2]]
    assert dropped == {"d": 1, "f": 1, "\u00e9": 1}
    _, nothing = ABC.encode_all(["cab"])
    assert nothing == {}


def test_encode_all_names_every_unknown_character_with_count_and_first_transcript():
    with pytest.raises(DataError) as info:
        ABC.encode_all(["cab", "a dad", "fab"])
    message = str(info.value)
    assert message.startswith("2 characters outside the vocabulary: 'd' x2 (first in transcript 1: 'a dad'), 'f' x1 (first in transcript 2")
    assert "\n" not in message


def test_empty_transcripts_are_data_errors():
    with pytest.raises(DataError, match="empty after normalization"):
        ABC.encode(" ?! ")
    with pytest.raises(DataError, match=r"1 of 2 transcripts are empty after normalization .*: 1: '\.\.\.'"):
        ABC.encode_all(["cab", "..."])


def test_transcripts_empty_once_unknown_characters_are_dropped_are_data_errors():
    with pytest.raises(DataError, match="empty once characters outside the vocabulary are dropped"):
        ABC.encode("ddd", unknown="drop")
    with pytest.raises(DataError, match="1 of 1 transcripts are empty"):
        ABC.encode_all(["ddd"], unknown="drop")


def test_a_missing_transcript_is_a_data_error():
    with pytest.raises(DataError, match=r"must be a string. Received: nan \(float\)"):
        ABC.encode(math.nan)


def test_unknown_option_is_checked():
    with pytest.raises(ValueError, match="Received: unknown='skip'"):
        ABC.encode("cab", unknown="skip")
    with pytest.raises(ValueError, match="Received: unknown='skip'"):
        ABC.encode_all(["cab"], unknown="skip")


def test_decode_skips_blank_and_padding_but_keeps_repeats():
    assert ABC.decode([3, 0, 1, 1, 2, -1, -1]) == "caab"
    assert ABC.decode(np.array([], "int32")) == ""


def test_decode_refuses_ids_outside_the_vocabulary():
    with pytest.raises(ValueError, match="label id 5 is outside this vocabulary of size 5"):
        ABC.decode([1, 5])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"characters": "abca"}, r"must not repeat a character. Received: repeated \['a'\]"),
        ({"characters": "ab!"}, r"must be in `keep`.*Received: \['!'\]"),
        ({"characters": ["ab"]}, r"single characters. Received: characters=\['ab'\]"),
        ({"characters": ""}, "non-empty sequence"),
        ({"keep": "aB"}, r"lowercase NFKC.*offending \['B'\]"),
        ({"keep": "a\t"}, r"no whitespace but ' '.*offending \['\\t'\]"),
        ({"keep": ""}, "non-empty string"),
    ],
)
def test_invalid_vocabularies_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CharVocabulary(**kwargs)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"characters": ["a"], "keep": "a"}, r"keys \['blank', 'characters', 'keep'\]. Received: \['characters', 'keep'\]"),
        ({"blank": 3, "characters": ["a"], "keep": "a"}, "Received: blank=3"),
        (["a"], "Received: list"),
    ],
)
def test_invalid_saved_vocabularies_are_refused(data, message):
    with pytest.raises(ValueError, match=message):
        CharVocabulary.from_dict(data)


# --- decoding ------------------------------------------------------------------------


def test_greedy_collapses_repeats_and_a_blank_separates_doubled_letters():
    vocab = CharVocabulary()
    logits = np.stack([spell("hh_e_ll_ll_oo", vocab), spell("hhe_lll_ooo__", vocab)])
    assert decode_texts(vocab, logits) == ["hello", "helo"]
    ids = vocab.encode("hello").tolist()
    assert ctc_greedy_decode(logits)[0] == ids


def test_lengths_stop_decoding_at_the_valid_frames():
    logits = np.stack([spell("a_b_c", ABC), spell("cc_a_", ABC)])
    assert ctc_greedy_decode(logits, [3, 5]) == [[1, 2], [3, 1]]
    assert ctc_beam_decode(logits, np.array([3, 5]))[0] == [[1, 2]]
    assert decode_texts(ABC, logits, [0, 2]) == ["", "c"]


def test_beam_search_finds_the_sequence_greedy_misses():
    # Two frames with P(blank)=0.6, P(a)=0.4: the best single path is blank-blank
    # (0.36), but "a" has three alignments, a-a, a-_ and _-a, worth 0.64.
    probs = np.array([[[0.6, 0.4, 1e-9, 1e-9, 1e-9]] * 2], "float32")
    logits = np.log(probs)
    assert ctc_greedy_decode(logits) == [[]]
    assert ctc_beam_decode(logits, beam_width=4) == [[[1]]]
    assert ctc_beam_decode(logits, beam_width=4, top_paths=2) == [[[1], []]]
    assert decode_texts(ABC, logits, method="greedy") == [""]
    assert decode_texts(ABC, logits, method="beam", beam_width=4) == ["a"]


def test_beam_search_agrees_with_greedy_on_confident_logits():
    logits = np.stack([spell("c_aab_b", ABC), spell("a__c_cc", ABC)])
    greedy = ctc_greedy_decode(logits)
    beams = ctc_beam_decode(logits, top_paths=3)
    assert [paths[0] for paths in beams] == greedy == [[3, 1, 2, 2], [1, 3, 3]]
    assert [len(paths) for paths in beams] == [3, 3]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: ctc_greedy_decode(np.zeros((2, 5))), r"Received: logits.shape=\(2, 5\)"),
        (lambda: ctc_greedy_decode(np.zeros((2, 5, 5)), [3]), r"one integer per example \(2\). Received: lengths=\[3\]"),
        (lambda: ctc_greedy_decode(np.zeros((2, 5, 5)), [3.0, 2.0]), "one integer per example"),
        (lambda: ctc_greedy_decode(np.zeros((2, 5, 5)), [6, 2]), r"in \[0, 5\].*Received: lengths=\[6, 2\]"),
        (lambda: ctc_beam_decode(np.zeros((1, 5, 5)), beam_width=2, top_paths=3), "top_paths=3, beam_width=2"),
        (lambda: ctc_beam_decode(np.zeros((1, 5, 5)), beam_width=0), "Received: beam_width=0"),
        (lambda: decode_texts(ABC, np.zeros((1, 5, 5)), method="viterbi"), "Received: method='viterbi'; expected one of"),
        (lambda: decode_texts(ABC, np.zeros((1, 5, 7))), r"score 7 ids per frame but the vocabulary has 5"),
    ],
)
def test_decoding_arguments_are_checked(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --- model ---------------------------------------------------------------------------

TEXTS = ["cab", "abba", "a c", "bb"]
FRAMES = np.array([12, 12, 10, 8])
FEATURES = 8


def toy_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(len(TEXTS), int(FRAMES.max()), FEATURES)).astype("float32")
    for i, frames in enumerate(FRAMES):
        x[i, frames:] = 0.0  # padding frames, beyond each logit_length
    ids, _ = ABC.encode_all(TEXTS)
    return x, {LABELS: padded(ids), LOGIT_LENGTH: FRAMES}


def tiny_model(vocab_size=ABC.size, l2=None):
    inputs = keras.Input((None, FEATURES), name="frames")
    x = keras.layers.Bidirectional(keras.layers.GRU(16, return_sequences=True))(inputs)
    regularizer = keras.regularizers.L2(l2) if l2 else None
    logits = keras.layers.Dense(vocab_size, kernel_regularizer=regularizer, name="logits")(x)
    return CTCModel(inputs, logits, name="toy_ctc")


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    x, y = toy_data()
    model = tiny_model()
    model.compile(keras.optimizers.Adam(0.02))
    steps = 150
    # One epoch over repeated copies: fewer per-epoch callbacks than 150 epochs.
    tile = lambda a: np.concatenate([a] * steps)  # noqa: E731
    history = model.fit(tile(x), {k: tile(v) for k, v in y.items()}, batch_size=len(TEXTS), shuffle=False, verbose=0)
    return model, x, y, history.history["loss"][-1]


def test_model_docstring_example_runs():
    exec(docstring_example(CTCModel), {})


def test_tiny_model_overfits_toy_transcripts(trained):
    model, x, _, loss = trained
    logits = model.predict(x, verbose=0)
    assert logits.shape == (4, 12, ABC.size)
    assert decode_texts(ABC, logits, FRAMES) == TEXTS
    assert decode_texts(ABC, logits, FRAMES, method="beam") == TEXTS
    assert loss < 1.0


def test_fits_from_a_padded_tf_data_pipeline():
    import tensorflow as tf

    keras.utils.set_random_seed(7)
    x, _ = toy_data()

    def examples():
        for i, frames in enumerate(FRAMES):
            yield x[i, :frames], {LABELS: ABC.encode(TEXTS[i]), LOGIT_LENGTH: np.int32(frames)}

    signature = (
        tf.TensorSpec((None, FEATURES), tf.float32),
        {LABELS: tf.TensorSpec((None,), tf.int32), LOGIT_LENGTH: tf.TensorSpec((), tf.int32)},
    )
    # padded_batch pads the labels with 0, the blank, which the loss does not count.
    dataset = tf.data.Dataset.from_generator(examples, output_signature=signature)
    batches = dataset.apply(tf.data.experimental.assert_cardinality(len(TEXTS))).padded_batch(2)
    model = tiny_model()
    model.compile("adam")
    history = model.fit(batches, epochs=1, shuffle=False, verbose=0)
    assert math.isfinite(history.history["loss"][0])
    first_x, first_y = next(iter(batches))
    expected = ctc_losses(first_y[LABELS], model(first_x), first_y[LOGIT_LENGTH])
    assert float(model.evaluate(first_x, first_y, verbose=0)) == pytest.approx(float(np.mean(expected)), rel=1e-5)


def test_save_and_safe_reload_give_identical_logits(trained, tmp_path):
    model, x, y, _ = trained
    path = tmp_path / "ctc.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    assert type(reloaded) is CTCModel
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), model.predict(x, verbose=0))
    # The compiled state comes back too: the reloaded model can go on training.
    assert type(reloaded.optimizer) is type(model.optimizer)
    assert math.isfinite(reloaded.fit(x, y, epochs=1, verbose=0).history["loss"][0])


def test_get_config_round_trip():
    model = tiny_model()
    again = CTCModel.from_config(model.get_config())
    assert type(again) is CTCModel
    assert again.name == "toy_ctc" and again.output_shape == model.output_shape


def per_example_losses(x, labels, frames=None):
    """CTC loss of each example alone, on its unpadded logits."""
    model = tiny_model()
    logits = np.asarray(model(x))
    losses = []
    for i, row in enumerate(labels):
        n = logits.shape[1] if frames is None else int(frames[i])
        label = np.asarray([t for t in row if t > 0])[None]
        losses.append(float(ctc_losses(label, logits[i : i + 1, :n])[0]))
    return model, logits, np.array(losses)


def test_compute_loss_is_the_per_example_mean_with_logit_lengths():
    keras.utils.set_random_seed(1)
    x, y = toy_data()
    model, logits, expected = per_example_losses(x, y[LABELS], FRAMES)
    loss = model.compute_loss(x, y, logits)
    assert float(loss) == pytest.approx(expected.mean(), rel=1e-5)


def test_labels_alone_use_every_frame_and_minus_one_padding_equals_zero():
    keras.utils.set_random_seed(2)
    x, y = toy_data()
    model, logits, expected = per_example_losses(x, y[LABELS])
    minus_one = np.where(y[LABELS] == 0, -1, y[LABELS])
    assert float(model.compute_loss(x, y[LABELS], logits)) == pytest.approx(expected.mean(), rel=1e-5)
    assert float(model.compute_loss(x, minus_one, logits)) == pytest.approx(expected.mean(), rel=1e-5)
    assert float(model.compute_loss(x, {LABELS: minus_one}, logits)) == pytest.approx(expected.mean(), rel=1e-5)


def test_sample_weight_scales_each_example_before_the_batch_mean():
    keras.utils.set_random_seed(3)
    x, y = toy_data()
    model, logits, expected = per_example_losses(x, y[LABELS], FRAMES)
    weights = np.array([1.0, 0.0, 2.0, 0.5], "float32")
    loss = model.compute_loss(x, y, logits, sample_weight=weights)
    assert float(loss) == pytest.approx((weights * expected).sum() / 4, rel=1e-5)


def test_regularization_losses_are_added():
    keras.utils.set_random_seed(4)
    x, y = toy_data()
    model = tiny_model(l2=0.1)
    logits = model(x)
    penalty = 0.1 * float(np.sum(np.square(model.get_layer("logits").kernel.numpy())))
    plain = float(np.mean(ctc_losses(y[LABELS], logits, y[LOGIT_LENGTH])))
    assert float(model.compute_loss(x, y, logits)) == pytest.approx(plain + penalty, rel=1e-5)


def test_padding_frames_do_not_change_the_loss():
    logits = np.random.default_rng(5).normal(size=(1, 6, ABC.size)).astype("float32")
    longer = np.concatenate([logits, np.full((1, 4, ABC.size), 9.0, "float32")], axis=1)
    labels = np.array([[1, 2, 0]])
    np.testing.assert_allclose(ctc_losses(labels, longer, [6]), ctc_losses(labels, logits), rtol=1e-6)


def test_a_compiled_loss_is_refused():
    model = tiny_model()
    model.compile("adam", loss="mse")
    x, y = toy_data()
    with pytest.raises(ValueError, match="without `loss`. Received: loss='mse'"):
        model.fit(x, y, epochs=1, verbose=0)


@pytest.mark.parametrize(
    "y, message",
    [
        (None, "needs targets"),
        ({"label": np.zeros((4, 3))}, r"Received keys: \['label'\]"),
        ({LABELS: np.zeros((4, 3)), "frames": FRAMES}, r"Received keys: \['frames', 'labels'\]"),
    ],
)
def test_targets_are_checked(y, message):
    model = tiny_model()
    x, _ = toy_data()
    with pytest.raises(ValueError, match=message):
        model.compute_loss(x, y, model(x))


@pytest.fixture
def mixed_precision():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    yield
    keras.config.set_dtype_policy(previous)


def test_trains_under_mixed_precision(mixed_precision):
    keras.utils.set_random_seed(6)
    x, y = toy_data()
    model = tiny_model()
    model.compile("adam")
    assert model.output.dtype == "float16"
    history = model.fit(x, y, epochs=2, verbose=0)
    assert all(math.isfinite(v) for v in history.history["loss"])


MIRRORED_SCRIPT = """
import json, sys
from shared.training.strategy import split_cpu
split_cpu(2)
import keras, numpy as np, tensorflow as tf
sys.path[:0] = ["tests", "tests/shared"]
from test_ctc import tiny_model, toy_data

x, y = toy_data()
keras.utils.set_random_seed(0)
weights = tiny_model().get_weights()

def one_step(strategy):
    with strategy.scope():
        model = tiny_model()
        model.set_weights(weights)
        model.compile(keras.optimizers.SGD(0.5))
    loss = model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0).history["loss"][0]
    return model.get_weights(), loss, strategy.num_replicas_in_sync

single, single_loss, _ = one_step(tf.distribute.get_strategy())
mirrored, mirrored_loss, replicas = one_step(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
gap = max(float(np.abs(a - b).max()) for a, b in zip(single, mirrored))
moved = max(float(np.abs(a - b).max()) for a, b in zip(single, weights))
print(json.dumps({"replicas": replicas, "gap": gap, "moved": moved, "single_loss": single_loss, "mirrored_loss": mirrored_loss}))
"""


@pytest.mark.slow
@PROCESSES
def test_mirrored_step_equals_the_single_device_step_on_the_global_batch():
    # The loss must be the mean over the global batch: two replicas of two
    # examples each then take exactly the step one device takes on four.
    root = vocabulary_module.__file__.rsplit("/shared/", 1)[0]
    proc = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT], cwd=root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert result["moved"] > 1e-3  # the step did something
    assert result["gap"] < 1e-5, result
    assert result["mirrored_loss"] == pytest.approx(result["single_loss"], rel=1e-5)
