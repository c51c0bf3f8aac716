import json
import math

import numpy as np
import pytest
from sklearn.calibration import calibration_curve

from shared.evaluation import expected_calibration_error, reliability


def brute_force_ece(hit, confidence, edges):
    """Loop over bins: first bin [e0, e1], then (e_i, e_i+1]."""
    n, total = len(hit), 0.0
    for i in range(len(edges) - 1):
        lo, hi = edges[i], edges[i + 1]
        members = [j for j in range(n)
                   if (confidence[j] > lo or (i == 0 and confidence[j] >= lo))
                   and (confidence[j] <= hi or i == len(edges) - 2)]
        if members:
            acc = sum(hit[j] for j in members) / len(members)
            conf = sum(confidence[j] for j in members) / len(members)
            total += len(members) / n * abs(acc - conf)
    return total


def multiclass_case(seed, n=400, k=4, temperature=1.0):
    """Labels drawn from `probs`, so `probs` is calibrated; `temperature` < 1 sharpens them."""
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(k) * 0.7, size=n)
    cumulative = probs.cumsum(axis=1)
    y = np.minimum((rng.random((n, 1)) > cumulative).sum(axis=1), k - 1)
    sharpened = probs ** (1.0 / temperature)
    return y, sharpened / sharpened.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("n_bins", [1, 5, 10, 15])
def test_top_label_ece_matches_brute_force_loop(seed, n_bins):
    y, p = multiclass_case(seed, n=150)
    confidence = p.max(axis=1)
    hit = (p.argmax(axis=1) == y).astype(float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    expected = brute_force_ece(hit, confidence, edges)
    assert expected_calibration_error(y, p, n_bins=n_bins) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_quantile_binary_ece_matches_brute_force_loop(seed):
    rng = np.random.default_rng(seed)
    p = np.round(rng.random(90), 2)  # ties on bin edges
    y = (rng.random(90) < p).astype(int)
    table = reliability(y, p, n_bins=6, strategy="quantile")
    assert table["kind"] == "positive_class"
    expected = brute_force_ece(y, p, np.asarray(table["bin_edges"]))
    got = expected_calibration_error(y, p, n_bins=6, strategy="quantile")
    assert got == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_reliability_agrees_with_sklearn_and_counts_every_row(strategy):
    y, p = multiclass_case(7)
    table = reliability(y, p, n_bins=8, strategy=strategy)
    assert table["kind"] == "top_label"
    assert len(table["bin_edges"]) == 9 and len(table["counts"]) == 8
    assert sum(table["counts"]) == 400
    hit = (p.argmax(axis=1) == y).astype(int)
    accuracy, confidence = calibration_curve(hit, p.max(axis=1), n_bins=8, strategy=strategy)
    filled = np.asarray(table["counts"]) > 0
    np.testing.assert_allclose(np.asarray(table["accuracy"])[filled], accuracy)
    np.testing.assert_allclose(np.asarray(table["confidence"])[filled], confidence)
    json.dumps(table)


def test_empty_bins_are_nan_with_zero_count():
    # Top-label confidence of 4 classes is >= 0.25, so the lowest uniform bins are empty.
    y, p = multiclass_case(3)
    table = reliability(y, p, n_bins=10)
    assert table["counts"][:2] == [0, 0]
    assert math.isnan(table["accuracy"][0]) and math.isnan(table["confidence"][1])


def test_calibrated_case_has_small_ece_and_overconfident_case_large():
    rng = np.random.default_rng(11)
    # Binary: outcome ~ Bernoulli(p) is calibrated by construction.
    p = rng.random(50_000)
    y = (rng.random(p.size) < p).astype(int)
    assert expected_calibration_error(y, p) < 0.01
    # Overconfident: reported probabilities pushed towards 0 and 1.
    pushed = np.clip(0.5 + 1.8 * (p - 0.5), 0.0, 1.0)
    assert expected_calibration_error(y, pushed) > 0.08  # about 0.11 expected
    # Multi-class, top label.
    y, calibrated = multiclass_case(12, n=6000)
    _, overconfident = multiclass_case(12, n=6000, temperature=0.3)
    assert expected_calibration_error(y, calibrated) < 0.03
    assert expected_calibration_error(y, overconfident) > 0.1


def test_one_dimensional_and_column_probs_agree():
    rng = np.random.default_rng(5)
    p = rng.random(50)
    y = (rng.random(50) < p).astype(int)
    assert reliability(y, p) == reliability(y, p[:, None])
    # Top-label view of a binary model differs from the positive-class view.
    two_columns = np.column_stack([1 - p, p])
    assert reliability(y, two_columns)["kind"] == "top_label"


def test_all_correct_predictions():
    p = np.array([[0.95, 0.05], [0.1, 0.9], [0.02, 0.98]])
    y = np.array([0, 1, 1])
    assert expected_calibration_error(y, p, n_bins=10) == pytest.approx(np.mean([0.05, 0.1, 0.02]))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_bins": 0}, "Received: n_bins=0"),
        ({"strategy": "equal"}, "Received: strategy='equal'"),
        ({"probs": np.full(4, 1.5)}, "must be probabilities in \\[0, 1\\]"),
        ({"y_true": np.array([0, 1, 2, 1])}, "only 0 and 1"),
        ({"probs": np.full((4, 2), 0.7)}, "must sum to 1"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    args = {"y_true": np.array([0, 1, 1, 0]), "probs": np.array([0.1, 0.8, 0.6, 0.3]), **kwargs}
    with pytest.raises(ValueError, match=message):
        reliability(**args)
