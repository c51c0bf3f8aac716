"""Losses that the Keras catalogue lacks."""

from __future__ import annotations

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="dlsuite")
class ScoreAsLoss(keras.losses.Loss):
    """Uses the model's own output as the loss; `y_true` is ignored.

    For models whose output already is the quantity to minimise, such as an
    autoencoder that outputs its reconstruction error (the anomaly score), or
    an energy model. Training data may carry any placeholder target.

    Example:

    >>> loss = ScoreAsLoss()
    >>> float(loss(ops.zeros((2, 1)), ops.ones((2, 1)) * 3.0))
    3.0
    """

    def __init__(self, name: str = "score_as_loss", reduction: str = "sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return ops.mean(ops.reshape(y_pred, (ops.shape(y_pred)[0], -1)), axis=-1)


def _positive(name: str, value, allow_zero: bool) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and (number >= 0 if allow_zero else number > 0)):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"`{name}` must be a finite number {bound}. Received: {name}={value!r}")
    return number


def _per_image_dice_loss(y_true, y_pred, smooth: float, from_logits: bool):
    """`1 - soft Dice` for each image, shape `(batch,)`, computed in float32."""
    # float16 sums over a 256x256 mask overflow (max 65504), so always reduce in float32.
    y_true = ops.cast(y_true, "float32")
    y_pred = ops.cast(y_pred, "float32")
    if from_logits:
        y_pred = ops.sigmoid(y_pred)
    batch = ops.shape(y_pred)[0]
    t = ops.reshape(y_true, (batch, -1))
    p = ops.reshape(y_pred, (batch, -1))
    intersection = ops.sum(t * p, axis=-1)
    total = ops.sum(t, axis=-1) + ops.sum(p, axis=-1)
    return 1.0 - (2.0 * intersection + smooth) / (total + smooth)


@keras.saving.register_keras_serializable(package="dlsuite")
class DiceLoss(keras.losses.Loss):
    """Soft Dice loss for binary segmentation, computed per image then averaged.

    For each image, with `t` the true mask and `p` the predicted foreground
    probability flattened over all pixels:
    `loss = 1 - (2 * sum(t * p) + smooth) / (sum(t) + sum(p) + smooth)`.
    Per-image Dice weighs small lesions as much as large ones, unlike one
    Dice over the whole batch. The arithmetic is float32 whatever the input
    dtype, so it is safe under mixed precision.

    Args:
        smooth: float > 0. Added to numerator and denominator; keeps the
            loss defined (0) for an empty mask predicted empty and its
            gradient smooth. Defaults to `1.0`.
        from_logits: bool. Whether `y_pred` holds logits (a sigmoid is
            applied first) rather than probabilities. Defaults to `False`.
        name: str. Defaults to `"dice_loss"`.
        reduction: str. Keras reduction over the per-image losses.
            Defaults to `"sum_over_batch_size"` (the mean).
        dtype: dtype of the returned loss. Defaults to `None` (float32).

    Shapes:
        `y_true` and `y_pred` hold the same number of values per image, e.g.
        `(batch, H, W, 1)` sigmoid outputs and `(batch, H, W)` or
        `(batch, H, W, 1)` 0/1 masks. Returns a scalar (or `(batch,)` with
        `reduction=None`).

    Example:

    ```python
    from keras import ops
    from shared.training.losses import DiceLoss

    mask = ops.ones((2, 8, 8, 1))
    loss = DiceLoss()
    float(loss(mask, mask))                # 0.0
    float(loss(mask, ops.zeros_like(mask)))  # 1 - 1/65, about 0.985
    ```

    Reference: Milletari, Navab and Ahmadi, "V-Net", 3DV 2016.
    """

    def __init__(self, smooth: float = 1.0, from_logits: bool = False, name: str = "dice_loss",
                 reduction: str = "sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.smooth = _positive("smooth", smooth, allow_zero=False)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        return _per_image_dice_loss(y_true, y_pred, self.smooth, self.from_logits)

    def get_config(self):
        return {**super().get_config(), "smooth": self.smooth, "from_logits": self.from_logits}


@keras.saving.register_keras_serializable(package="dlsuite")
class BceDiceLoss(keras.losses.Loss):
    """Weighted sum of binary cross-entropy and soft Dice, per image then averaged.

    `loss = bce_weight * mean_pixels(BCE) + dice_weight * DiceLoss`. The
    cross-entropy gives every pixel a well-scaled gradient from the first
    step; the Dice term counters the imbalance of small lesions on large
    backgrounds. Computed in float32, like `DiceLoss`.

    Args:
        bce_weight: float >= 0. Weight of the cross-entropy term. Defaults
            to `1.0`.
        dice_weight: float >= 0. Weight of the Dice term. Defaults to `1.0`.
        smooth: float > 0. Dice smoothing term, as in `DiceLoss`. Defaults
            to `1.0`.
        from_logits: bool. Whether `y_pred` holds logits. Defaults to
            `False`.
        name: str. Defaults to `"bce_dice_loss"`.
        reduction: str. Keras reduction over the per-image losses.
            Defaults to `"sum_over_batch_size"` (the mean).
        dtype: dtype of the returned loss. Defaults to `None` (float32).

    Shapes:
        As `DiceLoss`.

    Example:

    ```python
    from keras import ops
    from shared.training.losses import BceDiceLoss

    mask = ops.ones((2, 8, 8, 1))
    loss = BceDiceLoss(bce_weight=0.5)
    float(loss(mask, mask * 0.9))  # 0.5 * -log(0.9) + Dice term, about 0.105
    ```
    """

    def __init__(self, bce_weight: float = 1.0, dice_weight: float = 1.0, smooth: float = 1.0,
                 from_logits: bool = False, name: str = "bce_dice_loss",
                 reduction: str = "sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.bce_weight = _positive("bce_weight", bce_weight, allow_zero=True)
        self.dice_weight = _positive("dice_weight", dice_weight, allow_zero=True)
        self.smooth = _positive("smooth", smooth, allow_zero=False)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        batch = ops.shape(y_pred)[0]
        t = ops.reshape(ops.cast(y_true, "float32"), (batch, -1))
        p = ops.reshape(ops.cast(y_pred, "float32"), (batch, -1))
        bce = keras.losses.binary_crossentropy(t, p, from_logits=self.from_logits)
        dice = _per_image_dice_loss(t, p, self.smooth, self.from_logits)
        return self.bce_weight * bce + self.dice_weight * dice

    def get_config(self):
        return {
            **super().get_config(),
            "bce_weight": self.bce_weight,
            "dice_weight": self.dice_weight,
            "smooth": self.smooth,
            "from_logits": self.from_logits,
        }


@keras.saving.register_keras_serializable(package="dlsuite")
class ClassWeightedDiceCrossEntropy(keras.losses.Loss):
    """Multi-class segmentation loss: class-weighted cross-entropy plus soft Dice, with an ignore label.

    Road scenes are mostly road, sky and buildings; signs, lights and
    pedestrians cover a few pixels each. The cross-entropy weighs each
    pixel by its true class's weight (e.g. inverse-frequency weights from
    the training split), and the Dice term, computed per class over each
    image and averaged over the classes present, scores a ten-pixel sign as
    much as the road. Pixels labelled `ignore_index` count in neither term.

    Args:
        num_classes: int. Classes of the softmax output.
        class_weights: list of float or None. One weight per class for the
            cross-entropy; None weighs every class 1. Defaults to `None`.
        dice_weight: float >= 0. Weight of the Dice term. Defaults to `1.0`.
        ignore_index: int. Label value of pixels left out. Defaults to `255`.
        smooth: float > 0. Dice smoothing. Defaults to `1.0`.
        name, reduction, dtype: as for any Keras loss.

    Shapes:
        `y_true`: integer labels `(batch, H, W)` or `(batch, H, W, 1)`;
        `y_pred`: softmax probabilities `(batch, H, W, num_classes)`.
        Returns one loss per image before the reduction.

    Example:

    ```python
    import numpy as np
    from shared.training.losses import ClassWeightedDiceCrossEntropy

    labels = np.array([[[0, 1], [1, 255]]])
    probs = np.eye(2, dtype="float32")[np.array([[[0, 1], [1, 0]]])]
    loss = ClassWeightedDiceCrossEntropy(2, class_weights=[1.0, 3.0])
    float(loss(labels, probs))  # close to 0: right everywhere the label counts
    ```
    """

    def __init__(self, num_classes: int, class_weights=None, dice_weight: float = 1.0, ignore_index: int = 255,
                 smooth: float = 1.0, name: str = "dice_cross_entropy", reduction: str = "sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"`num_classes` must be an integer >= 2. Received: num_classes={num_classes!r}")
        self.num_classes = num_classes
        if class_weights is not None:
            class_weights = [float(w) for w in class_weights]
            if len(class_weights) != num_classes or min(class_weights) < 0 or not all(math.isfinite(w) for w in class_weights):
                raise ValueError(f"`class_weights` must hold {num_classes} finite non-negative numbers. Received: class_weights={class_weights}")
        self.class_weights = class_weights
        self.dice_weight = _positive("dice_weight", dice_weight, allow_zero=True)
        self.ignore_index = int(ignore_index)
        self.smooth = _positive("smooth", smooth, allow_zero=False)

    def call(self, y_true, y_pred):
        batch = ops.shape(y_pred)[0]
        labels = ops.reshape(ops.cast(y_true, "int32"), (batch, -1))
        probs = ops.reshape(ops.cast(y_pred, "float32"), (batch, -1, self.num_classes))
        valid = ops.cast(ops.not_equal(labels, self.ignore_index), "float32")
        safe = ops.where(ops.equal(labels, self.ignore_index), 0, labels)
        onehot = ops.one_hot(safe, self.num_classes) * valid[..., None]
        picked = ops.sum(onehot * probs, axis=-1)
        nll = -ops.log(ops.clip(picked, 1e-7, 1.0))
        weights = ops.sum(onehot * ops.convert_to_tensor(self.class_weights, "float32"), axis=-1) if self.class_weights else valid
        ce = ops.sum(weights * nll, axis=-1) / ops.maximum(ops.sum(weights, axis=-1), 1e-6)
        p = probs * valid[..., None]
        intersection = ops.sum(onehot * p, axis=1)
        total = ops.sum(onehot, axis=1) + ops.sum(p, axis=1)
        dice = (2.0 * intersection + self.smooth) / (total + self.smooth)
        present = ops.cast(ops.sum(onehot, axis=1) > 0, "float32")
        dice_loss = 1.0 - ops.sum(dice * present, axis=-1) / ops.maximum(ops.sum(present, axis=-1), 1.0)
        return ce + self.dice_weight * dice_loss

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "class_weights": self.class_weights,
            "dice_weight": self.dice_weight,
            "ignore_index": self.ignore_index,
            "smooth": self.smooth,
        }
