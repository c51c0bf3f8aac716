"""Convolution block: Conv1D/Conv2D, optional batch norm, activation, dropout."""

from __future__ import annotations

import keras

from shared.layers.argument_checks import (
    check_activation,
    check_choice,
    check_momentum,
    check_non_negative,
    check_positive_int,
    check_rate,
)

# A table rather than if/elif, shared with `ResidualBlock` so both accept
# the same ranks.
CONV_LAYERS_BY_RANK = {1: keras.layers.Conv1D, 2: keras.layers.Conv2D}
PADDINGS = ("same", "valid")


def conv_output_length(length, kernel_size, strides, padding):
    """Length of one spatial axis after a convolution; `None` stays unknown."""
    if length is None:
        return None
    if padding == "valid":
        length = length - kernel_size + 1
    return -(-length // strides)


def check_conv_input_shape(layer_name, rank, input_shape):
    """Raise unless `input_shape` is channels-last with `rank` spatial axes."""
    if len(input_shape) != rank + 2 or input_shape[-1] is None:
        axes = (
            "(batch, steps, channels)"
            if rank == 1
            else "(batch, height, width, channels)"
        )
        raise ValueError(
            f"{layer_name} with rank={rank} expects {rank + 2}D inputs {axes} "
            f"with a known channel axis. Received: input_shape={tuple(input_shape)}"
        )


@keras.saving.register_keras_serializable(package="dlsuite")
class ConvBlock(keras.layers.Layer):
    """Convolution block: Conv -> BatchNormalization -> activation -> Dropout.

    Works on sequences (`rank=1`, e.g. audio frames or sensor series) and on
    images (`rank=2`). Inputs are channels-last.

    Args:
        filters: int. Number of output channels. Must be positive.
        kernel_size: int. Size of the convolution window along every spatial
            axis. Defaults to `3`.
        strides: int. Stride along every spatial axis. Defaults to `1`.
        rank: int. Number of spatial axes: `1` uses `Conv1D`, `2` uses
            `Conv2D`. Defaults to `2`.
        activation: str. Name of the Keras activation applied after batch
            norm, or `None` for none. Defaults to `"relu"`.
        batch_norm: bool. Whether to batch-normalize the convolution outputs
            before the activation. Defaults to `True`.
        dropout: float. Dropout rate applied last, in `[0, 1)`. `0` adds no
            Dropout layer. Defaults to `0.0`.
        l2: float. L2 penalty factor on the convolution kernel; `0` adds no
            penalty. Defaults to `0.0`.
        padding: str. `"same"` keeps the spatial size (divided by `strides`),
            `"valid"` does not pad. Defaults to `"same"`.
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
        `(batch_size, new_steps, filters)` or
        `(batch_size, new_height, new_width, filters)`.

    Example:

    ```python
    import numpy as np
    from shared.layers import ConvBlock

    images = np.ones((2, 8, 8, 3), "float32")
    assert ConvBlock(4, strides=2)(images).shape == (2, 4, 4, 4)

    frames = np.ones((2, 10, 5), "float32")
    assert ConvBlock(6, rank=1, padding="valid")(frames).shape == (2, 8, 6)
    ```

    Reference:
        - [Ioffe & Szegedy, 2015](https://arxiv.org/abs/1502.03167):
          Batch Normalization.
    """

    def __init__(
        self,
        filters,
        kernel_size=3,
        strides=1,
        rank=2,
        activation="relu",
        batch_norm=True,
        dropout=0.0,
        l2=0.0,
        padding="same",
        norm_momentum=0.99,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        self.strides = check_positive_int("strides", strides)
        check_choice("rank", rank, CONV_LAYERS_BY_RANK)
        self.rank = rank
        self.activation = check_activation("activation", activation)
        self.batch_norm = bool(batch_norm)
        self.dropout = check_rate("dropout", dropout)
        self.l2 = check_non_negative("l2", l2)
        self.padding = check_choice("padding", padding, PADDINGS)
        self.norm_momentum = check_momentum(norm_momentum)

    def build(self, input_shape):
        check_conv_input_shape("ConvBlock", self.rank, input_shape)
        self.conv = CONV_LAYERS_BY_RANK[self.rank](
            self.filters,
            self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            data_format="channels_last",
            # Batch norm re-centres the outputs, which makes a bias redundant.
            use_bias=not self.batch_norm,
            kernel_regularizer=keras.regularizers.L2(self.l2) if self.l2 else None,
            dtype=self.dtype_policy,
            name="conv",
        )
        self.conv.build(input_shape)
        output_shape = self.compute_output_shape(input_shape)

        self.norm = None
        if self.batch_norm:
            self.norm = keras.layers.BatchNormalization(
                momentum=self.norm_momentum, dtype=self.dtype_policy, name="batch_norm"
            )
            self.norm.build(output_shape)

        self.activation_layer = keras.layers.Activation(
            self.activation, dtype=self.dtype_policy, name="activation"
        )
        self.dropout_layer = None
        if self.dropout:
            self.dropout_layer = keras.layers.Dropout(
                self.dropout, dtype=self.dtype_policy, name="dropout"
            )

    def call(self, inputs, training=None):
        x = self.conv(inputs)
        if self.norm is not None:
            x = self.norm(x, training=training)
        x = self.activation_layer(x)
        if self.dropout_layer is not None:
            x = self.dropout_layer(x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        spatial = [
            conv_output_length(length, self.kernel_size, self.strides, self.padding)
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
            "activation": self.activation,
            "batch_norm": self.batch_norm,
            "dropout": self.dropout,
            "l2": self.l2,
            "padding": self.padding,
            "norm_momentum": self.norm_momentum,
        }
