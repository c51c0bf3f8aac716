"""Is model A better than model B on this test set, or is the gap within sampling noise?

Two models scored on the same test images differ by some amount in mIoU or
mAP; a few hundred images leave that number uncertain. `paired_bootstrap`
resamples the test images with replacement (the same images for both
models, so the comparison is paired) through `scipy.stats.bootstrap` and
reports the percentile confidence interval of the difference. An interval
above zero means A's lead survives resampling of the test set; it says
nothing about the variation from retraining with other seeds.

Corpus-level metrics do not decompose into a mean over images, so the
statistic is recomputed on each resample: `miou_statistic` sums per-image
confusion matrices, and `shared.evaluation.detection.CocoResampler` reruns
pycocotools' accumulation over resampled per-image matches.

Example:

```python
report = paired_bootstrap(miou_statistic(conf_transfer, conf_scratch, names), len(conf_transfer), n_resamples=1000)
report["ci_low"] > 0  # the transfer model's lead holds on resampled test sets
```
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def paired_bootstrap(statistic: Callable[[np.ndarray], float], n_items: int, n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0) -> dict:
    """Percentile bootstrap interval of `statistic(indices)` over resampled test items.

    Args:
        statistic: callable. `statistic(indices)` -> float, e.g. the metric of
            model A minus that of model B on the test items `indices` (int
            array, repeats allowed).
        n_items: int. Number of test items, at least 2.
        n_resamples: int. Bootstrap resamples. Defaults to 1000.
        confidence: float. Confidence level of the interval. Defaults to 0.95.
        seed: int. Seed of the resampling.

    Returns:
        JSON-ready dict: `difference` (the statistic on the whole test set),
        `ci_low`, `ci_high`, `confidence`, `resamples`, `items` and
        `share_above_zero` (the fraction of resamples where the statistic is
        above zero).
    """
    from scipy import stats

    if isinstance(n_items, bool) or not isinstance(n_items, int | np.integer) or n_items < 2:
        raise ValueError(f"a bootstrap needs at least 2 test items. Received: n_items={n_items!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"`confidence` must be in (0, 1). Received: {confidence!r}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 1:
        raise ValueError(f"`n_resamples` must be a positive integer. Received: {n_resamples!r}")
    items = np.arange(int(n_items))
    result = stats.bootstrap(
        (items,),
        lambda indices: float(statistic(np.asarray(indices, dtype=np.int64))),
        vectorized=False,
        n_resamples=n_resamples,
        confidence_level=confidence,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    distribution = np.asarray(result.bootstrap_distribution, dtype=np.float64)
    return {
        "difference": round(float(statistic(items)), 4),
        "ci_low": round(float(result.confidence_interval.low), 4),
        "ci_high": round(float(result.confidence_interval.high), 4),
        "confidence": confidence,
        "resamples": n_resamples,
        "items": int(n_items),
        "share_above_zero": round(float((distribution > 0).mean()), 4),
    }


def miou_statistic(confusions_a, confusions_b, class_names) -> Callable[[np.ndarray], float]:
    """`indices -> mIoU(A) - mIoU(B)` from per-image confusion matrices `(n, C, C)` of the two models."""
    from shared.evaluation.semantic import iou_report

    a, b = np.asarray(confusions_a), np.asarray(confusions_b)
    if a.shape != b.shape or a.ndim != 3 or a.shape[1] != a.shape[2]:
        raise ValueError(f"both models need per-image (n, C, C) confusion matrices of one shape. Received: {a.shape} and {b.shape}")

    def statistic(indices: np.ndarray) -> float:
        return float(iou_report(a[indices].sum(0), class_names)["miou"] or 0.0) - float(iou_report(b[indices].sum(0), class_names)["miou"] or 0.0)

    return statistic


def verdict(report: dict, better: str, worse: str, metric: str) -> str:
    """One line: the difference, its interval, and whether `better` leads beyond resampling noise."""
    low, high, level = report["ci_low"], report["ci_high"], round(report["confidence"] * 100)
    span = f"{metric} {better} - {worse} = {report['difference']:+.3f} ({level}% CI {low:+.3f} to {high:+.3f}, {report['resamples']} resamples of {report['items']} test images)"
    if low > 0:
        return f"{span}: {better} is better"
    if high < 0:
        return f"{span}: {worse} is better"
    return f"{span}: no clear difference"
