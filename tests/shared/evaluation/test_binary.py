import json
import math
import time

import numpy as np
import pytest

from shared.evaluation import binary


def random_case(seed, n=60, positive_rate=0.3, decimals=None):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < positive_rate).astype(int)
    y[0], y[1] = 0, 1  # both classes present
    s = rng.normal(size=n) + 1.2 * y
    if decimals is not None:
        s = np.round(s, decimals)  # forces ties
    return y, s


def brute_counts(y, s, t):
    flagged = s >= t
    tp = int(np.sum(flagged & (y == 1)))
    fp = int(np.sum(flagged & (y == 0)))
    return tp, fp


def brute_points(y, s):
    """(threshold, tp, fp) for every distinct score, highest threshold first."""
    return [(t, *brute_counts(y, s, t)) for t in sorted(set(s.tolist()), reverse=True)]


SEEDS = range(6)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("decimals", [None, 1])
def test_average_precision_matches_step_sum(seed, decimals):
    y, s = random_case(seed, decimals=decimals)
    positives = y.sum()
    ap, prev_recall = 0.0, 0.0
    for _, tp, fp in brute_points(y, s):
        recall = tp / positives
        ap += (recall - prev_recall) * tp / (tp + fp)
        prev_recall = recall
    assert binary.average_precision(y, s) == pytest.approx(ap, abs=1e-12)
    assert binary.auprc is binary.average_precision


@pytest.mark.parametrize("seed", SEEDS)
def test_roc_auc_matches_pairwise_count(seed):
    y, s = random_case(seed, decimals=1)
    pos, neg = s[y == 1], s[y == 0]
    diff = pos[:, None] - neg[None, :]
    expected = (np.sum(diff > 0) + 0.5 * np.sum(diff == 0)) / diff.size
    assert binary.roc_auc(y, s) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("labels", [np.zeros(20, int), np.ones(20, int)])
def test_single_class_gives_nan_not_crash(labels):
    s = np.linspace(0, 1, 20)
    assert math.isnan(binary.average_precision(labels, s))
    assert math.isnan(binary.roc_auc(labels, s))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("target", [0.5, 0.7, 0.9, 1.0])
@pytest.mark.parametrize("decimals", [None, 1])
def test_recall_at_precision_matches_brute_force(seed, target, decimals):
    y, s = random_case(seed, decimals=decimals)
    positives = y.sum()
    best = None
    for t, tp, fp in brute_points(y, s):  # highest threshold first: strict > keeps it on ties
        if tp / (tp + fp) >= target and (best is None or tp / positives > best[0]):
            best = (tp / positives, t, tp / (tp + fp))
    got = binary.recall_at_precision(y, s, target)
    if best is None:
        assert got["recall"] == 0.0 and got["threshold"] == math.inf
        assert math.isnan(got["precision"])
    else:
        assert (got["recall"], got["threshold"], got["precision"]) == pytest.approx(best)


def test_recall_at_precision_unreachable_and_no_positives():
    y = np.array([1, 0, 0, 1])
    s = np.array([0.1, 0.9, 0.8, 0.2])  # positives ranked last: best precision 0.5
    got = binary.recall_at_precision(y, s, 0.9)
    assert got["recall"] == 0.0 and got["threshold"] == math.inf
    none = binary.recall_at_precision(np.zeros(4, int), s, 0.5)
    assert math.isnan(none["recall"]) and none["threshold"] == math.inf


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("budget", [0.01, 0.05, 0.1, 0.29, 0.5, 1.0])
@pytest.mark.parametrize("decimals", [None, 1])
def test_recall_at_budget_matches_brute_force(seed, budget, decimals):
    y, s = random_case(seed, n=100, decimals=decimals)
    capacity = {0.01: 1, 0.05: 5, 0.1: 10, 0.29: 29, 0.5: 50, 1.0: 100}[budget]
    fitting = [p for p in brute_points(y, s) if p[1] + p[2] <= capacity]
    got = binary.recall_at_budget(y, s, budget)
    assert got["alerts"] <= capacity
    if not fitting:
        assert got["threshold"] == math.inf and got["alerts"] == 0
        return
    t, tp, fp = fitting[-1]
    assert got["threshold"] == t
    assert got["alerts"] == tp + fp
    assert got["recall"] == pytest.approx(tp / y.sum())
    assert got["precision"] == pytest.approx(tp / (tp + fp))


def test_recall_at_budget_rounding_and_straddling_tie():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    # 0.29 * 10 = 2.9 -> capacity 2, but scores 0.8 are a tie of three straddling the cut.
    s = np.array([0.9, 0.8, 0.8, 0.8, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    got = binary.recall_at_budget(y, s, 0.29)
    assert got == {"recall": 0.5, "precision": 1.0, "threshold": 0.9, "alerts": 1}
    # Float noise: 0.29 * 100 = 28.999999999999996 must still allow 29 alerts.
    labels = np.r_[np.ones(50, int), np.zeros(50, int)]
    got = binary.recall_at_budget(labels, np.arange(100.0), 0.29)
    assert got["alerts"] == 29
    # A budget below one row flags nothing.
    tiny = binary.recall_at_budget(y, np.arange(10.0), 0.05)
    assert tiny["alerts"] == 0 and tiny["threshold"] == math.inf and tiny["recall"] == 0.0


def test_recall_at_budget_without_positives_has_nan_recall():
    got = binary.recall_at_budget(np.zeros(10, int), np.arange(10.0), 0.2)
    assert math.isnan(got["recall"]) and got["precision"] == 0.0 and got["alerts"] == 2


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("costs", [(1.0, 25.0), (1.0, 1.0), (5.0, 1.0), (0.5, 3.0)])
@pytest.mark.parametrize("decimals", [None, 1])
def test_choose_threshold_matches_brute_force(seed, costs, decimals):
    y, s = random_case(seed, decimals=decimals)
    cost_fp, cost_fn = costs
    positives = int(y.sum())
    candidates = [(math.inf, 0, 0)] + brute_points(y, s)
    costs_seen = [cost_fp * fp + cost_fn * (positives - tp) for _, tp, fp in candidates]
    best = int(np.argmin(costs_seen))  # first minimum = highest threshold on ties
    t, tp, fp = candidates[best]
    got = binary.choose_threshold(y, s, cost_fp, cost_fn)
    assert got["threshold"] == t
    assert got["expected_cost"] == pytest.approx(costs_seen[best])
    assert got["cost_per_row"] == pytest.approx(costs_seen[best] / len(y))
    assert got["alerts"] == tp + fp
    assert got["recall"] == pytest.approx(tp / positives)
    check = binary.confusion_at(y, s, got["threshold"])
    assert check["fp"] * cost_fp + check["fn"] * cost_fn == pytest.approx(got["expected_cost"])


def test_choose_threshold_reason_sentence():
    y = np.array([0, 0, 1, 0, 1, 1])
    s = np.array([0.1, 0.5, 0.6, 0.2, 0.9, 0.3])
    got = binary.choose_threshold(y, s, 1.0, 25.0, positive_name="fraud", split_name="test")
    # Flagging >= 0.3 catches all three at the price of one false alert (0.5).
    assert got["threshold"] == 0.3
    assert got["reason"] == (
        "threshold 0.3 minimises expected cost on the test split: "
        "1 false alert x 1.0 + 0 missed frauds x 25.0 = 1.0 (flag-nothing cost 75.0)"
    )


def test_choose_threshold_flags_nothing_when_alerts_are_too_costly():
    y = np.array([0, 1, 0, 0])
    s = np.array([0.9, 0.2, 0.5, 0.1])
    got = binary.choose_threshold(y, s, 10.0, 1.0)
    assert got["threshold"] == math.inf and got["alerts"] == 0
    assert math.isnan(got["precision"])
    assert got["reason"].startswith("flagging nothing minimises expected cost")
    no_pos = binary.choose_threshold(np.zeros(4, int), s, 1.0, 1.0)
    assert no_pos["expected_cost"] == 0.0 and math.isnan(no_pos["recall"])


def test_choose_threshold_is_fast_on_a_million_rows():
    rng = np.random.default_rng(0)
    y = (rng.random(1_000_000) < 0.01).astype(np.int8)
    s = rng.normal(size=y.size) + 2 * y
    start = time.perf_counter()
    got = binary.choose_threshold(y, s, 1.0, 25.0)
    assert time.perf_counter() - start < 3.0
    assert 0 < got["alerts"] < y.size


@pytest.mark.parametrize("seed", SEEDS)
def test_confusion_at_matches_counts(seed):
    y, s = random_case(seed, decimals=1)
    t = float(np.median(s))
    tp, fp = brute_counts(y, s, t)
    got = binary.confusion_at(y, s, t)
    fn = int(y.sum()) - tp
    tn = len(y) - tp - fp - fn
    assert got == {
        "tp": tp, "fp": fp, "tn": tn, "fn": fn,
        "precision": tp / (tp + fp), "recall": tp / (tp + fn), "alerts": tp + fp,
    }


def test_confusion_at_no_alerts_has_nan_precision():
    got = binary.confusion_at([0, 1], [0.2, 0.4], 0.5)
    assert got["alerts"] == 0 and math.isnan(got["precision"]) and got["recall"] == 0.0


def test_binary_report_is_json_ready_plain_python():
    y, s = random_case(3, n=400, positive_rate=0.05)
    s = s.reshape(-1, 1)  # the shape Keras `predict` returns
    report = binary.binary_report(y, s, threshold=0.5, target_precision=0.6, alert_budget=0.02)
    assert set(report) == {
        "auprc", "roc_auc", "positive_rate", "rows",
        "recall_at_precision", "recall_at_budget", "at_threshold",
    }
    assert report["rows"] == 400
    assert report["positive_rate"] == pytest.approx(y.mean())
    assert report["recall_at_budget"]["alerts"] <= 8
    assert report["at_threshold"] == {"threshold": 0.5, **binary.confusion_at(y, s, 0.5)}

    def plain(value):
        if isinstance(value, dict):
            return all(plain(v) for v in value.values())
        return type(value) in (int, float, str)

    assert plain(report)
    assert json.loads(json.dumps(report))["rows"] == 400


def test_binary_report_single_class():
    report = binary.binary_report(np.zeros(50, int), np.linspace(0, 1, 50), threshold=0.5)
    assert math.isnan(report["auprc"]) and math.isnan(report["roc_auc"])
    assert report["at_threshold"]["fp"] == 25


@pytest.mark.parametrize("max_points", [2, 7, 50, 1000])
def test_pr_curve_table_rows_match_confusion_at(max_points):
    y, s = random_case(1, n=500, positive_rate=0.05, decimals=2)
    table = binary.pr_curve_table(y, s, max_points=max_points)
    assert list(table.columns) == ["threshold", "precision", "recall", "alerts"]
    assert len(table) <= max_points
    assert table["threshold"].is_monotonic_increasing
    assert table["threshold"].iloc[0] == s.min() and table["threshold"].iloc[-1] == s.max()
    if max_points >= len(np.unique(s)):
        assert len(table) == len(np.unique(s))
    for row in table.itertuples():
        expected = binary.confusion_at(y, s, row.threshold)
        assert row.alerts == expected["alerts"]
        assert row.precision == pytest.approx(expected["precision"])
        assert row.recall == pytest.approx(expected["recall"])


def test_pr_curve_table_keeps_points_in_the_rare_positive_region():
    rng = np.random.default_rng(0)
    y = (rng.random(20_000) < 0.01).astype(int)
    s = rng.normal(size=y.size) + 3 * y
    table = binary.pr_curve_table(y, s, max_points=100)
    # Evenly spaced by rank alone would give ~1 point in the top 1% of alerts.
    assert (table["alerts"] <= 200).sum() >= 10


def test_pr_curve_table_without_positives():
    table = binary.pr_curve_table(np.zeros(10, int), np.arange(10.0), max_points=4)
    assert len(table) <= 4 and table["recall"].isna().all() and (table["precision"] == 0).all()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: binary.confusion_at([0, 1], [0.1], 0.5), "len\\(scores\\)=1"),
        (lambda: binary.confusion_at([0, 2], [0.1, 0.2], 0.5), "Received labels: \\[0, 2\\]"),
        (lambda: binary.confusion_at([0, 1], [0.1, np.nan], 0.5), "Received: 1 NaN"),
        (lambda: binary.confusion_at([], [], 0.5), "empty"),
        (lambda: binary.roc_auc(np.zeros((2, 2)), np.zeros((2, 2))), "must be 1-D"),
        (lambda: binary.recall_at_precision([0, 1], [0.1, 0.2], 1.5), "Received: precision=1.5"),
        (lambda: binary.recall_at_budget([0, 1], [0.1, 0.2], 0), "Received: budget=0"),
        (lambda: binary.choose_threshold([0, 1], [0.1, 0.2], -1, 1), "Received: cost_fp=-1"),
        (lambda: binary.choose_threshold([0, 1], [0.1, 0.2], 1, math.nan), "Received: cost_fn=nan"),
        (lambda: binary.pr_curve_table([0, 1], [0.1, 0.2], max_points=1), "Received: max_points=1"),
    ],
)
def test_bad_inputs_raise_with_received_value(call, message):
    with pytest.raises(ValueError, match=message):
        call()
