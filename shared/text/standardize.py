"""One documented text standardizer, applied before tokenizing or training a vocabulary.

`standardize` turns scraped text (web reviews with HTML line breaks, pasted
text with odd spaces) into one clean line. It keeps accents, punctuation,
quotes and emoji: what a subword vocabulary learns is the user's language,
not an ASCII simplification of it.

Example:

```python
standardize("Great&nbsp;film!<br /><br />Ten out of   TEN.")   # 'great film! ten out of ten.'
standardize("¿Dónde ESTÁ?", lowercase=False)                   # '¿Dónde ESTÁ?'
```
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable

from shared.errors import DataError

# A tag starts with `<` directly followed by a letter (or `/` and a letter), so
# that "a < b" and "3 <5" stay text.
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")
# Zero-width joiners hold emoji sequences and some scripts together.
_KEPT_FORMAT = frozenset("\u200c\u200d")


def _visible(char: str) -> bool:
    """False for control and format characters that are not whitespace (whitespace collapses later)."""
    category = unicodedata.category(char)
    if category == "Cc":
        return char.isspace()
    return category != "Cf" or char in _KEPT_FORMAT


def standardize(text: str, lowercase: bool = True) -> str:
    """`text` as one clean line, in this order:

    1. HTML character references are decoded with `html.unescape`
       (`&amp;` -> `&`, `&nbsp;` -> a no-break space, `&#233;` -> `é`).
    2. Unicode NFKC normalization: compatibility forms become their plain
       equivalents (the `ﬁ` ligature -> `fi`, full-width `Ａ` -> `A`,
       no-break space -> space); composed accents stay composed.
    3. HTML tags are replaced by one space: a `<` directly followed by a
       letter or `/` and a letter, up to the next `>` (`<br />`, `<br>`,
       `<p class="x">`, `</i>`). A `<` followed by a space or a digit is
       text (`a < b`).
    4. Control characters (Unicode category Cc) other than whitespace are
       removed, and so are format characters (Cf: soft hyphens, zero-width
       spaces, byte-order marks, direction marks) except the zero-width
       joiner and non-joiner, which hold emoji sequences together.
    5. Every run of whitespace (spaces, tabs, line breaks, any Unicode
       space) becomes one space, and the ends are stripped.
    6. With `lowercase=True`, `str.lower()`: accents are kept (`É` -> `é`).

    Everything else is kept as it is: punctuation, quotes, digits, emoji.

    Args:
        text: str. The raw text.
        lowercase: bool. Whether to lowercase. Defaults to `True`.

    Returns:
        The standardized text (empty when `text` held only markup and space).

    Raises:
        DataError: `text` is not a string (a missing cell read as `None`).

    Example:

    >>> standardize("One<br />Two &amp; THREE")
    'one two & three'
    """
    if not isinstance(text, str):
        raise DataError(f"a text must be a string. Received: {text!r} ({type(text).__name__}); check for empty cells")
    text = html.unescape(text)
    text = unicodedata.normalize("NFKC", text)
    text = _TAG.sub(" ", text)
    text = "".join(char for char in text if _visible(char))
    text = " ".join(text.split())
    return text.lower() if lowercase else text


def standardize_all(texts: Iterable[str], lowercase: bool = True) -> list[str]:
    """`standardize` applied to every text, in order."""
    return [standardize(text, lowercase=lowercase) for text in texts]
