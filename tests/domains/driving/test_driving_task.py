"""Driving tasks end to end on tiny configs: train, reload, predict, evaluate, explain, annotate video, bad input."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from tests_support import one_error_line, run_cli, trained_run

from domains.driving.classes import DETECTION_CLASSES, SEGMENTATION_NAMES
from domains.driving.synthetic import write_cityscapes_style, write_clip, write_coco
from domains.driving.task import class_weights
from shared.domain import get_task
from shared.errors import ConfigError
from shared.inputs.video import read_frames
from shared.runs import Run

QUICK = ["data.synthetic_images=60", "trainer.batch_size=16", "trainer.tensorboard=false", "model.head_epochs=1", "model.fine_tune_epochs=1"]


@pytest.fixture(scope="module")
def segmentation_run(tmp_path_factory):
    return trained_run("driving", "segmentation", [*QUICK, "evaluation.overlay_examples=2"], tmp_path_factory.mktemp("seg") / "run")


@pytest.fixture(scope="module")
def detection_run(tmp_path_factory):
    # A low display threshold: a one-epoch detector's scores are low, and the serving tests need boxes to compare.
    return trained_run("driving", "detection", [*QUICK, "evaluation.overlay_examples=2", "evaluation.display_threshold=0.05"], tmp_path_factory.mktemp("det") / "run")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", seed=5, seconds=2.0, fps=10)


def assert_paired_comparison(metrics, metric, difference, resamples):
    """The bootstrap's difference is the reported one; the twin's epochs and seconds are recorded."""
    comparison = metrics["transfer_vs_scratch"]
    assert comparison["metric"] == metric and comparison["resamples"] == resamples
    assert abs(comparison["difference"] - difference) < 1e-3
    assert comparison["ci_low"] <= comparison["ci_high"] and 0 <= comparison["share_above_zero"] <= 1
    assert comparison["verdict"].startswith(f"{metric} transfer - scratch = ")
    twin = metrics["from_scratch"]
    assert twin["epochs"] == 2 and 1 <= twin["epochs_run"] <= 2 and twin["train_seconds"] > 0


def test_segmentation_reports_iou_per_class_against_the_scratch_twin(segmentation_run):
    metrics = json.loads((segmentation_run / "metrics.json").read_text())
    assert set(metrics["iou_per_class"]) == set(SEGMENTATION_NAMES)
    assert 0 <= metrics["miou"] <= 1 and metrics["latency_ms_per_frame"] > 0
    assert "miou" in metrics["from_scratch"] and isinstance(metrics["transfer_beats_scratch"], bool)
    assert_paired_comparison(metrics, "mIoU", metrics["miou"] - metrics["from_scratch"]["miou"], 1000)
    for name in ("segmentation.png", "iou_per_class.png", "model_card.md"):
        assert (segmentation_run / name).is_file(), name
    metadata = json.loads((segmentation_run / "metadata.json").read_text())
    assert metadata["data"]["synthetic"] is True and metadata["training"]["seconds"] > 0
    card = (segmentation_run / "model_card.md").read_text()
    assert "## Pretrained backbones (transfer learning)" in card
    assert "- layer `backbone`: `dlsuite/road-scenes-cnn`: the driving domain's own small ResNet, pretrained by segmenting synthetic" in card
    weights = metadata["task_state"]["class_weights"]
    assert len(weights) == len(SEGMENTATION_NAMES) and max(weights) > min(weights)  # rare classes weigh more


def test_segmentation_serves_files_and_a_video(segmentation_run, clip, tmp_path, capsys):
    root = write_cityscapes_style(tmp_path / "scenes", n=10, seed=11, palette=True)
    images = sorted((root / "images").glob("*.png"))
    code, out, err = run_cli(capsys, "predict", segmentation_run, *images[:2])
    assert code == 0, err
    table = pd.read_csv(__import__("io").StringIO(out))
    fractions = table[[f"frac_{c}" for c in SEGMENTATION_NAMES]].sum(axis=1)
    np.testing.assert_allclose(fractions, 1.0, atol=1e-3)

    code, out, err = run_cli(capsys, "evaluate", segmentation_run, "--data", root)
    assert code == 0, err
    report = json.loads(out)
    assert report["images"] == 10 and report["label_format"] == "palette" and 0 <= report["miou"] <= 1

    annotated = tmp_path / "annotated.mp4"
    code, out, err = run_cli(capsys, "predict", segmentation_run, clip, "-o", annotated)
    assert code == 0, err
    assert "frames/s end to end" in err
    frames, _ = read_frames(annotated, max_frames=100)
    assert frames.shape == (20, 96, 160, 3)

    code, out, err = run_cli(capsys, "explain", segmentation_run, images[0])
    assert code == 0, err
    assert out.startswith("score ") and "integrated gradients" in out


def test_detection_reports_coco_map_and_serves_boxes(detection_run, clip, tmp_path, capsys):
    metrics = json.loads((detection_run / "metrics.json").read_text())
    assert {"map", "map_50", "map_75", "ap_per_class", "from_scratch", "latency_ms_per_frame"} <= set(metrics)
    assert set(metrics["ap_per_class"]) == set(DETECTION_CLASSES)
    assert_paired_comparison(metrics, "mAP@[.5:.95]", metrics["map"] - metrics["from_scratch"]["map"], 200)
    assert (detection_run / "detections.png").is_file() and (detection_run / "ap_per_class.png").is_file()

    annotations = write_coco(tmp_path / "coco", n=10, seed=12)
    code, out, err = run_cli(capsys, "evaluate", detection_run, "--data", annotations)
    assert code == 0, err
    report = json.loads(out)
    assert report["images"] == 10 and report["ground_truth_boxes"] > 0

    images = sorted((annotations.parent / "images").glob("*.png"))
    code, out, err = run_cli(capsys, "predict", detection_run, images[0], "--output", tmp_path / "boxes.csv")
    assert code == 0, err
    row = pd.read_csv(tmp_path / "boxes.csv").iloc[0]
    boxes = json.loads(row["boxes"])
    assert row["detections"] == len(boxes) == sum(row[f"n_{c}"] for c in DETECTION_CLASSES)
    assert all(b["class"] in DETECTION_CLASSES and len(b["box"]) == 4 for b in boxes)

    code, out, err = run_cli(capsys, "predict", detection_run, clip, "-o", tmp_path / "boxes.mp4")
    assert code == 0, err
    assert read_frames(tmp_path / "boxes.mp4", max_frames=100)[0].shape[0] == 20


def test_detection_serving_export_returns_the_boxes_predict_gives(detection_run, tmp_path):
    import tensorflow as tf

    run = Run.open(detection_run)
    task = get_task("driving", "detection")
    scenes = write_coco(tmp_path / "coco", n=3, seed=21)
    paths = sorted((scenes.parent / "images").glob("*.png"))
    _, images = task.decode_inputs(run, paths)
    served = tf.saved_model.load(str(detection_run / "saved_model"))
    assert served.serve(tf.constant(images)).shape == (3, 24, 40, len(DETECTION_CLASSES) + 4)
    found = served.detect(tf.constant(images))
    assert int(tf.reduce_sum(found["num_detections"])) > 0
    for i, image in enumerate(images):
        boxes, scores, labels = task.detect(run, image)
        n = int(found["num_detections"][i])
        assert n == len(boxes)
        np.testing.assert_allclose(found["boxes"][i, :n], boxes, atol=1e-3)
        np.testing.assert_array_equal(found["classes"][i, :n], labels)
        np.testing.assert_allclose(found["scores"][i, :n], scores, atol=1e-5)


def test_trained_sign_classifier_serves_crops_and_refuses_videos(tmp_path, capsys, clip):
    run_dir = trained_run("driving", "signs", ["data.synthetic_images=200", "trainer.batch_size=32", "trainer.tensorboard=false", "model.type=cnn", "trainer.epochs=1"], tmp_path / "signs")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert len(metrics["confusion_matrix"]) == 10 and (run_dir / "confusion_matrix.png").is_file()
    examples = get_task("driving", "signs").write_examples(tmp_path / "examples")
    capsys.readouterr()  # training's own output
    code, out, err = run_cli(capsys, "evaluate", run_dir, "--data", examples.evaluate)
    assert code == 0, err
    assert json.loads(out)["images"] == 60
    code, out, err = run_cli(capsys, "explain", run_dir, examples.explain)
    assert code == 0 and "Grad-CAM" in out, err
    code, out, err = run_cli(capsys, "predict", run_dir, clip, "-o", tmp_path / "signs.mp4")
    assert code != 0
    one_error_line(err, "does not annotate videos")
    assert not (tmp_path / "signs.mp4").exists()


def test_sign_augmentation_never_flips():
    from domains.driving.config import SignAugmentConfig
    from domains.driving.models import sign_augmentation

    layers = sign_augmentation(SignAugmentConfig()).layers
    assert layers and not any("Flip" in type(layer).__name__ for layer in layers)


# --- bad input: each one line, nothing written ---------------------------------------------


def test_corrupt_and_empty_videos_are_one_line(segmentation_run, tmp_path, capsys):
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(0).bytes(5000))
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    for source, fragment in ((corrupt, "could not decode"), (empty, "empty")):
        out = tmp_path / f"out_{source.stem}.mp4"
        code, _, err = run_cli(capsys, "predict", segmentation_run, source, "-o", out)
        assert code != 0
        one_error_line(err, fragment)
        assert not out.exists()


def test_bad_annotations_stop_training_with_one_line(tmp_path, capsys):
    annotations = write_coco(tmp_path / "coco", n=12, seed=3)
    data = json.loads(annotations.read_text())
    data["images"][0]["file_name"] = "missing.png"
    annotations.write_text(json.dumps(data))
    code, _, err = run_cli(capsys, "train", "driving", "--task", "detection", "--run-dir", tmp_path / "run", "--set", f"data.path={annotations}", *[a for o in QUICK for a in ("--set", o)])
    assert code != 0
    one_error_line(err, "missing.png")

    root = write_cityscapes_style(tmp_path / "scenes", n=12, seed=4)
    label = sorted((root / "labels").glob("*.png"))[0]
    Image.fromarray(np.zeros((10, 20), np.uint8)).save(label)
    code, _, err = run_cli(capsys, "train", "driving", "--task", "segmentation", "--run-dir", tmp_path / "run2", "--set", f"data.path={root}", *[a for o in QUICK for a in ("--set", o)])
    assert code != 0
    one_error_line(err, label.name)


@pytest.mark.parametrize(
    "overrides, fragment",
    [(["data.image_height=100"], "image_height"), (["data.split.type=group", "data.split.column=city"], "random"), (["model.type=yolo"], "deeplab")],
)
def test_bad_config_is_one_line(overrides, fragment):
    with pytest.raises(ConfigError, match=fragment) as info:
        get_task("driving", "segmentation").resolve_config(overrides=overrides)
    assert "\n" not in str(info.value)


def test_class_weights_favour_rare_classes_and_skip_absent_ones():
    weights = class_weights(np.array([1000, 10, 0]), "inverse_sqrt_frequency")
    assert weights[1] > weights[0] > 0 and weights[2] == 0
    assert class_weights(np.array([5, 5]), "none") is None


@pytest.mark.parametrize("fixture", ["segmentation_run", "detection_run"])
def test_tflite_export_runs_in_litert_with_builtin_ops_only(fixture, request, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    from shared.export import export, tflite_uses_flex

    run = Run.open(request.getfixturevalue(fixture))
    path = export(run.model, "tflite", tmp_path / "model.tflite")
    assert not tflite_uses_flex(path)
    interpreter = Interpreter(model_path=str(path))  # no Flex delegate: builtin ops or it fails to allocate
    interpreter.allocate_tensors()
    image = np.random.default_rng(1).random((1, 96, 160, 3), dtype=np.float32)
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], image)
    interpreter.invoke()
    lite = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(lite, run.model.predict(image, verbose=0), atol=1e-4)
