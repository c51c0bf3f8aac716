"""Overlap metrics for binary segmentation masks: Dice and IoU per image.

Masks come as a batch whose first axis is the image, e.g. `(n, H, W)` or
`(n, H, W, 1)`; pass `mask[None]` for a single image. Values must lie in
[0, 1]: probability maps and soft (resized) masks are binarised with
`value >= threshold` (0.5 by default), true masks included.

Conventions:

- Dice = `2 |T ∩ P| / (|T| + |P|)` and IoU = `|T ∩ P| / |T ∪ P|`, per image.
- **Empty-both convention**: an image where neither the true nor the
  predicted mask has any foreground scores 1.0 for both metrics (a correct
  "nothing here"), instead of the undefined 0/0. A lesion-free image with
  any predicted foreground scores 0.0.
- `eps` (default 0, exact) is added to numerator and denominator, as in a
  smoothed Dice loss, for comparison with training-time numbers.

Because empty-both images score 1.0, a test set with many lesion-free images
inflates the mean; `segmentation_report` therefore also gives the mean Dice
over images that contain a lesion.

Example:

```python
probs = model.predict(images)[..., 0]          # (n, H, W) sigmoid
segmentation_report(masks, probs)["dice_lesion_images_only"]
dice(masks, probs, reduction="mean")
```
"""

from __future__ import annotations

import math

import numpy as np

REDUCTIONS = ("none", "mean")


def _binarised(y_true_mask, y_pred_mask, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Both masks as boolean `(n, pixels)` arrays, or raise."""
    t = np.asarray(y_true_mask, dtype=np.float64)
    p = np.asarray(y_pred_mask, dtype=np.float64)
    if t.shape != p.shape:
        raise ValueError(
            "`y_true_mask` and `y_pred_mask` must have the same shape. "
            f"Received: {t.shape} and {p.shape}"
        )
    if t.ndim < 2 or t.shape[0] == 0:
        raise ValueError(
            "Masks must be a non-empty batch (n, H, W) or (n, H, W, 1); use `mask[None]` for "
            f"one image. Received: shape={t.shape}"
        )
    for name, values in (("y_true_mask", t), ("y_pred_mask", p)):
        if not np.isfinite(values).all() or values.min() < 0 or values.max() > 1:
            raise ValueError(
                f"`{name}` must hold values in [0, 1]. Received: min={np.nanmin(values):.4g}, "
                f"max={np.nanmax(values):.4g}; divide 0-255 masks by 255 first."
            )
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"`threshold` must be in (0, 1]. Received: threshold={threshold}")
    n = t.shape[0]
    return (t >= threshold).reshape(n, -1), (p >= threshold).reshape(n, -1)


def _reduced(per_image: np.ndarray, reduction: str):
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"`reduction` must be one of {REDUCTIONS}. Received: reduction={reduction!r}"
        )
    return float(per_image.mean()) if reduction == "mean" else per_image


def _overlap(numerator: np.ndarray, denominator: np.ndarray, eps: float) -> np.ndarray:
    if not (math.isfinite(eps) and eps >= 0):
        raise ValueError(f"`eps` must be a finite number >= 0. Received: eps={eps}")
    empty_both = denominator == 0
    # Empty-both images are 1.0 by convention; the `where` keeps 0/0 from warning.
    return np.divide(numerator + eps, denominator + eps, out=np.ones(numerator.shape),
                     where=~empty_both)


def dice(y_true_mask, y_pred_mask, eps: float = 0.0, *, threshold: float = 0.5,
         reduction: str = "none"):
    """Dice coefficient (F1 of foreground pixels) per image.

    Args:
        y_true_mask: array of shape `(n, ...)` with values in [0, 1]. True masks.
        y_pred_mask: array of the same shape. Predicted masks or probabilities.
        eps: float >= 0. Smoothing added to numerator and denominator.
            Defaults to `0.0` (exact).
        threshold: float in (0, 1]. Pixels `>= threshold` are foreground, in
            both masks. Defaults to `0.5`.
        reduction: str. `"none"` returns one score per image, `"mean"`
            their mean. Defaults to `"none"`.

    Returns:
        `np.ndarray` of shape `(n,)` (float64), or a float for `"mean"`.
        Images with no foreground in either mask score 1.0.
    """
    t, p = _binarised(y_true_mask, y_pred_mask, threshold)
    intersection = (t & p).sum(axis=1).astype(np.float64)
    total = (t.sum(axis=1) + p.sum(axis=1)).astype(np.float64)
    return _reduced(_overlap(2.0 * intersection, total, eps), reduction)


def iou(y_true_mask, y_pred_mask, eps: float = 0.0, *, threshold: float = 0.5,
        reduction: str = "none"):
    """Intersection over union (Jaccard index) of foreground pixels per image.

    Args:
        y_true_mask: array of shape `(n, ...)` with values in [0, 1]. True masks.
        y_pred_mask: array of the same shape. Predicted masks or probabilities.
        eps: float >= 0. Smoothing added to numerator and denominator.
            Defaults to `0.0` (exact).
        threshold: float in (0, 1]. Pixels `>= threshold` are foreground, in
            both masks. Defaults to `0.5`.
        reduction: str. `"none"` returns one score per image, `"mean"`
            their mean. Defaults to `"none"`.

    Returns:
        `np.ndarray` of shape `(n,)` (float64), or a float for `"mean"`.
        Images with no foreground in either mask score 1.0.
    """
    t, p = _binarised(y_true_mask, y_pred_mask, threshold)
    intersection = (t & p).sum(axis=1).astype(np.float64)
    union = (t | p).sum(axis=1).astype(np.float64)
    return _reduced(_overlap(intersection, union, eps), reduction)


def segmentation_report(masks_true, probs_pred, threshold: float = 0.5) -> dict:
    """Headline segmentation metrics for one split, as a JSON-ready dict.

    Args:
        masks_true: array of shape `(n, ...)` with values in [0, 1]. True masks.
        probs_pred: array of the same shape. Predicted foreground probabilities.
        threshold: float in (0, 1]. Binarisation threshold for both. Defaults
            to `0.5`.

    Returns:
        dict with `dice` and `iou` (means over all images, empty-both images
        counting 1.0), `dice_lesion_images_only` (mean Dice over images whose
        true mask has foreground; `nan` when there are none), `n_images` and
        `n_lesion_images`.
    """
    per_image_dice = dice(masks_true, probs_pred, threshold=threshold)
    per_image_iou = iou(masks_true, probs_pred, threshold=threshold)
    t, _ = _binarised(masks_true, probs_pred, threshold)
    lesion = t.any(axis=1)
    lesion_dice = float(per_image_dice[lesion].mean()) if lesion.any() else math.nan
    return {
        "dice": float(per_image_dice.mean()),
        "iou": float(per_image_iou.mean()),
        "dice_lesion_images_only": lesion_dice,
        "n_images": int(t.shape[0]),
        "n_lesion_images": int(lesion.sum()),
    }
