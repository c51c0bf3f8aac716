"""Where speech data comes from: keyword folders (Speech Commands layout) and transcript manifests.

Keyword clips (`read_keyword_folder`) are one folder per label, as in
Google Speech Commands:

    root/yes/0a7c2a8d_nohash_0.wav      label "yes", speaker "0a7c2a8d"
    root/_background_noise_/white.wav   noise, not a clip
    root/validation_list.txt            optional: "yes/0a7c2a8d_nohash_0.wav" per line
    root/testing_list.txt               optional

Label folders that are not keywords become `_unknown_`. Without the list
files, clips are split by a stable hash of their speaker (Speech Commands'
`which_set`), so no speaker is in two splits and adding clips never moves a
speaker to another split.

Transcribed audio (`read_transcripts`) is one of:

- an LJSpeech folder or its `metadata.csv`: `id|transcript|normalized`
  lines, no header, audio in `wavs/<id>.wav`; an optional `speakers.csv`
  (`id,speaker`) beside it names each clip's speaker;
- a Common Voice `.tsv`: columns `path`, `sentence` and optional
  `client_id` (the speaker); audio in `clips/` beside it (or beside it);
  MP3 clips must be converted first (a `.wav`, `.flac` or `.ogg` of the same
  name is used);
- a `.csv` with columns `path`, `transcript` and optional `speaker`; paths
  relative to the CSV's folder.

Both readers only list and check files; `pipeline` decodes them. Every
problem is one `DataError` line naming the file.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np
import pandas as pd

from domains.speech.config import AUDIO_SUFFIXES, SILENCE, UNKNOWN
from domains.speech.synthetic import DESCRIPTION, NOISE_FOLDER
from shared.errors import DataError, first_line

VALIDATION_LIST = "validation_list.txt"
TESTING_LIST = "testing_list.txt"
NOHASH = "_nohash_"
MAX_NUM_WAVS_PER_CLASS = 2**27 - 1  # Speech Commands' `which_set` constant
SPLITS = ("train", "validation", "test")
MIN_EXPECTED_KEYS = 5  # keys expected in the smaller held-out split for the per-key hash
SHOWN = 5  # offending rows or files named in an error
SPEAKERS_FILE = "speakers.csv"
MP3_HINT = "convert them first, e.g. ffmpeg -i clip.mp3 clip.wav (a .wav, .flac or .ogg beside the .mp3 is used)"


@dataclass
class KeywordFolder:
    """The clips of a keyword folder, listed and checked but not decoded.

    Attributes:
        clips: `pandas.DataFrame`, one row per clip: `path` (str), `label`
            (a keyword, `_unknown_` or `_silence_`), `speaker` (str) and
            `split` (`train`, `validation` or `test`).
        noise_files: the `_background_noise_/` recordings.
        keywords: the keyword labels, in order.
        provenance: dict. Where the clips came from, their counts and how
            they were split.
    """

    clips: pd.DataFrame
    noise_files: list[Path]
    keywords: list[str]
    provenance: dict = field(default_factory=dict)


@dataclass
class TranscriptSet:
    """Transcribed audio clips, listed and checked but not decoded.

    Attributes:
        frame: `pandas.DataFrame`, one row per clip: `path` (str),
            `transcript` (str), `speaker` (str, or None when unknown) and
            `split` (`train`, `validation` or `test`).
        provenance: dict. Where the clips came from and how they were split.
    """

    frame: pd.DataFrame
    provenance: dict = field(default_factory=dict)


# --- splits ----------------------------------------------------------------------------


def which_set(key: str, validation_percent: float, testing_percent: float) -> str:
    """Speech Commands' split of one speaker (or file): `train`, `validation` or `test`, from the SHA-1 of `key`."""
    hashed = int(hashlib.sha1(key.encode("utf-8")).hexdigest(), 16)
    percentage = (hashed % (MAX_NUM_WAVS_PER_CLASS + 1)) * (100.0 / MAX_NUM_WAVS_PER_CLASS)
    if percentage < validation_percent:
        return "validation"
    if percentage < validation_percent + testing_percent:
        return "test"
    return "train"


def hash_splits(keys, validation_percent: float, testing_percent: float, what: str) -> tuple[np.ndarray, str]:
    """The split of each row from a stable hash of its key (speaker or path); no key is in two splits.

    With many keys each key's split comes from its own hash (Speech Commands'
    `which_set`), so adding keys never moves another. With few (fewer than
    about 5 expected in the smaller held-out split) that hash gives uneven
    shares or an empty split; then the keys, ordered by their hash, are
    dealt out in the requested shares instead (at least one to each split).
    Returns (splits, a description).
    """
    _check_percents(validation_percent, testing_percent)
    keys = np.asarray([str(k) for k in keys], dtype=object)
    unique = sorted(set(keys.tolist()))
    if len(unique) < 3:
        raise DataError(
            f"splitting by {what} needs at least 3 different {what}s (one for each of train, validation and test); "
            f"found {len(unique)}: {', '.join(unique[:3])}"
        )
    chosen: dict[str, str] = {}
    method = f"stable SHA-1 hash of the {what} (Speech Commands' which_set), {validation_percent:g}% validation, {testing_percent:g}% test"
    if len(unique) * min(validation_percent, testing_percent) / 100 >= MIN_EXPECTED_KEYS:
        chosen = {k: which_set(k, validation_percent, testing_percent) for k in unique}
    if set(chosen.values()) != set(SPLITS):
        ranked = sorted(unique, key=lambda k: hashlib.sha1(k.encode("utf-8")).hexdigest())
        n_val = max(1, int(round(len(unique) * validation_percent / 100)))
        n_test = max(1, int(round(len(unique) * testing_percent / 100)))
        while n_val + n_test > len(unique) - 1:
            n_val, n_test = (n_val - 1, n_test) if n_val > n_test else (n_val, n_test - 1)
        chosen = {k: "validation" if i < n_val else "test" if i < n_val + n_test else "train" for i, k in enumerate(ranked)}
        method = (
            f"{what}s ordered by a stable SHA-1 hash and dealt out {validation_percent:g}% validation, {testing_percent:g}% test "
            f"({len(unique)} {what}s: too few for the per-{what} hash of Speech Commands' which_set to give every split its share)"
        )
    return np.array([chosen[k] for k in keys], dtype=object), method


def _check_percents(validation_percent: float, testing_percent: float) -> None:
    if not (0 <= validation_percent < 100 and 0 <= testing_percent < 100 and validation_percent + testing_percent < 100):
        raise ValueError(
            f"`validation_percent` and `testing_percent` must be in [0, 100) with a sum below 100. "
            f"Received: validation_percent={validation_percent}, testing_percent={testing_percent}"
        )


def _split_counts(frame: pd.DataFrame, key: str) -> dict:
    out = {}
    for name in SPLITS:
        part = frame[frame["split"] == name]
        out[f"{name}_clips"] = int(len(part))
        if key in part and part[key].notna().any():
            out[f"{name}_speakers"] = int(part[key].dropna().nunique())
    return out


def _synthetic_note(folder: Path) -> str | None:
    marker = folder / DESCRIPTION
    if not marker.is_file():
        return None
    try:
        info = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    if isinstance(info, dict) and info.get("synthetic") is True:
        return f"synthetic speech: {info.get('what', 'generated clips')} ({info.get('generator', 'espeak-ng')})"
    return None


# --- keyword folders ---------------------------------------------------------------------


def _inside(path: Path, real_root: Path) -> bool:
    try:
        path.resolve().relative_to(real_root)
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def _walk(folder: Path, root: Path, real_root: Path) -> tuple[list[Path], int]:
    """Audio files under `folder` (sorted, hidden ones skipped) and the count of other files ignored."""
    found, ignored = [], 0
    for top, dirs, files in os.walk(folder, followlinks=False):
        top = Path(top)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for d in dirs:
            if (top / d).is_symlink() and not _inside(top / d, real_root):
                raise DataError(f"{top / d} is a link to a folder outside {root}; copy the clips into the folder instead")
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = top / name
            if path.is_symlink() and not _inside(path, real_root):
                raise DataError(f"{path} is a link to a file outside {root}; copy the clip into the folder instead")
            if path.suffix.lower() in AUDIO_SUFFIXES and path.is_file():
                found.append(path)
            else:
                ignored += 1
    return found, ignored


def speaker_of(path: Path | str) -> str:
    """The speaker of a Speech Commands clip: its name before `_nohash_`, else its stem."""
    name = Path(path).name
    return name.split(NOHASH)[0] if NOHASH in name else Path(path).stem


def _entry(line: str, list_file: Path, number: int, root: Path, real_root: Path) -> str:
    """A list file's entry as a POSIX path relative to the root, refused when it leaves the root."""
    text = line.strip().replace("\\", "/")
    if PurePosixPath(text).is_absolute() or PureWindowsPath(text).is_absolute() or PureWindowsPath(text).drive:
        raise DataError(f"{list_file} line {number}: {text!r} is an absolute path; entries are relative to {root}, e.g. yes/0a7c2a8d_nohash_0.wav")
    parts = PurePosixPath(text).parts
    if ".." in parts:
        raise DataError(f"{list_file} line {number}: {text!r} leaves the folder {root}; entries are relative to it, e.g. yes/0a7c2a8d_nohash_0.wav")
    path = root.joinpath(*parts)
    if not path.is_file():
        raise DataError(f"{list_file} line {number}: {text!r} is not a file in {root}")
    if not _inside(path, real_root):
        raise DataError(f"{list_file} line {number}: {text!r} is a link to a file outside {root}")
    return PurePosixPath(*parts).as_posix()


def _list_splits(root: Path, real_root: Path, relative: list[str]) -> tuple[np.ndarray, str] | None:
    """Splits from `validation_list.txt` and `testing_list.txt`, or None when neither exists."""
    lists = {"validation": root / VALIDATION_LIST, "test": root / TESTING_LIST}
    if not any(p.is_file() for p in lists.values()):
        return None
    known = set(relative)
    chosen: dict[str, str] = {}
    for name, list_file in lists.items():
        if not list_file.is_file():
            continue
        try:
            lines = list_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"could not read {list_file}: {first_line(exc)}") from None
        for number, line in enumerate(lines, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            entry = _entry(line, list_file, number, root, real_root)
            if entry not in known:
                raise DataError(f"{list_file} line {number}: {entry!r} is not an audio clip in a label folder ({', '.join(AUDIO_SUFFIXES)})")
            if chosen.get(entry, name) != name:
                raise DataError(f"{list_file} line {number}: {entry!r} is also in {lists[chosen[entry]].name}; a clip can be in one split only")
            chosen[entry] = name
    present = " and ".join(p.name for p in lists.values() if p.is_file())
    return np.array([chosen.get(r, "train") for r in relative], dtype=object), f"{present} (other clips: train)"


def read_keyword_folder(
    root: Path | str,
    keywords: list[str] | None = None,
    validation_percent: float = 10.0,
    testing_percent: float = 10.0,
    split: bool = True,
) -> KeywordFolder:
    """List the clips of a folder in the Speech Commands layout (see the module docstring).

    Args:
        root: Path. The folder holding one sub-folder per label.
        keywords: list of str or None. The labels to spot; clips of other
            label folders become `_unknown_`. None: every label folder is a
            keyword (a `_unknown_` folder stays unknown, a `_silence_` folder
            is silence).
        validation_percent, testing_percent: float. Shares of speakers held
            out when there are no list files.
        split: bool. False: every clip is `test` (evaluating a trained model).

    Returns:
        `KeywordFolder`.

    Raises:
        DataError: a missing folder, no label folders or no audio, a keyword
            without clips, a list entry outside the folder or missing, a
            link to a file outside the folder.
    """
    root = Path(root).expanduser().absolute()
    if not root.exists():
        raise DataError(f"keyword folder not found: {root}")
    if not root.is_dir():
        raise DataError(f"expected a folder of <label>/<speaker>_nohash_<n>.wav clips, got a file: {root}")
    real_root = root.resolve()
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    for folder in folders:
        if folder.is_symlink() and not _inside(folder, real_root):
            raise DataError(f"{folder} is a link to a folder outside {root}; copy the clips into the folder instead")
    labels = [f for f in folders if f.name != NOISE_FOLDER]
    if not labels:
        raise DataError(f"{root} has no label folders; expected one sub-folder per word, e.g. {root / 'yes' / 'speaker1_nohash_0.wav'}")
    noise_files: list[Path] = []
    ignored = 0
    if (root / NOISE_FOLDER).is_dir():
        noise_files, ignored = _walk(root / NOISE_FOLDER, root, real_root)
    rows = []
    empty = []
    for folder in labels:
        files, skipped = _walk(folder, root, real_root)
        ignored += skipped
        if not files:
            empty.append(folder.name)
        rows.extend((str(path), folder.name, speaker_of(path), path.relative_to(root).as_posix()) for path in files)
    if not rows:
        raise DataError(f"{root} has label folders but no audio clips ({', '.join(AUDIO_SUFFIXES)}) in them")
    found = sorted({r[1] for r in rows})
    special = {UNKNOWN, SILENCE}
    if keywords is None:
        keywords = [name for name in found if name not in special]
    else:
        keywords = [str(k) for k in keywords]
        if len(set(keywords)) != len(keywords):
            raise DataError(f"data.keywords repeats a keyword: {keywords}")
        bad = [k for k in keywords if k in special or k == NOISE_FOLDER]
        if bad:
            raise DataError(f"{', '.join(bad)} cannot be a keyword: {UNKNOWN} and {SILENCE} are added to every keyword model")
        missing = [k for k in keywords if k not in found]
        if missing and split:  # an evaluation folder (split=False) may hold some keywords only
            shown = ", ".join(found[:20]) + (", ..." if len(found) > 20 else "")
            raise DataError(f"keyword(s) {', '.join(map(repr, missing))} have no clips in {root}; label folders with clips: {shown}")
    if not keywords:
        raise DataError(f"{root} has no keyword folders, only {', '.join(found)}")
    wanted = set(keywords)
    frame = pd.DataFrame(rows, columns=["path", "folder", "speaker", "relative"])
    frame["label"] = [name if name in wanted else SILENCE if name == SILENCE else UNKNOWN for name in frame["folder"]]
    if not split:
        splits, method = np.full(len(frame), "test", dtype=object), "none: every clip is for evaluation"
    else:
        listed = _list_splits(root, real_root, frame["relative"].tolist())
        splits, method = listed if listed is not None else hash_splits(frame["speaker"], validation_percent, testing_percent, "speaker")
    frame["split"] = splits
    unknown_words = sorted(set(frame.loc[frame["label"] == UNKNOWN, "folder"]))
    per_speaker = frame.groupby("speaker")["split"].nunique()
    note = _synthetic_note(root)
    provenance = {
        "source": f"{note} in {root}" if note else str(root),
        "path": str(root),
        "format": "keyword folders (Speech Commands layout)",
        "clips": int(len(frame)),
        "speakers": int(frame["speaker"].nunique()),
        "keywords": list(keywords),
        "label_folders": len(labels),
        "unknown_words": unknown_words,
        "unknown_clips": int((frame["label"] == UNKNOWN).sum()),
        "empty_label_folders": empty,
        "noise_files": len(noise_files),
        "ignored_files": int(ignored),
        "split": method,
        "speakers_in_several_splits": int((per_speaker > 1).sum()),
        **_split_counts(frame, "speaker"),
    }
    if note:
        provenance["synthetic"] = note
    clips = frame[["path", "label", "speaker", "split"]].reset_index(drop=True)
    return KeywordFolder(clips=clips, noise_files=noise_files, keywords=list(keywords), provenance=provenance)


# --- transcripts -----------------------------------------------------------------------------


def _shown(items) -> str:
    items = list(items)
    return ", ".join(map(str, items[:SHOWN])) + (f" (and {len(items) - SHOWN} more)" if len(items) > SHOWN else "")


def _audio_path(raw: str, base: Path, real_base: Path, source: str, row: int, unsupported: list) -> Path:
    """The audio file a manifest row names, relative to `base`; refused when it leaves `base`."""
    text = raw.strip()
    if not text:
        raise DataError(f"{source} row {row}: the audio path is empty")
    candidate = Path(text)
    path = candidate if candidate.is_absolute() else base / candidate
    if ".." in Path(text).parts or not _inside(path, real_base):
        raise DataError(f"{source} row {row}: audio path {text!r} leaves the folder {base}; keep the audio inside it")
    if path.suffix.lower() not in AUDIO_SUFFIXES:
        for suffix in AUDIO_SUFFIXES:
            if path.with_suffix(suffix).is_file():
                return path.with_suffix(suffix)
        unsupported.append(text)
    return path


def _check_files(paths: list[Path], source: str) -> None:
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise DataError(f"{source} lists {len(missing)} missing audio file(s): {_shown(missing)}")


def _refuse_empty(transcripts: list[str], rows: list[int], source: str) -> None:
    empty = [row for text, row in zip(transcripts, rows) if not text.strip()]
    if empty:
        raise DataError(f"{source} has {len(empty)} row(s) with an empty transcript: row(s) {_shown(empty)}; fill them in or remove those rows")


def _refuse_unsupported(unsupported: list, source: str) -> None:
    if unsupported:
        suffixes = sorted({Path(p).suffix or "(none)" for p in unsupported})
        hint = MP3_HINT if ".mp3" in suffixes else f"use {', '.join(AUDIO_SUFFIXES)} files"
        raise DataError(f"{source} lists {len(unsupported)} audio file(s) of type {', '.join(suffixes)} (e.g. {unsupported[0]}), which cannot be decoded; {hint}")


def _read_ljspeech(metadata: Path) -> tuple[pd.DataFrame, str]:
    folder = metadata.parent
    source = str(metadata)
    try:
        lines = metadata.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"could not read {metadata}: {first_line(exc)}") from None
    ids, texts, numbers = [], [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) < 2:
            raise DataError(f"{source} line {number} has no '|'; LJSpeech lines are id|transcript|normalized")
        normalized = fields[2].strip() if len(fields) > 2 else ""
        ids.append(fields[0].strip())
        texts.append(normalized or fields[1].strip())
        numbers.append(number)
    if not ids:
        raise DataError(f"{source} has no rows; LJSpeech lines are id|transcript|normalized")
    _refuse_empty(texts, numbers, f"{source} (rows are line numbers)")
    real = folder.resolve()
    unsupported: list = []
    paths = []
    for clip, number in zip(ids, numbers):
        if not clip or "/" in clip or "\\" in clip or clip in (".", ".."):
            raise DataError(f"{source} line {number}: id {clip!r} is not a file name in {folder / 'wavs'}")
        paths.append(_audio_path(f"wavs/{clip}.wav", folder, real, source, number, unsupported))
    _check_files(paths, source)
    speakers: list = [None] * len(ids)
    table = folder / SPEAKERS_FILE
    if table.is_file():
        known = _read_text_table(table, ",", ["id", "speaker"])
        mapping = dict(zip(known["id"].str.strip(), known["speaker"].str.strip()))
        speakers = [mapping.get(clip) or None for clip in ids]
    frame = pd.DataFrame({"path": [str(p) for p in paths], "transcript": texts, "speaker": speakers})
    return frame, "LJSpeech metadata.csv" + (f" with {SPEAKERS_FILE}" if table.is_file() else "")


def _read_text_table(path: Path, sep: str, required: list[str]) -> pd.DataFrame:
    """A CSV or TSV file as strings (empty cells stay empty strings), with its required columns."""
    if path.stat().st_size == 0:
        raise DataError(f"data file is empty: {path}")
    try:
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise DataError(f"could not read {path}: {first_line(exc)}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, list(frame.columns)[:12]))
        raise DataError(f"{path} is missing column(s) {', '.join(map(repr, missing))} (found: {found})")
    if frame.empty:
        raise DataError(f"{path} has a header but no rows")
    return frame


def _read_manifest(path: Path, sep: str, path_column: str, text_column: str, speaker_column: str, audio_base: Path, fmt: str) -> tuple[pd.DataFrame, str]:
    table = _read_text_table(path, sep, [path_column, text_column])
    source = str(path)
    rows = list(range(1, len(table) + 1))
    texts = [t.strip() for t in table[text_column]]
    _refuse_empty(texts, rows, f"{source} (rows are 1-based data rows, header not counted)")
    unsupported: list = []
    real = audio_base.resolve()
    paths = [_audio_path(raw, audio_base, real, source, row, unsupported) for raw, row in zip(table[path_column], rows)]
    _refuse_unsupported(unsupported, source)
    _check_files(paths, source)
    speakers = [s.strip() or None for s in table[speaker_column]] if speaker_column in table.columns else [None] * len(table)
    return pd.DataFrame({"path": [str(p) for p in paths], "transcript": texts, "speaker": speakers}), fmt


def read_transcripts(path: Path | str, validation_percent: float = 10.0, testing_percent: float = 10.0, split: bool = True) -> TranscriptSet:
    """List transcribed audio from an LJSpeech folder or `metadata.csv`, a Common Voice `.tsv`, or a `path,transcript` `.csv`.

    Clips are split by a stable hash of the speaker when every clip's
    speaker is known and there are at least three, else by a stable hash of
    the audio path (then one speaker can be in several splits).

    Args:
        path: Path. See the module docstring for the formats.
        validation_percent, testing_percent: float. Shares held out.
        split: bool. False: every clip is `test` (evaluating a trained model).

    Returns:
        `TranscriptSet`.

    Raises:
        DataError: a missing file or column, an empty transcript, an audio
            path outside the folder, a missing audio file.
    """
    path = Path(path).expanduser().absolute()
    if not path.exists():
        raise DataError(f"transcript data not found: {path}")
    if path.is_dir():
        if not (path / "metadata.csv").is_file():
            raise DataError(
                f"{path} has no metadata.csv; give an LJSpeech folder (metadata.csv, wavs/), a Common Voice .tsv, or a .csv with path,transcript columns"
            )
        path = path / "metadata.csv"
    suffix = path.suffix.lower()
    if suffix == ".tsv":
        clips = path.parent / "clips"
        base = clips if clips.is_dir() else path.parent
        frame, fmt = _read_manifest(path, "\t", "path", "sentence", "client_id", base, "Common Voice .tsv")
    elif suffix == ".csv":
        with open(path, encoding="utf-8-sig", errors="replace") as handle:
            first = handle.readline()
        if path.name == "metadata.csv" or ("|" in first and "," not in first.split("|")[0]):
            frame, fmt = _read_ljspeech(path)
        else:
            frame, fmt = _read_manifest(path, ",", "path", "transcript", "speaker", path.parent, "path,transcript .csv")
    else:
        raise DataError(f"cannot read transcripts from {path}: use an LJSpeech folder or metadata.csv, a Common Voice .tsv, or a .csv with path,transcript columns")
    known = frame["speaker"].notna().all() and frame["speaker"].nunique() >= 3
    if not split:
        splits, method = np.full(len(frame), "test", dtype=object), "none: every clip is for evaluation"
    elif known:
        splits, method = hash_splits(frame["speaker"], validation_percent, testing_percent, "speaker")
    else:
        base = path.parent
        keys = [os.path.relpath(p, base) for p in frame["path"]]
        splits, method = hash_splits(keys, validation_percent, testing_percent, "audio path")
        method += "; speakers unknown" if not frame["speaker"].notna().all() else f"; only {frame['speaker'].nunique()} speaker(s)"
    frame["split"] = splits
    note = _synthetic_note(path.parent)
    provenance = {
        "source": f"{note} in {path}" if note else str(path),
        "path": str(path),
        "format": fmt,
        "clips": int(len(frame)),
        "speakers": int(frame["speaker"].dropna().nunique()),
        "split": method,
        **_split_counts(frame, "speaker"),
    }
    if note:
        provenance["synthetic"] = note
    return TranscriptSet(frame=frame.reset_index(drop=True), provenance=provenance)


def read_keyword_truth(path: Path | str, keywords: list[str]) -> pd.DataFrame:
    """Where keywords are said in a recording: a CSV with `keyword,start,end` (seconds), one row per keyword said.

    Returns `word, start, end, is_keyword` (words outside `keywords` count as
    other speech: detecting them is a false alarm). Bad rows are one
    `DataError` line naming the first of them.
    """
    from shared.data.tables import read_table

    path = Path(path)
    frame = read_table(path)
    missing = [c for c in ("keyword", "start", "end") if c not in frame.columns]
    if missing:
        raise DataError(f"{path} needs columns keyword,start,end (seconds); it lacks {', '.join(missing)} (columns: {', '.join(map(str, frame.columns))})")
    start = pd.to_numeric(frame["start"], errors="coerce")
    end = pd.to_numeric(frame["end"], errors="coerce")
    bad = np.flatnonzero(~(start.notna() & end.notna() & (start >= 0) & (end > start)).to_numpy())
    if len(bad):
        row = int(bad[0])
        raise DataError(f"{path} row {row + 2}: start and end must be seconds with 0 <= start < end; got start={frame['start'].iloc[row]!r}, end={frame['end'].iloc[row]!r}")
    words = frame["keyword"].astype(str).str.strip()
    return pd.DataFrame({"word": words, "start": start.astype(float), "end": end.astype(float), "is_keyword": words.isin(list(keywords))})
