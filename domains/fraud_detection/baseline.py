"""The logistic-regression baseline every fraud run reports beside its network.

Numeric columns standardised, categorical ones one-hot encoded: the textbook
baseline a network has to beat, fitted on the same training split (in
memory, or a bounded sample streamed from packed shards).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from domains.fraud_detection.sources import LABEL, FeatureColumns


def logistic_baseline(arrays: dict, cols: FeatureColumns, assign: np.ndarray, seed: int, max_rows: int = 200_000) -> dict:
    """Fit a logistic regression on the training split; score validation and test.

    Numeric columns are standardised and categorical ones one-hot encoded, the
    textbook baseline a network has to beat.
    """
    labels = arrays[LABEL]
    table = _baseline_table(arrays, cols)
    train = np.flatnonzero(assign == "train")
    if len(train) > max_rows:
        train = np.random.default_rng(seed).choice(train, max_rows, replace=False)
    model = _baseline_model(cols).fit(table.iloc[train], labels[train])
    out = {}
    for name in ("validation", "test"):
        rows = assign == name
        out[name] = model.predict_proba(table[rows])[:, 1]
        out[f"y_{name}"] = labels[rows]
    return out


def streamed_logistic_baseline(
    batches: Callable[[str], Iterable[dict]], train_rows: int, cols: FeatureColumns, seed: int, max_rows: int = 200_000
) -> dict:
    """`logistic_baseline` for splits streamed from disk, in bounded memory.

    The training split is streamed once and each row kept with probability
    `max_rows / train_rows` (seeded), so the fit sees a random sample of at
    most `max_rows` rows; validation and test are scored batch by batch.

    Args:
        batches: callable. Split name -> iterable of batches, each a dict of
            numpy arrays holding the feature columns and `label`.
        train_rows: int. Rows in the training split.
        cols: FeatureColumns. The columns the baseline reads.
        seed: int. Seed of the sample.
        max_rows: int. Most training rows fitted on. Defaults to `200000`.

    Returns:
        dict as from `logistic_baseline`, plus `sample_rows`: the rows fitted on.
    """
    rng = np.random.default_rng(seed)
    rate = min(1.0, max_rows / train_rows)
    parts = []
    for batch in batches("train"):
        keep = rng.random(len(batch[LABEL])) < rate
        parts.append({k: v[keep] for k, v in batch.items()})
    sample = {k: np.concatenate([p[k] for p in parts])[:max_rows] for k in parts[0]}
    model = _baseline_model(cols).fit(_baseline_table(sample, cols), sample[LABEL])
    out: dict = {"sample_rows": len(sample[LABEL])}
    for name in ("validation", "test"):
        scores, labels = [], []
        for batch in batches(name):
            scores.append(model.predict_proba(_baseline_table(batch, cols))[:, 1])
            labels.append(batch[LABEL])
        out[name], out[f"y_{name}"] = np.concatenate(scores), np.concatenate(labels)
    return out


def _baseline_table(arrays: dict, cols: FeatureColumns) -> pd.DataFrame:
    return pd.DataFrame({c: arrays[c] for c in cols.numeric + cols.categorical})


def _baseline_model(cols: FeatureColumns):
    """Standardised numerics + one-hot categories -> logistic regression (unfitted)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    prep = ColumnTransformer(
        [("num", StandardScaler(), cols.numeric), ("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=5), cols.categorical)]
    )
    return make_pipeline(prep, LogisticRegression(max_iter=1000))
