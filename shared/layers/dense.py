"""Dense block: Dense, optional batch norm, activation, optional dropout."""

from __future__ import annotations

import keras

from shared.layers.argument_checks import (
    check_activation,
    check_non_negative,
    check_positive_int,
    check_rate,
)


@keras.saving.register_keras_serializable(package="dlsuite")
class DenseBlock(keras.layers.Layer):
    """Fully connected block: Dense -> BatchNormalization -> activation -> Dropout.

    Args:
        units: int. Width of the Dense layer. Must be positive.
        activation: str. Name of the Keras activation applied after batch
            norm, or `None` for none. Defaults to `"relu"`.
        dropout: float. Dropout rate applied last, in `[0, 1)`. `0` adds no
            Dropout layer. Defaults to `0.0`.
        batch_norm: bool. Whether to batch-normalize the Dense outputs before
            the activation. Defaults to `True`.
        l2: float. L2 penalty factor on the Dense kernel; `0` adds no
            penalty. Defaults to `0.0`.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`).

    Input shape:
        `(batch_size, ..., input_dim)`.

    Output shape:
        `(batch_size, ..., units)`.

    Example:

    ```python
    import numpy as np
    from shared.layers import DenseBlock

    block = DenseBlock(16, dropout=0.1, l2=1e-4)
    outputs = block(np.ones((4, 8), "float32"))
    assert outputs.shape == (4, 16)
    assert len(block.losses) == 1  # the L2 penalty
    ```

    Reference:
        - [Ioffe & Szegedy, 2015](https://arxiv.org/abs/1502.03167):
          Batch Normalization.
    """

    def __init__(
        self,
        units,
        activation="relu",
        dropout=0.0,
        batch_norm=True,
        l2=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.activation = check_activation("activation", activation)
        self.dropout = check_rate("dropout", dropout)
        self.batch_norm = bool(batch_norm)
        self.l2 = check_non_negative("l2", l2)

    def build(self, input_shape):
        self.dense = keras.layers.Dense(
            self.units,
            # Batch norm re-centres the outputs, which makes a bias redundant.
            use_bias=not self.batch_norm,
            kernel_regularizer=keras.regularizers.L2(self.l2) if self.l2 else None,
            dtype=self.dtype_policy,
            name="dense",
        )
        self.dense.build(input_shape)
        output_shape = self.compute_output_shape(input_shape)

        self.norm = None
        if self.batch_norm:
            self.norm = keras.layers.BatchNormalization(
                dtype=self.dtype_policy, name="batch_norm"
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
        x = self.dense(inputs)
        if self.norm is not None:
            x = self.norm(x, training=training)
        x = self.activation_layer(x)
        if self.dropout_layer is not None:
            x = self.dropout_layer(x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": self.activation,
            "dropout": self.dropout,
            "batch_norm": self.batch_norm,
            "l2": self.l2,
        }
