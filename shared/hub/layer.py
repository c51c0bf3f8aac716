"""HubBackbone: a TF Hub SavedModel as a Keras 3 layer that saves and reloads safely."""

from __future__ import annotations

import inspect
import warnings

import keras
import tensorflow as tf

from shared.hub import handles
from shared.keras_compat import in_safe_mode, variables_used_by
from shared.layers.argument_checks import check_choice

TRAINING_MODES = ("auto", "inference")


def _safe_mode() -> bool:
    # No scope at all (a direct `from_config` call) counts as safe, as in
    # Keras' own TFSMLayer; only an explicit `safe_mode=False` or
    # `keras.config.enable_unsafe_deserialization()` turns the checks off.
    return in_safe_mode() is not False


def _takes_training(fn) -> bool:
    try:
        return "training" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _keras_name(variable) -> str:
    return variable.name.split(":")[0].replace("/", "_")


def _flat_input_specs(fn, signature):
    """The TensorSpecs `fn` expects, flattened (empty if unknown)."""
    concrete = fn.concrete_functions[0] if hasattr(fn, "concrete_functions") and fn.concrete_functions else fn
    args, kwargs = concrete.structured_input_signature
    structure = kwargs if signature else (args[0] if args else kwargs)
    return [s for s in tf.nest.flatten(structure) if isinstance(s, tf.TensorSpec)]


@keras.saving.register_keras_serializable(package="dlsuite")
class HubBackbone(keras.layers.Layer):
    """A TF Hub model (TF2 SavedModel) as a trainable, savable Keras 3 layer.

    `hub.KerasLayer` needs tf_keras and fails inside Keras 3 models, and
    `keras.layers.TFSMLayer` refuses to reload under `safe_mode=True`. This
    layer loads the SavedModel itself, exposes its variables as Keras
    weights (so their fine-tuned values are stored inside the `.keras` file),
    and records the handle plus a SHA-256 fingerprint of the SavedModel in
    its config. Only a layer built in code downloads its handle; reloading
    never does. It re-resolves the handle from local files and, in safe
    mode, accepts only a SavedModel under a trusted root whose fingerprint
    matches the recorded one; see `shared/hub/README.md`.

    Args:
        handle: str. A tfhub.dev or Kaggle Models URL, a local SavedModel
            directory, or a name from `shared.hub.registry.HUB_MODELS`.
        trainable: bool. `False` freezes every variable and always runs the
            model in inference mode; `True` fine-tunes. Defaults to `False`.
        fine_tune_from: int or None. With `trainable=True`, only the
            SavedModel's trainable variables from this index on (in its
            `trainable_variables` order, bottom-to-top for Keras-made models;
            negative counts from the end) are trained; `None` trains all.
            Defaults to `None`.
        endpoint: str or None. Call this function of the SavedModel instead
            of `__call__`, with the same `(inputs, training)` convention, e.g.
            `"feature_maps"` for the spatial map the suite's own backbones
            export (what Grad-CAM needs). Defaults to `None`.
        signature: str or None. Call this named signature (keyword inputs,
            dict outputs) instead of the object's `__call__`; for models
            that only have signatures. Defaults to `None`.
        output_key: str or None. Pick this entry of a dict output (e.g.
            `"pooled_output"`, `"default"`). A dict with one entry is
            unwrapped without it. Defaults to `None`.
        training_mode: str. `"auto"` passes Keras' `training` flag to a
            trainable model whose `__call__` accepts one (BatchNorm
            statistics update, dropout on); `"inference"` always calls it with
            `training=False`, the usual choice for fine-tuning BatchNorm
            networks on small data. Defaults to `"auto"`.
        fingerprint: str or None. Expected `"sha256:..."` of the SavedModel;
            filled in at build and stored in the config. Pass one to pin a
            model. Defaults to `None`.
        **kwargs: Base layer arguments (`name`, `dtype`).

    Input shape:
        Whatever the SavedModel takes, e.g. `(batch_size, 224, 224, 3)`
        float images in [0, 1] for image feature vectors, or `(batch_size,)`
        strings for sentence encoders. Floating inputs are cast to the
        SavedModel's input dtype (float32 under mixed precision too).

    Output shape:
        The SavedModel's output, e.g. `(batch_size, feature_dim)`. Floating
        outputs are cast to the layer's compute dtype (float16 under
        `mixed_float16`); the SavedModel itself always runs at its own dtype.

    Example:

    ```python
    import keras
    from shared.hub import HubBackbone

    inputs = keras.Input((64, 64, 3))
    features = HubBackbone("dlsuite/fashion-cnn-64")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(features))
    model.save("/tmp/hub.keras")
    keras.saving.load_model("/tmp/hub.keras")  # safe_mode=True
    ```

    Reference:
        - [TF Hub: Reusable SavedModels](https://www.tensorflow.org/hub/reusable_saved_models)
    """

    def __init__(
        self,
        handle,
        trainable=False,
        fine_tune_from=None,
        signature=None,
        output_key=None,
        training_mode="auto",
        fingerprint=None,
        endpoint=None,
        **kwargs,
    ):
        super().__init__(trainable=trainable, **kwargs)
        if not isinstance(handle, str) or not handle.strip():
            raise ValueError(f"`handle` must be a non-empty string. Received: handle={handle!r}")
        if fine_tune_from is not None and (isinstance(fine_tune_from, bool) or not isinstance(fine_tune_from, int)):
            raise ValueError(f"`fine_tune_from` must be an integer or None. Received: fine_tune_from={fine_tune_from!r}")
        if endpoint is not None and signature is not None:
            raise ValueError(f"pass `endpoint` or `signature`, not both. Received: endpoint={endpoint!r}, signature={signature!r}")
        for name, value in (("signature", signature), ("output_key", output_key), ("fingerprint", fingerprint), ("endpoint", endpoint)):
            if value is not None and not isinstance(value, str):
                raise ValueError(f"`{name}` must be a string or None. Received: {name}={value!r}")
        self.handle = handle
        self.fine_tune_from = fine_tune_from
        self.signature = signature
        self.output_key = output_key
        self.training_mode = check_choice("training_mode", training_mode, TRAINING_MODES)
        self.fingerprint = fingerprint
        self.endpoint = endpoint
        # Set by `from_config`, which runs inside Keras' safe-mode scope.
        self._module_dir = None

    @classmethod
    def from_config(cls, config):
        layer = super().from_config(config)
        layer._module_dir = layer._resolve_and_verify(loading=True, safe=_safe_mode())
        return layer

    def _resolve_and_verify(self, loading, safe):
        # A loaded file may come from anyone: it gets no download, and its
        # fingerprint is checked against the run's record before any of the
        # SavedModel's graph code can run (that happens in `build`).
        expected = self.fingerprint
        if loading:
            expected = handles.expected_fingerprint(self.name, self.handle, self.fingerprint, safe)
        path = handles.resolve_handle(self.handle, download=not loading)
        if loading:
            handles.check_trusted(path, self.handle, safe)
        found = handles.fingerprint(path)
        if expected and found != expected:
            message = handles.fingerprint_mismatch(path, self.handle, expected, found)
            if safe or not loading:
                raise handles.HubTrustError(message)
            # Unsafe loading was asked for explicitly: go on, since the
            # `.keras` weights replace every variable value anyway.
            warnings.warn(message, stacklevel=3)
        self.fingerprint = found
        return path

    def build(self, input_shape):
        if self._module_dir is None:
            # Built in code; inside a run's loading scope it still must not fetch.
            loading = handles.loading_a_run()
            self._module_dir = self._resolve_and_verify(loading=loading, safe=_safe_mode() or loading)
        from shared.hub.registry import import_requirements

        import_requirements(self.handle)  # ops a registered model's graph needs (BERT's preprocessor: tensorflow-text)
        # Eagerly (never inside a traced function), and outside the layer's
        # name scope so the variables keep their SavedModel names.
        with tf.init_scope(), tf.name_scope(""):
            self._module = tf.saved_model.load(str(self._module_dir))
        self._fn = self._call_function()
        self._takes_training = self.signature is None and _takes_training(self._fn)
        self._input_specs = _flat_input_specs(self._fn, self.signature)
        self._track_module_variables()

    def _call_function(self):
        module = self._module
        if self.signature is not None:
            available = sorted(module.signatures)
            if self.signature not in module.signatures:
                raise ValueError(
                    f"the SavedModel of {self.handle!r} has no signature {self.signature!r}. "
                    f"Received: signature={self.signature!r}; expected one of {available}"
                )
            return module.signatures[self.signature]
        if self.endpoint is not None:
            fn = getattr(module, self.endpoint, None)
            if not callable(fn):
                raise ValueError(
                    f"the SavedModel of {self.handle!r} has no function {self.endpoint!r}. Received: endpoint={self.endpoint!r}"
                )
            return fn
        if not callable(module):
            raise ValueError(
                f"the SavedModel of {self.handle!r} has no __call__ (not a TF2 reusable SavedModel); "
                f"pass `signature=`, one of {sorted(module.signatures)}"
            )
        return module.__call__

    def _track_module_variables(self):
        module = self._module
        if hasattr(module, "trainable_variables") and hasattr(module, "variables"):
            trainable = list(module.trainable_variables)
            everything = list(module.variables)
        else:  # signature-only SavedModel: the variables its function reads
            trainable, frozen = variables_used_by([self._fn])
            everything = trainable + frozen
        start = self._first_trained(len(trainable))
        seen = set()
        self._ordered_trainable = []
        for index, variable in enumerate(trainable):
            seen.add(variable.ref())
            self._ordered_trainable.append(self._track_existing(variable, trainable=index >= start))
        self._module_weights = list(self._ordered_trainable)
        for variable in everything:
            if variable.ref() not in seen:
                self._module_weights.append(self._track_existing(variable, trainable=False))

    # Keras orders a layer's saved weights trainable-first, by the flag each
    # had when tracked; phases flip those flags, so save in the SavedModel's
    # own variable order instead, which never changes.
    def save_own_variables(self, store):
        for index, weight in enumerate(self._module_weights):
            store[str(index)] = weight.numpy()

    def load_own_variables(self, store):
        if len(store.keys()) != len(self._module_weights):
            raise ValueError(
                f"the saved weights of {self.name!r} hold {len(store.keys())} variables but the SavedModel of "
                f"{self.handle!r} has {len(self._module_weights)}. Received a file saved from another backbone"
            )
        for index, weight in enumerate(self._module_weights):
            weight.assign(store[str(index)])

    def _first_trained(self, count):
        if self.fine_tune_from is None:
            return 0
        start = self.fine_tune_from + count if self.fine_tune_from < 0 else self.fine_tune_from
        if not 0 <= start <= count:
            raise ValueError(
                f"`fine_tune_from` must index the SavedModel's {count} trainable variables "
                f"(from {-count} to {count}). Received: fine_tune_from={self.fine_tune_from}"
            )
        return start

    def _track_existing(self, variable, trainable):
        # A Keras variable built from a tf.Variable wraps that same variable,
        # so the SavedModel's functions and the optimizer share its state.
        weight = keras.Variable(
            initializer=variable,
            trainable=trainable,
            dtype=variable.dtype,
            shape=variable.shape,
            name=_keras_name(variable),
        )
        self._track_variable(weight)
        return weight

    def set_fine_tuning(self, trainable: bool, fine_tune_from=None) -> None:
        """Freeze, or fine-tune all or the top part, after the layer is built.

        Transfer learning trains the head on a frozen backbone first, then
        unfreezes the top of the backbone; recompile the model after calling
        this.

        Args:
            trainable: bool. `False` freezes every backbone variable.
            fine_tune_from: int or None. As in the constructor.
        """
        self.fine_tune_from = fine_tune_from
        self.trainable = trainable
        if not self.built:
            return
        start = self._first_trained(len(self._ordered_trainable))
        for index, weight in enumerate(self._ordered_trainable):
            weight.trainable = bool(trainable) and index >= start

    def _cast_inputs(self, inputs):
        flat = tf.nest.flatten(inputs)
        if len(flat) != len(self._input_specs):
            return inputs
        cast = [
            tf.cast(x, spec.dtype) if x.dtype.is_floating and spec.dtype.is_floating and x.dtype != spec.dtype else x
            for x, spec in zip(flat, self._input_specs)
        ]
        return tf.nest.pack_sequence_as(inputs, cast)

    def _signature_kwargs(self, inputs):
        if isinstance(inputs, dict):
            return inputs
        names = list(self._fn.structured_input_signature[1])
        if len(names) != 1:
            raise ValueError(
                f"signature {self.signature!r} takes inputs {names}; pass a dict with these keys. "
                f"Received: a single {type(inputs).__name__}"
            )
        return {names[0]: inputs}

    def call(self, inputs, training=None):
        inputs = self._cast_inputs(inputs)
        if self.signature is not None:
            outputs = self._fn(**self._signature_kwargs(inputs))
        elif self._takes_training:
            run_training = bool(training) and self.trainable and self.training_mode == "auto"
            outputs = self._fn(inputs, training=run_training)
        else:
            outputs = self._fn(inputs)
        if self.trainable:
            for loss in getattr(self._module, "regularization_losses", ()):
                self.add_loss(loss())
        if self.output_key is not None:
            if not isinstance(outputs, dict) or self.output_key not in outputs:
                keys = sorted(outputs) if isinstance(outputs, dict) else "none (not a dict)"
                raise ValueError(f"Received: output_key={self.output_key!r}; the model's output keys are {keys}")
            outputs = outputs[self.output_key]
        elif isinstance(outputs, dict) and len(outputs) == 1:
            outputs = next(iter(outputs.values()))
        return tf.nest.map_structure(
            lambda t: tf.cast(t, self.compute_dtype) if t.dtype.is_floating else t, outputs
        )

    def get_config(self):
        return {
            **super().get_config(),
            "handle": self.handle,
            "fine_tune_from": self.fine_tune_from,
            "signature": self.signature,
            "output_key": self.output_key,
            "training_mode": self.training_mode,
            "fingerprint": self.fingerprint,
            "endpoint": self.endpoint,
        }


def hub_backbones(model) -> list[dict]:
    """What the runner records in metadata.json: each backbone's layer, handle and fingerprint.

    Loading the run inside `handles.recorded_backbones(...)` checks the model
    file against this record.
    """
    return [
        {"layer": layer.name, "handle": layer.handle, "fingerprint": layer.fingerprint}
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if isinstance(layer, HubBackbone)
    ]
