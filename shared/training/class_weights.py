"""Balanced class weights from class counts.

`balanced_class_weights` is scikit-learn's "balanced" rule
(`sklearn.utils.class_weight.compute_class_weight`), `n / (k * count)`,
computed from counts so that a streamed data set (a pack's per-class
counts) needs no label array. Classes absent from training get no weight.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shared.errors import DataError


def balanced_class_weights(counts: Sequence[int], names: Sequence[str] | None = None, required: Sequence[int] = (), source: str = "the data") -> dict[int, float]:
    """`{class index: weight}` so that every class present weighs the same in total.

    Args:
        counts: training examples per class index.
        names: class names, for the error line.
        required: class indices that must be present (e.g. the positive
            class of a binary task); a missing one is one `DataError` line.
        source: what the counts came from, for the error line.

    Example:

    >>> balanced_class_weights([90, 10])
    {0: 0.5555555555555556, 1: 5.0}
    """
    counts = np.asarray(counts, dtype=np.float64)
    for index in required:
        if index >= len(counts) or counts[index] == 0:
            label = names[index] if names is not None and index < len(names) else index
            raise DataError(f"{source}: the training split has no examples of class {label!r}; it cannot be learned")
    present = counts > 0
    if not present.any():
        raise DataError(f"{source}: the training split is empty")
    total, k = counts.sum(), int(present.sum())
    return {i: float(total / (k * c)) for i, c in enumerate(counts) if c > 0}
