"""Fixtures for the hub tests: tiny SavedModels in the TF Hub layout, isolated caches."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from shared.hub.saved_model import save_reusable

IMAGE_SHAPE = (8, 8, 3)


@pytest.fixture(autouse=True)
def isolated_hub_env(monkeypatch, tmp_path):
    """Each test gets an empty TF Hub cache and no extra trusted folders."""
    keras.utils.set_random_seed(0)
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "tfhub_cache"))
    monkeypatch.delenv("DLSUITE_TRUSTED_HUB_DIRS", raising=False)
    monkeypatch.delenv("DLSUITE_HUB_OFFLINE", raising=False)


def tiny_backbone():
    """conv (L2) -> batch norm -> relu -> conv -> pool: 5 trainable, 2 statistics variables."""
    inputs = keras.Input(IMAGE_SHAPE)
    x = keras.layers.Conv2D(4, 3, padding="same", use_bias=False, kernel_regularizer=keras.regularizers.L2(1e-3))(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2D(6, 3, padding="same")(x)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))


@pytest.fixture(scope="session")
def tiny_hub(tmp_path_factory):
    """A reusable SavedModel (the tfhub.dev feature-vector layout) in its own folder."""
    keras.utils.set_random_seed(0)
    return save_reusable(tiny_backbone(), tmp_path_factory.mktemp("hub_models") / "tiny")


@pytest.fixture(scope="session")
def signature_only_hub(tmp_path_factory):
    """A SavedModel with only a `serving_default` signature (no __call__, no variable lists)."""
    module = tf.Module()
    module.w = tf.Variable(np.linspace(-1, 1, 3 * 5, dtype="float32").reshape(3, 5))
    module.serve = tf.function(
        lambda x: {"embedding": tf.matmul(x, module.w)}, input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")]
    )
    path = tmp_path_factory.mktemp("hub_models") / "signature_only"
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    return path


@pytest.fixture
def trust(monkeypatch):
    """Mark folders as trusted for safe loading, as a user would with the env variable."""

    def add(*folders):
        import os

        monkeypatch.setenv("DLSUITE_TRUSTED_HUB_DIRS", os.pathsep.join(str(f) for f in folders))

    return add


@pytest.fixture
def images():
    return np.random.default_rng(0).random((32, *IMAGE_SHAPE), dtype="float32")


@pytest.fixture
def labels():
    return np.random.default_rng(1).integers(0, 3, 32)


@pytest.fixture
def make_model():
    """A compiled classifier: images -> backbone -> Dense(3) logits, plain SGD."""

    def make(backbone, learning_rate=0.1):
        inputs = keras.Input(IMAGE_SHAPE)
        model = keras.Model(inputs, keras.layers.Dense(3, name="head")(backbone(inputs)))
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        return model

    return make
