import keras
import numpy as np
import pytest
import tensorflow as tf

from shared.explain import completeness_gap, integrated_gradients, summed_by_slices


def dense_model(n_features, seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((n_features,)),
            keras.layers.Dense(16, activation="tanh"),
            keras.layers.Dense(8, activation="gelu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    # Larger weights than the default init so the model is clearly non-linear.
    for layer in model.layers:
        kernel, bias = layer.get_weights()
        layer.set_weights([kernel * 2.0, bias + 0.1])
    return model


def test_linear_function_attributions_are_exact():
    rng = np.random.default_rng(0)
    w = rng.normal(size=6).astype("float32")
    x = rng.normal(size=(5, 6)).astype("float32")
    b = rng.normal(size=6).astype("float32")
    fn = lambda t: tf.reduce_sum(t * w, axis=1) + 3.0  # noqa: E731
    attr = integrated_gradients(fn, x, b, steps=4, batch_size=3)
    np.testing.assert_allclose(attr, w * (x - b), atol=1e-5)
    assert np.all(completeness_gap(fn, x, b, attr) < 1e-4)


@pytest.mark.parametrize("batch_size", [None, 7, 1000])
def test_dense_model_completeness_with_128_steps(batch_size):
    rng = np.random.default_rng(1)
    model = dense_model(10)
    x = rng.normal(size=(6, 10)).astype("float32") * 2.0
    baseline = np.zeros(10, dtype="float32")
    attr = integrated_gradients(model, x, baseline, steps=128, batch_size=batch_size)
    assert attr.shape == x.shape and attr.dtype == np.float32
    difference = np.ravel(model(x).numpy() - model(baseline[None]).numpy())
    assert np.all(np.abs(difference) > 1e-3)  # otherwise a relative gap means nothing
    relative = completeness_gap(model, x, baseline, attr) / np.abs(difference)
    assert relative.max() < 1e-2


def test_chunking_does_not_change_the_result():
    rng = np.random.default_rng(2)
    model = dense_model(4, seed=3)
    x = rng.normal(size=(3, 4)).astype("float32")
    one_call = integrated_gradients(model, x, np.zeros(4), steps=16, batch_size=10_000)
    chunked = integrated_gradients(model, x, np.zeros(4), steps=16, batch_size=5)
    np.testing.assert_allclose(chunked, one_call, rtol=1e-5, atol=1e-6)


def test_few_steps_leave_a_gap_on_a_non_linear_model():
    # The check must be able to fail: one trapezoid step is visibly inexact.
    rng = np.random.default_rng(4)
    model = dense_model(10)
    x = rng.normal(size=(4, 10)).astype("float32") * 3.0
    attr = integrated_gradients(model, x, np.zeros(10), steps=1)
    assert completeness_gap(model, x, np.zeros(10), attr).max() > 1e-3


def test_two_dimensional_features_and_per_row_baseline():
    rng = np.random.default_rng(5)
    w = rng.normal(size=(3, 4)).astype("float32")
    x = rng.normal(size=(2, 3, 4)).astype("float32")
    b = rng.normal(size=(2, 3, 4)).astype("float32")
    fn = lambda t: tf.reduce_sum(t * w, axis=[1, 2])[:, None]  # (batch, 1) output  # noqa: E731
    attr = integrated_gradients(fn, x, b, steps=8, batch_size=4)
    assert attr.shape == (2, 3, 4)
    np.testing.assert_allclose(attr, w * (x - b), atol=1e-5)
    assert completeness_gap(fn, x, b, attr).shape == (2,)


def test_quadratic_matches_closed_form():
    # f(x) = sum(x^2) from baseline 0: exact attributions are x_i^2.
    x = np.array([[1.0, -2.0, 0.5]], dtype="float32")
    attr = integrated_gradients(lambda t: tf.reduce_sum(t**2, axis=1), x, np.zeros(3), steps=10)
    np.testing.assert_allclose(attr, x**2, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"inputs": np.zeros(3), "baseline": np.zeros(3)}, "Received: inputs.shape=\\(3,\\)"),
        ({"baseline": np.zeros(5)}, "Received: baseline.shape=\\(5,\\)"),
        ({"steps": 0}, "Received: steps=0"),
        ({"batch_size": 0}, "Received: batch_size=0"),
        ({"fn": lambda t: t}, "Received: output shape \\(130, 4\\) for a batch of 130"),
        ({"fn": lambda t: tf.ones_like(t[:, 0])}, "no gradient"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    args = {
        "fn": lambda t: tf.reduce_sum(t, axis=1),
        "inputs": np.ones((2, 4)),
        "baseline": np.zeros(4),
        **kwargs,
    }
    with pytest.raises(ValueError, match=message):
        integrated_gradients(**args)


def test_completeness_gap_checks_attribution_shape():
    fn = lambda t: tf.reduce_sum(t, axis=1)  # noqa: E731
    with pytest.raises(ValueError, match="Received: attributions.shape=\\(4,\\)"):
        completeness_gap(fn, np.ones((2, 4)), np.zeros(4), np.ones(4))


def test_summed_by_slices():
    attr = np.array([0.5, -0.25, 1.0, 2.0, -3.0])
    got = summed_by_slices(attr, {"amount": (0, 1), "category": (1, 4), "hour": (4, 5)})
    assert got == {"amount": 0.5, "category": 2.75, "hour": -3.0}
    assert all(type(v) is float for v in got.values())
    with pytest.raises(ValueError, match="Received: slices\\['bad'\\]=\\(3, 9\\)"):
        summed_by_slices(attr, {"bad": (3, 9)})
    with pytest.raises(ValueError, match="Received: attributions.shape=\\(1, 5\\)"):
        summed_by_slices(attr[None], {"amount": (0, 1)})
