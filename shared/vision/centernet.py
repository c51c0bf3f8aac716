"""CenterNet ("Objects as Points") targets, loss and decoding.

An anchor-free detector predicts, on an output grid `stride` times coarser
than the input image, one heatmap channel per class whose peaks are object
centres, plus the box size and the sub-cell centre offset at each cell.

- `encode_targets` turns one image's boxes into fixed-shape dense target
  maps with TensorFlow ops only, so it runs inside `tf.data.Dataset.map`
  and the result batches without padding.
- `CenterNetLoss` (with `heatmap_focal_loss` and `masked_l1_loss`) is
  written with `keras.ops`, so it runs under any Keras backend and under
  `mixed_float16` (predictions are cast to float32 first).
- `decode_detections` and `decode_detections_padded` turn model outputs
  into boxes inside a serving function.

The model is expected to return a dict of float tensors:
`{"heatmap": logits (B, Ho, Wo, C), "size": (B, Ho, Wo, 2),
"offset": (B, Ho, Wo, 2)}`; the targets from `encode_targets` use the same
keys plus `"mask"`.

TFLite: `decode_detections_padded` converts with
`tf.lite.OpsSet.TFLITE_BUILTINS` only and runs in the LiteRT interpreter;
`decode_detections` does not, because `tf.image.combined_non_max_suppression`
has no TFLite builtin kernel: the builtins-only conversion fails, and a
`SELECT_TF_OPS` conversion needs the Flex delegate, which the stock
`ai_edge_litert` interpreter lacks. Use the padded decoder in models
exported to TFLite.

Example:

```python
def to_targets(image, boxes, labels):
    targets = encode_targets(boxes, labels, image_hw=(512, 512), output_hw=(128, 128), num_classes=3)
    return image, targets

dataset = dataset.map(to_targets).batch(16)
images, targets = next(iter(dataset))
outputs = model(images)
loss = CenterNetLoss()(targets, outputs)
detections = decode_detections_padded(outputs["heatmap"], outputs["size"], outputs["offset"], stride=4)
```

Reference:
    - [Zhou et al., 2019, "Objects as Points"](https://arxiv.org/abs/1904.07850).
    - [Law and Deng, 2018, "CornerNet"](https://arxiv.org/abs/1808.01244):
      the Gaussian radius and the penalty-reduced focal loss.
"""

from __future__ import annotations

import keras
import tensorflow as tf

TARGET_KEYS = ("heatmap", "size", "offset", "mask")


def gaussian_radius(height, width, min_overlap: float = 0.7):
    """Radius of the heatmap Gaussian for boxes of the given size.

    The smallest of the three corner-displacement radii for which a box
    whose corners moved that far still overlaps the true box by
    `min_overlap` IoU. The expression is the reference implementation's
    (CornerNet and CenterNet code), kept as is so that targets match models
    trained with it, although its roots differ from the exact quadratic
    solutions.

    Args:
        height: float tensor of any shape. Box heights in output-grid cells.
        width: float tensor of the same shape. Box widths in output-grid cells.
        min_overlap: float in (0, 1). Defaults to `0.7`.

    Returns:
        float32 tensor of the same shape (not rounded).
    """
    h = tf.cast(height, tf.float32)
    w = tf.cast(width, tf.float32)
    b1 = h + w
    c1 = w * h * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + tf.sqrt(tf.maximum(b1**2 - 4 * c1, 0.0))) / 2
    b2 = 2 * (h + w)
    c2 = (1 - min_overlap) * w * h
    r2 = (b2 + tf.sqrt(tf.maximum(b2**2 - 16 * c2, 0.0))) / 2
    b3 = -2 * min_overlap * (h + w)
    c3 = (min_overlap - 1) * w * h
    r3 = (b3 + tf.sqrt(tf.maximum(b3**2 - 16 * min_overlap * c3, 0.0))) / 2
    return tf.minimum(tf.minimum(r1, r2), r3)


def encode_targets(boxes, labels, image_hw, output_hw, num_classes: int, min_radius: int = 1) -> dict:
    """Dense CenterNet training targets for one image.

    Pure TensorFlow graph ops, vectorised over boxes: usable inside
    `tf.data.Dataset.map` for images with any number of boxes, zero
    included. Boxes are clipped to the image; boxes left with zero width or
    height are dropped.

    Each box puts a Gaussian peak of value exactly 1 at its centre cell in
    its class channel, with radius `max(min_radius, floor(gaussian_radius))`
    (`sigma = (2 * radius + 1) / 6`, truncated to the square window of that
    radius); overlapping Gaussians of one class combine by element-wise max.
    When two boxes share a centre cell, the size and offset maps hold the
    smaller box (the first one listed on a tie), so the result does not
    depend on scatter order.

    Args:
        boxes: float tensor of shape `(N, 4)`, xyxy in input-image pixels.
        labels: int tensor of shape `(N,)`, class ids in `[0, num_classes)`.
            Ids outside that range raise `InvalidArgumentError` when run.
        image_hw: `(height, width)` of the input image in pixels; Python
            numbers or a tensor (e.g. `tf.shape(image)[:2]`).
        output_hw: `(Ho, Wo)` Python ints, the output grid of the model.
        num_classes: int. Number of heatmap channels `C`.
        min_radius: int >= 0. Smallest Gaussian radius in cells. Defaults
            to `1`.

    Returns:
        dict of float32 tensors with static shapes:
        `heatmap` `(Ho, Wo, C)`; `size` `(Ho, Wo, 2)`, box `(width, height)`
        in output cells at centre cells; `offset` `(Ho, Wo, 2)`, the centre's
        `(dx, dy)` in `[0, 1)` from the cell's top-left corner; `mask`
        `(Ho, Wo, 1)`, 1 at centre cells and 0 elsewhere.
    """
    out_h, out_w = (int(v) for v in output_hw)
    num_classes = int(num_classes)
    if out_h < 1 or out_w < 1 or num_classes < 1 or min_radius < 0:
        raise ValueError(
            "`output_hw` and `num_classes` must be positive and `min_radius` >= 0. "
            f"Received: output_hw={tuple(output_hw)}, num_classes={num_classes}, min_radius={min_radius}"
        )
    boxes = tf.reshape(tf.cast(boxes, tf.float32), [-1, 4])
    labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
    checks = [
        tf.debugging.assert_less(labels, num_classes, message=f"encode_targets: class id >= num_classes={num_classes}"),
        tf.debugging.assert_equal(tf.shape(boxes)[0], tf.shape(labels)[0], message="encode_targets: boxes and labels differ in length"),
        tf.debugging.assert_non_negative(labels, message="encode_targets: negative class id"),
    ]
    with tf.control_dependencies(checks):
        labels = tf.identity(labels)

    image_hw = tf.cast(image_hw, tf.float32)
    image_h, image_w = image_hw[0], image_hw[1]
    x_min = tf.clip_by_value(boxes[:, 0], 0.0, image_w)
    y_min = tf.clip_by_value(boxes[:, 1], 0.0, image_h)
    x_max = tf.clip_by_value(boxes[:, 2], 0.0, image_w)
    y_max = tf.clip_by_value(boxes[:, 3], 0.0, image_h)
    scale_x = out_w / image_w
    scale_y = out_h / image_h
    width = (x_max - x_min) * scale_x
    height = (y_max - y_min) * scale_y
    keep = (width > 0) & (height > 0)
    width = tf.boolean_mask(width, keep)
    height = tf.boolean_mask(height, keep)
    labels = tf.boolean_mask(labels, keep)
    centre_x = tf.boolean_mask((x_min + x_max) / 2, keep) * scale_x
    centre_y = tf.boolean_mask((y_min + y_max) / 2, keep) * scale_y
    cell_x = tf.clip_by_value(tf.floor(centre_x), 0.0, out_w - 1.0)
    cell_y = tf.clip_by_value(tf.floor(centre_y), 0.0, out_h - 1.0)

    # All Gaussians at once, (N, Ho, Wo), then the max per class.
    radius = tf.maximum(tf.floor(gaussian_radius(tf.math.ceil(height), tf.math.ceil(width))), float(min_radius))
    sigma = (2.0 * radius + 1.0) / 6.0
    dx = tf.range(out_w, dtype=tf.float32)[None, None, :] - cell_x[:, None, None]
    dy = tf.range(out_h, dtype=tf.float32)[None, :, None] - cell_y[:, None, None]
    r = radius[:, None, None]
    inside = (tf.abs(dx) <= r) & (tf.abs(dy) <= r)
    gaussians = tf.where(inside, tf.exp(-(dx**2 + dy**2) / (2.0 * sigma[:, None, None] ** 2)), 0.0)
    per_class = tf.math.unsorted_segment_max(gaussians, labels, num_classes)  # empty classes hold the lowest float
    heatmap = tf.transpose(tf.maximum(per_class, 0.0), [1, 2, 0])

    # One box per centre cell for the regression maps: the smallest, then the first.
    cell = tf.cast(cell_y, tf.int32) * out_w + tf.cast(cell_x, tf.int32)
    area = width * height
    order = tf.range(tf.shape(cell)[0])
    beaten = (cell[:, None] == cell[None, :]) & (
        (area[None, :] < area[:, None]) | ((area[None, :] == area[:, None]) & (order[None, :] < order[:, None]))
    )
    winner = tf.logical_not(tf.reduce_any(beaten, axis=1))
    indices = tf.boolean_mask(tf.stack([tf.cast(cell_y, tf.int32), tf.cast(cell_x, tf.int32)], axis=-1), winner)
    size_values = tf.boolean_mask(tf.stack([width, height], axis=-1), winner)
    offset_values = tf.boolean_mask(tf.stack([centre_x - cell_x, centre_y - cell_y], axis=-1), winner)
    return {
        "heatmap": tf.ensure_shape(heatmap, [out_h, out_w, num_classes]),
        "size": tf.scatter_nd(indices, size_values, [out_h, out_w, 2]),
        "offset": tf.scatter_nd(indices, offset_values, [out_h, out_w, 2]),
        "mask": tf.scatter_nd(indices, tf.ones_like(size_values[:, :1]), [out_h, out_w, 1]),
    }


def heatmap_focal_loss(y_true, y_pred, alpha: float = 2.0, beta: float = 4.0, from_logits: bool = True):
    """Penalty-reduced pixel-wise focal loss on the class heatmaps.

    Cells where the target is 1 are positives; every other cell is a
    negative whose penalty is scaled down by `(1 - y_true) ** beta` near an
    object centre. The sum over the batch is divided by the number of
    positives in the batch (by 1 when there are none, which leaves only the
    negative term).

    Args:
        y_true: tensor of shape `(B, Ho, Wo, C)` in [0, 1], from `encode_targets`.
        y_pred: tensor of the same shape, logits (or probabilities with
            `from_logits=False`). Cast to float32.
        alpha: float. Focusing exponent. Defaults to `2.0`.
        beta: float. Exponent of the penalty reduction. Defaults to `4.0`.
        from_logits: bool. Defaults to `True`; logits give a stable log.

    Returns:
        float32 scalar.
    """
    y_true = keras.ops.cast(y_true, "float32")
    y_pred = keras.ops.cast(y_pred, "float32")
    if from_logits:
        probs = keras.ops.sigmoid(y_pred)
        log_p = keras.ops.log_sigmoid(y_pred)
        log_not_p = keras.ops.log_sigmoid(-y_pred)
    else:
        probs = keras.ops.clip(y_pred, 1e-6, 1.0 - 1e-6)
        log_p = keras.ops.log(probs)
        log_not_p = keras.ops.log(1.0 - probs)
    positive = keras.ops.cast(y_true >= 1.0 - 1e-6, "float32")
    positive_loss = positive * keras.ops.power(1.0 - probs, alpha) * log_p
    negative_loss = (1.0 - positive) * keras.ops.power(1.0 - y_true, beta) * keras.ops.power(probs, alpha) * log_not_p
    num_positive = keras.ops.maximum(keras.ops.sum(positive), 1.0)
    return -(keras.ops.sum(positive_loss) + keras.ops.sum(negative_loss)) / num_positive


def masked_l1_loss(y_true, y_pred, mask):
    """Mean absolute error over the cells where `mask` is 1.

    As in the reference implementation, the sum is divided by the number of
    masked values (cells times channels), so a batch without objects gives 0.

    Args:
        y_true: tensor of shape `(B, Ho, Wo, K)`.
        y_pred: tensor of the same shape. Cast to float32.
        mask: tensor of shape `(B, Ho, Wo, 1)` with values in {0, 1}.

    Returns:
        float32 scalar.
    """
    y_true = keras.ops.cast(y_true, "float32")
    y_pred = keras.ops.cast(y_pred, "float32")
    mask = keras.ops.cast(mask, "float32")
    channels = keras.ops.cast(keras.ops.shape(y_pred)[-1], "float32")
    total = keras.ops.sum(mask * keras.ops.abs(y_pred - y_true))
    return total / (keras.ops.sum(mask) * channels + 1e-4)


@keras.saving.register_keras_serializable(package="dlsuite")
class CenterNetLoss(keras.losses.Loss):
    """The CenterNet training loss: heatmap focal loss plus weighted L1 terms.

    `total = focal(heatmap) + size_weight * L1(size) + offset_weight * L1(offset)`,
    the L1 terms over centre cells only. Takes dicts: `y_true` from
    `encode_targets` (batched) and `y_pred` from the model, with the keys in
    the module docstring. The result is one scalar for the batch, normalised
    by the batch's object count, so `sample_weight` is not supported.

    `Model.compile(loss=...)` gives a single loss to each output of a
    dict-output model separately, so call this from `Model.compute_loss`
    instead:

    ```python
    class Detector(keras.Model):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            return self.centernet_loss(y, y_pred)
    ```

    Args:
        size_weight: float >= 0. Weight of the size term. Defaults to `0.1`.
        offset_weight: float >= 0. Weight of the offset term. Defaults to `1.0`.
        alpha: float. Focal exponent of the heatmap loss. Defaults to `2.0`.
        beta: float. Penalty-reduction exponent. Defaults to `4.0`.
        **kwargs: Base loss arguments (`name`).
    """

    def __init__(self, size_weight=0.1, offset_weight=1.0, alpha=2.0, beta=4.0, name="centernet_loss", **kwargs):
        kwargs.pop("reduction", None)
        kwargs.pop("dtype", None)
        super().__init__(name=name, reduction="sum_over_batch_size", dtype="float32", **kwargs)
        for key, value in (("size_weight", size_weight), ("offset_weight", offset_weight)):
            if not value >= 0:
                raise ValueError(f"`{key}` must be a number >= 0. Received: {key}={value!r}")
        self.size_weight = float(size_weight)
        self.offset_weight = float(offset_weight)
        self.alpha = float(alpha)
        self.beta = float(beta)

    def __call__(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            raise ValueError("CenterNetLoss normalises by the batch's object count and does not take `sample_weight`.")
        return super().__call__(y_true, y_pred)

    def components(self, y_true, y_pred) -> dict:
        """The three terms and their weighted total, as float32 scalars.

        Args:
            y_true: dict with `heatmap`, `size`, `offset` and `mask`.
            y_pred: dict with `heatmap` (logits), `size` and `offset`.

        Returns:
            dict with `heatmap`, `size`, `offset` (unweighted) and `total`.
        """
        missing = [k for k in TARGET_KEYS if k not in y_true] + [f"y_pred[{k!r}]" for k in TARGET_KEYS[:3] if k not in y_pred]
        if missing:
            raise KeyError(f"CenterNetLoss needs dicts with keys {TARGET_KEYS}. Missing: {missing}")
        heat = heatmap_focal_loss(y_true["heatmap"], y_pred["heatmap"], self.alpha, self.beta)
        size = masked_l1_loss(y_true["size"], y_pred["size"], y_true["mask"])
        offset = masked_l1_loss(y_true["offset"], y_pred["offset"], y_true["mask"])
        total = heat + self.size_weight * size + self.offset_weight * offset
        return {"heatmap": heat, "size": size, "offset": offset, "total": total}

    def call(self, y_true, y_pred):
        return self.components(y_true, y_pred)["total"]

    def get_config(self):
        return {
            "name": self.name,
            "size_weight": self.size_weight,
            "offset_weight": self.offset_weight,
            "alpha": self.alpha,
            "beta": self.beta,
        }


def pack_targets(targets: dict):
    """`encode_targets`' dict -> one float32 tensor `(..., Ho, Wo, C + 5)`: heatmap, size, offset, mask.

    One packed target matches the one packed output of
    `shared.vision.detection_heads.centernet_head`, so a detector is a plain
    single-output Keras model trained with `PackedCenterNetLoss` through
    `compile(loss=...)`.
    """
    return tf.concat([tf.cast(targets[key], tf.float32) for key in TARGET_KEYS], axis=-1)


def split_outputs(outputs, num_classes: int):
    """A packed model output `(..., C + 4)` -> (heatmap logits, size, offset)."""
    return outputs[..., :num_classes], outputs[..., num_classes : num_classes + 2], outputs[..., num_classes + 2 : num_classes + 4]


@keras.saving.register_keras_serializable(package="dlsuite")
class PackedCenterNetLoss(CenterNetLoss):
    """`CenterNetLoss` on packed tensors: targets from `pack_targets`, outputs from `centernet_head`.

    Args:
        num_classes: int. Heatmap channels `C`.
        size_weight, offset_weight, alpha, beta: as `CenterNetLoss`.

    Shapes:
        `y_true` `(B, Ho, Wo, C + 5)`, `y_pred` `(B, Ho, Wo, C + 4)`.

    Example:

    ```python
    import numpy as np
    from shared.vision.centernet import PackedCenterNetLoss

    y_true = np.zeros((1, 4, 4, 2 + 5), "float32")
    y_pred = np.full((1, 4, 4, 2 + 4), -4.0, "float32")
    float(PackedCenterNetLoss(2)(y_true, y_pred))  # small: no objects, every cell predicted empty
    ```
    """

    def __init__(self, num_classes: int, size_weight=0.1, offset_weight=1.0, alpha=2.0, beta=4.0, name="centernet_loss", **kwargs):
        super().__init__(size_weight=size_weight, offset_weight=offset_weight, alpha=alpha, beta=beta, name=name, **kwargs)
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"`num_classes` must be a positive integer. Received: num_classes={num_classes!r}")
        self.num_classes = num_classes

    def _unpacked(self, y_true, y_pred):
        c = self.num_classes
        truth = {"heatmap": y_true[..., :c], "size": y_true[..., c : c + 2], "offset": y_true[..., c + 2 : c + 4], "mask": y_true[..., c + 4 : c + 5]}
        heat, size, offset = split_outputs(y_pred, c)
        return truth, {"heatmap": heat, "size": size, "offset": offset}

    def components(self, y_true, y_pred) -> dict:
        if isinstance(y_true, dict):
            return super().components(y_true, y_pred)
        return super().components(*self._unpacked(y_true, y_pred))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


def _strides(stride) -> tuple[float, float]:
    if isinstance(stride, (tuple, list)):
        stride_y, stride_x = (float(s) for s in stride)
    else:
        stride_y = stride_x = float(stride)
    if stride_y <= 0 or stride_x <= 0:
        raise ValueError(f"`stride` must be positive. Received: stride={stride!r}")
    return stride_y, stride_x


def _candidates(heatmap, size, offset, stride, top_k: int, from_logits: bool):
    """The `top_k` heatmap peaks of each image as boxes, scores and classes.

    Scores stay in descending order, except that boxes without area score 0.

    Returns:
        boxes `(B, K, 4)` as `(y_min, x_min, y_max, x_max)` input pixels,
        clipped to the image; scores `(B, K)`; classes int32 `(B, K)`;
        and the input image `(height, width)` as Python floats or tensors.
    """
    stride_y, stride_x = _strides(stride)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ValueError(f"`top_k` must be a positive integer. Received: top_k={top_k!r}")
    heat = tf.cast(heatmap, tf.float32)
    if from_logits:
        heat = tf.sigmoid(heat)
    # A cell is a peak when it is the maximum of its 3x3 neighbourhood (the cheap stand-in for NMS).
    peaks = heat * tf.cast(tf.equal(tf.nn.max_pool2d(heat, ksize=3, strides=1, padding="SAME"), heat), tf.float32)
    shape = tf.shape(heat)
    batch = shape[0]
    out_h = heat.shape[1] if heat.shape[1] is not None else shape[1]
    out_w = heat.shape[2] if heat.shape[2] is not None else shape[2]
    classes = heat.shape[3] if heat.shape[3] is not None else shape[3]
    cells = out_h * out_w
    k = min(top_k, cells * classes) if isinstance(cells * classes, int) else tf.minimum(top_k, cells * classes)
    scores, flat_index = tf.math.top_k(tf.reshape(peaks, [batch, -1]), k=k)
    class_ids = flat_index % classes
    cell = flat_index // classes
    cell_y = tf.cast(cell // out_w, tf.float32)
    cell_x = tf.cast(cell % out_w, tf.float32)
    box_size = tf.gather(tf.reshape(tf.cast(size, tf.float32), [batch, cells, 2]), cell, batch_dims=1)
    box_offset = tf.gather(tf.reshape(tf.cast(offset, tf.float32), [batch, cells, 2]), cell, batch_dims=1)
    centre_x = cell_x + box_offset[..., 0]
    centre_y = cell_y + box_offset[..., 1]
    half_w = box_size[..., 0] / 2
    half_h = box_size[..., 1] / 2
    image_h = tf.cast(out_h, tf.float32) * stride_y
    image_w = tf.cast(out_w, tf.float32) * stride_x
    boxes = tf.stack(
        [
            tf.clip_by_value((centre_y - half_h) * stride_y, 0.0, image_h),
            tf.clip_by_value((centre_x - half_w) * stride_x, 0.0, image_w),
            tf.clip_by_value((centre_y + half_h) * stride_y, 0.0, image_h),
            tf.clip_by_value((centre_x + half_w) * stride_x, 0.0, image_w),
        ],
        axis=-1,
    )
    # A box with no area after clipping cannot match anything; the padded NMS would also read an all-zero box as padding.
    has_area = (boxes[..., 2] > boxes[..., 0]) & (boxes[..., 3] > boxes[..., 1])
    return boxes, tf.where(has_area, scores, 0.0), class_ids, (image_h, image_w)


def _check_thresholds(max_detections, score_threshold, iou_threshold) -> None:
    if isinstance(max_detections, bool) or not isinstance(max_detections, int) or max_detections < 1:
        raise ValueError(f"`max_detections` must be a positive integer. Received: max_detections={max_detections!r}")
    # Scores are probabilities; a negative threshold would keep the zero-scored boxes without area.
    if not 0.0 <= score_threshold < 1.0:
        raise ValueError(f"`score_threshold` must be in [0, 1). Received: score_threshold={score_threshold!r}")
    if not 0.0 <= iou_threshold <= 1.0:
        raise ValueError(f"`iou_threshold` must be in [0, 1]. Received: iou_threshold={iou_threshold!r}")


def _xyxy(boxes_yx):
    return tf.stack([boxes_yx[..., 1], boxes_yx[..., 0], boxes_yx[..., 3], boxes_yx[..., 2]], axis=-1)


def decode_detections(
    heatmap,
    size,
    offset,
    stride,
    max_detections: int = 100,
    score_threshold: float = 0.05,
    iou_threshold: float = 0.5,
    from_logits: bool = True,
    top_k: int | None = None,
) -> dict:
    """Boxes from CenterNet outputs, with class-wise NMS.

    Peaks of the (sigmoid) heatmap that are the maximum of their 3x3
    neighbourhood are the candidates; the `top_k` best over all cells and
    classes become boxes, and `tf.image.combined_non_max_suppression` removes
    same-class duplicates. That op has no TFLite builtin kernel: for a model
    converted with builtin ops only, use `decode_detections_padded`.

    Args:
        heatmap: float tensor of shape `(B, Ho, Wo, C)`, logits (or
            probabilities with `from_logits=False`).
        size: float tensor of shape `(B, Ho, Wo, 2)`, box `(width, height)`
            in output cells.
        offset: float tensor of shape `(B, Ho, Wo, 2)`, centre `(dx, dy)`.
        stride: number or `(stride_y, stride_x)`. Input pixels per output
            cell; the image is taken to be `(Ho * stride_y, Wo * stride_x)`
            and boxes are clipped to it.
        max_detections: int. Detections kept per image. Defaults to `100`.
        score_threshold: float in [0, 1). Candidates scoring at or below
            it are dropped, and so are boxes with no area after clipping.
            Defaults to `0.05`.
        iou_threshold: float. Same-class boxes overlapping a better one by
            more than this IoU are suppressed. Defaults to `0.5`.
        from_logits: bool. Whether `heatmap` holds logits. Defaults to `True`.
        top_k: int. Candidates per image before NMS. Defaults to
            `max_detections`.

    Returns:
        dict with `boxes` float32 `(B, max_detections, 4)` xyxy input
        pixels, `scores` float32 `(B, max_detections)`, `classes` int32
        `(B, max_detections)` and `num_detections` int32 `(B,)`. Entries past
        `num_detections` are zero, best first before them.
    """
    _check_thresholds(max_detections, score_threshold, iou_threshold)
    boxes, scores, class_ids, _ = _candidates(heatmap, size, offset, stride, max_detections if top_k is None else top_k, from_logits)
    num_classes = heatmap.shape[-1] if heatmap.shape[-1] is not None else tf.shape(heatmap)[-1]
    # One shared box per candidate; its score is non-zero in its own class only.
    class_scores = tf.one_hot(class_ids, num_classes, dtype=tf.float32) * scores[..., None]
    result = tf.image.combined_non_max_suppression(
        boxes[:, :, None, :],
        class_scores,
        max_output_size_per_class=max_detections,
        max_total_size=max_detections,
        iou_threshold=iou_threshold,
        score_threshold=score_threshold,
        pad_per_class=False,
        clip_boxes=False,  # pixel coordinates; True would clip to [0, 1]
    )
    return {
        "boxes": _xyxy(result.nmsed_boxes),
        "scores": result.nmsed_scores,
        "classes": tf.cast(result.nmsed_classes, tf.int32),
        "num_detections": tf.cast(result.valid_detections, tf.int32),
    }


def decode_detections_padded(
    heatmap,
    size,
    offset,
    stride,
    max_detections: int = 100,
    score_threshold: float = 0.05,
    iou_threshold: float = 0.5,
    from_logits: bool = True,
    top_k: int | None = None,
) -> dict:
    """Boxes from CenterNet outputs, with NMS that converts to TFLite builtins.

    Same candidates, arguments and result as `decode_detections`, but the
    class-wise suppression is one class-agnostic
    `tf.image.non_max_suppression_padded` over boxes shifted apart by
    `class_id * (max(image height, width) + 1)` pixels, so boxes of
    different classes never overlap. Converts with
    `tf.lite.OpsSet.TFLITE_BUILTINS` only and runs in the LiteRT interpreter.

    Returns:
        dict with `boxes` float32 `(B, max_detections, 4)` xyxy input
        pixels, `scores` float32 `(B, max_detections)`, `classes` int32
        `(B, max_detections)` and `num_detections` int32 `(B,)`.
    """
    _check_thresholds(max_detections, score_threshold, iou_threshold)
    boxes, scores, class_ids, (image_h, image_w) = _candidates(heatmap, size, offset, stride, max_detections if top_k is None else top_k, from_logits)
    shift = tf.cast(class_ids, tf.float32) * (tf.maximum(image_h, image_w) + 1.0)
    selected, num_valid = tf.image.non_max_suppression_padded(
        boxes + shift[..., None],
        scores,
        max_output_size=max_detections,
        iou_threshold=iou_threshold,
        score_threshold=score_threshold,
        pad_to_max_output_size=True,
        sorted_input=True,  # top_k returns scores in descending order
        canonicalized_coordinates=True,
    )
    num_valid = tf.cast(num_valid, tf.int32)
    valid = tf.range(max_detections)[None, :] < num_valid[:, None]
    # Selected indices past `num_valid` are padding (0); zero what they gather.
    kept_boxes = tf.where(valid[..., None], tf.gather(boxes, selected, batch_dims=1), 0.0)
    kept_scores = tf.where(valid, tf.gather(scores, selected, batch_dims=1), 0.0)
    kept_classes = tf.where(valid, tf.gather(class_ids, selected, batch_dims=1), 0)
    return {
        "boxes": _xyxy(kept_boxes),
        "scores": kept_scores,
        "classes": tf.cast(kept_classes, tf.int32),
        "num_detections": num_valid,
    }
