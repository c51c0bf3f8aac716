"""Paired bootstrap of a metric difference, for mIoU from confusion matrices and for COCO mAP."""

import numpy as np
import pytest

from shared.evaluation.comparison import miou_statistic, paired_bootstrap, verdict
from shared.evaluation.detection import CocoResampler, coco_evaluate
from shared.evaluation.semantic import confusion_from_labels, iou_report

NAMES = ["a", "b", "c"]


def per_image_confusions(truth, pred):
    return np.stack([confusion_from_labels(t, p, 3) for t, p in zip(truth, pred)])


def noisy(truth, flip, rng):
    pred = truth.copy()
    wrong = rng.random(truth.shape) < flip
    pred[wrong] = rng.integers(0, 3, wrong.sum())
    return pred


def test_a_clearly_better_model_gets_an_interval_above_zero():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, (40, 8, 8))
    good, bad = per_image_confusions(truth, noisy(truth, 0.1, rng)), per_image_confusions(truth, noisy(truth, 0.6, rng))
    stat = miou_statistic(good, bad, NAMES)
    whole = iou_report(good.sum(0), NAMES)["miou"] - iou_report(bad.sum(0), NAMES)["miou"]
    report = paired_bootstrap(stat, 40, n_resamples=200, seed=1)
    assert report["difference"] == round(whole, 4) > 0
    assert 0 < report["ci_low"] <= report["difference"] <= report["ci_high"]
    assert report["share_above_zero"] == 1.0 and report["items"] == 40 and report["resamples"] == 200
    assert verdict(report, "transfer", "scratch", "mIoU").endswith(": transfer is better")
    assert paired_bootstrap(stat, 40, n_resamples=200, seed=1) == report  # seeded


def test_two_equal_models_get_an_interval_around_zero():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 3, (60, 8, 8))
    a, b = per_image_confusions(truth, noisy(truth, 0.4, rng)), per_image_confusions(truth, noisy(truth, 0.4, rng))
    report = paired_bootstrap(miou_statistic(a, b, NAMES), 60, n_resamples=300)
    assert report["ci_low"] < 0 < report["ci_high"]
    assert verdict(report, "transfer", "scratch", "mIoU").endswith("no clear difference")
    assert verdict(paired_bootstrap(miou_statistic(b, a, NAMES), 60, n_resamples=300), "x", "y", "m")


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="at least 2 test items"):
        paired_bootstrap(lambda i: 0.0, 1)
    with pytest.raises(ValueError, match="confidence"):
        paired_bootstrap(lambda i: 0.0, 5, confidence=1.5)
    with pytest.raises(ValueError, match="one shape"):
        miou_statistic(np.zeros((4, 3, 3)), np.zeros((5, 3, 3)), NAMES)


def detection_case(seed, jitter):
    rng = np.random.default_rng(seed)
    truth, found = [], []
    for _ in range(30):
        n = int(rng.integers(1, 4))
        xy = rng.uniform(0, 60, (n, 2))
        boxes = np.concatenate([xy, xy + rng.uniform(10, 30, (n, 2))], 1).astype(np.float32)
        labels = rng.integers(0, 2, n)
        truth.append((boxes, labels))
        shifted = boxes + rng.normal(0, jitter, boxes.shape).astype(np.float32)
        found.append((shifted, rng.uniform(0.3, 1.0, n).astype(np.float32), labels))
    return truth, found


def test_coco_resampler_on_all_images_is_coco_map_and_repeats_count():
    truth, found = detection_case(0, 2.0)
    whole = coco_evaluate(truth, found, ["car", "person"])
    everything = np.arange(len(truth))
    assert round(CocoResampler(truth, found, ["car", "person"])(everything), 4) == whole["map"]
    assert round(CocoResampler(truth, found, ["car", "person"], iou=0.5)(everything), 4) == whole["map_50"]
    resampler = CocoResampler(truth, found, ["car", "person"])
    doubled = resampler(np.concatenate([everything, everything]))
    assert abs(doubled - whole["map"]) < 0.02  # each image twice: the same curve up to COCO's interpolation
    first = resampler(np.zeros(5, int))  # one image five times
    alone = coco_evaluate(truth[:1], found[:1], ["car", "person"])["map"]
    assert abs(first - alone) < 0.05
    with pytest.raises(ValueError, match="iou"):
        CocoResampler(truth, found, ["car", "person"], iou=0.42)
    with pytest.raises(ValueError, match="image positions"):
        resampler(np.array([len(truth)]))


def test_bootstrap_of_map_prefers_the_sharper_detector():
    truth, sharp = detection_case(1, 0.5)
    _, blurred = detection_case(1, 6.0)
    a, b = CocoResampler(truth, sharp, ["car", "person"]), CocoResampler(truth, blurred, ["car", "person"])
    report = paired_bootstrap(lambda i: a(i) - b(i), len(truth), n_resamples=60)
    assert report["ci_low"] > 0
