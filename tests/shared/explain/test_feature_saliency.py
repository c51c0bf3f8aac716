"""Integrated gradients over a model's own features (`scorer(features(x))`)."""

import keras
import numpy as np
import pytest

from shared.errors import UnsupportedError
from shared.explain import feature_saliency
from shared.layers.names import FEATURES, SCORER


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    x = keras.Input((6,))
    features = keras.Model(x, keras.layers.Dense(4, activation="tanh")(x), name=FEATURES)
    f = keras.Input((4,))
    scorer = keras.Model(f, keras.layers.Dense(3, activation="softmax")(f), name=SCORER)
    inputs = keras.Input((6,))
    return keras.Model(inputs, scorer(features(inputs)))


def test_attributions_sum_to_the_score_change_and_saliency_is_scaled():
    model = _model()
    x = np.linspace(-1, 1, 6).astype("float32")
    result = feature_saliency(model, x, steps=128)
    k = result["class_index"]
    assert k == int(np.argmax(np.asarray(model(x[None]))[0]))
    assert result["features"].shape == result["saliency"].shape == (4,)
    gap = result["probabilities"][k] - result["baseline_probabilities"][k]
    assert result["attributions"].sum() == pytest.approx(gap, abs=2e-3)
    assert result["saliency"].max() == pytest.approx(1.0) and result["saliency"].min() >= 0


def test_a_chosen_class_and_a_bad_one():
    model = _model()
    x = np.ones(6, "float32")
    assert feature_saliency(model, x, class_index=2)["class_index"] == 2
    with pytest.raises(ValueError, match="class_index must be in"):
        feature_saliency(model, x, class_index=3)


def test_a_model_without_the_sub_models_is_refused():
    x = keras.Input((6,))
    plain = keras.Model(x, keras.layers.Dense(2, activation="softmax")(x), name="plain")
    with pytest.raises(UnsupportedError, match="no 'features' or 'scorer' sub-model"):
        feature_saliency(plain, np.zeros(6, "float32"))
