import json

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, jaccard_score

from shared.evaluation.semantic import ConfusionAccumulator, confusion_from_labels, iou_report

C = 5
NAMES = ["background", "road", "car", "tree", "sky"]


def random_labels(seed, shape=(4, 24, 32), ignore_fraction=0.1):
    """Labels with ~30% errors and some ignored (255) pixels; class 4 never appears in truth."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, C - 1, shape)
    pred = np.where(rng.random(shape) < 0.3, rng.integers(0, C, shape), truth)
    truth = np.where(rng.random(shape) < ignore_fraction, 255, truth)
    return truth.astype(np.uint8), pred.astype(np.int64)


@pytest.mark.parametrize("seed", range(3))
def test_confusion_matches_sklearn(seed):
    truth, pred = random_labels(seed)
    keep = truth != 255
    expected = confusion_matrix(truth[keep], pred[keep], labels=range(C))
    got = confusion_from_labels(truth, pred, C)
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == np.int64 and got.sum() == keep.sum()


@pytest.mark.parametrize("seed", range(3))
def test_iou_matches_sklearn_jaccard(seed):
    truth, pred = random_labels(seed)
    keep = truth != 255
    report = iou_report(confusion_from_labels(truth, pred, C), NAMES)
    expected = jaccard_score(truth[keep], pred[keep], labels=range(C), average=None, zero_division=0)
    np.testing.assert_allclose([report["iou_per_class"][n] for n in NAMES], expected, atol=1e-12)
    assert report["miou"] == pytest.approx(expected.mean())
    assert report["pixel_accuracy"] == pytest.approx(np.mean(truth[keep] == pred[keep]))
    support = np.bincount(truth[keep], minlength=C) / keep.sum()
    assert report["frequency_weighted_iou"] == pytest.approx(np.sum(support * expected))
    assert report["pixels"] == keep.sum()
    json.dumps(report)


def test_class_absent_from_truth_and_prediction_is_left_out():
    truth = np.array([[0, 0, 1, 1], [0, 255, 1, 2]])
    pred = np.array([[0, 1, 1, 1], [0, 3, 1, 2]])  # the 3 sits on an ignored pixel
    report = iou_report(confusion_from_labels(truth, pred, C), NAMES)
    assert report["iou_per_class"]["tree"] is None and report["iou_per_class"]["sky"] is None
    ious = {"background": 2 / 3, "road": 3 / 4, "car": 1.0}
    for name, value in ious.items():
        assert report["iou_per_class"][name] == pytest.approx(value)
    assert report["miou"] == pytest.approx(np.mean(list(ious.values())))
    assert report["pixel_accuracy"] == pytest.approx(6 / 7)


def test_predicted_only_class_counts_as_zero():
    truth = np.array([0, 0, 1, 1])
    pred = np.array([0, 3, 1, 1])
    report = iou_report(confusion_from_labels(truth, pred, C, ignore_index=None), NAMES)
    assert report["iou_per_class"]["tree"] == 0.0
    assert report["miou"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)


def test_nothing_counted_gives_none():
    report = iou_report(confusion_from_labels(np.full((2, 3), 255), np.zeros((2, 3), int), C), NAMES)
    assert report["miou"] is None and report["pixel_accuracy"] is None and report["pixels"] == 0


def test_accumulator_streams_batches_and_argmaxes_scores():
    truth, pred = random_labels(7, shape=(9, 16, 16))
    scores = np.random.default_rng(8).random((*pred.shape, C)) * 0.5
    np.put_along_axis(scores, pred[..., None], 1.0, axis=-1)  # arg-max is `pred`
    accumulator = ConfusionAccumulator(C)
    for start in range(0, 9, 4):
        accumulator.update(truth[start : start + 4], scores[start : start + 4])
    np.testing.assert_array_equal(accumulator.confusion, confusion_from_labels(truth, pred, C))
    assert accumulator.report(NAMES) == iou_report(confusion_from_labels(truth, pred, C), NAMES)

    channel_last = ConfusionAccumulator(C)
    channel_last.update(truth[..., None], scores)  # (n, H, W, 1) labels with (n, H, W, C) scores
    np.testing.assert_array_equal(channel_last.confusion, accumulator.confusion)
    accumulator.reset()
    assert accumulator.confusion.sum() == 0


def test_bincount_path_is_fast_for_many_pixels():
    import time

    truth, pred = random_labels(9, shape=(64, 128, 128))
    started = time.perf_counter()
    confusion_from_labels(truth, pred, C)
    assert time.perf_counter() - started < 2.0  # 1M pixels


@pytest.mark.parametrize(
    ("truth", "pred", "message"),
    [
        (np.array([0, 5]), np.array([0, 1]), r"`y_true` must hold class ids in \[0, 5\)"),
        (np.array([0, 1]), np.array([0, -1]), r"`y_pred` must hold class ids"),
        (np.array([0, 1]), np.array([0, 1, 2]), "same shape"),
        (np.array([0, 1]), np.array([0.0, 0.5]), "integer class ids"),
    ],
)
def test_rejects_bad_labels(truth, pred, message):
    with pytest.raises(ValueError, match=message):
        confusion_from_labels(truth, pred, C)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="num_classes"):
        ConfusionAccumulator(0)
    with pytest.raises(ValueError, match="name each of the 5 classes"):
        iou_report(np.zeros((5, 5)), NAMES[:3])
    with pytest.raises(ValueError, match="square"):
        iou_report(np.zeros((5, 4)), NAMES)
