import keras
import numpy as np
import pytest

from shared.layers import ClassificationHead

FEATURES = np.random.default_rng(0).standard_normal((4, 6)).astype("float32")


def test_binary_defaults_to_sigmoid():
    head = ClassificationHead(1)
    probabilities = np.asarray(head(FEATURES))
    assert probabilities.shape == (4, 1)
    assert head.output_activation == "sigmoid"
    assert np.all((probabilities > 0) & (probabilities < 1))


def test_multiclass_defaults_to_softmax():
    head = ClassificationHead(3)
    probabilities = head(FEATURES)
    assert head.output_activation == "softmax"
    np.testing.assert_allclose(np.sum(probabilities, axis=-1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("num_classes", [1, 3])
def test_linear_returns_logits(num_classes):
    head = ClassificationHead(num_classes, activation="linear")
    logits = head(FEATURES)
    kernel = keras.ops.convert_to_numpy(head.dense.kernel)
    bias = keras.ops.convert_to_numpy(head.dense.bias)
    np.testing.assert_allclose(logits, FEATURES @ kernel + bias, atol=1e-5)


def test_dropout_only_while_training():
    head = ClassificationHead(3, dropout=0.5)
    np.testing.assert_allclose(head(FEATURES, training=False), head(FEATURES, training=False))
    assert not np.allclose(head(FEATURES, training=True), head(FEATURES, training=False))
    no_dropout = ClassificationHead(3)
    no_dropout(FEATURES)
    assert no_dropout.dropout_layer is None


@pytest.mark.parametrize("num_classes", [1, 3])
def test_outputs_float32_under_mixed_precision(num_classes, mixed_precision):
    inputs = keras.Input((6,))
    features = keras.layers.Dense(6)(inputs)
    outputs = ClassificationHead(num_classes, dropout=0.1)(features)
    assert features.dtype == "float16"
    assert outputs.dtype == "float32"
    assert keras.Model(inputs, outputs)(FEATURES).dtype == "float32"


def test_config_round_trip():
    head = ClassificationHead(4, dropout=0.3, activation="linear")
    config = head.get_config()
    assert ClassificationHead.from_config(config).get_config() == config


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_classes": 0}, "Received: num_classes=0"),
        ({"num_classes": 2, "dropout": 1.2}, "Received: dropout=1.2"),
        ({"num_classes": 2, "activation": "probit"}, "Received: activation='probit'"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ClassificationHead(**kwargs)
