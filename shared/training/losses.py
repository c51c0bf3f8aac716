"""Losses that the Keras catalogue lacks."""

from __future__ import annotations

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
