"""Residual block: two batch-normalized convolutions plus a shortcut."""

from __future__ import annotations

import keras
from keras import ops

from shared.layers.argument_checks import (
    check_choice,
    check_momentum,
    check_non_negative,
    check_positive_int,
    check_rate,
)
from shared.layers.conv import (
    CONV_LAYERS_BY_RANK,
    check_conv_input_shape,
    conv_output_length,
)


@keras.saving.register_keras_serializable(package="dlsuite")
class ResidualBlock(keras.layers.Layer):
    """Basic residual block (ResNet v1): `relu(F(x) + shortcut(x))`.

    `F` is conv -> batch norm -> relu -> dropout -> conv -> batch norm. The
    shortcut is the identity when the input already has `filters` channels
    and `strides == 1`; otherwise it is a projection (1x1 convolution with
    `strides`, then batch norm) so that the two branches can be added.

    Args:
        filters: int. Number of output channels. Must be positive.
        kernel_size: int. Window size of both convolutions. Defaults to `3`.
        strides: int. Stride of the first convolution (and of the
            projection). Defaults to `1`.
        rank: int. Number of spatial axes: `1` uses `Conv1D`, `2` uses
            `Conv2D`. Defaults to `2`.
        l2: float. L2 penalty factor on every convolution kernel; `0` adds no
            penalty. Defaults to `0.0`.
        dropout: float. Dropout rate between the two convolutions, in
            `[0, 1)`. `0` adds no Dropout layer. Defaults to `0.0`.
        norm_momentum: float. Momentum of the batch-norm moving statistics,
            in `(0, 1)`. The default `0.99` suits thousands of training steps;
            with a few hundred (small data sets) the moving statistics lag
            behind the weights and inference suffers, so use about `0.9`.
            Defaults to `0.99`.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`).

    Input shape:
        `(batch_size, steps, channels)` when `rank=1`;
        `(batch_size, height, width, channels)` when `rank=2`.

    Output shape:
        `(batch_size, ceil(steps / strides), filters)` or
        `(batch_size, ceil(height / strides), ceil(width / strides), filters)`.

    Example:

    ```python
    import numpy as np
    from shared.layers import ResidualBlock

    images = np.ones((2, 8, 8, 4), "float32")
    block = ResidualBlock(8, strides=2)
    assert block(images).shape == (2, 4, 4, 8)
    assert block.projection is not None  # channels and size changed
    ```

    Reference:
        - [He et al., 2016](https://arxiv.org/abs/1512.03385):
          Deep Residual Learning for Image Recognition.
    """

    def __init__(
        self,
        filters,
        kernel_size=3,
        strides=1,
        rank=2,
        l2=0.0,
        dropout=0.0,
        norm_momentum=0.99,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        self.strides = check_positive_int("strides", strides)
        check_choice("rank", rank, CONV_LAYERS_BY_RANK)
        self.rank = rank
        self.l2 = check_non_negative("l2", l2)
        self.dropout = check_rate("dropout", dropout)
        self.norm_momentum = check_momentum(norm_momentum)

    def _conv(self, kernel_size, strides, name):
        return CONV_LAYERS_BY_RANK[self.rank](
            self.filters,
            kernel_size,
            strides=strides,
            padding="same",
            data_format="channels_last",
            # Every convolution is followed by batch norm, so a bias is redundant.
            use_bias=False,
            kernel_regularizer=keras.regularizers.L2(self.l2) if self.l2 else None,
            dtype=self.dtype_policy,
            name=name,
        )

    def _norm(self, name):
        return keras.layers.BatchNormalization(momentum=self.norm_momentum, dtype=self.dtype_policy, name=name)

    def build(self, input_shape):
        check_conv_input_shape("ResidualBlock", self.rank, input_shape)
        output_shape = self.compute_output_shape(input_shape)

        self.conv1 = self._conv(self.kernel_size, self.strides, "conv1")
        self.conv1.build(input_shape)
        self.norm1 = self._norm("norm1")
        self.norm1.build(output_shape)
        self.dropout_layer = None
        if self.dropout:
            self.dropout_layer = keras.layers.Dropout(
                self.dropout, dtype=self.dtype_policy, name="dropout"
            )
        self.conv2 = self._conv(self.kernel_size, 1, "conv2")
        self.conv2.build(output_shape)
        self.norm2 = self._norm("norm2")
        self.norm2.build(output_shape)

        self.projection = None
        self.projection_norm = None
        if self.strides != 1 or input_shape[-1] != self.filters:
            # A 1x1 convolution with stride s equals subsampling by s, then a
            # stride-1 1x1 convolution (same weights, "same" padding adds
            # nothing). `call` subsamples first: oneDNN's CPU kernel for the
            # filter gradient of a strided 1x1 convolution corrupts memory on
            # some input sizes (TensorFlow 2.21).
            self.projection = self._conv(1, 1, "projection")
            self.projection.build(self._subsampled_shape(input_shape))
            self.projection_norm = self._norm("projection_norm")
            self.projection_norm.build(output_shape)

    def call(self, inputs, training=None):
        x = self.conv1(inputs)
        x = self.norm1(x, training=training)
        x = ops.relu(x)
        if self.dropout_layer is not None:
            x = self.dropout_layer(x, training=training)
        x = self.conv2(x)
        x = self.norm2(x, training=training)

        shortcut = inputs
        if self.projection is not None:
            shortcut = self.projection(self._subsample(inputs))
            shortcut = self.projection_norm(shortcut, training=training)
        return ops.relu(ops.add(x, shortcut))

    def _subsample(self, inputs):
        if self.strides == 1:
            return inputs
        step = slice(None, None, self.strides)
        return inputs[(slice(None), *([step] * self.rank), slice(None))]

    def _subsampled_shape(self, input_shape):
        if self.strides == 1:
            return tuple(input_shape)
        spatial = [None if n is None else -(-n // self.strides) for n in input_shape[1:-1]]
        return (input_shape[0], *spatial, input_shape[-1])

    def compute_output_shape(self, input_shape):
        spatial = [
            conv_output_length(length, self.kernel_size, self.strides, "same")
            for length in input_shape[1:-1]
        ]
        return (input_shape[0], *spatial, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "rank": self.rank,
            "l2": self.l2,
            "dropout": self.dropout,
            "norm_momentum": self.norm_momentum,
        }
