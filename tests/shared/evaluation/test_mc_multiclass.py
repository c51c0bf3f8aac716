import json
import math

import numpy as np
import pytest
from sklearn import metrics

from shared.evaluation import abnormal_report, choose_operating_point, multiclass_report

NAMES = ["normal", "benign", "malignant"]


def softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def random_case(seed, n=120, k=3, decimals=None):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, size=n)
    y[:k] = np.arange(k)  # every class present
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += 1.2
    probs = softmax(logits)
    if decimals is not None:  # forces tied abnormal scores
        probs = np.round(probs, decimals)
        probs[:, 0] = 1.0 - probs[:, 1:].sum(axis=1)
        probs = np.clip(probs, 0.0, 1.0)
    return y, probs


def brute_pairwise_auc(is_pos, score):
    pos, neg = score[is_pos], score[~is_pos]
    diff = pos[:, None] - neg[None, :]
    return (np.sum(diff > 0) + 0.5 * np.sum(diff == 0)) / diff.size


SEEDS = range(5)


@pytest.mark.parametrize("seed", SEEDS)
def test_report_matches_brute_force_and_sklearn(seed):
    y, p = random_case(seed)
    report = multiclass_report(y, p, NAMES)
    predicted = p.argmax(axis=1)
    assert report["operating_point"] == {"rule": "argmax"}
    assert report["n"] == 120
    assert report["accuracy"] == pytest.approx(np.mean(predicted == y))
    matrix = np.zeros((3, 3), int)
    for t, q in zip(y, predicted):
        matrix[t, q] += 1
    assert report["confusion_matrix"] == matrix.tolist()
    for c, name in enumerate(NAMES):
        row = report["per_class"][name]
        assert row["support"] == int(np.sum(y == c))
        assert row["roc_auc"] == pytest.approx(brute_pairwise_auc(y == c, p[:, c]), abs=1e-12)
        assert row["sensitivity"] == pytest.approx(np.mean(predicted[y == c] == c))
        assert row["specificity"] == pytest.approx(np.mean(predicted[y != c] != c))
    sensitivities = [report["per_class"][name]["sensitivity"] for name in NAMES]
    assert report["balanced_accuracy"] == pytest.approx(np.mean(sensitivities))
    assert report["macro_roc_auc"] == pytest.approx(
        metrics.roc_auc_score(y, p, multi_class="ovr", average="macro"), abs=1e-12
    )


def test_report_is_json_ready():
    y, p = random_case(0)
    text = json.dumps(multiclass_report(y, p, NAMES, operating_point={"normal_class": 0,
                                                                       "threshold": 0.5}))
    assert json.loads(text)["class_names"] == NAMES


def test_absent_class_gives_nan_auc_and_sensitivity():
    y, p = random_case(1)
    keep = y != 2
    report = multiclass_report(y[keep], p[keep], NAMES)
    absent = report["per_class"]["malignant"]
    assert absent["support"] == 0
    assert math.isnan(absent["roc_auc"]) and math.isnan(absent["sensitivity"])
    assert not math.isnan(absent["specificity"])
    present = [report["per_class"][name]["roc_auc"] for name in NAMES[:2]]
    assert report["macro_roc_auc"] == pytest.approx(np.mean(present))
    # Balanced accuracy averages over the two classes that occur.
    sens = [report["per_class"][name]["sensitivity"] for name in NAMES[:2]]
    assert report["balanced_accuracy"] == pytest.approx(np.mean(sens))


def test_single_class_split_has_no_auc_at_all():
    y, p = random_case(2)
    report = multiclass_report(np.zeros(10, int), p[:10], NAMES)
    assert all(math.isnan(v["roc_auc"]) for v in report["per_class"].values())
    assert math.isnan(report["macro_roc_auc"])
    assert math.isnan(report["per_class"]["normal"]["specificity"])


def test_threshold_operating_point_predicts_top_abnormal_class():
    p = np.array([
        [0.70, 0.20, 0.10],  # P(abnormal) 0.30 >= 0.25: flagged, benign is the top abnormal class
        [0.80, 0.05, 0.15],  # 0.20 < 0.25: normal
        [0.40, 0.25, 0.35],  # flagged, malignant
        [0.75, 0.10, 0.15],  # exactly 0.25: flagged (>=), malignant
    ])
    y = np.array([1, 0, 2, 0])
    point = {"normal_class": 0, "threshold": 0.25, "reason": "extra keys are ignored"}
    report = multiclass_report(y, p, NAMES, operating_point=point)
    expected = metrics.confusion_matrix(y, [1, 0, 2, 2], labels=[0, 1, 2])
    assert report["confusion_matrix"] == expected.tolist()
    assert report["operating_point"] == {"rule": "abnormal_threshold", "normal_class": 0,
                                         "threshold": 0.25}
    # Argmax calls every row normal.
    assert np.asarray(multiclass_report(y, p, NAMES)["confusion_matrix"])[:, 0].sum() == 4


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("normal_class", [0, 2])
def test_threshold_report_agrees_with_abnormal_report(seed, normal_class):
    y, p = random_case(seed)
    point = {"normal_class": normal_class, "threshold": 0.6}
    matrix = np.asarray(multiclass_report(y, p, NAMES, operating_point=point)["confusion_matrix"])
    screen = abnormal_report(y, p, normal_class, 0.6)
    abnormal = [c for c in range(3) if c != normal_class]
    assert screen["tn"] == matrix[normal_class, normal_class]
    assert screen["fp"] == matrix[normal_class, abnormal].sum()
    assert screen["fn"] == matrix[abnormal, normal_class].sum()
    assert screen["tp"] == matrix[np.ix_(abnormal, abnormal)].sum()


def brute_operating_point(y, p, normal_class, target):
    abnormal = y != normal_class
    scores = 1.0 - p[:, normal_class]
    for t in sorted(set(scores.tolist()), reverse=True):
        if np.mean(scores[abnormal] >= t) >= target - 1e-12:
            return t
    raise AssertionError("unreachable: the lowest threshold flags everything")


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("target", [0.5, 0.8, 0.9, 0.95, 1.0])
@pytest.mark.parametrize("decimals", [None, 1])
def test_choose_operating_point_matches_brute_force(seed, target, decimals):
    y, p = random_case(seed, decimals=decimals)
    point = choose_operating_point(y, p, normal_class=0, target_sensitivity=target)
    assert point["threshold"] == brute_operating_point(y, p, 0, target)
    assert point["sensitivity"] >= target
    screen = abnormal_report(y, p, 0, point["threshold"])
    assert screen["sensitivity"] == pytest.approx(point["sensitivity"])
    assert screen["specificity"] == pytest.approx(point["specificity"])
    # Any higher threshold misses the target: it is the most specific one that reaches it.
    above = (1.0 - p[:, 0])[(1.0 - p[:, 0]) > point["threshold"]]
    if above.size:
        assert abnormal_report(y, p, 0, above.min())["sensitivity"] < target


def test_choose_operating_point_reason_and_exact_target():
    # 10 abnormal cases: 70% needs exactly 7 flagged, although 0.7 * 10 = 7.000000000000001.
    y = np.array([0] * 5 + [1] * 10)
    abnormal_scores = np.r_[[0.02, 0.05, 0.1, 0.12, 0.9], np.linspace(0.95, 0.05, 10)]
    p = np.column_stack([1 - abnormal_scores, abnormal_scores * 0.5, abnormal_scores * 0.5])
    point = choose_operating_point(y, p, normal_class=0, target_sensitivity=0.7, split_name="val")
    assert point["threshold"] == pytest.approx(0.35)
    assert point["sensitivity"] == pytest.approx(0.7)
    assert point["specificity"] == pytest.approx(0.8)  # the normal case scoring 0.9 is flagged
    assert "7 of 10 abnormal flagged" in point["reason"]
    assert "1 of 5 normal falsely flagged" in point["reason"]
    assert "on the val split" in point["reason"]


def test_abnormal_report_counts_by_hand():
    p = np.array([[0.9, 0.05, 0.05], [0.3, 0.3, 0.4], [0.6, 0.4, 0.0], [0.2, 0.1, 0.7]])
    y = np.array([0, 0, 2, 1])
    got = abnormal_report(y, p, normal_class=0, threshold=0.5)
    # Flagged: rows 1 and 3. Abnormal: rows 2 and 3.
    assert {k: got[k] for k in ("tp", "fp", "tn", "fn")} == {"tp": 1, "fp": 1, "tn": 1, "fn": 1}
    assert got["sensitivity"] == got["specificity"] == got["ppv"] == got["npv"] == 0.5
    nothing = abnormal_report(y, p, normal_class=0, threshold=2.0)
    assert math.isnan(nothing["ppv"]) and nothing["npv"] == 0.5
    everything = abnormal_report(y, p, normal_class=0, threshold=0.0)
    assert math.isnan(everything["npv"]) and everything["sensitivity"] == 1.0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda y, p: multiclass_report(y, p, NAMES[:2]), "Received: 2 names"),
        (lambda y, p: multiclass_report(y, p * 2, NAMES), "finite probabilities"),
        (lambda y, p: multiclass_report(y, p * 0.5, NAMES), "must sum to 1"),
        (lambda y, p: multiclass_report(y + 1, p, NAMES), "Received: min=1, max=3"),
        (lambda y, p: multiclass_report(y[:-1], p, NAMES), "len\\(y_true\\)=119"),
        (lambda y, p: multiclass_report(y, p[:, 0], NAMES), "probs.shape=\\(120,\\)"),
        (lambda y, p: multiclass_report(y + 0.5, p, NAMES), "integer class ids"),
        (lambda y, p: multiclass_report(y, p, NAMES, {"threshold": 0.5}),
         "Missing: \\['normal_class'\\]"),
        (lambda y, p: abnormal_report(y, p, 3, 0.5), "Received: normal_class=3"),
        (lambda y, p: choose_operating_point(y, p, target_sensitivity=0.0),
         "target_sensitivity=0.0"),
        (lambda y, p: choose_operating_point(np.zeros_like(y), p), "no abnormal cases"),
    ],
)
def test_bad_arguments_raise(call, message):
    y, p = random_case(0)
    with pytest.raises(ValueError, match=message):
        call(y, p)
