"""Train / validation / test splits, chosen by name.

- `auto` (the default): `time` when the data has the time column
  (`column`, else one of `AUTO_TIME_COLUMNS`), otherwise `random`;
  `resolve_split` says which it chose and why, and the model card records it.
- `random`: stratified by label when labels are given.
- `group`: whole groups (patients, cards) go to one split, so no group leaks.
- `time`: the oldest rows train, the newest test, as in production.

`split` assigns a whole table at once. `StreamingSplit` assigns a table that
does not fit in memory one chunk at a time, deterministically, with the same
three types (see its docstring for how it differs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal

import numpy as np
from pydantic import Field, model_validator

from shared.config import Section
from shared.errors import DataError
from shared.registry import Registry

SPLIT_NAMES = ("train", "validation", "test")


# Column names an `auto` split takes as the time of a row when `column` is not set.
AUTO_TIME_COLUMNS = ("timestamp", "time", "date", "datetime", "event_time", "Time")


class SplitConfig(Section):
    type: Literal["auto", "random", "group", "time"] = "auto"
    validation: float = Field(0.15, gt=0, lt=1)
    test: float = Field(0.15, gt=0, lt=1)
    column: str | None = None  # group id or timestamp column; for auto, the time column to look for

    @model_validator(mode="after")
    def _fractions(self):
        if self.validation + self.test >= 0.9:
            raise ValueError(f"validation + test must leave at least 10% to train. Received: {self.validation} + {self.test}")
        if self.type in ("group", "time") and not self.column:
            raise ValueError(f"a {self.type} split needs `column`. Received: column={self.column!r}")
        return self


@dataclass(frozen=True)
class SplitChoice:
    """The split a run uses, after `auto` is resolved against the data's columns.

    Attributes:
        config: the `SplitConfig` with a concrete `type` (never `auto`).
        reason: one sentence for the run's output and the model card.
    """

    config: SplitConfig
    reason: str

    def to_dict(self) -> dict:
        return {"type": self.config.type, "column": self.config.column, "reason": self.reason}


def resolve_split(cfg: SplitConfig, columns: Iterable[str]) -> SplitChoice:
    """Resolve an `auto` split against the data's `columns`; check that a named column exists.

    `auto` becomes a time split on `cfg.column` when the data has it (else
    on the first of `AUTO_TIME_COLUMNS` it has), and a stratified random
    split otherwise. A `group` or `time` split whose column is missing is
    one `DataError` line that lists the columns and says how to fall back.
    """
    columns = [str(c) for c in columns]
    if cfg.type == "auto":
        candidates = [cfg.column] if cfg.column else list(AUTO_TIME_COLUMNS)
        found = next((c for c in candidates if c in columns), None)
        if found is not None:
            chosen = cfg.model_copy(update={"type": "time", "column": found})
            return SplitChoice(chosen, f"time split on column {found!r}: the oldest rows train, the newest test (data.split.type=auto)")
        looked = repr(cfg.column) if cfg.column else "any of " + ", ".join(repr(c) for c in AUTO_TIME_COLUMNS)
        chosen = cfg.model_copy(update={"type": "random", "column": None})
        return SplitChoice(chosen, f"random split, stratified by label: the data has no time column ({looked}) (data.split.type=auto)")
    if cfg.type in ("group", "time") and cfg.column not in columns:
        raise DataError(
            f"split column {cfg.column!r} (data.split.column) is not in the data; found: {', '.join(columns[:12])}; "
            "name another column, or set data.split.type=auto to split at random when there is no time column"
        )
    what = {"random": "random split, stratified by label", "group": f"group split on column {cfg.column!r}", "time": f"time split on column {cfg.column!r}"}
    return SplitChoice(cfg, f"{what[cfg.type]} (data.split.type={cfg.type})")


def time_values(values, column: str) -> np.ndarray:
    """A sortable int/float key per row from a column of numbers, dates or date strings.

    Numbers are kept; dates become nanoseconds since the epoch. A value that
    is neither, or a missing one, is one `DataError` line naming the column
    and the first such row (1-based).
    """
    import pandas as pd

    series = pd.Series(values)
    if pd.api.types.is_datetime64_any_dtype(series):
        parsed = series
    else:
        numeric = pd.to_numeric(series, errors="coerce")
        if numeric.notna().all():
            return numeric.to_numpy()
        parsed = pd.to_datetime(series, errors="coerce", format="mixed")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        raise DataError(f"time column {column!r} has a value that is neither a number nor a date at row {int(bad[0]) + 1}: {series.iloc[bad[0]]!r}")
    return parsed.to_numpy().astype("datetime64[ns]").astype("int64")


SPLITTERS: Registry = Registry("split type")


@SPLITTERS.register("random")
def _random(n: int, cfg: SplitConfig, seed: int, labels=None, key=None) -> np.ndarray:
    from sklearn.model_selection import train_test_split

    idx = np.arange(n)
    strat = labels if labels is not None and np.bincount(labels).min() >= 3 else None
    rest, test = train_test_split(idx, test_size=cfg.test, random_state=seed, stratify=strat)
    strat_rest = strat[rest] if strat is not None else None
    train, val = train_test_split(rest, test_size=cfg.validation / (1 - cfg.test), random_state=seed, stratify=strat_rest)
    return _assign(n, train, val, test)


@SPLITTERS.register("group")
def _group(n: int, cfg: SplitConfig, seed: int, labels=None, key=None) -> np.ndarray:
    from sklearn.model_selection import GroupShuffleSplit

    idx = np.arange(n)
    outer = GroupShuffleSplit(n_splits=1, test_size=cfg.test, random_state=seed)
    rest, test = next(outer.split(idx, groups=key))
    inner = GroupShuffleSplit(n_splits=1, test_size=cfg.validation / (1 - cfg.test), random_state=seed)
    tr, va = next(inner.split(rest, groups=key[rest]))
    return _assign(n, rest[tr], rest[va], test)


@SPLITTERS.register("time")
def _time(n: int, cfg: SplitConfig, seed: int, labels=None, key=None) -> np.ndarray:
    order = np.argsort(key, kind="stable")
    n_test = int(round(n * cfg.test))
    n_val = int(round(n * cfg.validation))
    train, val, test = order[: n - n_test - n_val], order[n - n_test - n_val : n - n_test], order[n - n_test :]
    return _assign(n, train, val, test)


def _assign(n, train, val, test) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out[train], out[val], out[test] = "train", "validation", "test"
    return out


def split(n: int, cfg: SplitConfig, seed: int, labels: np.ndarray | None = None, key: np.ndarray | None = None) -> np.ndarray:
    """Return an array of 'train' / 'validation' / 'test', one per row.

    `cfg.type` must be concrete; resolve `auto` first with `resolve_split`.
    """
    if cfg.type == "auto":
        raise ValueError("resolve an auto split with resolve_split() before split()")
    if n < 10:
        raise DataError(f"need at least 10 rows to split into train/validation/test, got {n}")
    out = SPLITTERS.get(cfg.type)(n, cfg, seed, labels=labels, key=key)
    for name in SPLIT_NAMES:
        if not (out == name).any():
            raise DataError(f"the {name} split is empty; add data or change the split fractions")
    return out


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a stable, well-spread hash of uint64 values."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def stable_uniform(keys: np.ndarray, seed: int) -> np.ndarray:
    """A number in [0, 1) per key, the same on every machine and run for a given seed.

    Integer keys are hashed as they are; any other key by its string form
    (`pandas.util.hash_array`, a fixed-key SipHash), so `7` and `"7"` differ.
    """
    import pandas as pd

    keys = np.asarray(keys)
    if keys.dtype.kind in "iu":
        hashed = keys.astype(np.uint64)
    else:
        hashed = pd.util.hash_array(keys.astype(str).astype(object))
    salted = _mix(hashed ^ _mix(np.array([seed], dtype=np.uint64)))
    return (salted >> np.uint64(11)).astype(np.float64) * 2.0**-53


def time_cutoffs(times: Iterable[np.ndarray], cfg: SplitConfig, max_values: int = 2_000_000) -> tuple[float, float]:
    """Where validation and test start, from one pass over a time column.

    The test split is the newest `cfg.test` share of rows and validation the
    share before it. Up to `max_values` times are kept; beyond that every
    second kept value is dropped and the stride doubled, so the cutoffs come
    from an evenly spaced sample of at most `max_values` rows (exact for
    smaller tables) and memory stays bounded.

    Args:
        times: iterable of 1-D numeric arrays, the column chunk by chunk.
        cfg: SplitConfig. Its `validation` and `test` fractions.
        max_values: int. Most time values held at once. Defaults to `2000000`.

    Returns:
        `(validation_start, test_start)`: rows with a time at or after
        `test_start` are test, at or after `validation_start` validation.
    """
    kept: list[np.ndarray] = []
    held, stride, seen = 0, 1, 0
    for chunk in times:
        chunk = np.asarray(chunk, dtype=np.float64)
        first = (-seen) % stride  # keep rows whose position is a multiple of `stride`
        kept.append(chunk[first::stride])
        held += len(kept[-1])
        seen += len(chunk)
        while held > max_values:
            sample = np.concatenate(kept)[::2]
            kept, held, stride = [sample], len(sample), stride * 2
    if seen < 10:
        raise DataError(f"need at least 10 rows to split into train/validation/test, got {seen}")
    sample = np.sort(np.concatenate(kept))
    n_test = max(1, int(round(len(sample) * cfg.test)))
    n_val = max(1, int(round(len(sample) * cfg.validation)))
    return float(sample[len(sample) - n_test - n_val]), float(sample[len(sample) - n_test])


class StreamingSplit:
    """Assigns rows to train / validation / test one chunk at a time.

    Every row's split depends only on that row, so the same input and seed
    always give the same split, however it is chunked:

    - `random`: a stable hash of the row's number and the seed;
    - `group`: a stable hash of the group key and the seed, so a group never
      straddles two splits;
    - `time`: the row's time against `cutoffs` from `time_cutoffs` (rows at a
      cutoff time go to the later split).

    Unlike `split`, nothing is stratified by label and the fractions hold in
    expectation (random, group) or up to ties (time) rather than exactly;
    count the rows each split received instead of assuming them.

    Args:
        cfg: SplitConfig. Split type and fractions.
        seed: int. Seed of the random and group hashes.
        cutoffs: `(validation_start, test_start)` for a time split.
    """

    def __init__(self, cfg: SplitConfig, seed: int, cutoffs: tuple[float, float] | None = None):
        if cfg.type == "time" and cutoffs is None:
            raise ValueError("a time split needs `cutoffs` (see time_cutoffs). Received: cutoffs=None")
        self.cfg = cfg
        self.seed = seed
        self.cutoffs = cutoffs

    def assign(self, first_row: int, n: int, key: np.ndarray | None = None) -> np.ndarray:
        """Split names for rows `first_row .. first_row + n - 1` of the table.

        Args:
            first_row: int. 0-based position of the chunk's first row.
            n: int. Rows in the chunk.
            key: array or None. The chunk's group keys (group split) or
                numeric times (time split); unused by a random split.
        """
        if self.cfg.type == "time":
            times = np.asarray(key, dtype=np.float64)
            codes = (times >= self.cutoffs[0]).astype(np.int8) + (times >= self.cutoffs[1])
        else:
            # Group keys hash by their text, so a key read as 7 in one chunk and "7" in another still agrees.
            keys = np.arange(first_row, first_row + n) if self.cfg.type == "random" else np.asarray(key).astype(str)
            u = stable_uniform(keys, self.seed)
            codes = np.where(u < self.cfg.test, 2, np.where(u < self.cfg.test + self.cfg.validation, 1, 0))
        return np.asarray(SPLIT_NAMES, dtype=object)[codes]


HIDDEN_FOR_TUNING = "hidden_during_tuning"


def validation_as_test(assign: np.ndarray) -> np.ndarray:
    """Split names for a tuning trial: the validation split becomes `"test"`, and every held-out split is hidden.

    A task whose `evaluate` picks its test rows by split name (`assign ==
    "test"`) then scores the validation rows, and a search never sees the
    test split (nor other held-out splits such as speech's `"seen"`).
    """
    assign = np.asarray(assign, dtype=object)
    out = np.where(assign == "train", "train", HIDDEN_FOR_TUNING).astype(object)
    out[assign == "validation"] = "test"
    return out
