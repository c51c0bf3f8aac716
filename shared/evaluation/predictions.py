"""Model outputs over a labelled dataset, with the targets in the same order."""

from __future__ import annotations

import numpy as np


def predict_dataset(model, ds, target_dtype: str = "int32") -> tuple[np.ndarray, np.ndarray]:
    """`(targets, outputs)` of `model` over a batched `(inputs, targets[, weights])` dataset.

    The dataset is read once: targets are collected from the same batches
    the model scores, so a shuffled or non-deterministic pipeline still
    pairs each output with its own target.
    """
    import tensorflow as tf

    targets, outputs = [], []
    predict = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    for batch in ds:
        x, y = batch[0], batch[1]
        targets.append(np.asarray(y))
        out = predict(x)
        outputs.append(np.asarray(out[0] if isinstance(out, (list, tuple)) else out))
    if not targets:
        return np.zeros((0,), target_dtype), np.zeros((0,), np.float64)
    return np.concatenate(targets).astype(target_dtype), np.concatenate(outputs).astype(np.float64)
