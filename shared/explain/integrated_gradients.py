"""Integrated gradients for any differentiable scoring function (TensorFlow backend).

Integrated gradients attribute a score to input features by integrating the
gradient along the straight line from a baseline `b` to the input `x`:

    attr_i = (x_i - b_i) * integral_0^1 d f(b + a (x - b)) / d x_i  da

The attributions of one row sum to `f(x) - f(b)` (completeness); the
`completeness_gap` left by the numerical integration tells whether `steps`
was large enough.

Example:

```python
model = keras.Sequential([keras.layers.Dense(1)])
x = np.random.rand(4, 8).astype("float32")
attr = integrated_gradients(model, x, baseline=np.zeros(8), steps=64)
completeness_gap(model, x, np.zeros(8), attr)  # ~0 for a linear model
```

Reference: Sundararajan, Taly and Yan, "Axiomatic Attribution for Deep
Networks", ICML 2017.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

DEFAULT_BATCH_SIZE = 1024


def _as_inputs(inputs, baseline) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(inputs, dtype=np.float32)
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(
            "`inputs` must be a non-empty batch of shape (batch, *feature_shape). "
            f"Received: inputs.shape={x.shape}"
        )
    b = np.asarray(baseline, dtype=np.float32)
    if b.shape not in (x.shape, x.shape[1:]):
        raise ValueError(
            f"`baseline` must have shape {x.shape} or {x.shape[1:]} to match `inputs`. "
            f"Received: baseline.shape={b.shape}"
        )
    return x, np.broadcast_to(b, x.shape)


def _scores(output, batch: int) -> tf.Tensor:
    """Flatten a `(batch,)` or `(batch, 1)` output to `(batch,)`, or raise."""
    output = tf.convert_to_tensor(output)
    if output.shape.rank == 2 and output.shape[1] == 1:
        output = output[:, 0]
    if output.shape.rank != 1 or output.shape[0] != batch:
        raise ValueError(
            "`fn` must return one score per row, shape (batch,) or (batch, 1). "
            f"Received: output shape {tuple(output.shape)} for a batch of {batch}; "
            "for a multi-output model wrap it, e.g. `lambda x: model(x)[:, k]`."
        )
    return output


def _evaluate(fn: Callable, x: np.ndarray, batch_size: int) -> np.ndarray:
    parts = [
        _scores(fn(tf.constant(x[i : i + batch_size])), min(batch_size, x.shape[0] - i)).numpy()
        for i in range(0, x.shape[0], batch_size)
    ]
    return np.concatenate(parts).astype(np.float64)


def integrated_gradients(
    fn: Callable,
    inputs,
    baseline,
    steps: int = 64,
    batch_size: int | None = None,
) -> np.ndarray:
    """Integrated-gradients attributions of `fn`'s score for each input row.

    The path integral uses the trapezoid rule over `steps` equal intervals,
    i.e. `steps + 1` interpolation points from the baseline (alpha 0) to the
    input (alpha 1). Interpolated rows are fed to `fn` in chunks of
    `batch_size`, so memory stays bounded for large batches or many steps.

    Args:
        fn: callable. Differentiable map from a float32 `tf.Tensor` of shape
            `(batch, *feature_shape)` to scores of shape `(batch,)` or
            `(batch, 1)`, e.g. a Keras model or layer. Rows must not interact
            (use inference mode, no batch statistics).
        inputs: array of shape `(batch, *feature_shape)`. Rows to explain.
        baseline: array of shape `(batch, *feature_shape)` or
            `feature_shape`. Reference input(s) meaning "no signal", e.g.
            zeros or the training mean.
        steps: int >= 1. Number of integration intervals; raise it when
            `completeness_gap` is large. Defaults to `64`.
        batch_size: int or None. Interpolated rows per call to `fn`.
            Defaults to `None`, meaning 1024.

    Returns:
        `np.ndarray` (float32) of the same shape as `inputs`.
    """
    if int(steps) != steps or steps < 1:
        raise ValueError(f"`steps` must be an integer >= 1. Received: steps={steps}")
    batch_size = DEFAULT_BATCH_SIZE if batch_size is None else batch_size
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"`batch_size` must be an integer >= 1. Received: batch_size={batch_size}")
    x, b = _as_inputs(inputs, baseline)
    points = steps + 1
    alphas = np.linspace(0.0, 1.0, points)
    weights = np.full(points, 1.0 / steps)
    weights[[0, -1]] *= 0.5
    feature_axes = (1,) * (x.ndim - 1)
    path_mean = np.zeros(x.shape, dtype=np.float64)
    # One flat stream of (row, alpha) pairs, so chunks can span several rows.
    total = x.shape[0] * points
    for start in range(0, total, batch_size):
        flat = np.arange(start, min(start + batch_size, total))
        rows, k = np.divmod(flat, points)
        alpha = alphas[k].astype(np.float32).reshape(-1, *feature_axes)
        path = tf.constant(b[rows] + alpha * (x[rows] - b[rows]))
        with tf.GradientTape() as tape:
            tape.watch(path)
            # Rows are independent, so d(sum)/d(row) is each row's own gradient.
            total_score = tf.reduce_sum(_scores(fn(path), flat.size))
        grads = tape.gradient(total_score, path)
        if grads is None:
            raise ValueError(
                "`fn`'s output does not depend differentiably on its input, so it has no "
                "gradient; pass a function built from TensorFlow/Keras ops."
            )
        weighted = grads.numpy().astype(np.float64) * weights[k].reshape(-1, *feature_axes)
        first_rows, starts = np.unique(rows, return_index=True)
        path_mean[first_rows] += np.add.reduceat(weighted, starts, axis=0)
    return ((x - b).astype(np.float64) * path_mean).astype(np.float32)


def completeness_gap(fn: Callable, inputs, baseline, attributions) -> np.ndarray:
    """Per-row `|sum(attributions) - (f(x) - f(baseline))|`.

    Exact integrated gradients have zero gap; a gap that is large relative to
    `|f(x) - f(baseline)|` means `steps` was too small.

    Args:
        fn: callable. The same scoring function given to
            `integrated_gradients`.
        inputs: array of shape `(batch, *feature_shape)`. The explained rows.
        baseline: array of shape `(batch, *feature_shape)` or
            `feature_shape`. The same baseline.
        attributions: array of the same shape as `inputs`.

    Returns:
        `np.ndarray` of shape `(batch,)`, float64.
    """
    x, b = _as_inputs(inputs, baseline)
    attributions = np.asarray(attributions, dtype=np.float64)
    if attributions.shape != x.shape:
        raise ValueError(
            f"`attributions` must have the shape of `inputs`, {x.shape}. "
            f"Received: attributions.shape={attributions.shape}"
        )
    difference = _evaluate(fn, x, DEFAULT_BATCH_SIZE) - _evaluate(fn, b, DEFAULT_BATCH_SIZE)
    summed = attributions.reshape(x.shape[0], -1).sum(axis=1)
    return np.abs(summed - difference)


def summed_by_slices(
    attributions: np.ndarray, slices: dict[str, tuple[int, int]]
) -> dict[str, float]:
    """Sum a flat attribution vector over named column ranges.

    Maps attributions over an encoded vector (one-hot blocks, embeddings,
    scaled numerics) back to the original features.

    Args:
        attributions: array of shape `(n_features,)`. One row's attributions;
            average or pick a row first for a batch.
        slices: dict[str, tuple[int, int]]. Feature name to half-open column
            range `(start, stop)`.

    Returns:
        dict[str, float], in the order of `slices`.
    """
    attributions = np.asarray(attributions, dtype=np.float64)
    if attributions.ndim != 1:
        raise ValueError(
            "`attributions` must be one flat row of shape (n_features,). "
            f"Received: attributions.shape={attributions.shape}; pick a row or average first."
        )
    n = attributions.shape[0]
    out = {}
    for name, bounds in slices.items():
        start, stop = bounds
        if not 0 <= start < stop <= n:
            raise ValueError(
                f"Slice {name!r} must satisfy 0 <= start < stop <= {n}. "
                f"Received: slices[{name!r}]={tuple(bounds)}"
            )
        out[name] = float(attributions[start:stop].sum())
    return out
