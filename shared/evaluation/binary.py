"""Metrics for imbalanced binary scoring: ranking quality and operating points.

Every function takes `y_true` (0/1 labels) and `scores` (higher means more
likely positive; probabilities, logits or any monotone score all work). A row
is flagged when `score >= threshold`. Results are plain Python floats and ints
so they can go straight into `json.dump`; undefined quantities (recall with no
positives, precision with no alerts) are `nan`, and "flag nothing" is the
threshold `inf` (both serialize as `NaN` / `Infinity` with the stdlib `json`).

Example:

```python
y = np.array([0, 0, 1, 0, 1])
s = np.array([0.1, 0.4, 0.35, 0.2, 0.9])
binary_report(y, s, threshold=0.3)["at_threshold"]["recall"]  # 1.0
choose_threshold(y, s, cost_fp=1.0, cost_fn=10.0)["threshold"]  # 0.35
```
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn import metrics

FLAG_NOTHING = math.inf


def _validated(y_true, scores) -> tuple[np.ndarray, np.ndarray]:
    """Return `(y_true, scores)` as flat int64 / float64 arrays, or raise."""
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=np.float64)
    # Keras `predict` returns (n, 1); accept it rather than make every caller squeeze.
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if y.ndim != 1 or s.ndim != 1:
        raise ValueError(
            "`y_true` and `scores` must be 1-D (or (n, 1)). "
            f"Received: y_true.shape={y.shape}, scores.shape={s.shape}"
        )
    if y.shape[0] != s.shape[0]:
        raise ValueError(
            "`y_true` and `scores` must have the same length. "
            f"Received: len(y_true)={y.shape[0]}, len(scores)={s.shape[0]}"
        )
    if y.shape[0] == 0:
        raise ValueError("`y_true` and `scores` are empty; pass at least one row.")
    labels = np.unique(y)
    if not np.isin(labels, [0, 1]).all():
        raise ValueError(
            f"`y_true` must contain only 0 and 1. Received labels: {labels[:10].tolist()}"
        )
    bad = int(np.count_nonzero(~np.isfinite(s)))
    if bad:
        raise ValueError(
            f"`scores` must be finite. Received: {bad} NaN or infinite values; "
            "drop or impute those rows first."
        )
    return y.astype(np.int64), s


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator) / float(denominator) if denominator else math.nan


def _counts_by_threshold(y: np.ndarray, s: np.ndarray):
    """True/false positive counts when flagging `s >= t`, for every distinct score t.

    Returns `(thresholds, tp, fp)`, thresholds in descending order, so
    `tp[i] + fp[i]` (the alerts) increases with `i`.
    """
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    tp_cum = np.cumsum(y[order])
    # The last row of each run of tied scores carries the counts for that threshold.
    last = np.flatnonzero(np.r_[s_sorted[1:] != s_sorted[:-1], True])
    tp = tp_cum[last]
    fp = last + 1 - tp
    return s_sorted[last], tp, fp


def _single_class(y: np.ndarray) -> bool:
    return y.min() == y.max()


def average_precision(y_true, scores) -> float:
    """Area under the precision-recall curve (average precision, AUPRC).

    Args:
        y_true: array of 0/1. True labels.
        scores: array of float. Higher means more likely positive.

    Returns:
        float. `sklearn.metrics.average_precision_score`, or `nan` when
        `y_true` holds a single class (the metric is undefined).
    """
    y, s = _validated(y_true, scores)
    if _single_class(y):
        return math.nan
    return float(metrics.average_precision_score(y, s))


auprc = average_precision


def roc_auc(y_true, scores) -> float:
    """Area under the ROC curve.

    Args:
        y_true: array of 0/1. True labels.
        scores: array of float. Higher means more likely positive.

    Returns:
        float. `sklearn.metrics.roc_auc_score`, or `nan` when `y_true` holds a
        single class.
    """
    y, s = _validated(y_true, scores)
    if _single_class(y):
        return math.nan
    return float(metrics.roc_auc_score(y, s))


def recall_at_precision(y_true, scores, precision: float) -> dict:
    """Best recall among thresholds whose precision reaches a target.

    Args:
        y_true: array of 0/1. True labels.
        scores: array of float. Higher means more likely positive.
        precision: float in (0, 1]. Minimum acceptable precision.

    Returns:
        dict with `recall`, `threshold` and the `precision` achieved there.
        Among thresholds with equal best recall the highest one is chosen.
        When no threshold reaches the target, `threshold` is `inf` (flag
        nothing), `recall` is 0.0 (`nan` without positives) and `precision`
        is `nan`.
    """
    if not 0.0 < precision <= 1.0:
        raise ValueError(f"`precision` must be in (0, 1]. Received: precision={precision}")
    y, s = _validated(y_true, scores)
    no_positives = not y.any()
    if no_positives:
        # Every flagged row is a false alert, so no threshold reaches any target.
        return {"recall": math.nan, "threshold": FLAG_NOTHING, "precision": math.nan}
    prec, rec, thresholds = metrics.precision_recall_curve(y, s)
    # The curve's last point (precision 1, recall 0) has no threshold.
    prec, rec = prec[:-1], rec[:-1]
    ok = np.flatnonzero(prec >= precision)
    if ok.size == 0:
        return {"recall": 0.0, "threshold": FLAG_NOTHING, "precision": math.nan}
    best_recall = rec[ok].max()
    # Thresholds ascend, so the last index with the best recall is the highest threshold.
    i = ok[rec[ok] == best_recall][-1]
    return {
        "recall": float(rec[i]),
        "threshold": float(thresholds[i]),
        "precision": float(prec[i]),
    }


def recall_at_budget(y_true, scores, budget: float) -> dict:
    """Recall and precision when only the top `budget` fraction of rows can be flagged.

    The budget is a capacity: at most `floor(budget * rows)` alerts. When
    tied scores straddle the cut, the threshold moves up so the whole tie is
    left out, so `alerts` can be below the capacity but never above it.

    Args:
        y_true: array of 0/1. True labels.
        scores: array of float. Higher means more likely positive.
        budget: float in (0, 1]. Fraction of rows that may be flagged, e.g.
            `0.01` for the top 1%.

    Returns:
        dict with `recall`, `precision`, `threshold` and `alerts` (rows
        flagged by `score >= threshold`). `threshold` is `inf` when not even
        one tie group fits the budget.
    """
    if not 0.0 < budget <= 1.0:
        raise ValueError(f"`budget` must be in (0, 1]. Received: budget={budget}")
    y, s = _validated(y_true, scores)
    # Rounding first keeps e.g. 0.29 * 100 = 28.999... from losing an alert.
    capacity = int(math.floor(round(budget * y.shape[0], 9)))
    thresholds, tp, fp = _counts_by_threshold(y, s)
    fits = np.flatnonzero(tp + fp <= capacity)
    positives = int(y.sum())
    if fits.size == 0:
        return {
            "recall": _ratio(0, positives),
            "precision": math.nan,
            "threshold": FLAG_NOTHING,
            "alerts": 0,
        }
    i = fits[-1]
    alerts = int(tp[i] + fp[i])
    return {
        "recall": _ratio(tp[i], positives),
        "precision": _ratio(tp[i], alerts),
        "threshold": float(thresholds[i]),
        "alerts": alerts,
    }


def _plural(count: int, singular: str) -> str:
    return f"{count} {singular}" + ("" if count == 1 else "s")


def _short(value: float) -> str:
    return str(round(float(value), 4))


def choose_threshold(
    y_true,
    scores,
    cost_fp: float,
    cost_fn: float,
    *,
    positive_name: str = "positive",
    split_name: str = "validation",
) -> dict:
    """Pick the threshold with the lowest total cost `cost_fp * FP + cost_fn * FN`.

    Candidates are every distinct score plus "flag nothing" (`inf`). Ties in
    cost go to the highest threshold, i.e. the fewest alerts. Runs in
    O(n log n) (one sort, cumulative sums), so a million rows take well under
    a second.

    Args:
        y_true: array of 0/1. True labels.
        scores: array of float. Higher means more likely positive.
        cost_fp: float >= 0. Cost of one false alert.
        cost_fn: float >= 0. Cost of one missed positive.
        positive_name: str. What a positive is called in `reason`, e.g.
            `"fraud"` gives "3 missed frauds". Defaults to `"positive"`.
        split_name: str. Which data the threshold was chosen on, for
            `reason`. Defaults to `"validation"`.

    Returns:
        dict with `threshold`, `expected_cost` (total over the rows),
        `cost_per_row`, `precision`, `recall`, `alerts` and `reason`, a
        sentence explaining the choice.
    """
    for name, value in (("cost_fp", cost_fp), ("cost_fn", cost_fn)):
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"`{name}` must be a finite number >= 0. Received: {name}={value}")
    y, s = _validated(y_true, scores)
    rows = y.shape[0]
    positives = int(y.sum())
    thresholds, tp, fp = _counts_by_threshold(y, s)
    # Index 0 is "flag nothing"; putting it first makes argmin prefer it on ties.
    thresholds = np.r_[FLAG_NOTHING, thresholds]
    tp = np.r_[0, tp]
    fp = np.r_[0, fp]
    fn = positives - tp
    cost = cost_fp * fp + cost_fn * fn
    i = int(np.argmin(cost))
    n_fp, n_fn, alerts = int(fp[i]), int(fn[i]), int(tp[i] + fp[i])
    total = float(cost[i])
    breakdown = (
        f"{_plural(n_fp, 'false alert')} x {_short(cost_fp)} + "
        f"{_plural(n_fn, 'missed ' + positive_name)} x {_short(cost_fn)} = {_short(total)}"
    )
    if i == 0:
        reason = (
            f"flagging nothing minimises expected cost on the {split_name} split: "
            f"{breakdown}; no threshold does better"
        )
    else:
        reason = (
            f"threshold {float(thresholds[i]):.4g} minimises expected cost on the "
            f"{split_name} split: {breakdown} (flag-nothing cost {_short(cost[0])})"
        )
    return {
        "threshold": float(thresholds[i]),
        "expected_cost": total,
        "cost_per_row": total / rows,
        "precision": _ratio(tp[i], alerts),
        "recall": _ratio(tp[i], positives),
        "alerts": alerts,
        "reason": reason,
    }


def confusion_at(y_true, scores, threshold: float) -> dict:
    """Confusion counts, precision and recall when flagging `score >= threshold`.

    Args:
        y_true: array of 0/1. True labels.
        scores: array of float. Higher means more likely positive.
        threshold: float. Rows scoring at or above it are flagged.

    Returns:
        dict with `tp`, `fp`, `tn`, `fn`, `precision` (`nan` with no alerts),
        `recall` (`nan` with no positives) and `alerts`.
    """
    y, s = _validated(y_true, scores)
    flagged = (s >= threshold).astype(np.int64)
    tn, fp, fn, tp = (int(v) for v in metrics.confusion_matrix(y, flagged, labels=[0, 1]).ravel())
    return {
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "alerts": tp + fp,
    }


def binary_report(
    y_true,
    scores,
    *,
    threshold: float,
    target_precision: float = 0.9,
    alert_budget: float = 0.01,
) -> dict:
    """All headline metrics for one split, as a JSON-ready dict.

    Args:
        y_true: array of 0/1. True labels.
        scores: array of float. Higher means more likely positive.
        threshold: float. The deployed operating threshold.
        target_precision: float in (0, 1]. Precision target for
            `recall_at_precision`. Defaults to `0.9`.
        alert_budget: float in (0, 1]. Fraction of rows that may be flagged
            for `recall_at_budget`. Defaults to `0.01`.

    Returns:
        dict with `auprc`, `roc_auc`, `positive_rate`, `rows`,
        `recall_at_precision` (plus its `target_precision`),
        `recall_at_budget` (plus its `budget`) and `at_threshold` (the
        `confusion_at` dict plus its `threshold`).
    """
    y, s = _validated(y_true, scores)
    return {
        "auprc": average_precision(y, s),
        "roc_auc": roc_auc(y, s),
        "positive_rate": float(y.mean()),
        "rows": int(y.shape[0]),
        "recall_at_precision": {
            "target_precision": float(target_precision),
            **recall_at_precision(y, s, target_precision),
        },
        "recall_at_budget": {"budget": float(alert_budget), **recall_at_budget(y, s, alert_budget)},
        "at_threshold": {"threshold": float(threshold), **confusion_at(y, s, threshold)},
    }


def pr_curve_table(y_true, scores, max_points: int = 200) -> pd.DataFrame:
    """Precision, recall and alert count at up to `max_points` thresholds.

    Points are spread half evenly over alert counts and half evenly over
    recall: with rare positives nearly all distinct scores sit in the
    low-precision tail, so spacing by rank alone would leave the useful
    high-threshold end with one or two points. The highest and lowest
    thresholds are always kept.

    Args:
        y_true: array of 0/1. True labels.
        scores: array of float. Higher means more likely positive.
        max_points: int >= 2. Upper bound on the number of rows. Defaults
            to `200`.

    Returns:
        `pandas.DataFrame` with columns `threshold`, `precision`, `recall`
        (`nan` without positives) and `alerts`, sorted by ascending threshold.
    """
    if int(max_points) != max_points or max_points < 2:
        raise ValueError(f"`max_points` must be an integer >= 2. Received: max_points={max_points}")
    y, s = _validated(y_true, scores)
    thresholds, tp, fp = _counts_by_threshold(y, s)
    alerts = tp + fp
    positives = int(y.sum())
    recall = tp / positives if positives else np.full(tp.shape, np.nan)
    m = thresholds.shape[0]
    if m > max_points:
        n_rank = max(2, max_points // 2)  # 2 keeps both end thresholds
        by_rank = np.linspace(0, m - 1, n_rank).round().astype(np.int64)
        if positives:
            grid = np.linspace(0.0, 1.0, max_points - n_rank)
            # First threshold at which recall reaches each grid value; recall ends at 1.
            by_recall = np.minimum(np.searchsorted(recall, grid, side="left"), m - 1)
        else:
            by_recall = np.empty(0, dtype=np.int64)
        keep = np.unique(np.r_[by_rank, by_recall])
    else:
        keep = np.arange(m)
    keep = keep[::-1]  # ascending threshold
    return pd.DataFrame(
        {
            "threshold": thresholds[keep],
            "precision": tp[keep] / alerts[keep],
            "recall": recall[keep],
            "alerts": alerts[keep].astype(np.int64),
        }
    )
