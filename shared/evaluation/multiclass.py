"""Metrics for multi-class classifiers, including a screening-style operating point.

Every function takes `y_true` (integer class ids `0..k-1`) and `probs`, an
`(n, k)` array of class probabilities (rows sum to 1, e.g. a softmax output).
Results are plain Python floats, ints and lists, so they go straight into
`json.dump`; undefined quantities are `nan`, as in `shared.evaluation.binary`.

Two operating points turn probabilities into decisions:

- **argmax** (the default): predict the most probable class.
- **abnormal threshold**: for screening, one class is "normal" and every other
  class is "abnormal". A case is flagged abnormal when
  `P(abnormal) = 1 - P(normal) >= threshold`; a flagged case is assigned the
  most probable abnormal class, an unflagged one the normal class. Choose the
  threshold on validation data with `choose_operating_point`.

Example:

```python
probs = model.predict(x_val)                      # (n, 3) softmax
point = choose_operating_point(y_val, probs, normal_class=0, target_sensitivity=0.95)
point["reason"]          # "threshold 0.21 on P(abnormal) = 1 - P(normal) is ..."
report = multiclass_report(y_test, model.predict(x_test), ["normal", "benign", "malignant"],
                           operating_point=point)
```
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from sklearn import metrics

# Softmax in float16 (mixed precision) sums to 1 only to about 1e-3.
_SUM_TOLERANCE = 1e-2


def _validated(y_true, probs) -> tuple[np.ndarray, np.ndarray]:
    """Return `(y_true, probs)` as int64 `(n,)` / float64 `(n, k)` arrays, or raise."""
    y = np.asarray(y_true)
    p = np.asarray(probs, dtype=np.float64)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(
            "`y_true` must be 1-D class ids and `probs` an (n, k) array with k >= 2. "
            f"Received: y_true.shape={y.shape}, probs.shape={p.shape}"
        )
    if y.shape[0] != p.shape[0]:
        raise ValueError(
            "`y_true` and `probs` must have the same number of rows. "
            f"Received: len(y_true)={y.shape[0]}, len(probs)={p.shape[0]}"
        )
    if y.shape[0] == 0:
        raise ValueError("`y_true` and `probs` are empty; pass at least one row.")
    if not np.issubdtype(y.dtype, np.integer):
        if not np.all(np.mod(y, 1) == 0):
            raise ValueError(f"`y_true` must hold integer class ids. Received: {y[:5].tolist()}")
    y = y.astype(np.int64)
    k = p.shape[1]
    if y.min() < 0 or y.max() >= k:
        raise ValueError(
            f"`y_true` must hold class ids in [0, {k - 1}] for {k} probability columns. "
            f"Received: min={int(y.min())}, max={int(y.max())}"
        )
    if not np.isfinite(p).all() or p.min() < 0 or p.max() > 1:
        raise ValueError(
            "`probs` must be finite probabilities in [0, 1]. "
            f"Received: min={np.nanmin(p):.4g}, max={np.nanmax(p):.4g}; apply a softmax to logits."
        )
    worst = float(np.abs(p.sum(axis=1) - 1.0).max())
    if worst > _SUM_TOLERANCE:
        raise ValueError(
            "Each row of `probs` must sum to 1 (a softmax output). "
            f"Received: a row summing to {1.0 + worst:.4g} or {1.0 - worst:.4g}; "
            "for independent sigmoid outputs evaluate each class with `shared.evaluation.binary`."
        )
    return y, p


def _checked_normal_class(normal_class: int, k: int) -> int:
    if int(normal_class) != normal_class or not 0 <= normal_class < k:
        raise ValueError(
            f"`normal_class` must be a class id in [0, {k - 1}]. "
            f"Received: normal_class={normal_class}"
        )
    return int(normal_class)


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator) / float(denominator) if denominator else math.nan


def _abnormal_scores(p: np.ndarray, normal_class: int) -> np.ndarray:
    return 1.0 - p[:, normal_class]


def _predict(p: np.ndarray, operating_point: dict | None) -> tuple[np.ndarray, dict]:
    """Predicted class ids and a JSON-ready description of the rule used."""
    if operating_point is None:
        return p.argmax(axis=1), {"rule": "argmax"}
    missing = [key for key in ("normal_class", "threshold") if key not in operating_point]
    if missing:
        raise ValueError(
            "`operating_point` must be None (argmax) or a dict with `normal_class` and "
            f"`threshold`, such as `choose_operating_point` returns. Missing: {missing}; "
            f"received keys: {sorted(operating_point)}"
        )
    normal = _checked_normal_class(operating_point["normal_class"], p.shape[1])
    threshold = float(operating_point["threshold"])
    abnormal_only = p.copy()
    abnormal_only[:, normal] = -np.inf
    flagged = _abnormal_scores(p, normal) >= threshold
    predicted = np.where(flagged, abnormal_only.argmax(axis=1), normal)
    return predicted, {"rule": "abnormal_threshold", "normal_class": normal, "threshold": threshold}


def multiclass_report(
    y_true, probs, class_names: list[str], operating_point: dict | None = None
) -> dict:
    """All headline multi-class metrics for one split, as a JSON-ready dict.

    Args:
        y_true: array of int, shape `(n,)`. True class ids in `[0, k)`.
        probs: array of float, shape `(n, k)`. Class probabilities.
        class_names: list[str] of length `k`. Names, in column order.
        operating_point: dict or None. How probabilities become decisions:
            `None` predicts the argmax; a dict with `normal_class` and
            `threshold` (e.g. the output of `choose_operating_point`; other
            keys are ignored) flags `1 - P(normal) >= threshold` as abnormal
            and assigns flagged cases their most probable abnormal class.
            Defaults to `None`.

    Returns:
        dict with `n`, `class_names`, `operating_point` (the rule used),
        `accuracy`, `balanced_accuracy` (mean sensitivity over classes
        present in `y_true`), `macro_f1` (scikit-learn's unweighted mean F1
        over the classes present in `y_true` or predicted), `macro_roc_auc` (mean of the defined per-class
        AUCs, `nan` if none is defined), `confusion_matrix` (list of lists,
        rows = true class, columns = predicted class) and `per_class`:
        class name -> `support`, `roc_auc` (one-vs-rest; `nan` when the class
        is absent from, or is the only class in, `y_true`), `sensitivity`
        (recall; `nan` when absent), `specificity` (`nan` when every row
        belongs to the class) and `f1` (0 when the class is neither present
        nor predicted).
    """
    y, p = _validated(y_true, probs)
    k = p.shape[1]
    if len(class_names) != k:
        raise ValueError(
            f"`class_names` must name all {k} probability columns. "
            f"Received: {len(class_names)} names: {list(class_names)!r}"
        )
    predicted, rule = _predict(p, operating_point)
    matrix = metrics.confusion_matrix(y, predicted, labels=np.arange(k))
    n = int(y.shape[0])
    per_class = {}
    for c, name in enumerate(class_names):
        is_c = y == c
        tp = int(matrix[c, c])
        fn = int(matrix[c].sum()) - tp
        fp = int(matrix[:, c].sum()) - tp
        tn = n - tp - fn - fp
        both = 0 < is_c.sum() < n
        per_class[str(name)] = {
            "support": int(is_c.sum()),
            "roc_auc": float(metrics.roc_auc_score(is_c, p[:, c])) if both else math.nan,
            "sensitivity": _ratio(tp, tp + fn),
            "specificity": _ratio(tn, tn + fp),
            "f1": float(2 * tp / (2 * tp + fp + fn)) if tp + fp + fn else 0.0,
        }
    aucs = [v["roc_auc"] for v in per_class.values() if not math.isnan(v["roc_auc"])]
    with warnings.catch_warnings():
        # sklearn warns when a predicted class is absent from y_true; such classes
        # are left out of the mean, which is what the docstring promises.
        warnings.simplefilter("ignore", UserWarning)
        balanced_accuracy = float(metrics.balanced_accuracy_score(y, predicted))
    macro_f1 = float(metrics.f1_score(y, predicted, average="macro", zero_division=0))
    return {
        "n": n,
        "class_names": [str(name) for name in class_names],
        "operating_point": rule,
        "accuracy": float(metrics.accuracy_score(y, predicted)),
        "balanced_accuracy": balanced_accuracy,
        "macro_f1": macro_f1,
        "macro_roc_auc": float(np.mean(aucs)) if aucs else math.nan,
        "confusion_matrix": matrix.astype(int).tolist(),
        "per_class": per_class,
    }


def _short(value: float) -> str:
    return f"{value:.3f}" if math.isfinite(value) else "undefined"


def choose_operating_point(
    y_true,
    probs,
    normal_class: int = 0,
    target_sensitivity: float = 0.9,
    *,
    split_name: str = "validation",
) -> dict:
    """Highest threshold on `P(abnormal) = 1 - P(normal)` reaching a target sensitivity.

    Abnormal means any class but `normal_class`, and a case is flagged when
    `P(abnormal) >= threshold`. Sensitivity only grows as the threshold
    falls, so the highest threshold that reaches the target is also the one
    with the best specificity among those that do. With `a` abnormal cases
    it is the `ceil(target * a)`-th largest abnormal score among them.

    Args:
        y_true: array of int, shape `(n,)`. True class ids.
        probs: array of float, shape `(n, k)`. Class probabilities.
        normal_class: int. Class id meaning "nothing found". Defaults to `0`.
        target_sensitivity: float in (0, 1]. Share of abnormal cases that
            must be flagged. Defaults to `0.9`.
        split_name: str. Which data the threshold is chosen on, for
            `reason`. Defaults to `"validation"`.

    Returns:
        dict with `normal_class`, `threshold`, `target_sensitivity`, the
        achieved `sensitivity` and `specificity` (`nan` without normal cases)
        and `reason`, a sentence explaining the choice. Pass it as
        `operating_point` to `multiclass_report`, or its `threshold` to
        `abnormal_report`.
    """
    if not 0.0 < target_sensitivity <= 1.0:
        raise ValueError(
            "`target_sensitivity` must be in (0, 1]. "
            f"Received: target_sensitivity={target_sensitivity}"
        )
    y, p = _validated(y_true, probs)
    normal = _checked_normal_class(normal_class, p.shape[1])
    scores = _abnormal_scores(p, normal)
    abnormal = y != normal
    n_abnormal, n_normal = int(abnormal.sum()), int((~abnormal).sum())
    if n_abnormal == 0:
        raise ValueError(
            f"`y_true` has no abnormal cases (every label is normal_class={normal}), so no "
            "threshold has a sensitivity; choose the operating point on a split with "
            "abnormal cases."
        )
    # Rounding first keeps e.g. 0.9 * 50 = 45.000000000000004 from asking for 46.
    needed = max(1, math.ceil(round(target_sensitivity * n_abnormal, 9)))
    threshold = float(np.sort(scores[abnormal])[::-1][needed - 1])
    flagged = scores >= threshold
    caught = int((flagged & abnormal).sum())
    false_alarms = int((flagged & ~abnormal).sum())
    sensitivity = caught / n_abnormal
    specificity = _ratio(n_normal - false_alarms, n_normal)
    reason = (
        f"threshold {threshold:.4g} on P(abnormal) = 1 - P(class {normal}) is the highest that "
        f"flags at least {target_sensitivity:.1%} of abnormal cases on the {split_name} split: "
        f"{caught} of {n_abnormal} abnormal flagged (sensitivity {sensitivity:.3f}), "
        f"{false_alarms} of {n_normal} normal falsely flagged (specificity {_short(specificity)})"
    )
    return {
        "normal_class": normal,
        "threshold": threshold,
        "target_sensitivity": float(target_sensitivity),
        "sensitivity": float(sensitivity),
        "specificity": specificity,
        "reason": reason,
    }


def abnormal_report(y_true, probs, normal_class: int, threshold: float) -> dict:
    """Screening metrics of "abnormal vs normal" at `1 - P(normal) >= threshold`.

    Abnormal means any class but `normal_class`; a flagged abnormal case
    counts as a true positive whichever abnormal class it belongs to.

    Args:
        y_true: array of int, shape `(n,)`. True class ids.
        probs: array of float, shape `(n, k)`. Class probabilities.
        normal_class: int. Class id meaning "nothing found".
        threshold: float. Cases with `P(abnormal) >= threshold` are flagged.

    Returns:
        dict with `normal_class`, `threshold`, `tp`, `fp`, `tn`, `fn`,
        `sensitivity`, `specificity`, `ppv` (precision; `nan` when nothing
        is flagged) and `npv` (`nan` when everything is flagged).
    """
    y, p = _validated(y_true, probs)
    normal = _checked_normal_class(normal_class, p.shape[1])
    flagged = (_abnormal_scores(p, normal) >= threshold).astype(np.int64)
    abnormal = (y != normal).astype(np.int64)
    counts = metrics.confusion_matrix(abnormal, flagged, labels=[0, 1]).ravel()
    tn, fp, fn, tp = (int(v) for v in counts)
    return {
        "normal_class": normal,
        "threshold": float(threshold),
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
        "sensitivity": _ratio(tp, tp + fn),
        "specificity": _ratio(tn, tn + fp),
        "ppv": _ratio(tp, tp + fp),
        "npv": _ratio(tn, tn + fn),
    }
