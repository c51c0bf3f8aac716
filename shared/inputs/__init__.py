"""One reader per input kind: files a user hands over become model inputs, or one error line.

A task declares its `input_kind` (`shared.domain.InputKind`); the CLI and
the app read its inputs with the reader of that kind:

- table: `shared.data.tables.read_table` (CSV, Parquet); `table_row` picks one row;
- image: `shared.inputs.image` (PNG, JPEG, BMP, TIFF, GIF, WebP, with a pixel limit;
  PNG and JPEG also decode natively inside tf.data);
- audio: `shared.inputs.audio` (WAV, FLAC, OGG through soundfile, resampled to mono);
- text: `shared.inputs.text` (UTF-8 text files, one example per line);
- video: `shared.inputs.video` (MP4, MKV, AVI, MOV, WebM through PyAV, frames sampled).

Every reader checks what it can before decoding (existence, suffix, size)
and turns a decoder's failure into one `DataError` line naming the file.
None of them runs code from the file or reaches the network.
"""

from __future__ import annotations

from pathlib import Path

from shared.errors import DataError

# The suffixes each kind's reader takes. A task may read more (`Task.extra_suffixes`).
SUFFIXES: dict[str, tuple[str, ...]] = {
    "table": (".csv", ".gz", ".txt", ".parquet", ".pq"),
    "image": (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp"),
    "audio": (".wav", ".flac", ".ogg"),
    "text": (".txt",),
    "video": (".mp4", ".mkv", ".avi", ".mov", ".webm"),
}


# What `--data` names for each kind in the docs and the app's hints.
OWN_DATA = {"table": "your.csv", "image": "your_images/", "audio": "your_clips/", "text": "your_texts.csv", "video": "your_videos/"}


def kind_of(path: Path) -> str | None:
    """The input kind a file's suffix suggests (table wins for .txt), or None."""
    suffix = Path(path).suffix.lower()
    for kind, suffixes in SUFFIXES.items():
        if suffix in suffixes:
            return kind
    return None


def require_file(path: Path) -> Path:
    """`path` as a `Path` if it is a non-empty regular file, else one `DataError` line."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"input file not found: {path}")
    if path.is_dir():
        raise DataError(f"expected a file, got a directory: {path}")
    if path.stat().st_size == 0:
        raise DataError(f"input file is empty: {path}")
    return path


def require_kind(path: Path, kind, extra_suffixes: tuple[str, ...] = ()) -> Path:
    """Check that `path` is a file this kind's reader (plus `extra_suffixes`) takes.

    Args:
        path: the user's file.
        kind: an `InputKind` or its value, e.g. "image".
        extra_suffixes: more suffixes the task reads, e.g. `(".dcm",)`.
    """
    kind = getattr(kind, "value", kind)
    path = require_file(path)
    allowed = tuple(SUFFIXES[kind]) + tuple(extra_suffixes)
    if path.suffix.lower() not in allowed:
        seen = kind_of(path)
        looks = f" (it looks like a {seen} file)" if seen and seen != kind else ""
        raise DataError(f"{path}: this task reads {kind} files ({', '.join(allowed)}), not {path.suffix or 'a file without a suffix'!r}{looks}")
    return path


def table_row(path: Path, row: int):
    """Read the table at `path` and check the 1-based `row`; returns `(frame, row - 1)`."""
    from shared.data.tables import read_table

    require_kind(path, "table")
    frame = read_table(Path(path))
    if not 1 <= row <= len(frame):
        valid = f"choose a row from 1 to {len(frame)}" if len(frame) else "it has no rows"
        raise DataError(f"row {row} is out of range: {path} has {len(frame)} rows; {valid}")
    return frame, row - 1
