"""Saving models with a HubBackbone: .keras under safe_mode=True, and SavedModel export."""

import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub

from shared.hub import HubBackbone, HubTrustError
from shared.hub.handles import fingerprint


def trained_model(path, make_model, images, labels, trainable):
    backbone = HubBackbone(str(path), trainable=trainable, name="backbone")
    model = make_model(backbone)
    model.fit(images, labels, batch_size=8, epochs=1, verbose=0)
    return model


@pytest.mark.parametrize("trainable", [False, True], ids=["frozen", "fine_tuned"])
def test_keras_file_reloads_in_safe_mode_with_identical_predictions(
    tiny_hub, trust, make_model, images, labels, tmp_path, trainable
):
    trust(tiny_hub.parent)
    model = trained_model(tiny_hub, make_model, images, labels, trainable)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_array_equal(loaded.predict(images, verbose=0), model.predict(images, verbose=0))
    backbone = loaded.get_layer("backbone")
    assert backbone.trainable is trainable
    assert backbone.get_config()["fingerprint"] == fingerprint(tiny_hub)
    original = [v.numpy() for v in hub.load(str(tiny_hub)).trainable_variables]
    reloaded = [w.numpy() for w in backbone.trainable_weights] if trainable else []
    for original_value, trained, restored in zip(original, model.get_layer("backbone").trainable_weights, reloaded):
        # The fine-tuned values come from the .keras file, not from the SavedModel.
        np.testing.assert_array_equal(restored, trained.numpy())
        assert not np.array_equal(restored, original_value)


def test_safe_mode_refuses_an_untrusted_location(tiny_hub, make_model, tmp_path):
    make_model(HubBackbone(str(tiny_hub))).save(tmp_path / "model.keras")
    with pytest.raises(HubTrustError) as info:
        keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("safe loading refused a SavedModel outside the trusted roots")
    assert f"handle {str(tiny_hub)!r}" in message and "DLSUITE_TRUSTED_HUB_DIRS" in message


def test_unsafe_mode_loads_an_untrusted_location(tiny_hub, make_model, images, tmp_path):
    model = make_model(HubBackbone(str(tiny_hub)))
    model.save(tmp_path / "model.keras")
    with pytest.warns(UserWarning, match="safe_mode=False despite this: a SavedModel outside the trusted roots"):
        loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=False)
    np.testing.assert_array_equal(loaded.predict(images, verbose=0), model.predict(images, verbose=0))


def changed_copy(tiny_hub, folder):
    """A copy of the tiny SavedModel whose fingerprint changes once `change()` is called."""
    copy = shutil.copytree(tiny_hub, folder / "tiny")
    return copy, lambda: (copy / "assets" / "vocab.txt").write_text("changed\n")


def test_safe_mode_refuses_a_fingerprint_mismatch(tiny_hub, trust, make_model, tmp_path):
    copy, change = changed_copy(tiny_hub, tmp_path / "trusted")
    trust(tmp_path / "trusted")
    make_model(HubBackbone(str(copy))).save(tmp_path / "model.keras")
    change()
    with pytest.raises(HubTrustError, match="files changed since the model was saved: .* has fingerprint sha256:.*but the model was saved with sha256:"):
        keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)


def test_unsafe_mode_warns_on_a_fingerprint_mismatch(tiny_hub, make_model, images, tmp_path):
    copy, change = changed_copy(tiny_hub, tmp_path)
    model = make_model(HubBackbone(str(copy), name="backbone"))
    model.save(tmp_path / "model.keras")
    change()
    with pytest.warns(UserWarning, match="files changed since"):
        loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=False)
    np.testing.assert_array_equal(loaded.predict(images, verbose=0), model.predict(images, verbose=0))
    assert loaded.get_layer("backbone").fingerprint == fingerprint(copy)


def test_a_pinned_fingerprint_is_checked_when_building(tiny_hub, images):
    np.asarray(HubBackbone(str(tiny_hub), fingerprint=fingerprint(tiny_hub))(images))
    with pytest.raises(HubTrustError, match="sha256:0000"):
        HubBackbone(str(tiny_hub), fingerprint="sha256:0000")(images)


@pytest.mark.parametrize("trainable", [False, True], ids=["frozen", "fine_tuned"])
def test_savedmodel_export_serves_identical_predictions(tiny_hub, make_model, images, labels, tmp_path, trainable):
    model = trained_model(tiny_hub, make_model, images, labels, trainable)
    model.export(str(tmp_path / "export"), format="tf_saved_model", verbose=False)
    # Keep the loaded object alive: its functions hold only weak references to its variables.
    reloaded = tf.saved_model.load(str(tmp_path / "export"))
    served = reloaded.serve(tf.constant(images)).numpy()
    np.testing.assert_allclose(served, model.predict(images, verbose=0), rtol=0, atol=1e-6)
