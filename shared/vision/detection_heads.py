"""The CenterNet prediction head as a functional building block.

`centernet_head(features, num_classes)` puts three small convolutional heads
on one feature map (the output grid): per-class centre heatmap logits, box
size and centre offset, and concatenates them into one float32 tensor
`(batch, Ho, Wo, num_classes + 4)`, the layout `shared.vision.centernet`'s
`split_outputs` and `PackedCenterNetLoss` read. One packed output keeps the
model a plain single-output Keras model: `compile(loss=...)`, `fit`,
`predict`, saving and TFLite export need no special case.
"""

from __future__ import annotations

import math

import keras

from shared.layers import ConvBlock

# Heatmap bias so that every cell starts at probability 0.1 (CenterNet, after Lin et al.'s focal-loss prior).
HEATMAP_PRIOR = 0.1


def centernet_head(features, num_classes: int, head_filters: int = 64, name: str = "detections"):
    """Heatmap logits, size and offset maps on `features`, packed into one float32 tensor.

    Args:
        features: Keras tensor `(batch, Ho, Wo, channels)`, the output grid.
        num_classes: int. Object classes (heatmap channels).
        head_filters: int. Channels of each head's hidden 3x3 convolution.
        name: str. Name of the packed output layer.

    Returns:
        `(batch, Ho, Wo, num_classes + 4)`: heatmap logits, then (width,
        height) in grid cells, then the (x, y) sub-cell offset.
    """
    if num_classes < 1:
        raise ValueError(f"num_classes must be positive. Received: num_classes={num_classes}")
    bias = -math.log((1 - HEATMAP_PRIOR) / HEATMAP_PRIOR)
    outputs = []
    for part, channels, init in (("heatmap", num_classes, bias), ("size", 2, 0.0), ("offset", 2, 0.0)):
        x = ConvBlock(head_filters, batch_norm=False, name=f"{part}_hidden")(features)
        outputs.append(keras.layers.Conv2D(channels, 1, bias_initializer=keras.initializers.Constant(init), dtype="float32", name=f"{part}_out")(x))
    return keras.layers.Concatenate(dtype="float32", name=name)(outputs)
