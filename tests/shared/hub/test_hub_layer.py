"""HubBackbone: freezing, fine-tuning (all or the top part), signatures, dtypes."""

import keras
import numpy as np
import pytest
import tensorflow_hub as hub

from shared.hub import HubBackbone


def keras_name(variable):
    return variable.name.split(":")[0].replace("/", "_")


def snapshot(layer):
    return {w.name: w.numpy().copy() for w in layer.weights}


def changed(before, layer):
    return {w.name for w in layer.weights if not np.array_equal(before[w.name], w.numpy())}


def test_fine_tuning_changes_the_backbone_output(tiny_hub, make_model, images, labels):
    backbone = HubBackbone(str(tiny_hub), trainable=True)
    model = make_model(backbone)
    features_before = np.asarray(backbone(images))
    model.fit(images, labels, batch_size=8, epochs=1, verbose=0)  # 4 SGD steps
    features_after = np.asarray(backbone(images))
    assert not np.allclose(features_before, features_after, atol=1e-4)
    assert len(backbone.trainable_weights) == 5 and len(backbone.non_trainable_weights) == 2
    # Training changed the loaded copy, never the SavedModel on disk.
    np.testing.assert_array_equal(hub.load(str(tiny_hub))(images, training=False).numpy(), features_before)


def test_frozen_backbone_keeps_every_weight_bit_identical(tiny_hub, make_model, images, labels):
    backbone = HubBackbone(str(tiny_hub), trainable=False)
    model = make_model(backbone)
    before, head_before = snapshot(backbone), model.get_layer("head").kernel.numpy().copy()
    model.fit(images, labels, batch_size=8, epochs=2, verbose=0)
    assert backbone.trainable_weights == [] and len(backbone.weights) == 7
    assert changed(before, backbone) == set()  # BatchNorm statistics included
    assert not np.array_equal(head_before, model.get_layer("head").kernel.numpy())  # the head did train


def test_fine_tune_from_trains_only_the_top_variables(tiny_hub, make_model, images, labels):
    order = [keras_name(v) for v in hub.load(str(tiny_hub)).trainable_variables]
    backbone = HubBackbone(str(tiny_hub), trainable=True, fine_tune_from=3, training_mode="inference")
    model = make_model(backbone)
    before = snapshot(backbone)
    model.fit(images, labels, batch_size=8, epochs=1, verbose=0)
    # Variables 0-2 (first conv, batch norm) stay; 3-4 (top conv) train; the
    # batch norm statistics stay too because training_mode="inference".
    assert changed(before, backbone) == set(order[3:])
    assert {w.name for w in backbone.trainable_weights} == set(order[3:])


def test_negative_fine_tune_from_counts_from_the_top(tiny_hub):
    backbone = HubBackbone(str(tiny_hub), trainable=True, fine_tune_from=-1)
    backbone.build((None, 8, 8, 3))
    last = keras_name(hub.load(str(tiny_hub)).trainable_variables[-1])
    assert [w.name for w in backbone.trainable_weights] == [last]


def test_fine_tune_from_out_of_range(tiny_hub):
    with pytest.raises(ValueError, match="Received: fine_tune_from=6"):
        HubBackbone(str(tiny_hub), trainable=True, fine_tune_from=6).build((None, 8, 8, 3))


def test_training_mode_auto_updates_batch_norm_statistics(tiny_hub, make_model, images, labels):
    backbone = HubBackbone(str(tiny_hub), trainable=True)  # training_mode="auto"
    model = make_model(backbone)
    before = snapshot(backbone)
    model.fit(images, labels, batch_size=8, epochs=1, verbose=0)
    statistics = {w.name for w in backbone.non_trainable_weights}
    assert len(statistics) == 2 and statistics <= changed(before, backbone)


def test_trainable_backbone_adds_the_savedmodel_regularization_losses(tiny_hub, images):
    for trainable, count in ((True, 1), (False, 0)):
        inputs = keras.Input((8, 8, 3))
        model = keras.Model(inputs, HubBackbone(str(tiny_hub), trainable=trainable)(inputs))
        model(images[:2])
        assert len(model.losses) == count
        if count:
            assert float(model.losses[0]) > 0


def test_signature_and_output_key_match_call(tiny_hub, images):
    by_call = np.asarray(HubBackbone(str(tiny_hub))(images))
    by_key = HubBackbone(str(tiny_hub), signature="serving_default", output_key="feature_vector")(images)
    by_single_entry = HubBackbone(str(tiny_hub), signature="serving_default")(images)
    np.testing.assert_allclose(by_key, by_call, atol=1e-6)
    np.testing.assert_allclose(by_single_entry, by_call, atol=1e-6)


def test_signature_only_savedmodel(signature_only_hub):
    x = np.ones((2, 3), "float32")
    with pytest.raises(ValueError, match="has no __call__.*'serving_default'"):
        HubBackbone(str(signature_only_hub))(x)
    backbone = HubBackbone(str(signature_only_hub), trainable=True, signature="serving_default", output_key="embedding")
    np.testing.assert_allclose(backbone(x), x @ np.linspace(-1, 1, 15, dtype="float32").reshape(3, 5), atol=1e-6)
    assert len(backbone.trainable_weights) == 1  # found through the signature's captured variables
    # A signature can also be fed a dict of its named inputs.
    np.testing.assert_allclose(backbone({"x": x}), backbone(x))


def test_bad_signature_and_output_key(tiny_hub, images):
    with pytest.raises(ValueError, match=r"Received: signature='nope'; expected one of \['serving_default'\]"):
        HubBackbone(str(tiny_hub), signature="nope")(images)
    with pytest.raises(ValueError, match="Received: output_key='logits'"):
        HubBackbone(str(tiny_hub), output_key="logits")(images)


def test_mixed_precision_runs_the_savedmodel_in_float32(tiny_hub, images):
    reference = np.asarray(HubBackbone(str(tiny_hub))(images))
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        backbone = HubBackbone(str(tiny_hub))
        inputs = keras.Input((8, 8, 3))
        outputs = backbone(inputs)
        found = keras.Model(inputs, outputs).predict(images, verbose=0)
    finally:
        keras.config.set_dtype_policy(previous)
    assert outputs.dtype == "float16" and found.dtype == np.float16
    assert all(w.dtype == "float32" for w in backbone.weights)
    np.testing.assert_allclose(found, reference, rtol=1e-2, atol=1e-3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"handle": ""}, "Received: handle=''"),
        ({"handle": "x", "fine_tune_from": 1.5}, "Received: fine_tune_from=1.5"),
        ({"handle": "x", "signature": 3}, "Received: signature=3"),
        ({"handle": "x", "training_mode": "train"}, "Received: training_mode='train'"),
    ],
)
def test_constructor_checks(kwargs, message):
    with pytest.raises(ValueError, match=message):
        HubBackbone(**kwargs)


def test_config_round_trips(tiny_hub, trust):
    trust(tiny_hub.parent)
    backbone = HubBackbone(str(tiny_hub), trainable=True, fine_tune_from=2, training_mode="inference", name="bb")
    backbone.build((None, 8, 8, 3))
    config = backbone.get_config()
    assert config["fingerprint"].startswith("sha256:") and config["handle"] == str(tiny_hub)
    assert HubBackbone.from_config(config).get_config() == config
