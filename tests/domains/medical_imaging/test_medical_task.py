"""Medical tasks end to end on tiny configs: train, reload safely, serve, explain, bad input."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from PIL import Image
from pydicom.data import get_testdata_file
from tests_support import demo_run

from domains.medical_imaging.config import CLASSES
from domains.medical_imaging.sources import load_images
from domains.medical_imaging.synthetic import build_dicom, generate_radiographs
from shared.cli.main import main
from shared.domain import get_task
from shared.runs import Run
from shared.training.runner import prepare_run, train

TINY = ["data.synthetic_images=240", "trainer.batch_size=32", "trainer.tensorboard=false"]


def train_tiny(path, task_name, *overrides):
    task = get_task("medical_imaging", task_name)
    cfg = task.resolve_config(overrides=[*TINY, *overrides])
    run_dir = prepare_run(task, cfg, path)
    train(task, cfg, run_dir)
    return task, run_dir


@pytest.fixture(scope="module")
def transfer_run(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("med") / "transfer", "classifier", "model.head_epochs=1", "model.fine_tune_epochs=1", "evaluation.gradcam_examples=4")[1]


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_transfer_run_reports_both_figures_and_reloads_safely(transfer_run):
    metrics = json.loads((transfer_run / "metrics.json").read_text())
    assert {"accuracy", "macro_roc_auc", "per_class", "confusion_matrix", "screening", "ece", "from_scratch"} <= set(metrics)
    assert "transfer_beats_scratch" in metrics and "macro_roc_auc" in metrics["from_scratch"]
    for name in ("gradcam.png", "reliability.png", "roc_curves.png", "confusion_matrix.png", "model_card.md"):
        assert (transfer_run / name).is_file(), name
    assert "Not a medical device" in (transfer_run / "model_card.md").read_text()
    status = json.loads((transfer_run / "status.json").read_text())
    assert status["phases_done"] == ["fine_tune", "head"]

    # .keras (safe_mode=True, backbone under data/hub) and the SavedModel export agree.
    run = Run.open(transfer_run)
    images = generate_radiographs(10, seed=3)[0]
    keras_probs = run.model.predict(images, verbose=0)
    loaded = tf.saved_model.load(str(transfer_run / "saved_model"))
    np.testing.assert_allclose(keras_probs, np.asarray(loaded.serve(tf.constant(images))), rtol=1e-5, atol=1e-6)


def test_predict_on_dicom_png_and_folder(capsys, tmp_path, transfer_run):
    png = tmp_path / "xray.png"
    Image.fromarray((generate_radiographs(10, seed=5)[0][0, ..., 0] * 255).astype("uint8")).save(png)
    code, out, err = cli(capsys, "predict", str(transfer_run), get_testdata_file("CT_small.dcm"), str(png))
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("path,prediction,p_normal,p_nodule,p_opacity")
    assert len(lines) == 3 and "CT_small.dcm" in lines[1]
    folder = tmp_path / "folder"
    folder.mkdir()
    shutil.copy(png, folder / "a.png")
    code, out, _ = cli(capsys, "predict", str(transfer_run), str(folder))
    assert code == 0 and len(out.strip().splitlines()) == 2


def test_gradcam_explanation(transfer_run):
    run = Run.open(transfer_run)
    exp = get_task("medical_imaging").explain(run, get_testdata_file("MR_small.dcm"))
    heat = exp.details["heatmap"]
    assert heat.shape == (64, 64) and heat.max() == pytest.approx(1.0, abs=1e-4) and heat.min() >= 0.0
    assert sum(exp.values) == pytest.approx(1.0, abs=1e-4) and "Grad-CAM" in exp.method


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\nnot really"), "truncated or corrupt"),
        (lambda p: p.with_suffix(".dcm").write_bytes(open(get_testdata_file("CT_small.dcm"), "rb").read()[:4000]), "cut short"),
    ],
)
def test_bad_prediction_inputs(capsys, tmp_path, transfer_run, make, message):
    target = tmp_path / "bad.png"
    make(target)
    path = target if target.exists() else target.with_suffix(".dcm")
    code, out, err = cli(capsys, "predict", str(transfer_run), str(path))
    assert code == 2 and out == ""
    lines = [line for line in err.splitlines() if line.startswith("dlsuite: error:")]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in err


def test_dicom_without_pixel_data(capsys, tmp_path, transfer_run):
    ds = build_dicom(np.zeros((8, 8), "uint16"), "P1")
    del ds.PixelData
    path = tmp_path / "nopixels.dcm"
    ds.save_as(path, enforce_file_format=True)
    code, _, err = cli(capsys, "predict", str(transfer_run), str(path))
    assert code == 2 and "has no pixel data" in err


def test_training_input_errors_are_one_line(capsys, tmp_path):
    empty_class = tmp_path / "folder"
    (empty_class / "normal").mkdir(parents=True)
    (empty_class / "nodule").mkdir()
    Image.fromarray(np.zeros((8, 8), "uint8")).save(empty_class / "normal" / "a.png")
    code, _, err = cli(capsys, "train", "medical_imaging", "--data", str(empty_class), "--run-dir", str(tmp_path / "r1"))
    assert code == 2 and "class folder" in err and "has no images" in err

    manifest = tmp_path / "manifest.csv"
    pd.DataFrame({"path": ["missing1.png", "missing2.png"], "label": ["normal", "nodule"]}).to_csv(manifest, index=False)
    code, _, err = cli(capsys, "train", "medical_imaging", "--data", str(manifest), "--run-dir", str(tmp_path / "r2"))
    assert code == 2 and "lists 2 missing image file(s)" in err

    npz = tmp_path / "bad.npz"
    np.savez(npz, train_images=np.zeros((4, 2, 8, 8, 8)), train_labels=np.zeros((4, 1)), val_images=np.zeros((2, 8, 8)), val_labels=np.zeros((2, 1)), test_images=np.zeros((2, 8, 8)), test_labels=np.zeros((2, 1)))
    code, _, err = cli(capsys, "train", "medical_imaging", "--data", str(npz), "--run-dir", str(tmp_path / "r3"))
    assert code == 2 and "has shape" in err
    for e in (err,):
        assert "Traceback" not in e


@pytest.fixture(scope="module")
def seg_run(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("seg") / "seg", "segmentation", "model.filters=[8,16]", "trainer.epochs=3")[1]


def test_cnn_trains_on_three_channels_and_predicts(capsys, tmp_path):
    _, cnn_dir = train_tiny(tmp_path / "cnn", "classifier", "model.type=cnn", "model.filters=[16,32]", "trainer.epochs=2", "data.channels=3")
    metrics = json.loads((cnn_dir / "metrics.json").read_text())
    # Two epochs on 240 images learn little (the demo-model floors test quality); check the report is whole.
    confusion = np.array(metrics["confusion_matrix"])
    test_images = json.loads((cnn_dir / "metadata.json").read_text())["data"]["test_images"]
    assert confusion.shape == (3, 3) and confusion.sum() == test_images == metrics["n"]
    assert metrics["accuracy"] == pytest.approx(np.trace(confusion) / confusion.sum())
    assert "from_scratch" not in metrics  # a model trained from scratch has no twin to compare with
    run = Run.open(cnn_dir)
    assert run.model.input_shape == (None, 64, 64, 3)
    capsys.readouterr()  # the training log
    code, out, err = cli(capsys, "predict", str(cnn_dir), get_testdata_file("CT_small.dcm"))
    assert code == 0, err
    assert len(out.strip().splitlines()) == 2


def test_segmentation_trains_segments_and_explains(seg_run):
    metrics = json.loads((seg_run / "metrics.json").read_text())
    test_images = json.loads((seg_run / "metadata.json").read_text())["data"]["test_images"]
    assert metrics["n_images"] == test_images and metrics["iou"] <= metrics["dice"] + 1e-9
    task = get_task("medical_imaging", "segmentation")
    run = Run.open(seg_run)
    image = generate_radiographs(10, seed=8)[0][0]
    mask = task.segment(run, image)
    assert mask.shape == (64, 64) and mask.dtype == np.float32
    exp = task.explain(run, image)
    assert exp.details["heatmap"].shape == (64, 64) and exp.details["heatmap"].max() == pytest.approx(1.0)
    assert exp.score == pytest.approx(float(mask.mean()), abs=1e-5)
    # Integrated gradients are complete: the attributions sum to score - baseline score.
    assert sum(exp.values) == pytest.approx(exp.score - exp.baseline_score, abs=0.02)


def test_evaluate_explain_and_examples_through_the_cli(capsys, tmp_path, transfer_run, seg_run):
    task = get_task("medical_imaging", "classifier")
    files = task.write_examples(tmp_path / "examples")
    assert files.explain.suffix == ".dcm" and len(files.predict) == 3
    for data in (files.evaluate, files.evaluate / "manifest.csv"):
        code, out, err = cli(capsys, "evaluate", str(transfer_run), "--data", str(data))
        assert code == 0, err
        metrics = json.loads(out)
        assert metrics["images"] == metrics["n"] == 30
        assert set(metrics["per_class"]) == {"normal", "nodule", "opacity"}
        confusion = np.array(metrics["confusion_matrix"])
        assert confusion.sum() == 30 and metrics["accuracy"] == pytest.approx(np.trace(confusion) / 30)
        assert [metrics["per_class"][c]["support"] for c in ("normal", "nodule", "opacity")] == confusion.sum(1).tolist()
    code, out, err = cli(capsys, "explain", str(transfer_run), str(files.explain))
    assert code == 0, err
    assert out.startswith("score ") and "Grad-CAM" in out and len(out.strip().splitlines()) == 4

    table = pd.read_csv(files.evaluate / "manifest.csv")
    table.loc[0, "label"] = "fracture"
    table.to_csv(files.evaluate / "other.csv", index=False)
    csv = tmp_path / "rows.csv"
    csv.write_text("a,b\n1,2\n")
    for argv, message in (
        (["evaluate", str(transfer_run), "--data", str(files.evaluate / "other.csv")], "class(es) 'fracture' that the run was not trained on"),
        (["explain", str(transfer_run), str(csv)], "reads image files"),
        (["evaluate", str(seg_run), "--data", str(files.evaluate)], "segmentation needs lesion masks"),
    ):
        code, out, err = cli(capsys, *argv)
        lines = [line for line in err.splitlines() if line.startswith("dlsuite: error:")]
        assert code == 2 and len(lines) == 1 and message in lines[0] and "Traceback" not in err, err

    # The shipped U-Net on the held-out examples (measured: Dice 0.92 on 300 such images).
    seg_files = get_task("medical_imaging", "segmentation").write_examples(tmp_path / "seg_examples")
    demo_seg = demo_run("medical_imaging", "segmentation")
    code, out, err = cli(capsys, "evaluate", str(demo_seg), "--data", str(seg_files.evaluate))
    assert code == 0, err
    metrics = json.loads(out)
    assert metrics["images"] == 30 and metrics["dice"] > 0.8 and metrics["iou"] > 0.7
    code, out, err = cli(capsys, "explain", str(seg_run), str(seg_files.explain))
    assert code == 0 and "integrated gradients" in out, err


def test_one_value_switches_the_backbone():
    from domains.medical_imaging.models import TransferConfig, backbone_settings
    from shared.errors import ConfigError

    assert backbone_settings(TransferConfig()) == (64, "feature_maps")
    assert backbone_settings(TransferConfig(handle="mobilenet_v3_small")) == (224, None)
    assert backbone_settings(TransferConfig(handle="/models/mine", input_size=96, endpoint=None)) == (96, None)
    with pytest.raises(ConfigError, match="model.input_size"):
        backbone_settings(TransferConfig(handle="/models/mine"))


def write_mask_manifest(folder, n=40, seed=11):
    images, labels, masks, patients = generate_radiographs(n, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        Image.fromarray((images[i, ..., 0] * 255).astype("uint8")).save(folder / f"img{i}.png")
        Image.fromarray((masks[i, ..., 0] * 255).astype("uint8")).save(folder / f"mask{i}.png")
        rows.append({"path": f"img{i}.png", "label": CLASSES[labels[i]], "patient_id": patients[i], "mask_path": f"mask{i}.png"})
    pd.DataFrame(rows).to_csv(folder / "manifest.csv", index=False)
    return folder / "manifest.csv", masks


def test_segmentation_trains_on_mask_files_from_a_manifest(tmp_path):
    manifest, masks = write_mask_manifest(tmp_path / "data")
    task = get_task("medical_imaging", "segmentation")
    cfg = task.resolve_config(overrides=[f"data.path={manifest}", "model.filters=[16,32]", "trainer.epochs=1", *TINY])
    images = load_images(cfg.data)
    np.testing.assert_array_equal(images.mask(3), masks[3].astype("float32"))
    run_dir = prepare_run(task, cfg, tmp_path / "run")
    train(task, cfg, run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["n_images"] >= 4 and 0 < metrics["dice"] <= 1


def test_segmentation_without_masks_and_missing_mask_files(capsys, tmp_path):
    manifest, _ = write_mask_manifest(tmp_path / "data", n=20)
    table = pd.read_csv(manifest)
    table.drop(columns="mask_path").to_csv(tmp_path / "no_masks.csv", index=False)
    table.assign(mask_path="gone.png").to_csv(tmp_path / "data" / "gone.csv", index=False)
    code, _, err = cli(capsys, "train", "medical_imaging", "--task", "segmentation", "--data", str(tmp_path / "gone.csv"), "--run-dir", str(tmp_path / "r0"))
    assert code == 2 and "data file not found" in err
    code, _, err = cli(capsys, "train", "medical_imaging", "--task", "segmentation", "--data", str(tmp_path / "data" / "gone.csv"), "--run-dir", str(tmp_path / "r1"))
    assert code == 2 and "missing mask file(s)" in err
    for path in table["path"]:
        (tmp_path / path).write_bytes((tmp_path / "data" / path).read_bytes())
    code, _, err = cli(capsys, "train", "medical_imaging", "--task", "segmentation", "--data", str(tmp_path / "no_masks.csv"), "--run-dir", str(tmp_path / "r2"))
    assert code == 2 and "segmentation needs lesion masks" in err


def test_gradcam_needs_a_spatial_map():
    import keras

    from domains.medical_imaging.task import gradcam_heatmaps
    from shared.errors import UnsupportedError

    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(inputs)))
    with pytest.raises(UnsupportedError, match="no spatial feature map"):
        gradcam_heatmaps(model, np.zeros((1, 8, 8, 1), "float32"))
