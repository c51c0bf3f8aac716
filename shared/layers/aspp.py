"""Atrous spatial pyramid pooling: the context block of DeepLabV3 and DeepLabV3+."""

import keras

from shared.layers.argument_checks import check_momentum, check_positive_int, check_rate
from shared.layers.conv import check_conv_input_shape


@keras.saving.register_keras_serializable(package="dlsuite")
class AtrousSpatialPyramidPooling(keras.layers.Layer):
    """Parallel dilated convolutions plus image-level pooling, fused by a 1x1 convolution.

    Each branch sees the same feature map at another receptive field: a 1x1
    convolution, one 3x3 convolution per dilation rate, and the global average
    of the map broadcast back over it. Their outputs are concatenated and
    projected to `filters` channels, so a segmentation head gets local detail
    and scene-level context at once without losing resolution.

    Args:
        filters: int. Channels of every branch and of the output. Must be
            positive. Defaults to `64`.
        rates: tuple of int. Dilation rates of the 3x3 branches, each
            positive. DeepLab uses `(6, 12, 18)` at output stride 16; small
            feature maps (a few cells wide) want small rates such as
            `(1, 2, 3)`. Defaults to `(1, 2, 3)`.
        dropout: float. Dropout after the projection, in `[0, 1)`.
            Defaults to `0.1`.
        norm_momentum: float. Batch-norm momentum, in `(0, 1)`.
            Defaults to `0.99`.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`).

    Input shape:
        `(batch_size, height, width, channels)`, height and width known.

    Output shape:
        `(batch_size, height, width, filters)`.

    Example:

    ```python
    import numpy as np
    from shared.layers import AtrousSpatialPyramidPooling

    features = np.ones((2, 6, 10, 8), "float32")
    assert AtrousSpatialPyramidPooling(16, rates=(1, 2))(features).shape == (2, 6, 10, 16)
    ```

    Reference:
        - [Chen et al., 2017](https://arxiv.org/abs/1706.05587): Rethinking
          Atrous Convolution for Semantic Image Segmentation (DeepLabV3).
    """

    def __init__(self, filters=64, rates=(1, 2, 3), dropout=0.1, norm_momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        rates = tuple(rates)
        if not rates:
            raise ValueError(f"`rates` must hold at least one dilation rate. Received: rates={rates}")
        self.rates = tuple(check_positive_int("rates", r) for r in rates)
        self.dropout = check_rate("dropout", dropout)
        self.norm_momentum = check_momentum(norm_momentum)

    def _conv_bn(self, kernel, rate, name):
        conv = keras.layers.Conv2D(self.filters, kernel, padding="same", dilation_rate=rate, use_bias=False, dtype=self.dtype_policy, name=f"{name}_conv")
        norm = keras.layers.BatchNormalization(momentum=self.norm_momentum, dtype=self.dtype_policy, name=f"{name}_bn")
        return conv, norm

    def build(self, input_shape):
        check_conv_input_shape("AtrousSpatialPyramidPooling", 2, input_shape)
        if input_shape[1] is None or input_shape[2] is None:
            raise ValueError(f"AtrousSpatialPyramidPooling needs a known height and width. Received: input_shape={tuple(input_shape)}")
        self.branches = [self._conv_bn(1, 1, "branch_1x1")] + [self._conv_bn(3, r, f"branch_rate{r}") for r in self.rates]
        self.pool_conv, self.pool_norm = self._conv_bn(1, 1, "image_pool")
        for conv, norm in [*self.branches, (self.pool_conv, self.pool_norm)]:
            conv.build(input_shape)
            norm.build((*input_shape[:-1], self.filters))
        fused = (*input_shape[:-1], self.filters * (len(self.branches) + 1))
        self.project, self.project_norm = self._conv_bn(1, 1, "project")
        self.project.build(fused)
        self.project_norm.build((*input_shape[:-1], self.filters))
        self.drop = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy) if self.dropout else None
        self.built = True

    def call(self, inputs, training=None):
        height, width = inputs.shape[1], inputs.shape[2]
        outputs = [keras.ops.relu(norm(conv(inputs), training=training)) for conv, norm in self.branches]
        pooled = keras.ops.mean(inputs, axis=(1, 2), keepdims=True)
        pooled = keras.ops.relu(self.pool_norm(self.pool_conv(pooled), training=training))
        outputs.append(keras.ops.tile(pooled, (1, height, width, 1)))
        x = keras.ops.relu(self.project_norm(self.project(keras.ops.concatenate(outputs, axis=-1)), training=training))
        return self.drop(x, training=training) if self.drop is not None else x

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "rates": list(self.rates),
            "dropout": self.dropout,
            "norm_momentum": self.norm_momentum,
        }
