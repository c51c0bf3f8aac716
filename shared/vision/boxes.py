"""Numpy utilities for axis-aligned bounding boxes.

Boxes are float32 arrays of shape `(..., 4)` in pixels, ordered
`(x_min, y_min, x_max, y_max)` ("xyxy"), unless a function says otherwise.
COCO annotations store `(x_min, y_min, width, height)` ("xywh");
`xywh_to_xyxy` and `xyxy_to_xywh` convert between the two.

Example:

```python
boxes = xywh_to_xyxy([[10, 20, 30, 40]])        # [[10, 20, 40, 60]]
validate_boxes(boxes, height=64, width=64, where="image 7")
pairwise_iou(boxes, boxes)                       # [[1.0]]
```
"""

from __future__ import annotations

import numpy as np

from shared.errors import DataError


def _as_boxes(boxes, name: str = "boxes") -> np.ndarray:
    """`boxes` as a float32 array of shape `(..., 4)`, or raise `ValueError`."""
    array = np.asarray(boxes, dtype=np.float32)
    if array.size == 0 and array.ndim <= 1:
        return array.reshape(0, 4)
    if array.ndim == 0 or array.shape[-1] != 4:
        raise ValueError(f"`{name}` must have shape (..., 4). Received: {name}.shape={array.shape}")
    return array


def xywh_to_xyxy(boxes) -> np.ndarray:
    """Converts COCO `(x_min, y_min, width, height)` boxes to xyxy.

    Args:
        boxes: array-like of shape `(..., 4)` in xywh.

    Returns:
        float32 array of the same shape in xyxy.
    """
    b = _as_boxes(boxes)
    return np.concatenate([b[..., :2], b[..., :2] + b[..., 2:]], axis=-1)


def xyxy_to_xywh(boxes) -> np.ndarray:
    """Converts xyxy boxes to COCO `(x_min, y_min, width, height)`.

    Args:
        boxes: array-like of shape `(..., 4)` in xyxy.

    Returns:
        float32 array of the same shape in xywh.
    """
    b = _as_boxes(boxes)
    return np.concatenate([b[..., :2], b[..., 2:] - b[..., :2]], axis=-1)


def clip_boxes(boxes, height, width) -> np.ndarray:
    """Clips xyxy boxes to the image `[0, width] x [0, height]`.

    Args:
        boxes: array-like of shape `(..., 4)` in xyxy pixels.
        height: number. Image height in pixels.
        width: number. Image width in pixels.

    Returns:
        float32 array of the same shape. A box wholly outside the image
        collapses to zero area on the border.
    """
    b = _as_boxes(boxes)
    upper = np.array([width, height, width, height], dtype=np.float32)
    return np.clip(b, 0.0, upper)


def box_areas(boxes) -> np.ndarray:
    """Areas of xyxy boxes; inverted boxes count as zero area.

    Args:
        boxes: array-like of shape `(..., 4)` in xyxy.

    Returns:
        float32 array of shape `(...)`.
    """
    b = _as_boxes(boxes)
    return np.maximum(b[..., 2] - b[..., 0], 0.0) * np.maximum(b[..., 3] - b[..., 1], 0.0)


def pairwise_iou(boxes_a, boxes_b) -> np.ndarray:
    """Intersection over union of every pair of boxes from two sets.

    Args:
        boxes_a: array-like of shape `(N, 4)` in xyxy.
        boxes_b: array-like of shape `(M, 4)` in xyxy.

    Returns:
        float32 array of shape `(N, M)`. Pairs whose union is empty (two
        zero-area boxes) score 0.
    """
    a = _as_boxes(boxes_a, "boxes_a").reshape(-1, 4)
    b = _as_boxes(boxes_b, "boxes_b").reshape(-1, 4)
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    overlap = np.clip(bottom_right - top_left, 0.0, None)
    intersection = overlap[..., 0] * overlap[..., 1]
    union = box_areas(a)[:, None] + box_areas(b)[None, :] - intersection
    return np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)


def validate_boxes(boxes, height, width, tolerance: float = 1.0, where: str = "") -> np.ndarray:
    """Checks that ground-truth boxes are usable for training, or raises `DataError`.

    Annotation tools often leave boxes a pixel or so past the border, so
    coordinates up to `tolerance` pixels outside the image pass (clip them
    with `clip_boxes`); anything further out, any non-finite coordinate and
    any box with zero or negative width or height is a data error, reported
    on one line naming `where` and the first offending box.

    Args:
        boxes: array-like of shape `(N, 4)` in xyxy pixels. `N` may be 0.
        height: number. Image height in pixels.
        width: number. Image width in pixels.
        tolerance: float >= 0. Pixels a coordinate may lie outside the image.
            Defaults to `1.0`.
        where: str. What the boxes belong to (a file name, an image id), for
            the message. Defaults to `""`.

    Returns:
        The boxes as a float32 array of shape `(N, 4)`.
    """
    prefix = f"{where}: " if where else ""
    try:
        b = _as_boxes(boxes)
    except ValueError as exc:
        raise DataError(f"{prefix}{exc}") from None
    if b.ndim != 2:
        raise DataError(f"{prefix}boxes must have shape (N, 4). Received: shape={b.shape}")
    for i, box in enumerate(b):
        shown = "(" + ", ".join(f"{v:g}" for v in box) + ")"
        if not np.isfinite(box).all():
            raise DataError(f"{prefix}box {i} {shown} has a non-finite coordinate")
        x_min, y_min, x_max, y_max = (float(v) for v in box)
        if x_max <= x_min or y_max <= y_min:
            raise DataError(f"{prefix}box {i} {shown} has zero or negative area (expected x_min < x_max and y_min < y_max)")
        if x_min < -tolerance or y_min < -tolerance or x_max > width + tolerance or y_max > height + tolerance:
            raise DataError(
                f"{prefix}box {i} {shown} lies outside the {width:g}x{height:g} (width x height) image "
                f"by more than {tolerance:g} px"
            )
    return b


def scale_boxes(boxes, from_hw, to_hw) -> np.ndarray:
    """Rescales xyxy boxes for an image resized from `from_hw` to `to_hw`.

    Args:
        boxes: array-like of shape `(..., 4)` in xyxy pixels of the original image.
        from_hw: `(height, width)` of the original image.
        to_hw: `(height, width)` of the resized image.

    Returns:
        float32 array of the same shape in pixels of the resized image.
    """
    b = _as_boxes(boxes)
    (from_h, from_w), (to_h, to_w) = from_hw, to_hw
    if min(from_h, from_w, to_h, to_w) <= 0:
        raise ValueError(f"Image sizes must be positive. Received: from_hw={tuple(from_hw)}, to_hw={tuple(to_hw)}")
    sx, sy = to_w / from_w, to_h / from_h
    return b * np.array([sx, sy, sx, sy], dtype=np.float32)
