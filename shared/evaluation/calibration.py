"""Calibration: do predicted probabilities match observed frequencies?

Two cases share one interface, told apart by the shape of `probs`:

- **binary**, `probs` of shape `(n,)` or `(n, 1)`: the positive-class
  probability against the fraction of positives (`y_true` is 0/1);
- **multi-class**, `probs` of shape `(n, k)`: the top-label confidence
  `max_j p_j` against the accuracy of the argmax prediction (`y_true` holds
  class ids). Pass `np.column_stack([1 - p, p])` to get the top-label view
  of a binary model.

Predictions are grouped into bins by that probability. Bin membership
follows `sklearn.calibration.calibration_curve`, which computes the per-bin
values: bin `i` holds `edges[i] < p <= edges[i + 1]`, and the first bin also
holds `p == edges[0]`.

The expected calibration error is the count-weighted mean gap between
confidence and accuracy over the bins (Guo et al., "On Calibration of
Modern Neural Networks", ICML 2017):

    ECE = sum_b (n_b / n) * |accuracy_b - confidence_b|

Example:

```python
probs = model.predict(x_val)                         # (n, k) softmax
table = reliability(y_val, probs, n_bins=15)
expected_calibration_error(y_val, probs, n_bins=15)  # 0.0 is perfect
```
"""

from __future__ import annotations

import numpy as np
from sklearn.calibration import calibration_curve

from shared.evaluation import binary
from shared.evaluation.multiclass import _validated as _validated_class_probs

STRATEGIES = ("uniform", "quantile")


def _outcomes(y_true, probs) -> tuple[np.ndarray, np.ndarray, str]:
    """`(hit, confidence, kind)`: per-row 0/1 outcome and the probability binned for it."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim == 1 or (p.ndim == 2 and p.shape[1] == 1):
        y, p = binary._validated(y_true, p)
        if p.min() < 0 or p.max() > 1:
            raise ValueError(
                "`probs` must be probabilities in [0, 1]. "
                f"Received: min={p.min():.4g}, max={p.max():.4g}; apply a sigmoid to logits."
            )
        return y, p, "positive_class"
    y, p = _validated_class_probs(y_true, p)
    return (p.argmax(axis=1) == y).astype(np.int64), p.max(axis=1), "top_label"


def reliability(y_true, probs, n_bins: int = 10, strategy: str = "uniform") -> dict:
    """Per-bin mean confidence, observed accuracy and count: a reliability diagram's data.

    Args:
        y_true: array. 0/1 labels for binary `probs`, class ids for
            multi-class `probs`.
        probs: array of float, shape `(n,)` (positive-class probability) or
            `(n, k)` (class probabilities).
        n_bins: int >= 1. Number of bins. Defaults to `10`.
        strategy: str. `"uniform"` splits [0, 1] into equal-width bins;
            `"quantile"` puts about the same number of rows in each bin.
            Defaults to `"uniform"`.

    Returns:
        dict with `kind` (`"positive_class"` or `"top_label"`), `bin_edges`
        (`n_bins + 1` floats), and per bin `confidence` (mean binned
        probability), `accuracy` (fraction of positives, or of correct
        argmax predictions) and `counts`. Empty bins have count 0 and `nan`
        confidence and accuracy. All values are plain lists.
    """
    if int(n_bins) != n_bins or n_bins < 1:
        raise ValueError(f"`n_bins` must be an integer >= 1. Received: n_bins={n_bins}")
    if strategy not in STRATEGIES:
        raise ValueError(f"`strategy` must be one of {STRATEGIES}. Received: strategy={strategy!r}")
    n_bins = int(n_bins)
    hit, confidence, kind = _outcomes(y_true, probs)
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        # Written exactly as sklearn does, so floating-point edges (and so counts) agree.
        edges = np.percentile(confidence, np.linspace(0, 1, n_bins + 1) * 100)
    # The same bin assignment calibration_curve uses internally; it reports non-empty bins only.
    counts = np.bincount(np.searchsorted(edges[1:-1], confidence), minlength=n_bins)
    accuracy, mean_confidence = calibration_curve(hit, confidence, n_bins=n_bins, strategy=strategy)
    filled = counts > 0
    per_bin_accuracy = np.full(n_bins, np.nan)
    per_bin_confidence = np.full(n_bins, np.nan)
    per_bin_accuracy[filled] = accuracy
    per_bin_confidence[filled] = mean_confidence
    return {
        "kind": kind,
        "bin_edges": edges.tolist(),
        "confidence": per_bin_confidence.tolist(),
        "accuracy": per_bin_accuracy.tolist(),
        "counts": counts.astype(int).tolist(),
    }


def expected_calibration_error(y_true, probs, n_bins: int = 10, strategy: str = "uniform") -> float:
    """Count-weighted mean `|accuracy - confidence|` over the bins of `reliability`.

    Top-label ECE for `(n, k)` probabilities; for 1-D probabilities it is
    the ECE of the positive-class probability.

    Args:
        y_true: array. 0/1 labels for binary `probs`, class ids for
            multi-class `probs`.
        probs: array of float, shape `(n,)` or `(n, k)`.
        n_bins: int >= 1. Number of bins. Defaults to `10`.
        strategy: str. `"uniform"` or `"quantile"`, as in `reliability`.
            Defaults to `"uniform"`.

    Returns:
        float in [0, 1]; 0 means perfectly calibrated at this binning.
    """
    table = reliability(y_true, probs, n_bins=n_bins, strategy=strategy)
    counts = np.asarray(table["counts"], dtype=np.float64)
    filled = counts > 0
    gaps = np.abs(np.asarray(table["accuracy"])[filled] - np.asarray(table["confidence"])[filled])
    return float(np.sum(counts[filled] * gaps) / counts.sum())
