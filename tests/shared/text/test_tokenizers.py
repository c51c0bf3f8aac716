"""`shared.text.tokenizers`: WordPiece and SentencePiece vocabularies trained, encoded, saved, damaged and decoded."""

import random
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from shared.errors import DataError, UnknownNameError
from shared.text import tokenizers
from shared.text.standardize import standardize
from shared.text.tokenizers import BOS_ID, EOS_ID, KINDS, PAD_ID, SPECIAL_TOKENS, UNK_ID, SubwordVocabulary

ENGLISH = [
    "the {adj} {noun} {verb} the {noun2}.",
    "did the {noun} really {verb} a {adj} {noun2}?",
    "\"{noun}\" isn't {adj}; it's a well-known {noun2}!",
    "i paid 3.5 dollars (or 1,000 pesos) for the {noun}.",
    "wow, what a {adj} {noun} 😀",
]
SPANISH = [
    "el {noun} {verb} la {noun2} {adj}.",
    "¿dónde está el {noun}? ¡aquí, señor!",
    "la niña comió {noun2} en el año {year}.",
    "él dijo: «el {noun} está muy {adj}».",
    "¡qué {adj} es el {noun} de mañana!",
]
WORDS = {
    "adj": ["big", "small", "red", "happy", "pequeño", "rápida", "fácil", "útil"],
    "noun": ["cat", "dog", "niño", "canción", "árbol", "ratón", "corazón"],
    "verb": ["sees", "likes", "come", "mira", "quiere"],
    "noun2": ["mat", "house", "mañana", "película", "camión"],
    "year": ["1999", "2024"],
}
# Accents, punctuation, quotes and emoji, some unseen in training.
TRICKY = [
    'Ünïcode ÉMOJI 😀👍🏽 and "quotes" \'single\' — dash…',
    "¿Qué tal, señor Núñez? ¡Muy bien!",
    "",
    "Straße İstanbul «comillas» “curly” ‘marks’",
    "word" * 40,
    "a <b> & c [UNK] [PAD]",
]


def corpus(count: int = 400, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [standardize(rng.choice(ENGLISH + SPANISH).format(**{k: rng.choice(v) for k, v in WORDS.items()})) for _ in range(count)]


@pytest.fixture(scope="module")
def texts():
    return corpus()


@pytest.fixture(scope="module")
def vocabularies(texts):
    return {kind: SubwordVocabulary.train(texts, kind=kind, vocabulary_size=300) for kind in KINDS}


def batched(vocab, texts, sequence_length, add_bos=False, add_eos=False, batch=4):
    """`tf_encode` inside tf.data, after `.batch()`, as the domains use it."""
    ds = tf.data.Dataset.from_tensor_slices(texts).batch(batch).map(vocab.tf_encode(sequence_length, add_bos=add_bos, add_eos=add_eos))
    return np.concatenate([b.numpy() for b in ds])


@pytest.mark.parametrize("kind", KINDS)
def test_special_tokens_have_ids_0_to_3_and_the_real_size_is_recorded(vocabularies, kind):
    vocab = vocabularies[kind]
    assert vocab.kind == kind and vocab.lowercase is True
    assert vocab.pieces([PAD_ID, UNK_ID, BOS_ID, EOS_ID]) == list(SPECIAL_TOKENS) == ["[PAD]", "[UNK]", "[BOS]", "[EOS]"]
    assert 30 < vocab.size <= 300  # a small corpus gives fewer ids than asked
    assert vocab.metadata() == {"kind": kind, "size": vocab.size, "lowercase": True, "special_tokens": list(SPECIAL_TOKENS)}
    assert repr(vocab) == f"SubwordVocabulary(kind={kind!r}, size={vocab.size}, lowercase=True)"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("add_bos, add_eos", [(False, False), (True, False), (False, True), (True, True)])
def test_encode_and_tf_encode_give_the_same_ids(vocabularies, texts, kind, add_bos, add_eos):
    vocab = vocabularies[kind]
    sample = texts[:10] + [standardize(t) for t in TRICKY] + TRICKY
    encoded = vocab.encode(sample, 24, add_bos=add_bos, add_eos=add_eos)
    assert encoded.ids.dtype == np.int32 and encoded.ids.shape == (len(sample), 24)
    np.testing.assert_array_equal(batched(vocab, sample, 24, add_bos, add_eos), encoded.ids)
    # the function also works on one eager batch, outside tf.data
    np.testing.assert_array_equal(vocab.tf_encode(24, add_bos, add_eos)(tf.constant(sample)).numpy(), encoded.ids)
    if add_bos:
        assert (encoded.ids[:, 0] == BOS_ID).all()


@pytest.mark.parametrize("kind", KINDS)
def test_the_eager_layer_matches_the_layer_inside_tf_data(vocabularies, texts, kind):
    """keras-hub runs its own Python code eagerly and TensorFlow ops in tf.data: both must give the same ids."""
    vocab = vocabularies[kind]
    sample = texts[:10] + [standardize(t) for t in TRICKY] + TRICKY
    eager = [list(map(int, row)) for row in vocab.tokenizer()(sample)]
    ds = tf.data.Dataset.from_tensor_slices(sample).batch(5).map(vocab.tokenizer())
    in_graph = [row for batch in ds for row in batch.to_list()]
    assert eager == in_graph
    dense = vocab.tokenizer(sequence_length=8)(sample[:3])
    assert np.asarray(dense).shape == (3, 8)


@pytest.mark.parametrize("kind", KINDS)
def test_padding_and_truncation(vocabularies, kind):
    vocab = vocabularies[kind]
    short, long = "el niño", " ".join(["el niño come la película"] * 10)
    full = vocab.encode([short, long], 200, add_bos=True, add_eos=True)
    encoded = vocab.encode([short, long, ""], 12, add_bos=True, add_eos=True)
    n = int(full.lengths[0])
    assert encoded.lengths.tolist() == [n, 12, 2]
    assert encoded.original_lengths.tolist() == [n, int(full.lengths[1]), 2] and full.original_lengths[1] > 12
    assert encoded.truncated.tolist() == [False, True, False] and encoded.truncated.dtype == bool
    assert (encoded.ids[0, n:] == PAD_ID).all() and encoded.ids[0, n - 1] == EOS_ID
    # truncation keeps the first tokens and still ends with EOS
    np.testing.assert_array_equal(encoded.ids[1, :11], full.ids[1, :11])
    assert encoded.ids[1, 11] == EOS_ID
    assert encoded.ids[2, :2].tolist() == [BOS_ID, EOS_ID]
    plain = vocab.encode([long], 12)
    np.testing.assert_array_equal(plain.ids[0], full.ids[1, 1:13])
    assert plain.lengths.tolist() == [12] and plain.original_lengths.tolist() == [int(full.lengths[1]) - 2]


def test_encode_edge_cases(vocabularies):
    vocab = vocabularies["wordpiece"]
    empty = vocab.encode([], 8)
    assert empty.ids.shape == (0, 8) and empty.lengths.shape == (0,)
    assert vocab.encode(np.array(["el niño"]), 4).ids.shape == (1, 4)
    with pytest.raises(ValueError, match=r"at least 3 \(add_bos=True, add_eos=True\). Received: sequence_length=2"):
        vocab.encode(["x"], 2, add_bos=True, add_eos=True)
    with pytest.raises(ValueError, match="Received: sequence_length=0"):
        vocab.tf_encode(0)
    with pytest.raises(ValueError, match="not one text"):
        vocab.encode("el niño", 8)
    with pytest.raises(DataError, match=r"text 1 is not a string. Received: None"):
        vocab.encode(["ok", None], 8)


@pytest.mark.parametrize("kind", KINDS)
def test_save_and_load_round_trip_to_the_same_ids(vocabularies, texts, tmp_path, kind):
    vocab = vocabularies[kind]
    path = vocab.save(tmp_path / f"vocabulary{vocab.suffix}")
    assert path == tmp_path / f"vocabulary{vocab.suffix}" and sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary left
    loaded = SubwordVocabulary.load(path, kind=kind, lowercase=True)
    assert (loaded.kind, loaded.size, loaded.lowercase) == (kind, vocab.size, True)
    sample = texts[:20] + TRICKY
    np.testing.assert_array_equal(loaded.encode(sample, 32, add_eos=True).ids, vocab.encode(sample, 32, add_eos=True).ids)
    assert loaded.save(tmp_path / "again").read_bytes() == path.read_bytes()


def test_suffixes_and_file_forms(vocabularies, tmp_path):
    assert vocabularies["wordpiece"].suffix == ".txt" and vocabularies["sentencepiece"].suffix == ".model"
    lines = vocabularies["wordpiece"].save(tmp_path / "v.txt").read_text(encoding="utf-8").splitlines()
    assert lines[:4] == list(SPECIAL_TOKENS) and len(lines) == vocabularies["wordpiece"].size


@pytest.mark.parametrize("kind", KINDS)
def test_training_is_deterministic(texts, tmp_path, kind):
    first = SubwordVocabulary.train(texts, kind=kind, vocabulary_size=200, seed=3).save(tmp_path / "a")
    second = SubwordVocabulary.train(list(texts), kind=kind, vocabulary_size=200, seed=3).save(tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize("kind", KINDS)
def test_lowercase_false_keeps_case_and_accents(texts, kind):
    mixed = [t.capitalize() for t in texts[:200]] + texts[200:]
    cased = SubwordVocabulary.train(mixed, kind=kind, vocabulary_size=300, lowercase=False)
    folded = SubwordVocabulary.train(mixed, kind=kind, vocabulary_size=300, lowercase=True)
    assert cased.lowercase is False
    upper, lower = "El niño", "el niño"
    assert cased.encode([upper], 8).ids.tolist() != cased.encode([lower], 8).ids.tolist()
    assert folded.encode([upper], 8).ids.tolist() == folded.encode([lower], 8).ids.tolist()
    assert "ñ" in "".join(folded.pieces(folded.encode(["niño"], 8).ids[0]))  # accents kept, not stripped


def test_a_sentencepiece_model_must_be_loaded_with_its_case_folding(vocabularies, tmp_path):
    path = vocabularies["sentencepiece"].save(tmp_path / "v.model")
    with pytest.raises(DataError, match=r"v.model folds case \(it was trained with lowercase=True\); load it with lowercase=True"):
        SubwordVocabulary.load(path, kind="sentencepiece", lowercase=False)
    cased = SubwordVocabulary.train(corpus(100), kind="sentencepiece", vocabulary_size=200, lowercase=False).save(tmp_path / "c.model")
    with pytest.raises(DataError, match=r"keeps case \(it was trained with lowercase=False\); load it with lowercase=False"):
        SubwordVocabulary.load(cased, kind="sentencepiece", lowercase=True)


def test_sentencepiece_decoding_is_lossless(vocabularies, texts):
    vocab = vocabularies["sentencepiece"]
    assert vocab.decode(vocab.encode(texts, 64, add_bos=True, add_eos=True).ids) == texts
    # a character never seen in training comes back as " ⁇ "
    assert vocab.decode(vocab.encode(["el niño 🦜"], 16).ids) == ["el niño  ⁇ "]


def test_wordpiece_decoding_follows_the_documented_spacing(vocabularies, texts):
    vocab = vocabularies["wordpiece"]
    spaced = [t for t in texts if '"' not in t and "«" not in t]
    assert len(spaced) > 200
    assert vocab.decode(vocab.encode(spaced, 64, add_eos=True).ids) == spaced
    # each documented rule, on words of the corpus
    for text in ["¿dónde está el niño? ¡aquí, señor!", "it's a well-known dog!", "i paid 3.5 dollars (or 1,000 pesos) for the cat."]:
        assert vocab.decode(vocab.encode([text], 64).ids) == [text]
    # spacing the rules do not restore, and unknown words
    assert vocab.decode(vocab.encode(['"dog" isn\'t red'], 16).ids) == ['" dog " isn\'t red']
    assert vocab.decode(vocab.encode(["el xylófono"], 16).ids) == ["el [UNK]"]


@pytest.mark.parametrize("kind", KINDS)
def test_decode_drops_bos_stops_at_eos_and_drops_pad(vocabularies, kind):
    vocab = vocabularies[kind]
    words = vocab.encode(["el niño"], 8).ids[0]
    n = int((words != PAD_ID).sum())
    after_eos = [BOS_ID, *words[:n], EOS_ID, *words[:n], PAD_ID]
    padded = [*words[:n]] + [PAD_ID] * (n + 3)
    assert vocab.decode(np.array([after_eos, padded])) == ["el niño", "el niño"]
    assert vocab.decode(np.zeros((0, 4), np.int32)) == []
    with pytest.raises(ValueError, match=f"id {vocab.size} is outside this vocabulary of size {vocab.size}"):
        vocab.decode([[vocab.size]])
    with pytest.raises(ValueError, match=r"expected integer ids of shape \(n, sequence_length\). Received: shape=\(3,\)"):
        vocab.decode([1, 2, 3])


@pytest.mark.parametrize("kind", KINDS)
def test_pieces_show_every_token_of_a_row(vocabularies, kind):
    vocab = vocabularies[kind]
    row = vocab.encode(["el niño"], 10, add_bos=True, add_eos=True).ids[0]
    pieces = vocab.pieces(row)
    assert len(pieces) == 10 and pieces[0] == "[BOS]" and pieces[-1] == "[PAD]" and "[EOS]" in pieces
    glued = "".join(p.removeprefix("##") for p in pieces if p not in SPECIAL_TOKENS).replace("▁", "")
    assert glued == "elniño"
    with pytest.raises(ValueError, match="shape"):
        vocab.pieces([[1, 2]])


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_share(vocabularies, kind):
    vocab = vocabularies[kind]
    share = vocab.unknown_share(["el niño come", "el 🦜🦜🦜", "", "   "])
    assert share.dtype == np.float32 and share.shape == (4,)
    assert share[0] == 0.0 and 0.0 < share[1] < 1.0 and share[2] == 1.0 and share[3] == 1.0


def test_the_class_docstring_example_runs():
    example = SubwordVocabulary.__doc__.split("```python")[1].split("```")[0]
    exec(compile(textwrap.dedent(example), "SubwordVocabulary example", "exec"), {})


# --- training input ----------------------------------------------------------------


def test_training_input_is_checked(texts):
    with pytest.raises(DataError, match="no text to train a vocabulary on: every training text is empty"):
        SubwordVocabulary.train(["", "  "])
    assert sorted(KINDS) == tokenizers.VOCABULARY_KINDS.names()
    with pytest.raises(UnknownNameError, match="unknown subword vocabulary kind 'bpe'; choose one of: sentencepiece, wordpiece"):
        SubwordVocabulary.train(texts, kind="bpe")
    with pytest.raises(ValueError, match=r"above 4 \(the special tokens\). Received: vocabulary_size=4"):
        SubwordVocabulary.train(texts, vocabulary_size=4)
    with pytest.raises(DataError, match=r"vocabulary_size=12 is too small: .* raise vocabulary_size to at least \d+"):
        SubwordVocabulary.train(texts, kind="sentencepiece", vocabulary_size=12)
    with pytest.raises(DataError, match="text 1 is not a string"):
        SubwordVocabulary.train(["ok", 3])


@pytest.mark.parametrize("kind", KINDS)
def test_unstandardized_white_space_trains_and_round_trips(tmp_path, kind):
    """keras-hub splits words on ASCII white space only: a no-break space can sit inside a WordPiece token."""
    texts = ["a\xa0b c", "x\u2028y z", "q\u1680r", "tab\there"] * 10
    vocab = SubwordVocabulary.train(texts, kind=kind, vocabulary_size=60)
    loaded = SubwordVocabulary.load(vocab.save(tmp_path / f"v{vocab.suffix}"), kind=kind, lowercase=True)
    np.testing.assert_array_equal(loaded.encode(texts[:4], 8).ids, vocab.encode(texts[:4], 8).ids)
    np.testing.assert_array_equal(batched(loaded, texts[:4], 8), vocab.encode(texts[:4], 8).ids)


def test_a_tiny_wordpiece_vocabulary_still_has_its_special_tokens():
    vocab = SubwordVocabulary.train(["ab ab ba"], kind="wordpiece", vocabulary_size=8000)
    assert vocab.size < 20 and vocab.pieces([0, 1, 2, 3]) == list(SPECIAL_TOKENS)


# --- damaged files -----------------------------------------------------------------

GOOD_WORDPIECE = "[PAD]\n[UNK]\n[BOS]\n[EOS]\na\nb\n##a\n"


@pytest.mark.parametrize(
    "content, message",
    [
        (b"[PAD]\n[UNK]\n[BOS]\n[EOS]\ncaf\xe9\n", r"is not UTF-8 \(line 5\); a WordPiece vocabulary is a UTF-8 text file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", r"holds NUL bytes \(line 3\); a WordPiece vocabulary is a UTF-8 text file"),
        (b"\xff\xfe\xfd junk \xc3", r"is not UTF-8 \(line 1\)"),
        (b"a\nb\nc\nd\ne\n", r"has 'a' at id 0, expected '\[PAD\]'; a vocabulary starts with \[PAD\], \[UNK\], \[BOS\], \[EOS\] \(ids 0..3\)"),
        (b"[PAD]\n[BOS]\n[UNK]\n[EOS]\na\n", r"has '\[BOS\]' at id 1, expected '\[UNK\]'"),
        (b"[PAD]\n[UNK]\n", r"has 2 tokens; a vocabulary holds \[PAD\], \[UNK\], \[BOS\], \[EOS\] \(ids 0..3\) and at least one more token"),
        (b"[PAD]\n[UNK]\n[BOS]\n[EOS]\n", r"has 4 tokens"),
        (b"[PAD]\n[UNK]\n[BOS]\n[EOS]\na\n\nb\n", r"line 6 is empty; a WordPiece vocabulary is a UTF-8 text file, one token per line"),
        (b"[PAD]\n[UNK]\n[BOS]\n[EOS]\na\nb\na\n", r"line 7 repeats the token 'a' of line 5"),
    ],
)
def test_a_damaged_wordpiece_file_is_one_line(tmp_path, content, message):
    path = tmp_path / "vocabulary.txt"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as caught:
        SubwordVocabulary.load(path, kind="wordpiece", lowercase=True)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)


def test_a_wordpiece_file_with_windows_line_ends_loads(tmp_path):
    path = tmp_path / "vocabulary.txt"
    path.write_bytes(GOOD_WORDPIECE.replace("\n", "\r\n").encode())
    vocab = SubwordVocabulary.load(path, kind="wordpiece", lowercase=False)
    assert vocab.size == 7 and vocab.lowercase is False
    assert vocab.encode(["aa b", "ab c"], 4).ids.tolist() == [[4, 6, 5, 0], [UNK_ID, UNK_ID, 0, 0]]


def _foreign_sentencepiece_model() -> bytes:
    """A SentencePiece model with the library's default special pieces (<unk>=0, <s>=1, </s>=2)."""
    import io

    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(sentence_iterator=iter(corpus(100)), model_writer=model, vocab_size=100, hard_vocab_limit=False, minloglevel=2)
    return model.getvalue()


@pytest.mark.parametrize("damage", ["truncated", "half", "junk", "foreign", "text"])
def test_a_damaged_sentencepiece_file_is_one_line(vocabularies, tmp_path, damage):
    good = vocabularies["sentencepiece"].save(tmp_path / "good.model").read_bytes()
    content, message = {
        "truncated": (good[:-7], "is not a SentencePiece model: it does not parse as a model proto"),
        "half": (good[: len(good) // 2], "is not a SentencePiece model"),
        "junk": (random.Random(0).randbytes(4096), "is not a SentencePiece model"),
        "foreign": (_foreign_sentencepiece_model(), r"has '<unk>' at id 0, expected '\[PAD\]'"),
        "text": (GOOD_WORDPIECE.encode(), "is not a SentencePiece model"),
    }[damage]
    path = tmp_path / "vocabulary.model"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as caught:
        SubwordVocabulary.load(path, kind="sentencepiece", lowercase=True)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)


@pytest.mark.parametrize("kind", KINDS)
def test_missing_empty_huge_and_directory_paths(tmp_path, kind):
    with pytest.raises(DataError, match="vocabulary file not found: .*nope"):
        SubwordVocabulary.load(tmp_path / "nope", kind=kind, lowercase=True)
    with pytest.raises(DataError, match="expected a vocabulary file, got a directory"):
        SubwordVocabulary.load(tmp_path, kind=kind, lowercase=True)
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(DataError, match="empty.* is empty"):
        SubwordVocabulary.load(tmp_path / "empty", kind=kind, lowercase=True)
    with open(tmp_path / "huge", "wb") as file:  # sparse: nothing is written
        file.truncate(tokenizers.MAX_VOCABULARY_BYTES + 1)
    with pytest.raises(DataError, match=r"huge is 21.0 MB; the limit for a vocabulary file is 21 MB"):
        SubwordVocabulary.load(tmp_path / "huge", kind=kind, lowercase=True)


@pytest.mark.parametrize("kind", KINDS)
def test_a_lost_tokenizer_resource_is_rebuilt_once(texts, kind):
    """A tensorflow-text resource dropped with the thread that made it (a Streamlit rerun) costs a rebuild, not an error."""
    import tensorflow as tf

    vocab = SubwordVocabulary.train(texts, kind=kind, vocabulary_size=300)
    expected = vocab.encode(texts[:3], 16).ids
    words = vocab.decode(expected)
    gone = tf.errors.NotFoundError(None, None, "Resource localhost/_0_SentencepieceOp/... does not exist.")

    def lost(*_):
        raise gone

    vocab._encoders[(16, False, False)] = lost
    vocab.__dict__["_encoder_ragged"] = lost
    np.testing.assert_array_equal(vocab.encode(texts[:3], 16).ids, expected)
    assert vocab.unknown_share(texts[:1])[0] < 1.0
    assert vocab.decode(expected) == words
    vocab._encoders[(16, False, False)] = lambda *_: (_ for _ in ()).throw(tf.errors.NotFoundError(None, None, "Something else"))
    with pytest.raises(tf.errors.NotFoundError, match="Something else"):
        vocab.encode(texts[:3], 16)
