"""Read tabular files (CSV, Parquet) and check them against a schema.

Every problem a user can cause is reported as one `DataError` line naming the
file, the column and the first offending row, so the user knows what to fix.
Row numbers are 1-based data rows (the CSV header is not counted).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from shared.errors import DataError
from shared.registry import Registry

READERS: Registry[Callable[[Path], pd.DataFrame]] = Registry("table format")


@READERS.register("csv")
def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, low_memory=False)


@READERS.register("parquet")
def _read_parquet(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path)


SUFFIXES = {".csv": "csv", ".gz": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame, or raise a `DataError`."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"data file not found: {path}")
    if path.is_dir():
        raise DataError(f"expected a CSV or Parquet file, got a directory: {path}")
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise DataError(f"unsupported file type {path.suffix!r} for {path}; use .csv or .parquet")
    if path.stat().st_size == 0:
        raise DataError(f"data file is empty: {path}")
    try:
        frame = READERS.get(fmt)(path)
    except pd.errors.EmptyDataError:
        raise DataError(f"data file is empty: {path}") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"could not read {path} as {fmt}: {first}") from None
    if frame.empty:
        raise DataError(f"data file has a header but no rows: {path}")
    return frame


def require_columns(frame: pd.DataFrame, columns: Iterable[str], source: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns[:12])) + (" ..." if len(frame.columns) > 12 else "")
        raise DataError(f"{source} is missing column(s) {', '.join(map(repr, missing))} (found: {found})")


def numeric_column(frame: pd.DataFrame, column: str, source: str) -> np.ndarray:
    """Return `column` as float32, rejecting non-numeric values and NaN."""
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{source}: column {column!r} has non-numeric value {_show(raw.iloc[row])} at row {row + 1}")
    missing = values.isna() | ~np.isfinite(values.to_numpy(dtype="float64", na_value=np.nan))
    if missing.any():
        rows = np.flatnonzero(missing.to_numpy())
        raise DataError(
            f"{source}: column {column!r} has {len(rows)} missing or infinite value(s), first at row {rows[0] + 1}; fill or drop them"
        )
    return values.to_numpy(dtype="float32")


def categorical_column(frame: pd.DataFrame, column: str, source: str) -> np.ndarray:
    """Return `column` as strings, rejecting missing values."""
    raw = frame[column]
    if raw.isna().any():
        row = int(np.flatnonzero(raw.isna().to_numpy())[0])
        raise DataError(f"{source}: column {column!r} has missing values, first at row {row + 1}; fill them (e.g. with 'unknown')")
    return raw.astype(str).to_numpy()


def binary_column(frame: pd.DataFrame, column: str, source: str) -> np.ndarray:
    """Return a 0/1 target column as int32, rejecting anything else."""
    values = numeric_column(frame, column, source)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(f"{source}: target column {column!r} must hold 0 or 1, found {_show(frame[column].iloc[row])} at row {row + 1}")
    return values.astype("int32")


def _show(value) -> str:
    """A cell value as the user wrote it (no numpy type names)."""
    value = value.item() if hasattr(value, "item") else value
    return repr(value)
