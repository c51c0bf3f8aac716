"""Per-image intensity normalisation for images whose exposure varies."""

from __future__ import annotations

import keras
from keras import ops

from shared.layers.argument_checks import check_choice

MODES = ("zscore", "minmax")


@keras.saving.register_keras_serializable(package="dlsuite")
class IntensityNormalization(keras.layers.Layer):
    """Rescales each image by its own statistics.

    Radiographs, microscopy and camera frames vary in exposure and contrast
    from one acquisition to the next; a finding is a local pattern, not a
    global brightness. Normalising every image on its own removes that
    nuisance before the first convolution (it has no weights to learn and
    behaves the same in training and inference).

    Args:
        mode: str. `"zscore"` subtracts the image's mean and divides by its
            standard deviation; `"minmax"` maps its minimum to 0 and maximum
            to 1 (keeps the [0, 1] range pretrained backbones expect).
            Defaults to `"zscore"`.
        epsilon: float. Guards flat images against division by zero.
            Defaults to `1e-6`.
        **kwargs: Base layer arguments (`name`, `dtype`).

    Input shape:
        `(batch_size, height, width, channels)`; statistics are taken over
        all pixels and channels of each image.

    Output shape:
        Same as the input.

    Example:

    ```python
    import numpy as np
    from shared.layers import IntensityNormalization

    x = np.array([[[[2.0], [4.0]], [[6.0], [8.0]]]], "float32")
    IntensityNormalization("minmax")(x)  # 0, 1/3, 2/3, 1
    ```

    Reference:
        - [Per-image standardization, `tf.image.per_image_standardization`](https://www.tensorflow.org/api_docs/python/tf/image/per_image_standardization)
    """

    def __init__(self, mode: str = "zscore", epsilon: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.mode = check_choice("mode", mode, MODES)
        if epsilon <= 0:
            raise ValueError(f"`epsilon` must be positive. Received: epsilon={epsilon}")
        self.epsilon = float(epsilon)

    def call(self, inputs):
        axes = tuple(range(1, len(inputs.shape)))
        x = ops.cast(inputs, "float32")
        if self.mode == "zscore":
            mean = ops.mean(x, axis=axes, keepdims=True)
            std = ops.std(x, axis=axes, keepdims=True)
            out = (x - mean) / (std + self.epsilon)
        else:
            low = ops.min(x, axis=axes, keepdims=True)
            high = ops.max(x, axis=axes, keepdims=True)
            out = (x - low) / (high - low + self.epsilon)
        return ops.cast(out, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "epsilon": self.epsilon}
