"""Classification head: optional dropout and a float32 Dense layer."""

from __future__ import annotations

import keras

from shared.layers.argument_checks import (
    check_activation,
    check_positive_int,
    check_rate,
)


@keras.saving.register_keras_serializable(package="dlsuite")
class ClassificationHead(keras.layers.Layer):
    """Maps features to class probabilities (or logits).

    `num_classes=1` is binary classification: one sigmoid unit by default.
    Otherwise one softmax unit per class by default. Pass
    `activation="linear"` to get logits (for losses built with
    `from_logits=True`). The Dense layer and so the outputs are always
    float32, which keeps the probabilities and the loss stable under the
    `mixed_float16` policy.

    Args:
        num_classes: int. Number of classes; `1` means binary. Must be
            positive.
        dropout: float. Dropout rate applied to the features first, in
            `[0, 1)`. `0` adds no Dropout layer. Defaults to `0.0`.
        activation: str. Name of the output activation. `None` picks
            `"sigmoid"` when `num_classes == 1`, else `"softmax"`.
            Defaults to `None`.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`).

    Input shape:
        `(batch_size, ..., features)`.

    Output shape:
        `(batch_size, ..., num_classes)`, float32.

    Example:

    ```python
    import numpy as np
    from shared.layers import ClassificationHead

    features = np.random.rand(4, 16).astype("float32")
    probabilities = ClassificationHead(3)(features)
    np.testing.assert_allclose(np.sum(probabilities, axis=-1), 1.0, rtol=1e-6)
    logits = ClassificationHead(3, activation="linear")(features)
    ```

    Reference:
        - [Keras mixed precision guide](
          https://keras.io/api/mixed_precision/): why outputs stay float32.
    """

    def __init__(self, num_classes, dropout=0.0, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = check_positive_int("num_classes", num_classes)
        self.dropout = check_rate("dropout", dropout)
        self.activation = check_activation("activation", activation)

    @property
    def output_activation(self):
        """The activation actually applied, after resolving the default."""
        if self.activation is not None:
            return self.activation
        return "sigmoid" if self.num_classes == 1 else "softmax"

    def build(self, input_shape):
        self.dropout_layer = None
        if self.dropout:
            self.dropout_layer = keras.layers.Dropout(
                self.dropout, dtype=self.dtype_policy, name="dropout"
            )
        self.dense = keras.layers.Dense(
            self.num_classes,
            activation=self.output_activation,
            dtype="float32",
            name="dense",
        )
        self.dense.build(input_shape)

    def call(self, inputs, training=None):
        x = inputs
        if self.dropout_layer is not None:
            x = self.dropout_layer(x, training=training)
        return self.dense(x)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.num_classes)

    def compute_output_spec(self, inputs, training=None):
        # The base class would report the layer's (possibly float16) compute
        # dtype; the Dense layer always emits float32.
        shape = self.compute_output_shape(inputs.shape)
        return keras.KerasTensor(shape, dtype="float32")

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "dropout": self.dropout,
            "activation": self.activation,
        }
