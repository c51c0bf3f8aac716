"""Spatial endpoints and switching a built backbone between frozen and fine-tuned."""

import keras
import numpy as np
import pytest

from shared.hub import HubBackbone

IMAGE_SHAPE = (8, 8, 3)  # as in this folder's conftest


def test_feature_maps_endpoint_is_spatial(tiny_hub, images):
    layer = HubBackbone(str(tiny_hub), endpoint="feature_maps")
    out = layer(images[:2])
    assert out.shape == (2, 8, 8, 6)
    pooled = HubBackbone(str(tiny_hub))(images[:2])
    np.testing.assert_allclose(np.asarray(out).mean(axis=(1, 2)), pooled, rtol=1e-5, atol=1e-6)


def test_unknown_endpoint_and_both_call_styles_are_refused(tiny_hub, images):
    with pytest.raises(ValueError, match="has no function 'nope'"):
        HubBackbone(str(tiny_hub), endpoint="nope")(images[:1])
    with pytest.raises(ValueError, match="not both"):
        HubBackbone(str(tiny_hub), endpoint="feature_maps", signature="serving_default")


def test_set_fine_tuning_switches_a_built_layer(tiny_hub, images, labels):
    layer = HubBackbone(str(tiny_hub), trainable=False)
    inputs = keras.Input(IMAGE_SHAPE)
    model = keras.Model(inputs, keras.layers.Dense(3)(layer(inputs)))
    assert layer.trainable_weights == []

    layer.set_fine_tuning(True, fine_tune_from=-2)
    assert len(layer.trainable_weights) == 2
    before = [w.numpy().copy() for w in layer.weights]
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(images, labels, epochs=2, verbose=0)
    changed = {w.name for b, w in zip(before, layer.weights) if not np.array_equal(b, w.numpy())}
    trainable = {w.name for w in layer.trainable_weights}
    # The top two variables trained; below them only BatchNorm statistics may move (training_mode="auto").
    assert trainable <= changed
    assert all("moving" in name for name in changed - trainable)

    layer.set_fine_tuning(False)
    assert layer.trainable_weights == []
    assert layer.get_config()["fine_tune_from"] is None


def test_weights_survive_saving_after_a_phase_change(tiny_hub, images, labels, tmp_path, trust):
    """Frozen at build, fine-tuned later: the reloaded model must predict the same."""
    trust(tiny_hub.parent)
    layer = HubBackbone(str(tiny_hub), trainable=False)
    inputs = keras.Input(IMAGE_SHAPE)
    model = keras.Model(inputs, keras.layers.Dense(3)(layer(inputs)))
    layer.set_fine_tuning(True)
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(images, labels, epochs=2, verbose=0)
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(model.predict(images, verbose=0), again.predict(images, verbose=0), rtol=1e-5, atol=1e-6)
