import numpy as np
import pytest

from shared.errors import DataError
from shared.vision.boxes import (
    box_areas,
    clip_boxes,
    pairwise_iou,
    scale_boxes,
    validate_boxes,
    xywh_to_xyxy,
    xyxy_to_xywh,
)


def brute_iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def random_boxes(rng, n, size=100.0):
    corner = rng.uniform(0, size * 0.8, (n, 2))
    extent = rng.uniform(1, size * 0.4, (n, 2))
    return np.concatenate([corner, corner + extent], axis=1).astype(np.float32)


def test_xywh_round_trip():
    xywh = np.array([[10, 20, 30, 40], [0, 0, 1, 2]], dtype=np.float32)
    xyxy = xywh_to_xyxy(xywh)
    np.testing.assert_array_equal(xyxy, [[10, 20, 40, 60], [0, 0, 1, 2]])
    assert xyxy.dtype == np.float32
    np.testing.assert_array_equal(xyxy_to_xywh(xyxy), xywh)
    assert xywh_to_xyxy([]).shape == (0, 4)


def test_rejects_wrong_last_axis():
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 4\). Received: boxes.shape=\(2, 3\)"):
        xywh_to_xyxy(np.zeros((2, 3)))


def test_clip_and_areas():
    boxes = np.array([[-5, -5, 10, 10], [90, 40, 120, 70], [200, 200, 220, 230]], dtype=np.float32)
    clipped = clip_boxes(boxes, height=64, width=100)
    np.testing.assert_array_equal(clipped, [[0, 0, 10, 10], [90, 40, 100, 64], [100, 64, 100, 64]])
    np.testing.assert_array_equal(box_areas(clipped), [100, 240, 0])
    assert box_areas(np.array([[10, 10, 5, 20]]))[0] == 0  # inverted: no area


@pytest.mark.parametrize("seed", range(3))
def test_pairwise_iou_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    a, b = random_boxes(rng, 7), random_boxes(rng, 5)
    expected = [[brute_iou(x, y) for y in b] for x in a]
    np.testing.assert_allclose(pairwise_iou(a, b), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.diag(pairwise_iou(a, a)), 1.0, rtol=1e-6)


def test_pairwise_iou_edge_cases():
    assert pairwise_iou(np.zeros((0, 4)), np.ones((3, 4))).shape == (0, 3)
    points = np.array([[5, 5, 5, 5]], dtype=np.float32)
    assert pairwise_iou(points, points)[0, 0] == 0.0  # empty union, no division warning
    # Half-overlapping unit squares: 1 / 3.
    assert pairwise_iou([[0, 0, 2, 1]], [[1, 0, 3, 1]])[0, 0] == pytest.approx(1 / 3)


def test_validate_accepts_boxes_within_tolerance():
    boxes = validate_boxes([[-0.5, 0, 64.8, 32], [1, 2, 3, 4]], height=32, width=64)
    assert boxes.dtype == np.float32 and boxes.shape == (2, 4)
    assert validate_boxes(np.zeros((0, 4)), 10, 10).shape == (0, 4)


@pytest.mark.parametrize(
    ("box", "message"),
    [
        ([10, 10, 10, 20], r"img_3.jpg: box 1 \(10, 10, 10, 20\) has zero or negative area"),
        ([10, 20, 30, 5], r"box 1 \(10, 20, 30, 5\) has zero or negative area"),
        ([10, 10, 70, 20], r"box 1 \(10, 10, 70, 20\) lies outside the 64x32 \(width x height\) image by more than 1 px"),
        ([-3, 10, 20, 20], r"lies outside"),
        ([np.nan, 10, 20, 20], r"non-finite"),
    ],
)
def test_validate_rejects_bad_boxes_on_one_line(box, message):
    with pytest.raises(DataError, match=message) as info:
        validate_boxes([[0, 0, 5, 5], box], height=32, width=64, where="img_3.jpg")
    assert "\n" not in str(info.value)


def test_validate_rejects_bad_shape_as_data_error():
    with pytest.raises(DataError, match="shape"):
        validate_boxes(np.zeros((2, 5)), 10, 10)


def test_scale_boxes_follows_the_resize():
    boxes = np.array([[10, 20, 30, 40]], dtype=np.float32)
    np.testing.assert_allclose(scale_boxes(boxes, (100, 200), (50, 400)), [[20, 10, 60, 20]])
    np.testing.assert_allclose(scale_boxes(scale_boxes(boxes, (100, 200), (37, 91)), (37, 91), (100, 200)), boxes, rtol=1e-6)
    with pytest.raises(ValueError, match="positive"):
        scale_boxes(boxes, (0, 10), (10, 10))
