"""Attributions over a model's own feature representation (e.g. a spectrogram).

A model built as `scorer(features(x))` (the sub-models named
`shared.layers.names.FEATURES` and `SCORER`) computes its features inside
the graph: a speech model turns raw audio into a log-mel spectrogram. The
spectrogram is what a person can read, so attributions are computed there:
integrated gradients of the top class's probability, along the straight
path from the features of a baseline input (silence, by default) to the
features of the input.

Example:

```python
result = feature_saliency(model, waveform)           # one unbatched input
result["saliency"].shape == result["features"].shape  # e.g. (frames, mel bins)
```
"""

from __future__ import annotations

import numpy as np

from shared.errors import UnsupportedError


def split_model(model):
    """The `(features, scorer)` sub-models of `model`, or an UnsupportedError naming what is missing."""
    from shared.layers.names import FEATURES, SCORER

    names = {layer.name for layer in model.layers}
    missing = [n for n in (FEATURES, SCORER) if n not in names]
    if missing:
        raise UnsupportedError(
            f"model {model.name!r} has no {' or '.join(map(repr, missing))} sub-model, so its input features cannot be explained; "
            f"build it as scorer(features(x))"
        )
    return model.get_layer(FEATURES), model.get_layer(SCORER)


def feature_saliency(model, example, baseline=None, class_index: int | None = None, steps: int = 32) -> dict:
    """Integrated gradients of one class's probability over the model's features of `example`.

    Args:
        model: keras.Model. Built as `scorer(features(x))`, scoring classes.
        example: array. One input, without the batch axis.
        baseline: array or None. The reference input. Defaults to zeros
            (silence, for audio).
        class_index: int or None. The class explained. Defaults to the top class.
        steps: int. Integration steps. Defaults to `32`.

    Returns:
        dict with `features` (the input's features), `saliency` (absolute
        attributions scaled to [0, 1], same shape), `attributions` (signed),
        `probabilities` and `baseline_probabilities`, and `class_index`.
    """
    import keras

    from shared.explain.integrated_gradients import integrated_gradients

    features, scorer = split_model(model)
    x = np.asarray(example, np.float32)[None]
    b = np.zeros_like(x) if baseline is None else np.asarray(baseline, np.float32)[None]
    f_x = np.asarray(features(x, training=False))
    f_b = np.asarray(features(b, training=False))
    probs = np.asarray(scorer(np.concatenate([f_x, f_b]), training=False))
    k = int(np.argmax(probs[0])) if class_index is None else int(class_index)
    if not 0 <= k < probs.shape[-1]:
        raise ValueError(f"class_index must be in [0, {probs.shape[-1]}). Received: class_index={class_index}")

    def score(f):
        return keras.ops.take(scorer(f, training=False), k, axis=-1)

    attributions = integrated_gradients(score, f_x, f_b, steps=steps)[0]
    peak = float(np.abs(attributions).max())
    return {
        "features": f_x[0],
        "attributions": attributions,
        "saliency": np.abs(attributions) / peak if peak > 0 else np.zeros_like(attributions),
        "probabilities": probs[0],
        "baseline_probabilities": probs[1],
        "class_index": k,
    }
