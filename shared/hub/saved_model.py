"""Write a Keras feature extractor as a TF2 reusable SavedModel (TF Hub layout).

The layout is the one `tensorflow_hub.load` and `HubBackbone` accept, the same
as tfhub.dev's image feature vectors:

- `obj(images, training=False)`: `__call__` traced for both `training` values,
  so fine-tuning can run BatchNorm in training mode;
- `obj.variables`, `obj.trainable_variables` (bottom-to-top, the model's own
  order) and `obj.regularization_losses` (zero-argument functions);
- a `serving_default` signature returning `{output_key: features}`;
- `obj.resources`: lookup tables the model's graph captures (a text model's
  vocabulary) and other files it ships, saved under `assets/`;
- `obj.feature_maps(images, training=False)`, the last spatial (4-D) feature
  map before pooling, when the model has one, so that Grad-CAM can explain a
  classifier built on the backbone (`HubBackbone(..., endpoint="feature_maps")`).

Reference:
    - [TF Hub: Reusable SavedModels](https://www.tensorflow.org/hub/reusable_saved_models)
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from shared.runs import atomic_path


class ReusableSavedModel(tf.Module):
    """The root object of a reusable SavedModel around a built Keras model.

    Args:
        model: keras.Model. A built model with one input and one output.
        input_signature: tf.TensorSpec or None. Input spec of `__call__`.
            Defaults to the model's input shape and dtype.
        output_key: str. Output name in the `serving_default` signature.
            Defaults to `"feature_vector"`.
        resources: sequence. TensorFlow objects to save besides the
            variables: `tf.lookup` tables the model captures (saving refuses
            a function that captures an untracked one) and
            `tf.saved_model.Asset` files. Defaults to `()`.
    """

    # tf.Module defines these as computed properties; plain class attributes
    # let the instance hold them as saved lists, which `hub.load` reads back.
    variables = None
    trainable_variables = None
    regularization_losses = None

    def __init__(self, model, input_signature=None, output_key="feature_vector", resources=()):
        super().__init__(name="reusable_saved_model")
        if input_signature is None:
            keras_input = model.inputs[0]
            input_signature = tf.TensorSpec(keras_input.shape, keras_input.dtype, name="images")
        # Only the tf.Variables are saved, not the Keras objects around them.
        self.variables = [v.value for v in model.variables]
        self.trainable_variables = [v.value for v in model.trainable_variables]
        self.regularization_losses = []
        self.resources = list(resources)
        if model.losses:
            self.regularization_losses.append(tf.function(lambda: tf.add_n(model.losses), input_signature=[]))

        @tf.function
        def call(images, training=False):
            return model(images, training=training)

        for training in (False, True):
            call.get_concrete_function(input_signature, training=training)
        self.__call__ = call
        spatial = last_spatial_output(model)
        if spatial is not None:
            import keras

            trunk = keras.Model(model.inputs, spatial)

            @tf.function
            def feature_maps(images, training=False):
                return trunk(images, training=training)

            for training in (False, True):
                feature_maps.get_concrete_function(input_signature, training=training)
            self.feature_maps = feature_maps
        self.serving_default = tf.function(
            lambda images: {output_key: model(images, training=False)}, input_signature=[input_signature]
        )


def last_spatial_output(model):
    """The output of the model's last layer that yields a 4-D feature map, if any."""
    for layer in reversed(model.layers):
        output = getattr(layer, "output", None)
        if output is not None and len(output.shape) == 4 and layer is not model.layers[0]:
            return output
    return None


def write_reusable(model, directory: str | Path, input_signature=None, output_key: str = "feature_vector", resources=()) -> Path:
    """Write `model` as a reusable SavedModel into `directory` (not atomic).

    Example:

    ```python
    import keras, tensorflow as tf, tensorflow_hub as hub
    inputs = keras.Input((8, 8, 3))
    features = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))
    write_reusable(keras.Model(inputs, features), "/tmp/tiny_hub")
    hub.load("/tmp/tiny_hub")(tf.zeros((2, 8, 8, 3))).shape  # (2, 4)
    ```
    """
    root = ReusableSavedModel(model, input_signature, output_key, resources)
    tf.saved_model.save(root, str(directory), signatures={"serving_default": root.serving_default})
    return Path(directory)


def save_reusable(model, path: str | Path, input_signature=None, output_key: str = "feature_vector") -> Path:
    """`write_reusable` to a temporary sibling of `path`, then rename it into place."""
    with atomic_path(path) as tmp:
        write_reusable(model, tmp, input_signature, output_key)
    return Path(path)
