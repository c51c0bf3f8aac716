"""Character vocabulary for CTC: transcripts to label ids and back.

Id 0 is the CTC blank (`BLANK`), the `mask_index` that `keras.ops.ctc_loss`
and `keras.ops.ctc_decode` use by default; the vocabulary's characters get
ids `1..N`, so `size == N + 1` is the number of logits per frame. Padding a
batch of labels with 0 (what `tf.data.Dataset.padded_batch` does) is
therefore unambiguous: no character has id 0.

A vocabulary is plain data (`to_dict` / `to_json`): it is saved with a run
and read back without running code. This module imports neither Keras nor
TensorFlow, so that data pipelines and run readers can use it cheaply.

Example:

```python
vocab = CharVocabulary.from_transcripts(["The cat.", "A bat!"])
vocab.characters                  # ('a', 'b', 'c', 'e', 'h', 't', ' '): ids 1..7, in `keep`'s order
ids = vocab.encode("the bat")     # array([6, 5, 4, 7, 2, 1, 6], dtype=int32)
vocab.decode(ids)                 # 'the bat'
CharVocabulary.from_json(vocab.to_json()) == vocab   # True
```
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from shared.errors import DataError

BLANK = 0
DEFAULT_KEEP = "abcdefghijklmnopqrstuvwxyz' "
UNKNOWN_CHARACTERS = ("error", "drop")

# Typographic apostrophes are common in real transcripts (Common Voice);
# folding them keeps "don’t" from losing its apostrophe.
_FOLD = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'"})
# Letters, digits and combining marks outside `keep` survive normalization,
# so that `encode` reports them instead of silently changing the words.
_REPORTED_CATEGORIES = ("L", "N", "M")
_SHOWN = 10  # characters or transcripts named in one error line
_DICT_KEYS = ("blank", "characters", "keep")


def _short(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _check_unknown(unknown: str) -> str:
    if unknown not in UNKNOWN_CHARACTERS:
        raise ValueError(f"Received: unknown={unknown!r}; expected one of {list(UNKNOWN_CHARACTERS)}")
    return unknown


class CharVocabulary:
    """Characters of transcripts, with id 0 reserved for the CTC blank.

    `normalize` applies NFKC, lowercases, folds typographic apostrophes to
    `'`, removes punctuation, symbols and control characters that are not in
    `keep`, and collapses whitespace to single spaces (removed entirely when
    `" "` is not in `keep`). Letters, digits and combining marks outside
    `keep` are left in place: `encode` names them (or drops them with
    `unknown="drop"`), so a transcript is never changed silently.

    Args:
        characters: str, sequence of str or None. The vocabulary in id order
            (ids `1..N`), each a single character of `keep`, none repeated.
            `None` uses every character of `keep`, in its order. Defaults
            to `None`.
        keep: str. The characters normalization keeps; lowercase, NFKC
            normalized, and holding no whitespace but `" "`. Defaults to
            `DEFAULT_KEEP` (`a-z`, apostrophe and space).

    Example:

    ```python
    from shared.ctc import CharVocabulary

    vocab = CharVocabulary("abc ")
    assert vocab.size == 5
    assert vocab.encode("A  cab!").tolist() == [1, 4, 3, 1, 2]
    assert vocab.decode([1, 0, 4, 3, 1, 2]) == "a cab"
    ```
    """

    def __init__(self, characters: str | Sequence[str] | None = None, keep: str = DEFAULT_KEEP):
        if not isinstance(keep, str) or not keep:
            raise ValueError(f"`keep` must be a non-empty string of characters. Received: keep={keep!r}")
        odd = [c for c in keep if unicodedata.normalize("NFKC", c).lower() != c or (c.isspace() and c != " ")]
        if odd:
            raise ValueError(
                "`keep` must hold lowercase NFKC characters and no whitespace but ' ', since normalized "
                f"text has no others. Received: keep={keep!r}, offending {odd!r}"
            )
        self._keep = "".join(dict.fromkeys(keep))
        chars = list(self._keep if characters is None else characters)
        bad = [c for c in chars if not isinstance(c, str) or len(c) != 1]
        if bad or not chars:
            raise ValueError(f"`characters` must be a non-empty sequence of single characters. Received: characters={characters!r}")
        repeated = sorted(c for c, n in Counter(chars).items() if n > 1)
        if repeated:
            raise ValueError(f"`characters` must not repeat a character. Received: repeated {repeated!r}")
        outside = [c for c in chars if c not in self._keep]
        if outside:
            raise ValueError(
                f"Every vocabulary character must be in `keep`, or normalization would remove it. "
                f"Received: {outside!r} not in keep={self._keep!r}"
            )
        self._characters = tuple(chars)
        self._ids = {c: i for i, c in enumerate(chars, start=BLANK + 1)}

    @classmethod
    def from_transcripts(cls, transcripts: Iterable[str], keep: str = DEFAULT_KEEP) -> CharVocabulary:
        """The characters of `keep` that occur in the normalized `transcripts`, in `keep`'s order.

        Characters outside `keep` are not added; `encode` reports them.
        """
        probe = cls(keep=keep)
        seen = set()
        count = 0
        for text in transcripts:
            seen.update(probe.normalize(text))
            count += 1
        characters = [c for c in probe.keep if c in seen]
        if not characters:
            raise DataError(f"no character of keep={probe.keep!r} occurs in the {count} transcripts; check the transcript column")
        return cls(characters, keep=keep)

    @property
    def characters(self) -> tuple[str, ...]:
        """The characters, in id order: `characters[i - 1]` has id `i`."""
        return self._characters

    @property
    def keep(self) -> str:
        return self._keep

    @property
    def size(self) -> int:
        """Number of ids, the blank included: the logits per frame a model needs."""
        return len(self._characters) + 1

    def normalize(self, text: str) -> str:
        """`text` as the vocabulary sees it (see the class docstring); raises DataError for a non-string."""
        if not isinstance(text, str):
            raise DataError(f"a transcript must be a string. Received: {text!r} ({type(text).__name__}); check for empty cells")
        text = unicodedata.normalize("NFKC", text).lower().translate(_FOLD)
        kept = []
        for char in text:
            if char.isspace():
                kept.append(" ")
            elif char in self._keep or unicodedata.category(char)[0] in _REPORTED_CATEGORIES:
                kept.append(char)
        return (" " if " " in self._keep else "").join("".join(kept).split())

    def _split(self, text: str) -> tuple[str, list[int], list[str]]:
        """The normalized text, its known ids, and its characters outside the vocabulary."""
        normalized = self.normalize(text)
        known = [self._ids[c] for c in normalized if c in self._ids]
        return normalized, known, [c for c in normalized if c not in self._ids]

    def encode(self, text: str, unknown: str = "error") -> np.ndarray:
        """Label ids (int32, `1..N`) of the normalized `text`.

        Args:
            text: str. A transcript.
            unknown: str. What to do with characters outside the vocabulary:
                `"error"` raises a DataError naming them, `"drop"` removes
                them (`encode_all` counts them). Defaults to `"error"`.

        Raises:
            DataError: the transcript is empty after normalization (or after
                dropping), or has unknown characters with `unknown="error"`.
        """
        _check_unknown(unknown)
        normalized, known, outside = self._split(text)
        if not normalized:
            raise DataError(f"transcript {_short(text)} is empty after normalization (keep={self._keep!r}); remove it or fix its text")
        if outside and unknown == "error":
            raise DataError(
                f"transcript {_short(text)} has characters outside the vocabulary: {sorted(set(outside))!r}; "
                f'pass unknown="drop" to remove them, or build the vocabulary with them in `keep`'
            )
        if not known:
            raise DataError(f"transcript {_short(text)} is empty once characters outside the vocabulary are dropped; remove it")
        return np.asarray(known, dtype=np.int32)

    def encode_all(self, transcripts: Iterable[str], unknown: str = "error") -> tuple[list[np.ndarray], dict[str, int]]:
        """Encode every transcript, reporting all problems at once.

        Args:
            transcripts: iterable of str.
            unknown: str. `"error"` or `"drop"`, as in `encode`. Defaults to
                `"error"`.

        Returns:
            `(ids, dropped)`: one int32 array per transcript, and how many
            times each character outside the vocabulary was dropped (empty
            with `unknown="error"`).

        Raises:
            DataError: one line naming the empty transcripts (by 0-based
                position) or the characters outside the vocabulary, with
                counts and where each first occurs.
        """
        _check_unknown(unknown)
        texts = list(transcripts)
        split = [self._split(text) for text in texts]
        empty = [i for i, (normalized, known, outside) in enumerate(split) if not normalized or (unknown == "drop" and not known)]
        dropped = Counter(c for _, _, outside in split for c in outside)
        if dropped and unknown == "error":
            first = {}
            for i, (_, _, outside) in enumerate(split):
                for c in outside:
                    first.setdefault(c, i)
            shown = ", ".join(
                f"{c!r} x{n} (first in transcript {first[c]}: {_short(texts[first[c]])})" for c, n in dropped.most_common(_SHOWN)
            )
            more = f" and {len(dropped) - _SHOWN} more" if len(dropped) > _SHOWN else ""
            raise DataError(
                f"{len(dropped)} characters outside the vocabulary: {shown}{more}; "
                f'pass unknown="drop" to remove them, or build the vocabulary with them in `keep`'
            )
        if empty:
            shown = ", ".join(f"{i}: {_short(texts[i])}" for i in empty[:_SHOWN])
            raise DataError(
                f"{len(empty)} of {len(texts)} transcripts are empty after normalization (keep={self._keep!r}): {shown}; remove them"
            )
        ids = [np.asarray(known, dtype=np.int32) for _, known, _ in split]
        return ids, dict(dropped)

    def decode(self, ids: Iterable[int]) -> str:
        """The string of label `ids`; blank (0) and negative padding (-1) are skipped, repeats are kept."""
        chars = []
        for i in np.asarray(ids, dtype=np.int64).reshape(-1).tolist():
            if i > len(self._characters):
                raise ValueError(
                    f"label id {i} is outside this vocabulary of size {self.size} (ids 0..{self.size - 1}). Received: ids={ids!r}"
                )
            if i > BLANK:
                chars.append(self._characters[i - 1])
        return "".join(chars)

    def to_dict(self) -> dict:
        """Plain JSON-ready data that `from_dict` reads back."""
        return {"blank": BLANK, "characters": list(self._characters), "keep": self._keep}

    @classmethod
    def from_dict(cls, data: Mapping) -> CharVocabulary:
        if not isinstance(data, Mapping) or sorted(data) != sorted(_DICT_KEYS):
            keys = sorted(data) if isinstance(data, Mapping) else type(data).__name__
            raise ValueError(f"a saved vocabulary must be a dict with keys {list(_DICT_KEYS)}. Received: {keys}")
        if data["blank"] != BLANK:
            raise ValueError(f"this vocabulary reserves id {BLANK} for the CTC blank. Received: blank={data['blank']!r}")
        return cls(data["characters"], keep=data["keep"])

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> CharVocabulary:
        return cls.from_dict(json.loads(text))

    def __eq__(self, other) -> bool:
        return isinstance(other, CharVocabulary) and self.to_dict() == other.to_dict()

    __hash__ = None

    def __repr__(self) -> str:
        return f"CharVocabulary({''.join(self._characters)!r}, keep={self._keep!r})"
