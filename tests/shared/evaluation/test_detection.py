import contextlib
import io
import json

import numpy as np
import pytest

from shared.evaluation.detection import coco_evaluate

NAMES = ["cat", "dog", "bird"]


def scene(seed, images=6):
    """Random ground truth (mixed sizes, all three classes) as (boxes, labels) per image."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(images):
        n = rng.integers(1, 6)
        corner = rng.uniform(0, 300, (n, 2))
        extent = rng.uniform(10, 150, (n, 2))
        out.append((np.concatenate([corner, corner + extent], axis=1), rng.integers(0, 3, n)))
    return out


def perfect(ground_truth):
    return [(boxes, np.linspace(0.9, 0.5, len(boxes)), labels) for boxes, labels in ground_truth]


def test_perfect_detections_score_one():
    gt = scene(0)
    report = coco_evaluate(gt, perfect(gt), NAMES)
    assert report["map"] == report["map_50"] == report["map_75"] == 1.0
    assert report["ap_per_class"] == {"cat": 1.0, "dog": 1.0, "bird": 1.0}
    assert report["ap50_per_class"] == {"cat": 1.0, "dog": 1.0, "bird": 1.0}
    n = sum(len(b) for b, _ in gt)
    assert (report["images"], report["ground_truth_boxes"], report["detections"]) == (6, n, n)
    json.dumps(report)


def test_shifted_boxes_pass_at_iou_50_only():
    gt = [(np.array([[100.0, 100.0, 200.0, 200.0]]), np.array([0]))]
    # Shifted 24 px: IoU = 76 / 124 = 0.61, a match at thresholds 0.50, 0.55 and 0.60 of the ten.
    dt = [(np.array([[124.0, 100.0, 224.0, 200.0]]), np.array([0.8]), np.array([0]))]
    report = coco_evaluate(gt, dt, NAMES)
    assert report["map_50"] == 1.0
    assert report["map"] == pytest.approx(0.3)
    assert report["map_75"] == 0.0
    assert report["ap_per_class"]["cat"] == pytest.approx(0.3)
    assert report["ap_per_class"]["dog"] is None  # no dog in the ground truth
    # Only a large (100 x 100 px) object: the small and medium ranges are empty.
    assert report["map_large"] == pytest.approx(0.3)
    assert report["map_small"] is None and report["map_medium"] is None


def test_undetected_class_scores_zero():
    gt = scene(1)
    dt = [(b[y != 1], s[y != 1], y[y != 1]) for b, s, y in perfect(gt)]
    report = coco_evaluate(gt, dt, NAMES)
    assert report["ap_per_class"]["dog"] == 0.0
    assert report["ap50_per_class"]["dog"] == 0.0
    assert report["ap_per_class"]["cat"] == report["ap_per_class"]["bird"] == 1.0
    assert report["map"] == pytest.approx(2 / 3, abs=1e-4)


def test_no_detections_anywhere_scores_zero():
    gt = scene(2)
    empty = [(np.zeros((0, 4)), np.zeros(0), np.zeros(0, int)) for _ in gt]
    report = coco_evaluate(gt, empty, NAMES)
    assert report["map"] == report["map_50"] == 0.0
    assert report["ap_per_class"] == {"cat": 0.0, "dog": 0.0, "bird": 0.0}
    assert report["detections"] == 0


def test_no_ground_truth_gives_none():
    gt = [(np.zeros((0, 4)), np.zeros(0, int))]
    report = coco_evaluate(gt, [(np.array([[0, 0, 10, 10]]), np.array([0.5]), np.array([0]))], NAMES)
    assert report["map"] is None
    assert report["ap_per_class"] == {"cat": None, "dog": None, "bird": None}


def test_false_positives_lower_precision():
    gt = [(np.array([[0.0, 0.0, 50.0, 50.0]]), np.array([0])), (np.array([[0.0, 0.0, 50.0, 50.0]]), np.array([0]))]
    # A confident false positive on the first image outranks both true positives.
    dt = [
        (np.array([[0.0, 0.0, 50.0, 50.0], [200.0, 200.0, 250.0, 250.0]]), np.array([0.6, 0.9]), np.array([0, 0])),
        (np.array([[0.0, 0.0, 50.0, 50.0]]), np.array([0.7]), np.array([0])),
    ]
    report = coco_evaluate(gt, dt, NAMES, image_sizes=[(300, 300), (300, 300)])
    assert 0.5 < report["map"] < 1.0


def noisy(ground_truth, seed):
    rng = np.random.default_rng(seed)
    out = []
    for boxes, labels in ground_truth:
        jitter = rng.normal(0, 6, boxes.shape)
        keep = rng.random(len(boxes)) > 0.2
        extra = rng.uniform(0, 300, (2, 2))
        dt_boxes = np.concatenate([(boxes + jitter)[keep], np.concatenate([extra, extra + 40], axis=1)])
        dt_labels = np.concatenate([labels[keep], rng.integers(0, 3, 2)])
        wrong = rng.random(len(dt_labels)) < 0.1
        dt_labels = np.where(wrong, (dt_labels + 1) % 3, dt_labels)
        out.append((dt_boxes, rng.random(len(dt_boxes)), dt_labels))
    return out


def test_matches_pycocotools_run_from_json_files(tmp_path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt = scene(3, images=10)
    dt = noisy(gt, seed=4)
    images, annotations, results = [], [], []
    for i, ((gb, gl), (db, ds, dl)) in enumerate(zip(gt, dt)):
        images.append({"id": 100 + i, "width": 500, "height": 500})
        for box, label in zip(gb, gl):
            w, h = box[2] - box[0], box[3] - box[1]
            annotations.append({"id": len(annotations) + 1, "image_id": 100 + i, "category_id": int(label) + 10,
                                "bbox": [box[0], box[1], w, h], "area": w * h, "iscrowd": 0})
        for box, score, label in zip(db, ds, dl):
            results.append({"image_id": 100 + i, "category_id": int(label) + 10,
                            "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]], "score": score})
    categories = [{"id": i + 10, "name": name} for i, name in enumerate(NAMES)]
    (tmp_path / "gt.json").write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    (tmp_path / "dt.json").write_text(json.dumps(results))
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(str(tmp_path / "gt.json"))
        evaluator = COCOeval(coco_gt, coco_gt.loadRes(str(tmp_path / "dt.json")), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()

    report = coco_evaluate(gt, dt, NAMES, image_sizes=[(500, 500)] * len(gt))
    keys = ["map", "map_50", "map_75", "map_small", "map_medium", "map_large"]
    expected = [None if s < 0 else round(float(s), 4) for s in evaluator.stats[:6]]
    assert [report[k] for k in keys] == pytest.approx(expected, abs=1e-4)
    assert 0.2 < report["map"] < 0.9  # a real mix of hits and misses, not a trivial case
    for k, name in enumerate(NAMES):
        p = evaluator.eval["precision"][:, :, k, 0, -1]
        assert report["ap_per_class"][name] == pytest.approx(p[p > -1].mean(), abs=1e-4)
    assert np.mean(list(report["ap_per_class"].values())) == pytest.approx(report["map"], abs=1e-3)


def test_prints_nothing(capsys):
    gt = scene(5)
    coco_evaluate(gt, perfect(gt), NAMES)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("gt", "dt", "message"),
    [
        ([(np.zeros((1, 4)), [0])], [], "one entry per image"),
        ([(np.zeros((1, 4)), [3])], [(np.zeros((0, 4)), [], [])], r"labels must be integers in \[0, 3\)"),
        ([(np.zeros((2, 4)), [0])], [(np.zeros((0, 4)), [], [])], "2 boxes but 1 labels"),
        ([(np.zeros((1, 4)), [0])], [(np.zeros((1, 4)), [], [0])], "one finite score per box"),
    ],
)
def test_rejects_malformed_input(gt, dt, message):
    with pytest.raises(ValueError, match=message):
        coco_evaluate(gt, dt, NAMES)
