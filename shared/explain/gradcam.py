"""Grad-CAM heatmaps for image classifiers (TensorFlow backend).

Grad-CAM weighs each channel `k` of a spatial feature map `A` (shape
`(h, w, c)`) by the spatially averaged gradient of the class score `y_c`:

    cam = ReLU(sum_k alpha_k A_k),  alpha_k = mean_ij d y_c / d A_k[i, j]

Here the map is upsampled to the input's height and width (bilinear) before
the ReLU, then divided by its maximum, so each heatmap lies in [0, 1] with 0
meaning "no positive evidence" (an all-zero map stays all zero).

Two ways to get the feature map and the score:

- **From a Keras graph** (`model`, Functional or Sequential): the target is
  `layer_name`, or by default the last layer whose output is 4-D
  `(batch, h, w, c)`, input layers excepted. The search walks the layers from
  the output backwards and descends into nested Functional/Sequential models
  whose own output is not 4-D (a backbone ending in pooling, a whole
  classifier wrapped in a bigger model). Any layer counts, including a custom
  or opaque one (e.g. wrapping a TF SavedModel) whose output is 4-D. When
  the target lies in the model's own graph, one model
  `keras.Model(inputs, [target_output, output])` gives both tensors. When it
  lies inside a nested model, the outer model is split at that nested model
  into the part before it, the nested model (handled the same way,
  recursively) and the part after it; this needs the part after it to
  depend only on the nested model's output (no skip connection around it).
- **From two callables** (`feature_fn`, `head_fn`): for anything else, e.g. a
  subclassed model, or features from a TF SavedModel called outside any
  Keras graph. `feature_fn(images)` returns the 4-D features and
  `head_fn(features)` the class scores; a pair of Keras models split at a
  boundary layer works too.

Scores are taken from the model output as given. For softmax outputs
saturated near 0 or 1 the gradients are tiny and the maps noisy; a head
returning logits (pass it as `head_fn`) gives cleaner maps.

Example:

```python
heatmaps = grad_cam(model, images)                    # (n, H, W) in [0, 1]
rgb = overlay(images[0], heatmaps[0])                  # (H, W, 3) for display
feature_layer_path(model)                              # e.g. ["backbone", "conv_3"]
```

Reference: Selvaraju et al., "Grad-CAM: Visual Explanations from Deep
Networks via Gradient-based Localization", ICCV 2017.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf
from matplotlib import colormaps

DEFAULT_BATCH_SIZE = 32


def _is_graph_model(layer) -> bool:
    """Whether `layer` is a Functional or built Sequential model (has a layer graph)."""
    if not isinstance(layer, keras.Model):
        return False
    try:
        return bool(layer.inputs) and bool(layer.outputs)
    except (AttributeError, ValueError):  # subclassed or never-built models
        return False


def _calls_in(model, layer) -> list:
    """The calls (Keras nodes) of `layer` that belong to `model`'s graph."""
    # Keras has no public per-graph lookup: `_inbound_nodes` holds the calls of
    # `layer` in every graph it is part of (a backbone reused by two models has
    # two), and the model's Functional (Sequential wraps one) lists its own.
    graph = getattr(model, "_functional", None) or model
    own = {id(node) for nodes in graph._nodes_by_depth.values() for node in nodes}
    return [node for node in layer._inbound_nodes if id(node) in own]


def _only_call(model, layer):
    calls = _calls_in(model, layer)
    if len(calls) != 1:
        raise ValueError(
            f"Layer {layer.name!r} is called {len(calls)} times in model {model.name!r}, so it "
            "has no single feature map; pick another `layer_name`, or pass `feature_fn` and "
            "`head_fn`."
        )
    return calls[0]


def _outputs_feature_map(model, layer) -> bool:
    calls = _calls_in(model, layer)
    if len(calls) != 1 or len(calls[0].output_tensors) != 1:
        return False
    return len(calls[0].output_tensors[0].shape) == 4


def _find_path(model, layer_name: str | None) -> list:
    """Layers from `model`'s own down to the target, e.g. `[backbone, conv_3]`; [] if none."""
    for layer in reversed(model.layers):
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if layer_name is None and _outputs_feature_map(model, layer):
            return [layer]
        if layer_name is not None and layer.name == layer_name:
            return [layer]
        if _is_graph_model(layer):
            inner = _find_path(layer, layer_name)
            if inner:
                return [layer, *inner]
    return []


def _all_names(model, prefix: str = "") -> list[str]:
    names = []
    for layer in model.layers:
        names.append(prefix + layer.name)
        if _is_graph_model(layer):
            names.extend(_all_names(layer, prefix + layer.name + "/"))
    return names


def _checked_graph_model(model):
    if not _is_graph_model(model):
        raise ValueError(
            f"`model` must be a Functional or built Sequential Keras model with a layer graph. "
            f"Received: {type(model).__name__}; for a subclassed model or a non-Keras feature "
            "extractor pass `feature_fn` and `head_fn` instead."
        )
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(
            "Grad-CAM needs a model with one input and one output. Received: "
            f"{len(model.inputs)} inputs, {len(model.outputs)} outputs; wrap it, or pass "
            "`feature_fn` and `head_fn`."
        )


def feature_layer_path(model, layer_name: str | None = None) -> list[str]:
    """Names from `model`'s own layer down to the Grad-CAM target layer.

    Args:
        model: Functional or Sequential `keras.Model`.
        layer_name: str or None. A layer name, searched in nested models
            too. Defaults to `None`: the last layer with a 4-D output.

    Returns:
        list[str], e.g. `["conv_3"]`, or `["backbone", "conv_3"]` for a
        layer inside the nested model `backbone`.
    """
    return [layer.name for layer in _target_path(model, layer_name)]


def _target_path(model, layer_name: str | None) -> list:
    _checked_graph_model(model)
    path = _find_path(model, layer_name)
    if path:
        return path
    names = _all_names(model)
    if layer_name is None:
        raise ValueError(
            f"No layer of model {model.name!r} outputs a 4-D (batch, h, w, channels) feature "
            "map (layers called more than once are skipped). Pass `layer_name`, or `feature_fn` "
            "and `head_fn`."
        )
    raise ValueError(
        f"No layer named {layer_name!r} in model {model.name!r} or its nested models. "
        f"Received: layer_name={layer_name!r}; layers (last 20): {names[-20:]}"
    )


def _features_and_output(model, path: list) -> Callable:
    """Callable `x -> (features, output)` that runs `model` exposing the target's output."""
    _checked_graph_model(model)
    inputs, outputs = model.inputs[0], model.outputs[0]
    call = _only_call(model, path[0])
    if len(path) == 1:
        both = keras.Model(inputs, [call.output_tensors[0], outputs])
        return lambda x: both(x, training=False)
    nested = path[0]
    if len(call.input_tensors) != 1 or len(call.output_tensors) != 1:
        raise ValueError(
            f"Nested model {nested.name!r} must take and return one tensor to be split "
            "around. Pass `feature_fn` and `head_fn` instead."
        )
    before, after = call.input_tensors[0], call.output_tensors[0]
    inner = _features_and_output(nested, path[1:])
    head = None
    if after is not outputs:
        try:
            head = keras.Model(after, outputs)
        except ValueError as error:
            raise ValueError(
                f"The layers after nested model {nested.name!r} also use tensors from before it "
                f"(e.g. a skip connection), so the model cannot be split there ({error}). "
                "Pass `feature_fn` and `head_fn` instead."
            ) from None
    stem = None if before is inputs else keras.Model(inputs, before)

    def run(x):
        features, y = inner(x if stem is None else stem(x, training=False))
        return features, (y if head is None else head(y, training=False))

    return run


def _class_scores(output, rows: np.ndarray | None, batch: int) -> tf.Tensor:
    """One score per row: the chosen column of a `(batch, k)` (or `(batch,)`) output."""
    output = tf.convert_to_tensor(output)
    if output.shape.rank == 1:
        output = output[:, None]
    if output.shape.rank != 2 or output.shape[0] != batch:
        raise ValueError(
            "The classifier must return class scores of shape (batch, k) or (batch,). "
            f"Received: output shape {tuple(output.shape)} for a batch of {batch}."
        )
    k = output.shape[1]
    if rows is None:
        rows = tf.argmax(output, axis=1, output_type=tf.int32)
    elif rows.min() < 0 or rows.max() >= k:
        raise ValueError(
            f"`class_index` must lie in [0, {k - 1}] for {k} class scores. "
            f"Received: class ids from {rows.min()} to {rows.max()}"
        )
    return tf.gather(output, rows, axis=1, batch_dims=1)


def _class_rows(class_index, n: int) -> np.ndarray | None:
    """`class_index` as one int per image, or None for "each image's top class"."""
    if class_index is None:
        return None
    index = np.asarray(class_index)
    if index.ndim == 0:
        index = np.full(n, index)
    if index.shape != (n,) or not np.issubdtype(index.dtype, np.integer):
        raise ValueError(
            f"`class_index` must be None, an int, or {n} ints (one per image). "
            f"Received: class_index={class_index!r}"
        )
    return index.astype(np.int32)


def _heatmaps(features, grads, size: tuple[int, int]) -> tf.Tensor:
    features = tf.cast(features, tf.float32)
    grads = tf.cast(grads, tf.float32)
    weights = tf.reduce_mean(grads, axis=(1, 2))
    cam = tf.einsum("bhwc,bc->bhw", features, weights)
    cam = tf.nn.relu(tf.image.resize(cam[..., None], size, method="bilinear")[..., 0])
    peak = tf.reduce_max(cam, axis=(1, 2), keepdims=True)
    return tf.math.divide_no_nan(cam, peak)


def grad_cam(
    model,
    images,
    class_index=None,
    layer_name: str | None = None,
    *,
    feature_fn: Callable | None = None,
    head_fn: Callable | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> np.ndarray:
    """Grad-CAM heatmap of one class score per image, at the input resolution.

    Args:
        model: Functional or Sequential `keras.Model` with one image input
            and one `(batch, k)` (or `(batch, 1)`) class-score output, or
            `None` when `feature_fn` and `head_fn` are given.
        images: array of shape `(n, H, W, channels)`. Model inputs.
        class_index: None, int, or `n` ints. Which class score to explain:
            `None` takes each image's highest-scoring class. Defaults to
            `None`.
        layer_name: str or None. Name of the feature-map layer, searched in
            nested models too. Defaults to `None`: the last layer with a 4-D
            output (see the module docstring).
        feature_fn: callable or None. Maps a float32 image batch to 4-D
            features `(batch, h, w, c)`; with `head_fn`, replaces `model`.
            Defaults to `None`.
        head_fn: callable or None. Maps those features to class scores; it
            must be differentiable (TensorFlow or Keras ops). Defaults to
            `None`.
        batch_size: int >= 1. Images per forward/backward pass. Defaults to
            `32`.

    Returns:
        `np.ndarray` (float32) of shape `(n, H, W)`, each map in [0, 1].
    """
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"`batch_size` must be an integer >= 1. Received: batch_size={batch_size}")
    x = np.asarray(images, dtype=np.float32)
    if x.ndim != 4 or x.shape[0] == 0:
        raise ValueError(
            "`images` must be a non-empty batch of shape (n, H, W, channels). "
            f"Received: images.shape={x.shape}"
        )
    class_rows = _class_rows(class_index, x.shape[0])
    if (feature_fn is None) != (head_fn is None):
        raise ValueError("Pass both `feature_fn` and `head_fn`, or neither.")
    if feature_fn is not None:
        if model is not None or layer_name is not None:
            raise ValueError(
                "With `feature_fn` and `head_fn`, pass `model=None` and no `layer_name`. "
                f"Received: model={type(model).__name__}, layer_name={layer_name!r}"
            )
    else:
        run = _features_and_output(model, _target_path(model, layer_name))
    size = x.shape[1:3]
    maps = []
    for start in range(0, x.shape[0], batch_size):
        batch = tf.constant(x[start : start + batch_size])
        rows = None if class_rows is None else class_rows[start : start + batch_size]
        with tf.GradientTape() as tape:
            if feature_fn is not None:
                features = tf.convert_to_tensor(feature_fn(batch))
                tape.watch(features)
                output = head_fn(features)
            else:
                # Watching the input records every op up to the features, so
                # gradients reach them even through frozen (non-trainable) layers.
                tape.watch(batch)
                features, output = run(batch)
            if features.shape.rank != 4:
                raise ValueError(
                    "The feature map must be 4-D (batch, h, w, channels). "
                    f"Received: shape {tuple(features.shape)}"
                )
            # Rows are independent, so d(sum)/d(features) holds each row's own gradient.
            total = tf.reduce_sum(_class_scores(output, rows, batch.shape[0]))
        grads = tape.gradient(total, features)
        if grads is None:
            raise ValueError(
                "The class score does not depend differentiably on the feature map, so it has "
                "no gradient; check `layer_name`, or make `head_fn` use TensorFlow/Keras ops."
            )
        maps.append(_heatmaps(features, grads, size).numpy())
    return np.concatenate(maps).astype(np.float32)


def overlay(image, heatmap, alpha: float = 0.4, cmap: str = "jet") -> np.ndarray:
    """Blend a colour-mapped heatmap over an image, for display.

    Args:
        image: array of shape `(H, W)`, `(H, W, 1)` or `(H, W, 3)` with
            values in [0, 1]. Grey images are repeated to RGB.
        heatmap: array of shape `(H, W)` with values in [0, 1], e.g. one map
            from `grad_cam`.
        alpha: float in [0, 1]. Weight of the heatmap colour. Defaults to
            `0.4`.
        cmap: str. Name of a matplotlib colormap. Defaults to `"jet"`.

    Returns:
        `np.ndarray` (float32) of shape `(H, W, 3)`, RGB in [0, 1]:
        `(1 - alpha) * image + alpha * cmap(heatmap)`.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"`alpha` must be in [0, 1]. Received: alpha={alpha}")
    img = np.asarray(image, dtype=np.float32)
    heat = np.asarray(heatmap, dtype=np.float32)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    if img.ndim != 3 or img.shape[-1] != 3 or heat.shape != img.shape[:2]:
        raise ValueError(
            "`image` must be (H, W), (H, W, 1) or (H, W, 3) and `heatmap` (H, W) of the same "
            f"H and W. Received: image.shape={np.shape(image)}, heatmap.shape={heat.shape}"
        )
    for name, values in (("image", img), ("heatmap", heat)):
        if not np.isfinite(values).all() or values.min() < 0 or values.max() > 1:
            raise ValueError(
                f"`{name}` must hold values in [0, 1]. Received: min={np.nanmin(values):.4g}, "
                f"max={np.nanmax(values):.4g}; rescale it first."
            )
    colours = colormaps[cmap](heat)[..., :3].astype(np.float32)
    return np.clip((1.0 - alpha) * img + alpha * colours, 0.0, 1.0)
