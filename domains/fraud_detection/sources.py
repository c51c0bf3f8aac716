"""Fraud data sources: read a table, resolve its columns, turn rows into model inputs.

Everything here is NumPy and pandas: a table (the synthetic demo
transactions, the public credit-card CSV, or any CSV/Parquet with a binary
target) becomes validated per-column arrays, each card's recent history,
and the grouped inputs the model reads (one input per column type).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from domains.fraud_detection.config import FraudDataConfig
from domains.fraud_detection.synthetic import generate_transactions
from shared.data.splits import time_values
from shared.data.tables import binary_column, categorical_column, numeric_column, read_table, require_columns
from shared.errors import DataError
from shared.layers.names import CATEGORICAL_INPUT, NUMERIC_INPUT

LABEL = "label"
# The model's input names, one per column type; equal to `shared.layers.tabular`'s
HISTORY_INPUTS = ("history", "history_mask")


@dataclass
class FeatureColumns:
    """The columns a fraud model reads, resolved against one table."""

    target: str
    numeric: list[str]
    categorical: list[str]
    card: str | None = None
    time: str | None = None
    identifier: str | None = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def load_frame(cfg: FraudDataConfig) -> tuple[pd.DataFrame, dict]:
    """The raw table and its provenance (synthetic when no path is given)."""
    if cfg.path is None:
        frame = generate_transactions(cfg.synthetic_rows, seed=cfg.synthetic_seed)
        return frame, {
            "source": "synthetic transactions (dlsuite generator)",
            "synthetic": True,
            "seed": cfg.synthetic_seed,
        }
    frame = read_table(cfg.path)
    return frame, {"source": str(cfg.path), "synthetic": False}


def resolve_columns(frame: pd.DataFrame, cfg: FraudDataConfig, source: str) -> FeatureColumns:
    """Pick target, numeric and categorical columns, checking each exists."""
    require_columns(frame, [cfg.target], source)
    optional = {c for c in (cfg.card_column, cfg.time_column, cfg.id_column) if c and c in frame.columns}
    reserved = {cfg.target, *cfg.drop, *optional}
    numeric = cfg.numeric
    if numeric is None:
        numeric = [c for c in frame.columns if c not in reserved and pd.api.types.is_numeric_dtype(frame[c])]
    categorical = cfg.categorical
    if categorical is None:
        categorical = [
            c
            for c in frame.columns
            if c not in reserved and c not in numeric and not pd.api.types.is_datetime64_any_dtype(frame[c])
        ]
    require_columns(frame, [*numeric, *categorical], source)
    for column in categorical:
        n_unique = frame[column].nunique()
        if n_unique > cfg.max_categories:
            raise DataError(
                f"{source}: categorical column {column!r} has {n_unique} distinct values (> data.max_categories="
                f"{cfg.max_categories}); add it to data.drop or raise the limit"
            )
    if not numeric and not categorical:
        raise DataError(f"{source}: no feature columns left after removing target, ids and data.drop")
    return FeatureColumns(
        target=cfg.target,
        numeric=list(numeric),
        categorical=list(categorical),
        card=cfg.card_column if cfg.card_column in frame.columns else None,
        time=cfg.time_column if cfg.time_column in frame.columns else None,
        identifier=cfg.id_column if cfg.id_column in frame.columns else None,
    )


def feature_arrays(frame: pd.DataFrame, cols: FeatureColumns, source: str, with_target: bool = True) -> dict[str, np.ndarray]:
    """Validated per-row arrays: float32 numerics, string categoricals, int target."""
    out: dict[str, np.ndarray] = {c: numeric_column(frame, c, source) for c in cols.numeric}
    out.update({c: categorical_column(frame, c, source) for c in cols.categorical})
    if with_target:
        out[LABEL] = binary_column(frame, cols.target, source)
    return out


def history_windows(frame: pd.DataFrame, cols: FeatureColumns, arrays: dict, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's card history: the last `length` transactions, this one last.

    Returns `history` of shape (rows, features, length) — one contiguous block
    per feature, so attributions sum back per feature — and a 0/1 `mask` of
    shape (rows, length) marking real (not padded) steps.
    """
    if cols.card is None:
        raise DataError("the sequence task needs a card column (data.card_column) to build per-card histories")
    cards_raw = frame[cols.card].astype(str).to_numpy()
    if cols.time is not None:
        order = np.lexsort((time_values(frame[cols.time], cols.time), cards_raw))
    else:
        order = np.argsort(cards_raw, kind="stable")
    numeric = np.stack([arrays[c] for c in cols.numeric], axis=-1) if cols.numeric else np.zeros((len(frame), 0), "float32")
    sorted_num = numeric[order]
    cards = cards_raw[order]
    position = pd.Series(cards).groupby(cards).cumcount().to_numpy()
    history = np.zeros((len(frame), numeric.shape[1], length), "float32")
    mask = np.zeros((len(frame), length), "float32")
    for lag in range(length):
        valid = position >= lag
        src = np.flatnonzero(valid) - lag
        dst_rows = order[valid]
        history[dst_rows, :, length - 1 - lag] = sorted_num[src]
        mask[dst_rows, length - 1 - lag] = 1.0
    return history, mask


def history_stats(numeric: np.ndarray) -> dict:
    """Mean and variance per numeric feature, for the history normaliser."""
    return {
        "mean": [float(v) for v in numeric.mean(axis=0)],
        "variance": [float(max(v, 1e-6)) for v in numeric.var(axis=0)],
    }


def input_groups(columns: dict) -> dict[str, list[str]]:
    """Model input name -> the table columns it holds, in order (empty groups left out).

    A model takes one input per column type, not one per column, so a table
    of thousands of columns builds and trains in seconds; the shards group
    scalar columns of one dtype the same way (`shared.data.records`).
    """
    groups = {NUMERIC_INPUT: list(columns["numeric"]), CATEGORICAL_INPUT: list(columns["categorical"])}
    return {name: names for name, names in groups.items() if names}


def grouped_arrays(arrays: dict, columns: dict) -> dict:
    """Per-column arrays (as `feature_arrays` returns them) stacked into the model's inputs.

    Arrays of other names (the label, the card history) are kept as they are.
    """
    groups = input_groups(columns)
    out = {name: np.stack([arrays[c] for c in names], axis=1) for name, names in groups.items()}
    grouped = {c for names in groups.values() for c in names}
    out.update({k: v for k, v in arrays.items() if k not in grouped})
    return out


def features_only(arrays: dict) -> dict:
    """The model inputs of `arrays`: everything but the label."""
    return {k: v for k, v in arrays.items() if k != LABEL}
