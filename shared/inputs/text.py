"""Text files as lists of examples: UTF-8, one example per line.

`read_lines` refuses files that are not UTF-8, hold NUL bytes, are larger
than the limit, or have no text, with one `DataError` line naming the file
and the first offending line.
"""

from __future__ import annotations

from pathlib import Path

from shared.errors import DataError
from shared.inputs import require_kind

MAX_BYTES = 50 * 1024 * 1024


def read_lines(path: Path, max_bytes: int = MAX_BYTES, max_chars_per_line: int = 100_000) -> list[str]:
    """The non-empty lines of a UTF-8 text file, stripped of surrounding white space."""
    path = require_kind(path, "text")
    size = path.stat().st_size
    if size > max_bytes:
        raise DataError(f"{path} is {size / 1e6:.1f} MB; the limit for a text input is {max_bytes / 1e6:.0f} MB")
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise DataError(f"{path} holds NUL bytes; it is not a text file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{path} is not UTF-8 text (line {line}); save it as UTF-8") from None
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if len(line) > max_chars_per_line:
            raise DataError(f"{path} line {number} has {len(line):,} characters; the limit is {max_chars_per_line:,}")
        if line:
            lines.append(line)
    if not lines:
        raise DataError(f"{path} holds no text")
    return lines
