"""Text data files a user hands over: labelled tables, class folders, sentence pairs, language codes.

Every file is untrusted. A problem is one `DataError` line naming the file,
the line (1-based, the header being line 1 of a table) and what to fix;
nothing in a file runs, and nothing is fetched. Files must be UTF-8 (a
byte-order mark is fine) and hold no NUL bytes.

- `read_labelled_texts`: a CSV (`.csv`) or TSV (`.tsv`, `.tab`, `.txt`)
  with a header; quoted fields may hold the delimiter and line breaks.
- `read_class_folders`: `root/<label>/*.txt`, or `root/<split>/<label>/*.txt`
  (the aclImdb layout: `train/pos`, `train/neg`, `test/...`).
- `read_sentence_pairs`: `source<TAB>target[<TAB>attribution...]` lines,
  the Tatoeba/Anki format; no quoting (a `"` is text).
- `check_language`: an ISO 639-1 or 639-3 code (with an optional script
  and region: `pt-BR`, `zh-Hant-TW`), checked against `pycountry`.

Example:

```python
data = read_labelled_texts(Path("reviews.csv"), text_column="review", label_column="sentiment")
data.texts[0], data.labels[0], data.skipped     # ('Great film', 'positive', 2)
pairs = read_sentence_pairs(Path("spa.txt"))
pairs.sources[0], pairs.targets[0]              # ('Go.', 'Ve.')
check_language("es")                            # Language(code='es', name='Spanish')
```
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from shared.errors import DataError, first_line

MAX_BYTES = 500 * 2**20
MAX_LINE_CHARS = 100_000  # a sentence-pair line; a longer one is not a sentence
DELIMITERS = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": "\t"}
UNLABELLED_FOLDERS = ("unsup",)  # aclImdb's unlabelled reviews
PAIR_FORMAT = "source<TAB>target[<TAB>attribution]"


@dataclass(frozen=True)
class LabelledTexts:
    """Texts with one string label each.

    Attributes:
        texts: list of str. Stripped, never empty.
        labels: list of str. One per text (`"0"`/`"1"` for an integer column).
        skipped: int. Rows or files left out because their text was empty.
        source: str. The file or folder read.
        notes: list of str. What else the reader left out, and why.
    """

    texts: list[str]
    labels: list[str]
    skipped: int
    source: str
    notes: list[str] = field(default_factory=list)

    @property
    def classes(self) -> list[str]:
        """The distinct labels, sorted."""
        return sorted(set(self.labels))


@dataclass(frozen=True)
class SentencePairs:
    """Aligned source and target sentences.

    Attributes:
        sources: list of str. Stripped, never empty.
        targets: list of str. Stripped, never empty; `targets[i]` translates `sources[i]`.
        extra_columns: int. Lines that had columns after the target (an
            attribution), which were ignored.
        source: str. The file read.
    """

    sources: list[str]
    targets: list[str]
    extra_columns: int
    source: str


@dataclass(frozen=True)
class Language:
    """A checked language code and its English name.

    Attributes:
        code: str. The code as given, in canonical case (`pt-BR`, `spa`).
        name: str. The ISO 639 name (`"Spanish"`).
    """

    code: str
    name: str


# --- decoding --------------------------------------------------------------------


def require_bounded_file(path: Path, what: str, max_bytes: int, advice: str = " (pass a larger max_bytes, or split the file)") -> Path:
    """`path` if it is a non-empty regular file of at most `max_bytes`, else one `DataError` line naming `what` it should be."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{what} not found: {path}")
    if not path.is_file():
        raise DataError(f"expected a {what}, got a directory: {path}")
    size = path.stat().st_size
    if size == 0:
        raise DataError(f"{path} is empty")
    if size > max_bytes:
        raise DataError(f"{path} is {size / 1e6:.1f} MB; the limit for a {what} is {max_bytes / 1e6:.0f} MB{advice}")
    return path


def _decode(path: Path, raw: bytes) -> str:
    """`raw` as UTF-8 text (a byte-order mark dropped), or one DataError line with the line number."""
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise DataError(f"{path} holds NUL bytes (line {line}); it is not a text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{path} is not UTF-8 (line {line}); save it as UTF-8") from None


# --- labelled tables ---------------------------------------------------------------


def read_labelled_texts(path: Path, text_column: str, label_column: str, max_bytes: int = MAX_BYTES) -> LabelledTexts:
    """Texts and labels from two named columns of a CSV or TSV file.

    The suffix chooses the delimiter: `.csv` a comma, `.tsv`, `.tab` and
    `.txt` a tab. Fields follow the CSV rules (quotes around a field let it
    hold delimiters, line breaks and doubled quotes `""`). Blank lines are
    ignored; rows whose text is empty are skipped and counted.

    Args:
        path: Path. The file.
        text_column: str. The header of the text column.
        label_column: str. The header of the label column.
        max_bytes: int. The largest file read. Defaults to 500 MiB.

    Raises:
        DataError: one line naming the file (and line): missing, empty, too
            large, not UTF-8, a column missing, a row with another number of
            fields than the header, an empty label, or no text at all.
    """
    path = require_bounded_file(path, "data file", max_bytes)
    delimiter = DELIMITERS.get(path.suffix.lower())
    if delimiter is None:
        raise DataError(f"{path}: unsupported file type {path.suffix or '(no suffix)'!r}; use .csv (comma) or .tsv, .tab, .txt (tab)")
    text = _decode(path, path.read_bytes())
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    texts: list[str] = []
    labels: list[str] = []
    skipped = 0
    try:
        header = next((row for row in reader if row), None)
        if header is None:
            raise DataError(f"{path} holds no header and no rows")
        header = [name.strip() for name in header]
        text_at = _column(path, header, text_column)
        label_at = _column(path, header, label_column)
        header_line = end = reader.line_num
        for row in reader:
            # A quoted field can span lines: a row starts on the line after the previous row ended.
            line, end = end + 1, reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(header):
                raise DataError(
                    f"{path} line {line} has {len(row)} fields; the header (line {header_line}) has {len(header)}"
                    f"{_delimiter_hint(delimiter, len(row))}"
                )
            label = row[label_at].strip()
            value = row[text_at].strip()
            if not value:
                skipped += 1
                continue
            if not label:
                raise DataError(f"{path} line {line} has an empty label in column {label_column!r}; fill it or remove the row")
            texts.append(value)
            labels.append(label)
    except csv.Error as exc:
        raise DataError(f"{path} line {reader.line_num} could not be read as {_format(delimiter)}: {first_line(exc)}{_csv_hint(exc)}") from None
    if not texts:
        found = f"all {skipped} rows have an empty {text_column!r}" if skipped else "it has a header but no rows"
        raise DataError(f"{path} holds no text: {found}")
    return LabelledTexts(texts=texts, labels=labels, skipped=skipped, source=str(path))


def _column(path: Path, header: list[str], name: str) -> int:
    if name not in header:
        raise DataError(f"{path} has no column {name!r}; columns: {', '.join(header)}")
    if header.count(name) > 1:
        raise DataError(f"{path} has {header.count(name)} columns named {name!r}; rename all but one")
    return header.index(name)


def _format(delimiter: str) -> str:
    return "CSV" if delimiter == "," else "TSV"


def _delimiter_hint(delimiter: str, fields: int) -> str:
    if fields == 1:
        other = "tabs (save it as .tsv)" if delimiter == "," else "commas (save it as .csv)"
        return f"; if the file is split by {other}, or a quote is left open"
    return "; quote fields that hold the delimiter"


def _csv_hint(exc: csv.Error) -> str:
    return "; is a quote left open?" if "field larger than field limit" in str(exc) else ""


# --- class folders -----------------------------------------------------------------


def read_class_folders(root: Path, split: str | None = None, suffix: str = ".txt", max_bytes: int = MAX_BYTES) -> LabelledTexts:
    """Texts from `root/<label>/*<suffix>`, or `root/<split>/<label>/*<suffix>`; the folder name is the label.

    Files are read in sorted order, each as one text (stripped; empty ones
    are skipped and counted). A folder named `unsup` (aclImdb's unlabelled
    reviews) and hidden folders are not labels: they are left out, and
    `notes` says so. Files directly in the split folder (aclImdb's
    `urls_pos.txt`) are not read.

    Args:
        root: Path. The data folder.
        split: str or None. A subfolder of `root` holding the label folders
            (`"train"`, `"test"`); `None` reads `root`'s label folders.
            Defaults to `None`.
        suffix: str. The files read, by suffix (case ignored). Defaults to `".txt"`.
        max_bytes: int. The most bytes read in all. Defaults to 500 MiB.

    Raises:
        DataError: the folder is missing, holds no label folders (the
            message says the layout expected), a label folder holds no
            file, a file is not UTF-8, or the files are over `max_bytes`.
    """
    root = Path(root)
    layout = f"expected {root}/<label>/*{suffix} or {root}/<split>/<label>/*{suffix} (e.g. aclImdb/train/pos/0_9.txt)"
    if not root.is_dir():
        raise DataError(f"data folder not found: {root}" if not root.exists() else f"expected a folder of class folders, got a file: {root}")
    base = root
    if split is not None:
        base = root / split
        if not base.is_dir():
            found = ", ".join(sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))) or "none"
            raise DataError(f"{root} has no split folder {split!r}; folders found: {found}")
    notes: list[str] = []
    folders = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        if folder.name.startswith("."):
            continue
        if folder.name in UNLABELLED_FOLDERS:
            count = len(_text_files(folder, suffix))
            notes.append(f"left out {folder} ({count} {suffix} files): a folder named {folder.name!r} holds unlabelled texts")
            continue
        folders.append(folder)
    # Folders of label folders are splits: reading them as labels would take
    # files beside the label folders (aclImdb's urls_pos.txt) as texts.
    splits = [f.name for f in folders if any(_text_files(sub, suffix) for sub in f.iterdir() if sub.is_dir() and not sub.name.startswith("."))]
    if splits:
        hint = "pass split= one of them" if split is None else f"{base} must hold label folders of {suffix} files"
        raise DataError(f"{base} holds split folders ({', '.join(splits)}), which hold label folders; {hint}")
    files = {folder.name: _text_files(folder, suffix) for folder in folders}
    if not any(files.values()):
        raise DataError(f"{base} has no label folders holding {suffix} files; {layout}")
    empty = [name for name, found in files.items() if not found]
    if empty:
        raise DataError(f"{base / empty[0]} holds no {suffix} files; remove the folder or add its texts ({layout})")
    texts: list[str] = []
    labels: list[str] = []
    skipped = 0
    total = 0
    for label, paths in files.items():
        for path in paths:
            total += path.stat().st_size
            if total > max_bytes:
                raise DataError(f"{base} holds more than {max_bytes / 1e6:.0f} MB of {suffix} files (reached at {path}); pass a larger max_bytes")
            value = _decode(path, path.read_bytes()).strip()
            if not value:
                skipped += 1
                continue
            texts.append(value)
            labels.append(label)
    if not texts:
        raise DataError(f"every {suffix} file under {base} is empty")
    return LabelledTexts(texts=texts, labels=labels, skipped=skipped, source=str(base), notes=notes)


def _text_files(folder: Path, suffix: str) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(suffix.lower()))


# --- sentence pairs ----------------------------------------------------------------


def read_sentence_pairs(path: Path, max_bytes: int = MAX_BYTES) -> SentencePairs:
    """Sentence pairs from `source<TAB>target[<TAB>attribution...]` lines (the Tatoeba/Anki format).

    Each line is split on tabs, with no quoting: a `"` is part of the
    sentence. Columns after the target are ignored (and the lines that had
    them counted); blank lines are skipped; sources and targets are
    stripped.

    Args:
        path: Path. The file (any suffix: Anki's files are `.txt`).
        max_bytes: int. The largest file read. Defaults to 500 MiB.

    Raises:
        DataError: one line naming the file (and line): missing, empty, too
            large, not UTF-8, a line with one column, an empty source or
            target, a line over `MAX_LINE_CHARS` characters, or no pairs.
    """
    path = require_bounded_file(path, "sentence-pair file", max_bytes)
    text = _decode(path, path.read_bytes())
    sources: list[str] = []
    targets: list[str] = []
    extra = 0
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            raise DataError(f"{path} line {number} has {len(line):,} characters; the limit for a sentence pair is {MAX_LINE_CHARS:,}")
        columns = line.split("\t")
        if len(columns) < 2:
            raise DataError(f"{path} line {number} has 1 column; expected {PAIR_FORMAT}")
        source, target = columns[0].strip(), columns[1].strip()
        if not source:
            raise DataError(f"{path} line {number} has an empty source (column 1); expected {PAIR_FORMAT}")
        if not target:
            raise DataError(f"{path} line {number} has an empty target (column 2); expected {PAIR_FORMAT}")
        extra += len(columns) > 2
        sources.append(source)
        targets.append(target)
    if not sources:
        raise DataError(f"{path} holds no sentence pairs; expected {PAIR_FORMAT} lines")
    return SentencePairs(sources=sources, targets=targets, extra_columns=extra, source=str(path))


# --- language codes ----------------------------------------------------------------


def check_language(code: str) -> Language:
    """The language of an ISO 639-1 (`es`) or 639-3 (`spa`) code, optionally with a script and region subtag.

    A subtag follows `-` or `_`: a script is four letters (ISO 15924,
    `Hant`), a region two letters (ISO 3166-1, `BR`) or three digits (UN
    M.49, `419`). Bibliographic 639-2 codes (`fre`, `ger`) are accepted too.

    Raises:
        DataError: the code, or one of its subtags, is unknown.
    """
    import pycountry

    unknown = f"unknown language code {code!r}; use an ISO 639-1 or 639-3 code such as en, es, de, fr"
    if not isinstance(code, str) or not code.strip():
        raise DataError(unknown)
    primary, *subtags = code.strip().replace("_", "-").split("-")
    language = None
    if primary.isascii() and primary.isalpha() and len(primary) in (2, 3):
        key = "alpha_2" if len(primary) == 2 else "alpha_3"
        language = pycountry.languages.get(**{key: primary.lower()})
        if language is None and len(primary) == 3:
            language = pycountry.languages.get(bibliographic=primary.lower())
    if language is None:
        raise DataError(unknown)
    parts = [primary.lower()]
    for subtag in subtags:
        parts.append(_subtag(code, subtag, pycountry))
    return Language(code="-".join(parts), name=language.name)


def _subtag(code: str, subtag: str, pycountry) -> str:
    if len(subtag) == 4 and subtag.isascii() and subtag.isalpha() and pycountry.scripts.get(alpha_4=subtag.title()):
        return subtag.title()
    if len(subtag) == 2 and subtag.isascii() and subtag.isalpha() and pycountry.countries.get(alpha_2=subtag.upper()):
        return subtag.upper()
    if len(subtag) == 3 and subtag.isascii() and subtag.isdigit():
        return subtag
    raise DataError(f"unknown subtag {subtag!r} in language code {code!r}; use a region such as pt-BR or es-419, or a script such as zh-Hant")
