"""WordNet 3.0 data files: synsets with their lemmas, definition and example sentences.

WordNet is Princeton's lexical database of English. Debian ships it as
`wordnet-base` (`make system-deps`), with one data file per part of speech
under `/usr/share/wordnet`: `data.noun`, `data.verb`, `data.adj`,
`data.adv`. About 117,000 synsets, each a set of synonymous lemmas and a
gloss. The format is `wndb(5)`: one synset per line,

    offset lex_filenum ss_type w_cnt word lex_id [word lex_id ...] p_cnt [ptr ...] [frames] | gloss

where `w_cnt` is two hex digits, words use `_` for spaces, adjectives may
carry a syntactic marker (`(a)`, `(p)`, `(ip)`), each pointer is
`symbol offset pos source/target` (`&` "similar to" links an adjective
satellite to the head of its cluster, `!` an antonym), and the gloss is a
definition followed by example sentences in double quotes
(`well able; "able to swim"; "she was able to program her computer"`). The
license text fills the first lines of every file, each starting with two
spaces.

Example:

```python
from shared.data.wordnet import load_synsets

synsets = load_synsets(parts=("adj",))
synsets[0].lemmas, synsets[0].definition  # (('able',), "(usually followed by `to') having the necessary ...")
```

Reference:
    - [WordNet: wndb(5)](https://wordnet.princeton.edu/documentation/wndb5wn)
    - Miller, G. A. (1995). WordNet: a lexical database for English.
      Communications of the ACM, 38(11), 39-41.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from shared.errors import DataError

WORDNET_DIR = Path("/usr/share/wordnet")
# Part of speech -> data file; `ss_type` "s" (adjective satellite) lives in data.adj.
DATA_FILES = {"noun": "data.noun", "verb": "data.verb", "adj": "data.adj", "adv": "data.adv"}
SS_TYPES = {"n": "noun", "v": "verb", "a": "adj", "s": "adj", "r": "adv"}
SIMILAR_TO = "&"
LICENSE_PREFIX = "  "
MISSING = (
    f"install it with `apt-get install wordnet-base` (Debian/Ubuntu, files in {WORDNET_DIR}; or `make system-deps`), "
    "or pass the WordNet 3.0 dict folder that holds data.noun (`dlsuite hub build wordnet-gloss-64 --data DIR`)"
)
LICENSE = (
    "WordNet 3.0 license (Princeton University): use, copy, modify and distribute freely provided the "
    "copyright notice and statements appear on all copies; the full notice heads every data.* file and "
    "/usr/share/doc/wordnet-base/copyright"
)

_MARKER = re.compile(r"\((?:a|p|ip)\)$")
_EXAMPLE = re.compile(r'"([^"]*)"')


@dataclass(frozen=True)
class Synset:
    """One WordNet synset.

    Attributes:
        offset: int. Byte offset in its data file, WordNet's synset id
            within one part of speech.
        pos: str. `ss_type`: `"n"`, `"v"`, `"a"`, `"s"` (adjective
            satellite) or `"r"` (adverb).
        lemmas: tuple of str. Lower-cased, spaces for underscores, without
            the adjective markers.
        definition: str. The gloss up to its first example.
        examples: tuple of str. The quoted example sentences, without quotes.
        pointers: tuple of `(symbol, key)`. Relations to other synsets, each
            target named by its `key`.
    """

    offset: int
    pos: str
    lemmas: tuple
    definition: str
    examples: tuple
    pointers: tuple = ()

    @property
    def key(self) -> tuple[str, int]:
        """`(part_of_speech, offset)`: what pointers name (they spell satellites `a`, like their heads)."""
        return SS_TYPES[self.pos], self.offset

    @property
    def id(self) -> str:
        """`"<pos><offset>"`, e.g. `"a00001740"`: unique across the four files."""
        return f"{self.pos}{self.offset:08d}"

    @property
    def part_of_speech(self) -> str:
        """`"noun"`, `"verb"`, `"adj"` or `"adv"`."""
        return SS_TYPES[self.pos]


def normalize_lemma(word: str) -> str:
    """`"Ready_to_hand(p)"` -> `"ready to hand"`."""
    return _MARKER.sub("", word).replace("_", " ").lower()


def split_gloss(gloss: str) -> tuple[str, tuple]:
    """A gloss -> `(definition, examples)`; the definition is what precedes the first quote."""
    quote = gloss.find('"')
    if quote < 0:
        return gloss.strip().rstrip(";").strip(), ()
    definition = gloss[:quote].strip().rstrip(";").strip()
    examples = tuple(e.strip() for e in _EXAMPLE.findall(gloss[quote:]) if e.strip())
    return definition, examples


def parse_line(line: str, where: str = "<line>") -> Synset:
    """One data-file line -> a `Synset`; `where` names it in errors (`"data.adj:30"`)."""
    head, bar, gloss = line.partition(" | ")
    fields = head.split()
    try:
        if not bar or len(fields) < 5 or fields[2] not in SS_TYPES:
            raise ValueError
        count = int(fields[3], 16)
        words = fields[4 : 4 + 2 * count : 2]
        if count < 1 or len(words) != count:
            raise ValueError
        offset = int(fields[0])
        at = 4 + 2 * count
        pointer_fields = fields[at + 1 : at + 1 + 4 * int(fields[at])]
        pointers = tuple(
            (pointer_fields[i], (SS_TYPES[pointer_fields[i + 2]], int(pointer_fields[i + 1])))
            for i in range(0, len(pointer_fields), 4)
        )
        if len(pointer_fields) != 4 * int(fields[at]):
            raise ValueError
    except (ValueError, IndexError, KeyError):
        raise DataError(f"{where}: not a WordNet data line (expected 'offset lex_filenum ss_type w_cnt word ... | gloss'): {line[:60]!r}") from None
    definition, examples = split_gloss(gloss)
    return Synset(offset, fields[2], tuple(normalize_lemma(w) for w in words), definition, examples, pointers)


def read_data_file(path: str | Path) -> Iterator[Synset]:
    """The synsets of one `data.*` file, in file order; license lines are skipped."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as file:
            for number, line in enumerate(file, 1):
                if line.startswith(LICENSE_PREFIX) or not line.strip():
                    continue
                yield parse_line(line.rstrip("\n"), f"{path}:{number}")
    except FileNotFoundError:
        raise DataError(f"WordNet data file not found: {path}; {MISSING}") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); is it a WordNet data file?") from None


def data_files(directory: str | Path | None = None, parts=tuple(DATA_FILES)) -> list[Path]:
    """The data files of `parts` in `directory` (default `/usr/share/wordnet`); fails if one is missing."""
    directory = Path(directory) if directory is not None else WORDNET_DIR
    unknown = [p for p in parts if p not in DATA_FILES]
    if unknown:
        raise DataError(f"unknown WordNet part of speech {unknown[0]!r}; choose from {', '.join(DATA_FILES)}")
    files = [directory / DATA_FILES[p] for p in parts]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise DataError(f"WordNet not found: {directory} has no {', '.join(missing)}; {MISSING}")
    return files


def load_synsets(directory: str | Path | None = None, parts=tuple(DATA_FILES)) -> list[Synset]:
    """Every synset of `parts` (nouns, verbs, adjectives, adverbs by default), file by file.

    Args:
        directory: str, Path or None. The WordNet `dict` folder. Defaults to
            `/usr/share/wordnet` (Debian's `wordnet-base`).
        parts: tuple of str. Keys of `DATA_FILES`.

    Raises:
        DataError: WordNet is missing, or a line is not in the wndb format.
    """
    return [synset for path in data_files(directory, parts) for synset in read_data_file(path)]


def license_notice(directory: str | Path | None = None) -> str:
    """The license text that heads `data.noun`, without its line numbers."""
    path = data_files(directory, ("noun",))[0]
    lines = []
    with path.open(encoding="utf-8") as file:
        for line in file:
            if not line.startswith(LICENSE_PREFIX):
                break
            lines.append(re.sub(r"^\s+\d+\s?", "", line.rstrip()))
    return "\n".join(lines).strip() + "\n"
