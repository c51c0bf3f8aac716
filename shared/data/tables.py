"""Read tabular files (CSV, Parquet) and check them against a schema.

Every problem a user can cause is reported as one `DataError` line naming the
file, the column and the first offending row, so the user knows what to fix.
Row numbers are 1-based data rows (the CSV header is not counted). Tables too
large for memory are read chunk by chunk with `iter_table`; each chunk keeps
the file's row numbers in its `RangeIndex`, so errors name the file's row.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from shared.errors import DataError, first_line
from shared.registry import Registry

READERS: Registry[Callable[[Path], pd.DataFrame]] = Registry("table format")


@READERS.register("csv")
def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, low_memory=False)


@READERS.register("parquet")
def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = pd.read_parquet(path)
    # Reading does not check that text is UTF-8; a damaged file would fail later, in a conversion, with
    # a pyarrow error. Full validation of the text columns raises ArrowInvalid (a ValueError) here instead.
    text = [f.name for f in pq.read_schema(path) if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    if text:
        pq.read_table(path, columns=text).validate(full=True)
    return frame


SUFFIXES = {".csv": "csv", ".gz": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}


def _table_format(path: Path) -> str:
    """The reader name for `path`, after checking it is a non-empty table file."""
    if not path.exists():
        raise DataError(f"data file not found: {path}")
    if path.is_dir():
        raise DataError(f"expected a CSV or Parquet file, got a directory: {path}")
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise DataError(f"unsupported file type {path.suffix!r} for {path}; use .csv or .parquet")
    if path.stat().st_size == 0:
        raise DataError(f"data file is empty: {path}")
    return fmt


@contextlib.contextmanager
def _reading(path: Path, fmt: str) -> Iterator[None]:
    """Turn the readers' parse errors into one `DataError` line."""
    try:
        yield
    except pd.errors.EmptyDataError:
        raise DataError(f"data file is empty: {path}") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise DataError(f"could not read {path} as {fmt}: {first_line(exc)}") from None


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame, or raise a `DataError`."""
    path = Path(path)
    fmt = _table_format(path)
    with _reading(path, fmt):
        frame = READERS.get(fmt)(path)
    if frame.empty:
        raise DataError(f"data file has a header but no rows: {path}")
    return frame


def table_columns(path: str | Path) -> list[str]:
    """The column names of a CSV or Parquet file, reading only its header."""
    path = Path(path)
    fmt = _table_format(path)
    with _reading(path, fmt):
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return list(pq.ParquetFile(path).schema_arrow.names)
        return list(pd.read_csv(path, nrows=0).columns)


def iter_table(path: str | Path, chunk_rows: int, columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """Read a CSV or Parquet file in chunks of at most `chunk_rows` rows.

    Only one chunk is in memory at a time: CSV goes through
    `pandas.read_csv(chunksize=...)`, Parquet through pyarrow's
    `iter_batches`. Each chunk's `RangeIndex` holds the rows' 0-based
    positions in the file, so the column checks below report file rows.

    Args:
        path: CSV or Parquet file.
        chunk_rows: int. Rows per chunk (the last one may be shorter).
        columns: list of str or None. Read only these columns (None: all).

    Yields:
        `pandas.DataFrame` chunks, in file order.
    """
    path = Path(path)
    fmt = _table_format(path)
    if columns is not None:
        _require(table_columns(path), columns, str(path))
    rows = 0
    with _reading(path, fmt):
        if fmt == "parquet":
            import pyarrow.parquet as pq

            batches = (_validated(b).to_pandas() for b in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows, columns=columns))
        else:
            batches = pd.read_csv(path, chunksize=chunk_rows, usecols=columns, low_memory=False)
        for chunk in batches:
            chunk.index = pd.RangeIndex(rows, rows + len(chunk))
            rows += len(chunk)
            yield chunk
    if rows == 0:
        raise DataError(f"data file has a header but no rows: {path}")


def _validated(batch):
    """A parquet record batch after a full check (UTF-8 text included); raises ArrowInvalid, a ValueError."""
    batch.validate(full=True)
    return batch


def require_columns(frame: pd.DataFrame, columns: Iterable[str], source: str) -> None:
    _require(list(frame.columns), columns, source)


def _require(found: list, columns: Iterable[str], source: str) -> None:
    missing = [c for c in columns if c not in found]
    if missing:
        shown = ", ".join(map(str, found[:12])) + (" ..." if len(found) > 12 else "")
        raise DataError(f"{source} is missing column(s) {', '.join(map(repr, missing))} (found: {shown})")


def numeric_column(frame: pd.DataFrame, column: str, source: str) -> np.ndarray:
    """Return `column` as float32, rejecting non-numeric values and NaN."""
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{source}: column {column!r} has non-numeric value {_show(raw.iloc[row])} at row {_row_number(raw, row)}")
    missing = values.isna() | ~np.isfinite(values.to_numpy(dtype="float64", na_value=np.nan))
    if missing.any():
        rows = np.flatnonzero(missing.to_numpy())
        raise DataError(
            f"{source}: column {column!r} has {len(rows)} missing or infinite value(s), first at row {_row_number(raw, rows[0])}; fill or drop them"
        )
    return values.to_numpy(dtype="float32")


def categorical_column(frame: pd.DataFrame, column: str, source: str) -> np.ndarray:
    """Return `column` as strings, rejecting missing values."""
    raw = frame[column]
    if raw.isna().any():
        row = int(np.flatnonzero(raw.isna().to_numpy())[0])
        raise DataError(f"{source}: column {column!r} has missing values, first at row {_row_number(raw, row)}; fill them (e.g. with 'unknown')")
    return raw.astype(str).to_numpy()


def binary_column(frame: pd.DataFrame, column: str, source: str) -> np.ndarray:
    """Return a 0/1 target column as int32, rejecting anything else."""
    values = numeric_column(frame, column, source)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(f"{source}: target column {column!r} must hold 0 or 1, found {_show(frame[column].iloc[row])} at row {_row_number(frame, row)}")
    return values.astype("int32")


def _row_number(data: pd.DataFrame | pd.Series, position: int) -> int:
    """1-based file row of the `position`-th row; chunks from `iter_table` start further on."""
    start = data.index.start if isinstance(data.index, pd.RangeIndex) else 0
    return int(start + position + 1)


def _show(value) -> str:
    """A cell value as the user wrote it (no numpy type names)."""
    value = value.item() if hasattr(value, "item") else value
    return repr(value)


class CategoryCounter:
    """Counts the values of categorical columns over chunks, for vocabularies.

    A table read with `iter_table` never has all its values in memory; this
    keeps only the distinct values and their counts, and stops with a
    `DataError` as soon as a column has more than `max_categories` of them
    (an id or free-text column rather than a category).

    Args:
        columns: list of str. The categorical columns.
        max_categories: int. Most distinct values allowed per column.
        hint: str. What the user can do about too many values; ends the error.
    """

    def __init__(self, columns: list[str], max_categories: int, hint: str = ""):
        self.counts: dict[str, dict[str, int]] = {c: {} for c in columns}
        self.max_categories = max_categories
        self.hint = hint

    def update(self, columns: dict[str, np.ndarray], source: str) -> None:
        """Count one chunk's values (`columns`: name -> array of strings)."""
        for name, counts in self.counts.items():
            for value, n in pd.Series(columns[name]).value_counts(sort=False).items():
                counts[value] = counts.get(value, 0) + int(n)
            if len(counts) > self.max_categories:
                raise DataError(f"{source}: categorical column {name!r} has more than {self.max_categories} distinct values{self.hint}")

    def vocabularies(self) -> dict[str, list[str]]:
        """Each column's values, most frequent first (ties in text order)."""
        return {name: sorted(counts, key=lambda v: (-counts[v], v)) for name, counts in self.counts.items()}
