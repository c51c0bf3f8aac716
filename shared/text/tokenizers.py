"""Subword vocabularies trained on a training split: WordPiece or SentencePiece, on keras-hub.

`SubwordVocabulary.train` learns a vocabulary from texts (standardize them
first with `shared.text.standardize`); `tokenizer()` gives the keras-hub
tokenizer layer, and `encode` / `tf_encode` give dense int32 id matrices,
the same ids in NumPy and inside `tf.data`. Both kinds reserve the same four
ids:

    0  [PAD]   padding
    1  [UNK]   a word (WordPiece) or character (SentencePiece) the vocabulary lacks
    2  [BOS]   begin of sequence, added by `encode(add_bos=True)`
    3  [EOS]   end of sequence, added by `encode(add_eos=True)`

Kinds (registered in `VOCABULARY_KINDS`):

- `"wordpiece"`: `keras_hub.tokenizers.compute_word_piece_vocabulary` and
  `WordPieceTokenizer`. Text is split on white space and punctuation (each
  punctuation mark is a token), then words into pieces, `##` marking a
  piece that continues a word. A word the pieces cannot spell, or longer
  than 100 bytes, is one `[UNK]`. Saved as a UTF-8 text file, one token per
  line (`.txt`).
- `"sentencepiece"`: a unigram `sentencepiece` model (character coverage
  1.0, so every character of the training texts has a piece) and
  `SentencePieceTokenizer`. Spaces are part of the pieces (`▁`), so
  decoding is lossless up to characters never seen in training. Saved as
  the model proto (`.model`).

With `lowercase=True` both kinds fold case inside the tokenizer (Unicode
NFKC case folding: `É` -> `é`, `ß` -> `ss`); accents are kept, so Spanish
keeps `ñ` and `á`. Loading a saved vocabulary reads data only: nothing in
the file runs, and nothing is fetched.

Example:

```python
vocab = SubwordVocabulary.train(texts, kind="sentencepiece", vocabulary_size=2000)
encoded = vocab.encode(["¿dónde está?"], sequence_length=16, add_eos=True)
encoded.ids.shape                      # (1, 16), int32, padded with PAD_ID
vocab.decode(encoded.ids)              # ['¿dónde está?']
ds = ds.batch(32).map(lambda text, label: (vocab.tf_encode(16)(text), label))
path = vocab.save(run_dir / "vocabulary.model")
SubwordVocabulary.load(path, kind="sentencepiece", lowercase=True)
```
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from shared.errors import DataError, first_line
from shared.registry import Registry
from shared.runs import atomic_path
from shared.text.readers import require_bounded_file

PAD, UNK, BOS, EOS = "[PAD]", "[UNK]", "[BOS]", "[EOS]"
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
SPECIAL_TOKENS = (PAD, UNK, BOS, EOS)
MAX_VOCABULARY_BYTES = 20 * 2**20

_STRINGS = tf.TensorSpec([None], tf.string)
# keras-hub tokenizers run their own Python code when called eagerly and
# TensorFlow ops inside tf.data. The two can differ: the `sentencepiece`
# package and the copy inside tensorflow-text break ties between equally
# scored segmentations differently ("1999" as 9+99 or 99+9). Every layer made
# here takes the TensorFlow path in both places, so that ids at prediction
# time are the ids of training.


@dataclass(frozen=True)
class Encoded:
    """Dense token ids of a batch of texts, and what padding and truncation did.

    Attributes:
        ids: int32 array `(n, sequence_length)`, padded with `PAD_ID`.
        lengths: int32 array `(n,)`. Tokens before the padding (BOS and EOS
            included).
        truncated: bool array `(n,)`. Whether the text had more tokens than fit.
        original_lengths: int32 array `(n,)`. Tokens the text would need
            untruncated (BOS and EOS included).
    """

    ids: np.ndarray
    lengths: np.ndarray
    truncated: np.ndarray
    original_lengths: np.ndarray


# --- the two kinds -------------------------------------------------------------


class _WordPiece:
    """A WordPiece vocabulary: the file is the token list, one per line; lowercasing is a tokenizer option."""

    suffix = ".txt"

    @staticmethod
    def train(texts: list[str], vocabulary_size: int, lowercase: bool, seed: int) -> bytes:
        import keras_hub

        # The WordPiece learner is deterministic: `seed` is not needed.
        tokens = keras_hub.tokenizers.compute_word_piece_vocabulary(
            tf.data.Dataset.from_tensor_slices(texts),
            vocabulary_size,
            lowercase=lowercase,
            strip_accents=False,
            reserved_tokens=list(SPECIAL_TOKENS),
        )
        return "".join(f"{token}\n" for token in tokens).encode("utf-8")

    @staticmethod
    def check(data: bytes, source: str, lowercase: bool) -> list[str]:
        """The tokens of a vocabulary file, or one DataError line naming the first problem."""
        form = "a WordPiece vocabulary is a UTF-8 text file, one token per line"
        if b"\x00" in data:
            line = data[: data.index(b"\x00")].count(b"\n") + 1
            raise DataError(f"{source} holds NUL bytes (line {line}); {form}")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise DataError(f"{source} is not UTF-8 (line {line}); {form}") from None
        tokens = _WordPiece.tokens(text)
        first_seen: dict[str, int] = {}
        for number, token in enumerate(tokens, start=1):
            if not token:
                raise DataError(f"{source} line {number} is empty; {form}")
            if token in first_seen:
                raise DataError(f"{source} line {number} repeats the token {token[:40]!r} of line {first_seen[token]}")
            first_seen[token] = number
        _check_specials(tokens, source)
        return tokens

    @staticmethod
    def tokens(text: str) -> list[str]:
        """One token per line; `\n` or `\r\n` line ends, the last one optional."""
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        return [line.removesuffix("\r") for line in lines]

    @staticmethod
    def layer(data: bytes, lowercase: bool, sequence_length: int | None):
        import keras_hub

        return keras_hub.tokenizers.WordPieceTokenizer(
            vocabulary=_WordPiece.tokens(data.decode("utf-8")),
            sequence_length=sequence_length,
            lowercase=lowercase,
            strip_accents=False,
            oov_token=UNK,
            dtype="int32",
            _allow_python_workflow=False,
        )

    @staticmethod
    def detokenize(layer, rows: list[list[int]]) -> list[str]:
        return [_wordpiece_spacing(text) for text in layer.detokenize(rows)]


class _SentencePiece:
    """A unigram SentencePiece model: the file is the model proto, which also holds the normalization (and case folding)."""

    suffix = ".model"

    @staticmethod
    def train(texts: list[str], vocabulary_size: int, lowercase: bool, seed: int) -> bytes:
        import sentencepiece

        model = io.BytesIO()
        sentencepiece.set_random_generator_seed(seed)
        try:
            sentencepiece.SentencePieceTrainer.train(
                sentence_iterator=iter(texts),
                model_writer=model,
                vocab_size=vocabulary_size,
                model_type="unigram",
                character_coverage=1.0,
                hard_vocab_limit=False,
                num_threads=1,
                # NFKC, plus case folding when asked: the tokenizer then folds case itself.
                normalization_rule_name="nmt_nfkc_cf" if lowercase else "nmt_nfkc",
                max_sentence_length=1 << 16,
                pad_id=PAD_ID,
                unk_id=UNK_ID,
                bos_id=BOS_ID,
                eos_id=EOS_ID,
                pad_piece=PAD,
                unk_piece=UNK,
                bos_piece=BOS,
                eos_piece=EOS,
                minloglevel=2,
            )
        except RuntimeError as exc:
            message = first_line(exc)
            needed = re.search(r"required_chars\. \d+ vs (\d+)", message)
            if needed:
                raise DataError(
                    f"vocabulary_size={vocabulary_size} is too small: SentencePiece keeps every character of the training texts, "
                    f"which with the special tokens need {needed.group(1)} ids; raise vocabulary_size to at least {needed.group(1)}"
                ) from None
            raise DataError(f"SentencePiece could not train on these texts: {message}") from None
        return model.getvalue()

    @staticmethod
    def check(data: bytes, source: str, lowercase: bool) -> list[str]:
        import sentencepiece

        try:
            processor = sentencepiece.SentencePieceProcessor(model_proto=data)
        except (RuntimeError, OSError, ValueError):
            raise DataError(f"{source} is not a SentencePiece model: it does not parse as a model proto (damaged, truncated or another file type)") from None
        tokens = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
        _check_specials(tokens, source)
        ids = (processor.pad_id(), processor.unk_id(), processor.bos_id(), processor.eos_id())
        if ids != (PAD_ID, UNK_ID, BOS_ID, EOS_ID):
            raise DataError(
                f"{source} has the special ids pad={ids[0]}, unk={ids[1]}, bos={ids[2]}, eos={ids[3]}; "
                f"expected {PAD_ID}, {UNK_ID}, {BOS_ID}, {EOS_ID} (train it with SubwordVocabulary.train)"
            )
        folds = "a" in processor.normalize("A")
        if folds != lowercase:
            trained = "folds case (it was trained with lowercase=True)" if folds else "keeps case (it was trained with lowercase=False)"
            raise DataError(f"{source} {trained}; load it with lowercase={folds}")
        return tokens

    @staticmethod
    def layer(data: bytes, lowercase: bool, sequence_length: int | None):
        import keras_hub

        return keras_hub.tokenizers.SentencePieceTokenizer(proto=data, sequence_length=sequence_length, dtype="int32", _allow_python_workflow=False)

    @staticmethod
    def detokenize(layer, rows: list[list[int]]) -> list[str]:
        return [_text(text) for text in layer.detokenize(rows)]


VOCABULARY_KINDS: Registry[type] = Registry("subword vocabulary kind")
VOCABULARY_KINDS.register("wordpiece", _WordPiece)
VOCABULARY_KINDS.register("sentencepiece", _SentencePiece)
KINDS = ("wordpiece", "sentencepiece")  # the registered kinds, default first


def _check_specials(tokens: list[str], source: str) -> None:
    expected = ", ".join(SPECIAL_TOKENS)
    if len(tokens) <= len(SPECIAL_TOKENS):
        raise DataError(f"{source} has {len(tokens)} tokens; a vocabulary holds {expected} (ids 0..3) and at least one more token")
    for i, special in enumerate(SPECIAL_TOKENS):
        if tokens[i] != special:
            raise DataError(f"{source} has {tokens[i][:40]!r} at id {i}, expected {special!r}; a vocabulary starts with {expected} (ids 0..3)")


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


# WordPiece decoding joins words with spaces; these rules undo the spaces
# around punctuation that standardized text rarely has.
_SPACING = (
    (re.compile(r" ([.,!?;:)\]}%])"), r"\1"),  # no space before closing punctuation
    (re.compile(r"([¿¡(\[{]) "), r"\1"),  # none after opening punctuation
    (re.compile(r"(?<=\w) ([-'’]) (?=\w)"), r"\1"),  # hyphens and apostrophes inside words: "don't", "well-known"
    (re.compile(r"(?<=\d)([.,]) (?=\d)"), r"\1"),  # decimal and thousands separators: "3.5", "1,000"
)


def _wordpiece_spacing(text) -> str:
    """WordPiece pieces joined into readable text (see `SubwordVocabulary.decode`)."""
    text = _text(text)
    for pattern, replacement in _SPACING:
        text = pattern.sub(replacement, text)
    return text


# --- the vocabulary ------------------------------------------------------------


class SubwordVocabulary:
    """A trained subword vocabulary: tokenizer layer, encoding to ids and decoding back.

    Build one with `train` or `load`, not directly.

    Args:
        kind: str. One of `KINDS`.
        data: bytes. The file contents `save` writes: a token list
            (`"wordpiece"`) or a SentencePiece model proto.
        lowercase: bool. Whether the tokenizer folds case.
        source: str. Names `data` in error messages (the file it came from).

    Attributes:
        kind: str. `"wordpiece"` or `"sentencepiece"`.
        size: int. Number of ids, the four special tokens included (the
            embedding rows a model needs); can be below the size asked for
            when the training texts are few.
        lowercase: bool.

    Example:

    ```python
    from shared.text import EOS_ID, SubwordVocabulary

    texts = ["¿dónde está el niño?", "el niño está aquí.", "¡aquí está!"] * 20
    vocab = SubwordVocabulary.train(texts, kind="sentencepiece", vocabulary_size=40)
    encoded = vocab.encode(["¿dónde está el niño?"], sequence_length=24, add_eos=True)
    assert encoded.ids.shape == (1, 24) and EOS_ID in encoded.ids[0]
    assert vocab.decode(encoded.ids) == ["¿dónde está el niño?"]
    ```
    """

    def __init__(self, kind: str, data: bytes, lowercase: bool, source: str = "the vocabulary"):
        self._backend = VOCABULARY_KINDS.get(kind)
        self.kind = kind
        self.lowercase = bool(lowercase)
        self._data = bytes(data)
        self._tokens = self._backend.check(self._data, source, self.lowercase)
        self.size = len(self._tokens)
        self._encoders: dict[tuple[int, bool, bool], Callable] = {}
        try:
            self._layer = self._backend.layer(self._data, self.lowercase, None)
        except (ValueError, RuntimeError, tf.errors.OpError) as exc:
            raise DataError(f"{source} could not be read as a {kind} vocabulary: {first_line(exc)}") from None

    # --- training, saving, loading ---------------------------------------------

    @classmethod
    def train(
        cls, texts: Sequence[str], kind: str = "wordpiece", vocabulary_size: int = 8000, lowercase: bool = True, seed: int = 0
    ) -> SubwordVocabulary:
        """Learn a vocabulary from `texts` (the training split, standardized).

        The same texts and arguments give the same vocabulary.

        Args:
            texts: sequence of str. Empty texts are ignored.
            kind: str. `"wordpiece"` or `"sentencepiece"`. Defaults to
                `"wordpiece"`.
            vocabulary_size: int. The most ids, special tokens included; a
                small corpus gives fewer (`size` says how many). Defaults to
                `8000`.
            lowercase: bool. Fold case in the tokenizer. Defaults to `True`.
            seed: int. Seeds SentencePiece's random generator (WordPiece
                learning has no randomness). Defaults to `0`.

        Raises:
            DataError: no text to learn from, or (SentencePiece) a
                `vocabulary_size` below the number of distinct characters.
        """
        backend = VOCABULARY_KINDS.get(kind)
        if isinstance(vocabulary_size, bool) or not isinstance(vocabulary_size, int) or vocabulary_size <= len(SPECIAL_TOKENS):
            raise ValueError(f"vocabulary_size must be an int above {len(SPECIAL_TOKENS)} (the special tokens). Received: vocabulary_size={vocabulary_size!r}")
        texts = [text for text in _strings(texts) if text.strip()]
        if not texts:
            raise DataError("no text to train a vocabulary on: every training text is empty")
        data = backend.train(texts, vocabulary_size, bool(lowercase), int(seed))
        return cls(kind, data, lowercase, source=f"the {kind} vocabulary trained on {len(texts)} texts")

    @property
    def suffix(self) -> str:
        """The file suffix `save` should be given: `.txt` (WordPiece) or `.model` (SentencePiece)."""
        return self._backend.suffix

    def save(self, path: Path) -> Path:
        """Write the vocabulary to one file (atomically: a temporary file, then a rename); returns `path`."""
        path = Path(path)
        with atomic_path(path) as tmp:
            tmp.write_bytes(self._data)
        return path

    @classmethod
    def load(cls, path: Path, kind: str, lowercase: bool) -> SubwordVocabulary:
        """Read a vocabulary file that `save` wrote, checking it as untrusted input.

        Args:
            path: Path. The `.txt` token list or `.model` proto.
            kind: str. `"wordpiece"` or `"sentencepiece"`.
            lowercase: bool. As at training. A SentencePiece model records
                it and must agree.

        Raises:
            DataError: one line naming the file: missing, over
                `MAX_VOCABULARY_BYTES`, not UTF-8, an empty or repeated
                token, the special tokens not at ids 0..3, a proto that does
                not parse, or a case folding other than `lowercase`.
        """
        VOCABULARY_KINDS.get(kind)
        path = require_bounded_file(path, "vocabulary file", MAX_VOCABULARY_BYTES, advice="")
        return cls(kind, path.read_bytes(), lowercase, source=str(path))

    def metadata(self) -> dict:
        """Plain data describing the vocabulary, for a run's metadata."""
        return {"kind": self.kind, "size": self.size, "lowercase": self.lowercase, "special_tokens": list(SPECIAL_TOKENS)}

    # --- encoding ------------------------------------------------------------------

    def tokenizer(self, sequence_length: int | None = None):
        """The keras-hub tokenizer layer: strings in, int32 ids out (ragged, or padded with 0 to `sequence_length`).

        It runs inside `tf.data.Dataset.map`, and called eagerly it runs the
        same TensorFlow ops, so both give the ids of `encode`. (A copy rebuilt
        from a saved model's config runs keras-hub's Python code when called
        eagerly.) It adds no BOS or EOS; `tf_encode` does.
        """
        return self._backend.layer(self._data, self.lowercase, sequence_length)

    def tf_encode(self, sequence_length: int, add_bos: bool = False, add_eos: bool = False) -> Callable[[tf.Tensor], tf.Tensor]:
        """A TensorFlow function from a 1-D string tensor (a batch) to int32 ids `(batch, sequence_length)`.

        The ids are those of `encode`. Use it in `tf.data` after `.batch()`:
        `ds.batch(32).map(lambda x, y: (encode(x), y))`.
        """
        function = self._encoder(sequence_length, bool(add_bos), bool(add_eos))
        return lambda texts: function(texts)[0]

    def encode(self, texts: Sequence[str], sequence_length: int, add_bos: bool = False, add_eos: bool = False) -> Encoded:
        """Dense ids of `texts`, padded with `PAD_ID` and truncated to `sequence_length`.

        Truncation keeps the first tokens; with `add_eos` the last kept id
        is still `EOS_ID`.

        Args:
            texts: sequence of str.
            sequence_length: int. Ids per text, BOS and EOS included.
            add_bos: bool. Start every row with `BOS_ID`. Defaults to `False`.
            add_eos: bool. End every text with `EOS_ID`. Defaults to `False`.
        """
        texts = _strings(texts)
        self._encoder(sequence_length, bool(add_bos), bool(add_eos))  # checks sequence_length before any text is read
        batch = tf.constant(texts, dtype=tf.string, shape=[len(texts)])
        ids, counts = self._eager(lambda: self._encoder(sequence_length, bool(add_bos), bool(add_eos))(batch))
        original = counts.numpy().astype(np.int32) + int(bool(add_bos)) + int(bool(add_eos))
        return Encoded(
            ids=ids.numpy().astype(np.int32),
            lengths=np.minimum(original, sequence_length).astype(np.int32),
            truncated=original > sequence_length,
            original_lengths=original,
        )

    def _encoder(self, sequence_length: int, add_bos: bool, add_eos: bool):
        """The traced function behind `encode` and `tf_encode`: ids, and the token count of each text (one per setting)."""
        key = (sequence_length, add_bos, add_eos)
        if key not in self._encoders:
            self._encoders[key] = self._trace_encoder(*key)
        return self._encoders[key]

    def _trace_encoder(self, sequence_length: int, add_bos: bool, add_eos: bool):
        minimum = 1 + add_bos + add_eos
        if isinstance(sequence_length, bool) or not isinstance(sequence_length, int) or sequence_length < minimum:
            raise ValueError(
                f"sequence_length must be an int of at least {minimum} (add_bos={add_bos}, add_eos={add_eos}). Received: sequence_length={sequence_length!r}"
            )
        import keras_hub

        packer = keras_hub.layers.StartEndPacker(
            sequence_length=sequence_length,
            start_value=BOS_ID if add_bos else None,
            end_value=EOS_ID if add_eos else None,
            pad_value=PAD_ID,
            dtype="int32",
        )
        layer = self._layer

        @tf.function(input_signature=[_STRINGS], autograph=False)
        def encode(texts):
            tokens = layer(texts)
            return tf.cast(packer(tokens), tf.int32), tokens.row_lengths()

        return encode

    def _token_rows(self, texts: list[str]) -> list[list[int]]:
        batch = tf.constant(texts, dtype=tf.string, shape=[len(texts)])
        return self._eager(lambda: self._encoder_ragged(batch)).to_list()

    def _eager(self, call: Callable):
        """Run an eager tokenizer call; if its tensorflow-text resource is gone, rebuild the tokenizer once and retry.

        tensorflow-text's SentencePiece resource is owned by the eager kernel
        that created it, and that kernel can be dropped when its thread ends
        (each Streamlit script run is a thread): a later call from another
        thread then finds no resource. The rebuilt tokenizer reads the same
        model bytes, so the ids are the same.
        """
        try:
            return call()
        except tf.errors.NotFoundError as exc:
            if "Resource" not in str(exc):
                raise
            self._layer = self._backend.layer(self._data, self.lowercase, None)
            self._encoders.clear()
            self.__dict__.pop("_encoder_ragged", None)
            return call()

    @functools.cached_property
    def _encoder_ragged(self):
        layer = self._layer
        return tf.function(lambda texts: layer(texts), input_signature=[_STRINGS], autograph=False)

    def unknown_share(self, texts: Sequence[str]) -> np.ndarray:
        """Per text, the share of its tokens that are `[UNK]` (0..1, float32); a text with no tokens gives 1.0.

        SentencePiece's bare word-boundary piece (`▁`, what precedes an
        unknown word) carries no content and is not counted, so a text of
        characters the vocabulary lacks gives 1.0 with either kind.
        """
        rows = self._token_rows(_strings(texts))
        blank = {i for i, token in enumerate(self._tokens) if not token.replace("\u2581", "").strip()}
        shares = []
        for row in rows:
            content = [i for i in row if i not in blank]
            shares.append(float(np.mean(np.asarray(content) == UNK_ID)) if content else 1.0)
        return np.asarray(shares, dtype=np.float32)

    # --- decoding ------------------------------------------------------------------

    def decode(self, ids) -> list[str]:
        """Readable texts of id rows `(n, L)`: BOS dropped, each row cut at its first EOS, PAD dropped.

        SentencePiece decoding is lossless: the (normalized) text comes back,
        with `" ⁇ "` (spaces included) for characters the vocabulary lacks. WordPiece decoding
        joins the words with single spaces, glues `##` pieces to the piece
        before, then removes the spaces that standardized text does not
        have: before `. , ! ? ; : ) ] } %`, after `¿ ¡ ( [ {`, around a
        hyphen or apostrophe between two word characters (`don't`,
        `well-known`), and around `.` or `,` between digits (`3.5`). Other
        spacing is lost (`"hi"` decodes as `" hi "`, `a - b` as `a-b`), and
        an unknown word decodes as `[UNK]`.
        """
        array = self._id_array(ids, ndim=2)
        rows = []
        for row in array.tolist():
            if EOS_ID in row:
                row = row[: row.index(EOS_ID)]
            rows.append([i for i in row if i not in (PAD_ID, BOS_ID)])
        return self._eager(lambda: self._backend.detokenize(self._layer, rows)) if rows else []

    def pieces(self, ids_row) -> list[str]:
        """The token string of each id in one row, special tokens and padding included (to label per-token scores)."""
        return [self._tokens[i] for i in self._id_array(ids_row, ndim=1).tolist()]

    def _id_array(self, ids, ndim: int) -> np.ndarray:
        array = np.asarray(ids)
        if array.ndim != ndim or (array.size and not np.issubdtype(array.dtype, np.integer)):
            shape = "(n, sequence_length)" if ndim == 2 else "(sequence_length,)"
            raise ValueError(f"expected integer ids of shape {shape}. Received: shape={array.shape}, dtype={array.dtype}")
        bad = (array < 0) | (array >= self.size)
        if bad.any():
            raise ValueError(f"id {int(array[bad][0])} is outside this vocabulary of size {self.size} (ids 0..{self.size - 1})")
        return array.astype(np.int64)

    def __repr__(self) -> str:
        return f"SubwordVocabulary(kind={self.kind!r}, size={self.size}, lowercase={self.lowercase})"


def _strings(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, (str, bytes)):
        raise ValueError(f"expected a sequence of texts, not one text. Received: {texts[:40]!r}")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise DataError(f"text {i} is not a string. Received: {text!r} ({type(text).__name__}); check for empty cells")
    return texts
