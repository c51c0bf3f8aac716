"""COCO-style mean average precision for object detection, via pycocotools.

The numbers are the official COCO ones (101-point interpolated precision,
IoU thresholds 0.50:0.05:0.95, at most 100 detections per image, area
ranges small < 32² <= medium < 96² <= large pixels), computed by
`pycocotools.cocoeval.COCOeval` on ground truth and detections held in
memory, so no JSON files are written.

Boxes are xyxy pixels, labels are class indices into `class_names`.

Example:

```python
ground_truth = [(np.array([[10, 10, 50, 60]]), np.array([0]))]
detections = [(np.array([[12, 11, 50, 58]]), np.array([0.9]), np.array([0]))]
coco_evaluate(ground_truth, detections, ["cat"])["map_50"]   # 1.0
```
"""

from __future__ import annotations

import contextlib
import io

import numpy as np

# Indices into `COCOeval.stats` after `summarize()`.
_STATS = {"map": 0, "map_50": 1, "map_75": 2, "map_small": 3, "map_medium": 4, "map_large": 5, "mar_100": 8}


def _checked(boxes, labels, num_classes: int, what: str, scores=None):
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4) if np.size(boxes) else np.zeros((0, 4))
    labels = np.asarray(labels).reshape(-1)
    if labels.shape[0] != boxes.shape[0]:
        raise ValueError(f"{what}: {boxes.shape[0]} boxes but {labels.shape[0]} labels")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes or not np.all(labels == np.round(labels))):
        raise ValueError(f"{what}: labels must be integers in [0, {num_classes}). Received: min={labels.min()}, max={labels.max()}")
    if not np.isfinite(boxes).all():
        raise ValueError(f"{what}: boxes must be finite")
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        if scores.shape[0] != boxes.shape[0] or not np.isfinite(scores).all():
            raise ValueError(f"{what}: need one finite score per box. Received: {scores.shape[0]} scores, {boxes.shape[0]} boxes")
    return boxes, labels.astype(np.int64), scores


def _xywh(box) -> list[float]:
    x_min, y_min, x_max, y_max = (float(v) for v in box)
    return [x_min, y_min, x_max - x_min, y_max - y_min]


def _rounded(value):
    value = float(value)
    return None if value < 0 else round(value, 4)  # COCOeval reports -1 where nothing was there to score


def _evaluated(ground_truth, detections, class_names: list[str], image_sizes=None):
    """COCOeval after `evaluate()` (per-image matching), and the counts of images, boxes and detections."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if len(ground_truth) != len(detections):
        raise ValueError(
            "`ground_truth` and `detections` must have one entry per image. "
            f"Received: {len(ground_truth)} and {len(detections)} images"
        )
    if image_sizes is not None and len(image_sizes) != len(ground_truth):
        raise ValueError(f"`image_sizes` must have one (height, width) per image. Received: {len(image_sizes)} for {len(ground_truth)} images")
    if not class_names:
        raise ValueError("`class_names` must not be empty.")

    images, annotations, results = [], [], []
    for index, ((gt_boxes, gt_labels), (dt_boxes, dt_scores, dt_labels)) in enumerate(zip(ground_truth, detections)):
        image_id = index + 1
        record = {"id": image_id}
        if image_sizes is not None:
            record["height"], record["width"] = (int(v) for v in image_sizes[index])
        images.append(record)
        gt_boxes, gt_labels, _ = _checked(gt_boxes, gt_labels, len(class_names), f"ground truth of image {index}")
        for box, label in zip(gt_boxes, gt_labels):
            bbox = _xywh(box)
            # Annotation ids start at 1: COCOeval treats id 0 as "unmatched".
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "category_id": int(label) + 1,
                "bbox": bbox, "area": max(bbox[2], 0.0) * max(bbox[3], 0.0), "iscrowd": 0,
            })
        dt_boxes, dt_labels, dt_scores = _checked(dt_boxes, dt_labels, len(class_names), f"detections of image {index}", dt_scores)
        for box, score, label in zip(dt_boxes, dt_scores, dt_labels):
            results.append({"image_id": image_id, "category_id": int(label) + 1, "bbox": _xywh(box), "score": float(score)})

    categories = [{"id": i + 1, "name": name} for i, name in enumerate(class_names)]
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = {"images": images, "annotations": annotations, "categories": categories}
        coco_gt.createIndex()
        if results:
            coco_dt = coco_gt.loadRes(results)
        else:
            # `loadRes` fails on an empty list; an empty result set scores 0 for every class with ground truth.
            coco_dt = COCO()
            coco_dt.dataset = {"images": images, "annotations": [], "categories": categories}
            coco_dt.createIndex()
        evaluator = COCOeval(coco_gt, coco_dt, "bbox")
        evaluator.evaluate()
    return evaluator, {"images": len(images), "ground_truth_boxes": len(annotations), "detections": len(results)}


def coco_evaluate(ground_truth, detections, class_names, image_sizes=None) -> dict:
    """COCO box mAP (and per-class AP) of a detector on one split.

    Args:
        ground_truth: list with one `(boxes, labels)` per image: boxes of
            shape `(N, 4)` xyxy pixels, labels int `(N,)` in
            `[0, len(class_names))`. `N` may be 0.
        detections: list with one `(boxes, scores, labels)` per image, in
            the same image order: boxes `(M, 4)` xyxy pixels, scores `(M,)`,
            labels int `(M,)`. `M` may be 0. Only the 100 best-scoring
            detections of an image count, as in COCO.
        class_names: sequence of str, one per class index.
        image_sizes: optional list of `(height, width)` per image, stored
            in the COCO image records. Box AP does not depend on it.

    Returns:
        JSON-ready dict: `map` (AP@[.50:.95]), `map_50`, `map_75`,
        `map_small`, `map_medium`, `map_large` and `mar_100` (recall at
        100 detections), averaged over the classes present in the ground
        truth, each `None` where nothing falls in its range; `ap_per_class`
        and `ap50_per_class` (class name to AP@[.50:.95] and AP@.50, `None`
        for a class absent from the ground truth, 0 for one present but
        never detected); counts `images`, `ground_truth_boxes` and
        `detections`. Floats are rounded to 4 decimals.
    """
    class_names = [str(name) for name in class_names]
    evaluator, counts = _evaluated(ground_truth, detections, class_names, image_sizes)
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator.accumulate()
        evaluator.summarize()

    report = {key: _rounded(evaluator.stats[i]) for key, i in _STATS.items()}
    # precision: (iou thresholds, recall points, classes, area ranges, max dets); -1 where a class has no ground truth.
    precision = evaluator.eval["precision"]
    area_all = evaluator.params.areaRngLbl.index("all")
    ap, ap50 = {}, {}
    for k, name in enumerate(class_names):
        per_iou = precision[:, :, k, area_all, -1]
        valid = per_iou[per_iou > -1]
        ap[name] = round(float(valid.mean()), 4) if valid.size else None
        at_50 = per_iou[0][per_iou[0] > -1]  # iouThrs[0] == 0.5
        ap50[name] = round(float(at_50.mean()), 4) if at_50.size else None
    return {
        **report,
        "ap_per_class": ap,
        "ap50_per_class": ap50,
        **counts,
    }


def _mean_ap(evaluator, iou_index: int | None = None) -> float:
    """AP over classes with ground truth (area all, 100 detections), as `summarize()` computes it."""
    precision = evaluator.eval["precision"][:, :, :, evaluator.params.areaRngLbl.index("all"), -1]
    if iou_index is not None:
        precision = precision[iou_index]
    valid = precision[precision > -1]
    return float(valid.mean()) if valid.size else 0.0


class CocoResampler:
    """COCO mAP on resampled test images, reusing one per-image matching.

    pycocotools matches detections to ground truth per image and class
    (`evaluate()`), then pools the matches into precision-recall curves
    (`accumulate()`). A bootstrap resample only changes which images are
    pooled, so the matches are computed once and each resample reruns
    `accumulate()` on the chosen images' entries, repeats included.

    Args:
        ground_truth, detections, class_names: as in `coco_evaluate`.
        iou: `None` for mAP@[.50:.95], or `0.5` for mAP@.5.

    Example:

    ```python
    resampler = CocoResampler(truth, detections, classes)
    resampler(np.arange(len(truth)))  # == coco_evaluate(truth, detections, classes)["map"], unrounded
    ```
    """

    def __init__(self, ground_truth, detections, class_names, iou: float | None = None):
        self.evaluator, _ = _evaluated(ground_truth, detections, [str(n) for n in class_names])
        self.images = len(ground_truth)
        self.per_image = list(self.evaluator.evalImgs)  # [class][area][image] in row-major order
        self.blocks = len(self.evaluator.params.catIds) * len(self.evaluator.params.areaRng)
        if iou is None:
            self.iou_index = None
        else:
            matches = np.flatnonzero(np.isclose(self.evaluator.params.iouThrs, iou))
            if not matches.size:
                raise ValueError(f"`iou` must be None or one of COCO's thresholds 0.50, 0.55, ..., 0.95. Received: {iou!r}")
            self.iou_index = int(matches[0])

    def __call__(self, indices) -> float:
        indices = np.asarray(indices, dtype=np.int64)
        if indices.ndim != 1 or not indices.size or indices.min() < 0 or indices.max() >= self.images:
            raise ValueError(f"`indices` must be a non-empty 1-D array of image positions in [0, {self.images})")
        e = self.evaluator
        e.evalImgs = [self.per_image[block * self.images + int(i)] for block in range(self.blocks) for i in indices]
        e.params.imgIds = e._paramsEval.imgIds = list(range(len(indices)))
        with contextlib.redirect_stdout(io.StringIO()):
            e.accumulate()
        return _mean_ap(e, self.iou_index)
