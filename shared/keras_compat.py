"""Every use of a private Keras internal, in one place, with the reason for each.

Keras 3 has no public API for four things the suite needs. Each workaround
below names the Keras behaviour it works around; `tests/shared/test_keras_compat.py`
has one test per workaround that reproduces the upstream behaviour and so
fails once Keras changes it, which is the signal to drop the workaround.

`KERAS_TESTED` is the Keras version these were checked against. Importing
this module under another Keras version warns once, naming it; the suite
still runs, and the tests tell what changed.
"""

from __future__ import annotations

import warnings

import keras

KERAS_TESTED = "3.15.1"

if keras.__version__ != KERAS_TESTED:
    warnings.warn(
        f"dlsuite's Keras workarounds (shared/keras_compat.py) were checked against Keras {KERAS_TESTED}, "
        f"this is Keras {keras.__version__}; run tests/shared/test_keras_compat.py to see which still apply",
        RuntimeWarning,
        stacklevel=2,
    )


def in_safe_mode() -> bool | None:
    """Whether Keras is deserializing in safe mode right now (None: no `load_model` scope is active).

    Why private: Keras exposes `keras.config.enable_unsafe_deserialization()`
    but no way to read the current mode, which a custom layer needs to
    refuse unsafe content while loading (`HubBackbone.from_config`).
    """
    from keras.src.saving.serialization_lib import in_safe_mode as current

    return current()


def variables_used_by(functions) -> tuple[list, list]:
    """(trainable, non-trainable) variables that the concrete/restored `functions` capture.

    Why private: a signature-only SavedModel (TF1 Hub format) has no
    `variables` attribute; Keras' own `export` finds them with this helper,
    and there is no public equivalent.
    """
    from keras.src.export.saved_model import _list_variables_used_by_fns

    trainable, frozen = _list_variables_used_by_fns(list(functions))
    return list(trainable), list(frozen)


def detach_strategy(model) -> None:
    """Make `predict`/`evaluate` run locally after multi-worker training.

    Why private: `Model.distribute_strategy` is a read-only property. Under
    MultiWorkerMirroredStrategy, Keras splits prediction inputs between
    workers, so each worker's scores would cover only part of the data it
    iterates; weights are identical on every worker after training, so each
    can score the whole set on its own once the strategy is dropped.
    """
    model._distribute_strategy = None
    model.train_function = model.test_function = model.predict_function = None


def build_from_local_batch(model, batch, strategy) -> None:
    """Build a model's training state from one local batch before a multi-replica fit.

    Why private: Keras' TensorFlow trainer learns input shapes by averaging
    one distributed batch across replicas (`_maybe_symbolic_build`), which
    fails for string inputs ("AddN ... string"), i.e. for every model that
    takes raw text or categories. Building from a local batch
    (`_symbolic_build`) gives the same state; the averaging step is then
    skipped for this model. Variables cannot be created inside
    `strategy.run`, so the distributed loop needs the same.
    """
    with strategy.scope():
        model._symbolic_build(data_batch=batch)
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None
