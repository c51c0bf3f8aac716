"""Multi-class semantic segmentation metrics from a pixel confusion matrix.

Everything derives from one `(C, C)` confusion matrix whose rows are the
true class and columns the predicted class (scikit-learn's convention).
It is accumulated with one `np.bincount` per batch, so a whole test set is
cheap to stream through `ConfusionAccumulator`. Pixels whose true label is
`ignore_index` (255 by default, the PASCAL VOC / Cityscapes "void") are
left out.

- IoU of class c = `TP / (TP + FP + FN)`.
- A class that appears neither in the truth nor in the predictions has no
  IoU (`None`) and is left out of the mean, instead of counting 0 or 1.

Example:

```python
accumulator = ConfusionAccumulator(num_classes=3)
for images, labels in dataset:
    accumulator.update(labels, model.predict(images))   # logits are arg-maxed
accumulator.report(["background", "road", "car"])["miou"]
```
"""

from __future__ import annotations

import numpy as np


def _check_num_classes(num_classes) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"`num_classes` must be a positive integer. Received: num_classes={num_classes!r}")
    return int(num_classes)


def confusion_from_labels(y_true, y_pred, num_classes: int, ignore_index: int | None = 255) -> np.ndarray:
    """Pixel confusion matrix of predicted against true class labels.

    Args:
        y_true: int array of any shape, e.g. `(n, H, W)`. True class ids in
            `[0, num_classes)` or `ignore_index`.
        y_pred: int array of the same shape. Predicted class ids in
            `[0, num_classes)`; its value at ignored pixels does not matter.
        num_classes: int. Number of classes `C`.
        ignore_index: int or `None`. True label of pixels to leave out.
            Defaults to `255`.

    Returns:
        int64 array of shape `(C, C)`; entry `[i, j]` counts pixels of true
        class `i` predicted as class `j`.
    """
    num_classes = _check_num_classes(num_classes)
    t = np.asarray(y_true)
    p = np.asarray(y_pred)
    if t.shape != p.shape:
        raise ValueError(f"`y_true` and `y_pred` must have the same shape. Received: {t.shape} and {p.shape}")
    t = t.reshape(-1)
    p = p.reshape(-1)
    if ignore_index is not None:
        keep = t != ignore_index
        t, p = t[keep], p[keep]
    for name, values in (("y_true", t), ("y_pred", p)):
        if values.size and not np.issubdtype(values.dtype, np.integer):
            if not np.all(values == np.round(values)):
                raise ValueError(f"`{name}` must hold integer class ids. Received dtype={values.dtype} with fractional values")
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(
                f"`{name}` must hold class ids in [0, {num_classes}) (or `ignore_index`={ignore_index} in y_true). "
                f"Received: min={values.min()}, max={values.max()}"
            )
    codes = t.astype(np.int64) * num_classes + p.astype(np.int64)
    return np.bincount(codes, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def iou_report(confusion, class_names) -> dict:
    """Mean IoU and related scores from a confusion matrix.

    Args:
        confusion: array of shape `(C, C)`, rows true and columns predicted,
            e.g. from `confusion_from_labels`.
        class_names: sequence of `C` str.

    Returns:
        JSON-ready dict: `miou`, the mean IoU over classes present in the
        truth or the predictions; `iou_per_class`, class name to IoU or
        `None` for a class absent from both; `pixel_accuracy`, the fraction
        of counted pixels predicted right; `frequency_weighted_iou`, IoU
        weighted by each class's share of true pixels; and `pixels`, the
        number counted. The three scores are `None` when no pixel was
        counted.
    """
    confusion = np.asarray(confusion, dtype=np.float64)
    class_names = [str(name) for name in class_names]
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
        raise ValueError(f"`confusion` must be a square (C, C) matrix. Received: shape={confusion.shape}")
    if len(class_names) != confusion.shape[0]:
        raise ValueError(f"`class_names` must name each of the {confusion.shape[0]} classes. Received: {len(class_names)} names")
    tp = np.diag(confusion)
    true_pixels = confusion.sum(axis=1)
    predicted_pixels = confusion.sum(axis=0)
    union = true_pixels + predicted_pixels - tp
    present = union > 0
    iou = np.divide(tp, union, out=np.zeros_like(tp), where=present)
    total = confusion.sum()
    if total == 0:
        return {
            "miou": None,
            "iou_per_class": dict.fromkeys(class_names),
            "pixel_accuracy": None,
            "frequency_weighted_iou": None,
            "pixels": 0,
        }
    return {
        "miou": float(iou[present].mean()),
        "iou_per_class": {name: (float(iou[c]) if present[c] else None) for c, name in enumerate(class_names)},
        "pixel_accuracy": float(tp.sum() / total),
        "frequency_weighted_iou": float(np.sum(true_pixels / total * iou)),
        "pixels": int(total),
    }


class ConfusionAccumulator:
    """Streams batches of label maps into one confusion matrix.

    Args:
        num_classes: int. Number of classes `C`.
        ignore_index: int or `None`. True label of pixels to leave out.
            Defaults to `255`.
    """

    def __init__(self, num_classes: int, ignore_index: int | None = 255):
        self.num_classes = _check_num_classes(num_classes)
        self.ignore_index = ignore_index
        self.reset()

    def reset(self) -> None:
        """Forgets every batch seen so far."""
        self.confusion = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)

    def update(self, y_true_batch, y_pred_batch) -> np.ndarray:
        """Adds one batch.

        Args:
            y_true_batch: int array of shape `(n, H, W)` (or any shape; a
                trailing axis of size 1 is dropped when `y_pred_batch` holds
                scores).
            y_pred_batch: int array of the same shape, or scores (logits or
                probabilities) of shape `(*y_true_batch.shape, C)`, which are
                arg-maxed over the last axis.

        Returns:
            The batch's own `(C, C)` confusion matrix.
        """
        y_true = np.asarray(y_true_batch)
        y_pred = np.asarray(y_pred_batch)
        if y_true.ndim and y_true.shape[-1] == 1 and y_pred.shape[:-1] == y_true.shape[:-1] and y_pred.shape[-1] == self.num_classes > 1:
            y_true = y_true[..., 0]  # (n, H, W, 1) labels against (n, H, W, C) scores
        if y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == self.num_classes:
            y_pred = np.argmax(y_pred, axis=-1)
        batch = confusion_from_labels(y_true, y_pred, self.num_classes, self.ignore_index)
        self.confusion += batch
        return batch

    def report(self, class_names) -> dict:
        """`iou_report` of everything added so far.

        Args:
            class_names: sequence of `C` str.
        """
        return iou_report(self.confusion, class_names)
