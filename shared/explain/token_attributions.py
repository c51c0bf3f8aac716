"""Which tokens moved a text model's score: integrated gradients on the embeddings, and word occlusion.

- `token_attributions`: for a model built as `scorer([features(ids), mask])`
  (the sub-models named `shared.layers.names.FEATURES` and `SCORER`, the
  mask `ids != 0`), integrated gradients of one class's probability along
  the straight path from all-zero embeddings to the text's embeddings, with
  the padding mask held fixed, so the path never attends to padding. A
  token's attribution is the sum over its embedding dimensions; by IG's
  completeness the attributions add up to `p(x) - p(baseline)`.
- `word_occlusion`: for models that take raw strings (a Hub backbone
  tokenizes inside itself, so its embeddings are out of reach), each word's
  attribution is how much the probability drops when that word is left out.

Example:

```python
result = token_attributions(model, ids)      # ids: int (sequence_length,)
result["attributions"].shape                 # (sequence_length,), 0 on padding
```
"""

from __future__ import annotations

import re

import numpy as np

from shared.explain.feature_saliency import split_model

WORD = re.compile(r"\S+")


def token_attributions(model, ids, class_index: int | None = None, steps: int = 32) -> dict:
    """Integrated gradients of one class's probability over the token embeddings of one id sequence.

    Args:
        model: keras.Model. Built as `scorer([features(ids), ids != 0])`.
        ids: int array `(sequence_length,)`, padded with 0.
        class_index: int or None. The class explained. Defaults to the top class.
        steps: int. Integration steps. Defaults to `32`.

    Returns:
        dict with `attributions` (signed, one per position, 0 on padding),
        `probabilities`, `baseline_probabilities`, `class_index` and
        `completeness_gap` (`|sum(attributions) - (p(x) - p(baseline))|`).
    """
    import keras

    from shared.explain.integrated_gradients import integrated_gradients

    features, scorer = split_model(model)
    ids = np.asarray(ids, np.int32)[None]
    mask = ids != 0
    embedded = np.asarray(features(ids, training=False), np.float32)
    baseline = np.zeros_like(embedded)
    probs = np.asarray(scorer([np.concatenate([embedded, baseline]), np.concatenate([mask, mask])], training=False))
    k = int(np.argmax(probs[0])) if class_index is None else int(class_index)
    if not 0 <= k < probs.shape[-1]:
        raise ValueError(f"class_index must be in [0, {probs.shape[-1]}). Received: class_index={class_index}")

    def score(path):
        held = keras.ops.broadcast_to(keras.ops.convert_to_tensor(mask), keras.ops.shape(path)[:2])
        return keras.ops.take(scorer([path, held], training=False), k, axis=-1)

    per_dim = integrated_gradients(score, embedded, baseline, steps=steps)[0]
    attributions = per_dim.sum(axis=-1) * mask[0]
    gap = abs(float(attributions.sum()) - float(probs[0, k] - probs[1, k]))
    return {
        "attributions": attributions.astype(np.float32),
        "probabilities": probs[0],
        "baseline_probabilities": probs[1],
        "class_index": k,
        "completeness_gap": gap,
    }


def word_occlusion(predict, text: str, class_index: int | None = None, max_words: int = 256) -> dict:
    """Each word's attribution as the drop in one class's probability when the word is left out.

    Args:
        predict: callable. Maps a list of strings to probabilities `(n, classes)`.
        text: str. The text explained, split on white space.
        class_index: int or None. The class explained. Defaults to the top class.
        max_words: int. Words beyond this many are not occluded (attribution 0).

    Returns:
        dict with `words`, `attributions` (one per word), `probabilities`,
        `baseline_probabilities` (of the empty text) and `class_index`.
    """
    words = WORD.findall(text)
    variants = [" ".join(words[:i] + words[i + 1 :]) for i in range(min(len(words), max_words))]
    probs = np.asarray(predict([text, "", *variants]), np.float32)
    k = int(np.argmax(probs[0])) if class_index is None else int(class_index)
    if not 0 <= k < probs.shape[-1]:
        raise ValueError(f"class_index must be in [0, {probs.shape[-1]}). Received: class_index={class_index}")
    attributions = np.zeros(len(words), np.float32)
    attributions[: len(variants)] = probs[0, k] - probs[2:, k]
    return {"words": words, "attributions": attributions, "probabilities": probs[0], "baseline_probabilities": probs[1], "class_index": k}


def highlight_html(tokens, attributions, max_abs: float | None = None) -> str:
    """Tokens as HTML spans shaded by attribution: green raised the explained class's score, red lowered it.

    Every token is HTML-escaped, so a text that holds markup is shown, never rendered.
    """
    import html

    values = np.asarray(attributions, np.float32)
    scale = float(np.abs(values).max()) if max_abs is None else float(max_abs)
    spans = []
    for token, value in zip(tokens, values):
        alpha = 0.0 if scale <= 0 else min(1.0, abs(float(value)) / scale)
        colour = "22, 163, 74" if value >= 0 else "220, 38, 38"
        spans.append(
            f'<span title="{float(value):+.4f}" style="background: rgba({colour}, {alpha * 0.75:.2f}); '
            f'border-radius: 3px; padding: 1px 2px; margin: 1px; display: inline-block">{html.escape(str(token))}</span>'
        )
    return " ".join(spans)
