import json
import math

import numpy as np
import pytest

from shared.evaluation import dice, iou, segmentation_report


def brute_dice_iou(t, p):
    """Pixel loop over one pair of boolean masks; empty-both is 1.0."""
    inter = union = size_t = size_p = 0
    for a, b in zip(t.ravel(), p.ravel()):
        inter += a and b
        union += a or b
        size_t += a
        size_p += b
    if size_t + size_p == 0:
        return 1.0, 1.0
    return 2 * inter / (size_t + size_p), inter / union


def random_masks(seed, n=6, size=12):
    rng = np.random.default_rng(seed)
    truth = (rng.random((n, size, size, 1)) < 0.3).astype(np.float32)
    probs = (0.35 * truth + 0.65 * rng.random(truth.shape)).astype(np.float32)  # ~23% pixels wrong
    truth[0] = 0.0  # a lesion-free image
    probs[0] = 0.1  # ... predicted lesion-free: empty both
    return truth, probs


@pytest.mark.parametrize("seed", range(4))
def test_per_image_scores_match_pixel_loop(seed):
    truth, probs = random_masks(seed)
    expected = [brute_dice_iou(t >= 0.5, p >= 0.5) for t, p in zip(truth, probs)]
    np.testing.assert_allclose(dice(truth, probs), [d for d, _ in expected], atol=1e-12)
    np.testing.assert_allclose(iou(truth, probs), [j for _, j in expected], atol=1e-12)
    assert dice(truth, probs, reduction="mean") == pytest.approx(np.mean([d for d, _ in expected]))
    assert iou(truth, probs, reduction="mean") == pytest.approx(np.mean([j for _, j in expected]))


def test_dice_and_iou_are_related_per_image():
    truth, probs = random_masks(9)
    d, j = dice(truth, probs), iou(truth, probs)
    np.testing.assert_allclose(d, 2 * j / (1 + j), atol=1e-12)


def test_empty_masks_convention():
    empty = np.zeros((1, 4, 4))
    lesion = np.zeros((1, 4, 4))
    lesion[0, 1:3, 1:3] = 1.0
    assert dice(empty, empty)[0] == 1.0 and iou(empty, empty)[0] == 1.0
    assert dice(empty, lesion)[0] == 0.0 and iou(lesion, empty)[0] == 0.0
    assert dice(lesion, lesion)[0] == 1.0


def test_threshold_applies_to_both_masks():
    truth = np.array([[[0.6, 0.4], [0.0, 1.0]]])  # soft mask: foreground {0, 3} at 0.5
    probs = np.array([[[0.5, 0.49], [0.2, 0.9]]])  # 0.5 counts as foreground
    assert dice(truth, probs)[0] == 1.0
    assert dice(truth, probs, threshold=0.55)[0] == pytest.approx(2 / 3)  # truth {0,3}, pred {3}


def test_eps_smooths_like_the_loss():
    truth = np.zeros((1, 2, 2))
    truth[0, 0, 0] = 1.0
    probs = np.zeros((1, 2, 2))
    assert dice(truth, probs)[0] == 0.0
    assert dice(truth, probs, eps=1.0)[0] == pytest.approx(1.0 / 2.0)
    assert iou(truth, probs, eps=1.0)[0] == pytest.approx(1.0 / 2.0)


def test_report_separates_lesion_images():
    truth, probs = random_masks(3)
    report = segmentation_report(truth, probs)
    per_image = dice(truth, probs)
    assert report["n_images"] == 6 and report["n_lesion_images"] == 5
    assert report["dice"] == pytest.approx(per_image.mean())
    assert report["iou"] == pytest.approx(iou(truth, probs).mean())
    assert report["dice_lesion_images_only"] == pytest.approx(per_image[1:].mean())
    assert report["dice_lesion_images_only"] < report["dice"]  # the free 1.0 is left out
    json.dumps(report)
    none = segmentation_report(np.zeros((2, 3, 3)), np.zeros((2, 3, 3)))
    assert none["dice"] == 1.0 and math.isnan(none["dice_lesion_images_only"])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"y_pred_mask": np.zeros((2, 4, 5))}, "Received: \\(2, 4, 4\\) and \\(2, 4, 5\\)"),
        ({"y_true_mask": np.full((2, 4, 4), 255.0)}, "divide 0-255 masks by 255"),
        ({"y_true_mask": np.zeros(4), "y_pred_mask": np.zeros(4)}, "Received: shape=\\(4,\\)"),
        ({"threshold": 0.0}, "Received: threshold=0.0"),
        ({"eps": -1.0}, "Received: eps=-1.0"),
        ({"reduction": "sum"}, "Received: reduction='sum'"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    args = {"y_true_mask": np.zeros((2, 4, 4)), "y_pred_mask": np.zeros((2, 4, 4)), **kwargs}
    with pytest.raises(ValueError, match=message):
        dice(**args)
