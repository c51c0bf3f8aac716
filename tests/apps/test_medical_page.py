"""Medical imaging page: notice, prediction, Grad-CAM and lesion overlays, run metrics, uploads."""

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

PAGE = "pages/medical_imaging.py"
MODEL = "medical_imaging:model"
SEGMENTATION = "medical_imaging:segmentation"
SOURCE = "medical_imaging:source"
DEMO_IMAGE = "medical_imaging:demo_image"
UPLOAD = "medical_imaging:upload"
UPLOAD_SOURCE = "Upload PNG, JPEG or DICOM"
NOT_A_DEVICE = "NOT A MEDICAL DEVICE"


@pytest.fixture
def medical_demo(demo_models) -> Path:
    """The committed medical demo models (the app is pointed at data/demo_models)."""
    root = demo_models / "medical_imaging"
    missing = [t for t in ("classifier", "segmentation") if not (root / t / "model.keras").is_file()]
    assert not missing, f"medical demo models missing under {root}: {missing}; build them with `dlsuite demo --build --only medical_imaging`"
    return root


def _open(app_path) -> AppTest:
    at = AppTest.from_file(str(app_path), default_timeout=120).run()
    at.switch_page(PAGE).run(timeout=120)
    assert not at.exception, at.exception
    return at


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _probabilities(at) -> dict[str, str]:
    return {label: value for label, value in _metrics(at).items() if label.startswith("P(")}


def _captions(at) -> list[str]:
    return [caption for image in at.image for caption in image.captions]


def _saved_metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def _classes(run_dir: Path) -> list[str]:
    return json.loads((run_dir / "metadata.json").read_text())["task_state"]["classes"]


def _assert_prediction(at, classes: list[str], segmentation: bool = True) -> None:
    """A predicted class, one probability card per class summing to ~100%, and the overlays."""
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    shown = _metrics(at)
    assert shown["Predicted class"] in classes
    probabilities = _probabilities(at)
    assert list(probabilities) == [f"P({name})" for name in classes]
    assert sum(float(v.rstrip("%")) for v in probabilities.values()) == pytest.approx(100.0, abs=0.1 * len(classes))
    captions = _captions(at)
    assert "Input, as the classifier sees it" in captions
    assert f"Grad-CAM for {shown['Predicted class']!r}" in captions
    assert ("Lesion probability (U-Net)" in captions) == segmentation


def _upload(at, name: str, content: bytes, mime: str) -> AppTest:
    at.radio(key=SOURCE).set_value(UPLOAD_SOURCE).run()
    assert not at.exception, at.exception
    at.file_uploader(key=UPLOAD).set_value((name, content, mime)).run()
    return at


# --- demo images -----------------------------------------------------------------------


def test_default_render_shows_notice_prediction_overlays_and_run_metrics(medical_demo, app_path):
    at = _open(app_path)
    classifier, segmentation = medical_demo / "classifier", medical_demo / "segmentation"
    assert [t.value for t in at.title] == ["Medical imaging"]
    notice = [w.value for w in at.warning if NOT_A_DEVICE in w.value]
    assert len(notice) == 1 and "research and teaching only" in notice[0] and "synthetic" in notice[0]
    assert at.selectbox(key=MODEL).value == "classifier"
    assert at.selectbox(key=SEGMENTATION).value == "segmentation"
    demo = at.selectbox(key=DEMO_IMAGE)
    assert len(demo.options) == 12
    assert {option.split("true class: ")[1] for option in demo.options} == {"normal", "nodule", "opacity"}
    _assert_prediction(at, _classes(classifier))

    saved, shown = _saved_metrics(classifier), _metrics(at)
    assert shown["Test accuracy"] == f"{saved['accuracy']:.3f}"
    assert shown["Macro ROC AUC"] == f"{saved['macro_roc_auc']:.3f}"
    assert shown["ECE"] == f"{saved['ece']:.3f}"
    assert shown["Screening sensitivity"] == f"{saved['screening']['sensitivity']:.3f}"
    assert shown["Screening specificity"] == f"{saved['screening']['specificity']:.3f}"
    assert any(saved["screening"]["reason"] in c.value for c in at.caption)
    if "accuracy" in saved.get("from_scratch", {}):
        assert shown["From scratch: accuracy"] == f"{saved['from_scratch']['accuracy']:.3f}"
        assert shown["From scratch: macro ROC AUC"] == f"{saved['from_scratch']['macro_roc_auc']:.3f}"
    seg_saved = _saved_metrics(segmentation)
    assert shown["Dice"] == f"{seg_saved['dice']:.3f}"
    assert shown["IoU"] == f"{seg_saved['iou']:.3f}"
    assert shown["Dice on lesion images"] == f"{seg_saved['dice_lesion_images_only']:.3f}"
    assert any("Grad-CAM" in c.value for c in at.caption)


def test_picking_another_demo_image_changes_the_probabilities(medical_demo, app_path):
    at = _open(app_path)
    demo = at.selectbox(key=DEMO_IMAGE)
    truths = [option.split("true class: ")[1] for option in demo.options]
    before = _probabilities(at)
    # Another image of another true class: its probabilities cannot all match.
    other = next(i for i, truth in enumerate(truths) if truth != truths[0])
    demo.select_index(other).run()
    _assert_prediction(at, _classes(medical_demo / "classifier"))
    assert _probabilities(at) != before
    assert any(f"demo image {other + 1} (true class: {truths[other]})" in h.value for h in at.subheader)


def test_without_a_segmentation_model_the_lesion_overlay_is_left_out(medical_demo, app_path):
    at = _open(app_path)
    at.selectbox(key=SEGMENTATION).set_value("__none__").run()
    _assert_prediction(at, _classes(medical_demo / "classifier"), segmentation=False)
    assert any("Pick a segmentation model" in i.value for i in at.info)
    assert "Dice" not in _metrics(at)


# --- uploads -----------------------------------------------------------------------------


def _png_bytes() -> bytes:
    from PIL import Image

    from domains.medical_imaging.synthetic import generate_radiographs

    images, *_ = generate_radiographs(10, seed=7, image_size=96)
    buffer = io.BytesIO()
    Image.fromarray(np.round(images[0, ..., 0] * 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _ct_small() -> bytes:
    from pydicom.data import get_testdata_file

    return Path(get_testdata_file("CT_small.dcm")).read_bytes()


def _dicom_without_pixels() -> bytes:
    import pydicom
    from pydicom.data import get_testdata_file

    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    del ds.PixelData
    buffer = io.BytesIO()
    ds.save_as(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "make", "mime"),
    [("chest.png", _png_bytes, "image/png"), ("CT_small.dcm", _ct_small, "application/dicom")],
    ids=["png", "dicom"],
)
def test_valid_upload_is_classified_and_segmented(medical_demo, app_path, name, make, mime):
    at = _upload(_open(app_path), name, make(), mime)
    _assert_prediction(at, _classes(medical_demo / "classifier"))
    assert any(h.value == f"Prediction for {name}" for h in at.subheader)


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("corrupt.png", lambda: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "corrupt.png is not a readable PNG or JPEG image"),
        ("cut.dcm", lambda: _ct_small()[: len(_ct_small()) // 2], "cut.dcm is truncated: its pixel data has"),
        ("no_pixels.dcm", _dicom_without_pixels, "no_pixels.dcm has no pixel data"),
    ],
    ids=["corrupt-png", "truncated-dicom", "dicom-without-pixels"],
)
def test_bad_upload_shows_one_error_box(medical_demo, app_path, name, make, message):
    at = _upload(_open(app_path), name, make(), "application/octet-stream")
    assert not at.exception, at.exception
    assert len(at.error) == 1
    error = at.error[0].value
    assert error.startswith(message), error
    assert "/tmp" not in error and "dlsuite-upload-" not in error
    assert "Predicted class" not in _metrics(at)
    assert not at.image


def test_upload_source_waits_for_a_file(medical_demo, app_path):
    at = _open(app_path)
    at.radio(key=SOURCE).set_value(UPLOAD_SOURCE).run()
    assert not at.exception and not at.error
    assert any("Upload a PNG, JPEG or DICOM" in i.value for i in at.info)
    assert "Predicted class" not in _metrics(at)


# --- model choice ---------------------------------------------------------------------


def test_without_demo_models_or_runs_the_page_warns_and_shows_no_prediction(no_demo_models, app_path):
    at = _open(app_path)
    assert any(NOT_A_DEVICE in w.value for w in at.warning)
    warning = next(w.value for w in at.warning if "No demo model of Medical imaging" in w.value)
    assert "dlsuite train medical_imaging --task classifier" in warning
    assert at.selectbox(key=SEGMENTATION).options == ["None"]
    assert not at.text_input  # no path is ever typed
    assert not at.error
    assert "Predicted class" not in _metrics(at)


def test_picker_offers_only_runs_of_its_task_under_the_runs_root(no_demo_models, app_path, copy_run, runs_root):
    committed = app_path.parents[1] / "data" / "demo_models" / "medical_imaging"
    copy_run(committed / "classifier", "medical_imaging/classifier-20250101-120000")
    copy_run(committed / "segmentation", "medical_imaging/segmentation-20250101-120000")
    at = _open(app_path)
    assert at.selectbox(key=MODEL).options == ["medical_imaging/classifier-20250101-120000 - trained run"]
    assert at.selectbox(key=SEGMENTATION).options == ["medical_imaging/segmentation-20250101-120000 - trained run", "None"]
    assert not at.text_input
    _assert_prediction(at, _classes(committed / "classifier"))


def _run_copy(source: Path, target: Path, metrics: dict) -> Path:
    """A run directory with `source`'s files and other metrics."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("saved_model"))
    (target / "metrics.json").write_text(json.dumps(metrics))
    return target


@pytest.mark.parametrize(
    ("from_scratch", "shown", "caption"),
    [
        ({"accuracy": 0.5, "macro_roc_auc": 0.625, "epochs": 12}, {"From scratch: accuracy": "0.500", "From scratch: macro ROC AUC": "0.625"}, "for 12 epochs"),
        ({"skipped": "architecture of 'x' is not known to the suite"}, {}, "No from-scratch comparison: architecture of 'x' is not known"),
        (None, {}, None),
    ],
    ids=["compared", "skipped", "absent"],
)
def test_from_scratch_comparison_follows_the_run_metrics(medical_demo, app_path, runs_root, from_scratch, shown, caption):
    source = medical_demo / "classifier"
    metrics = {k: v for k, v in _saved_metrics(source).items() if k not in ("from_scratch", "transfer_beats_scratch")}
    if from_scratch is not None:
        metrics["from_scratch"] = from_scratch
    _run_copy(source, runs_root / "medical_imaging" / "classifier-1", metrics)
    at = _open(app_path)
    at.selectbox(key=MODEL).set_value("run:medical_imaging/classifier-1").run()
    _assert_prediction(at, _classes(source))
    cards = _metrics(at)
    assert {k: v for k, v in cards.items() if k.startswith("From scratch")} == shown
    scratch_captions = [c.value for c in at.caption if "from-scratch" in c.value or "From scratch" in c.value]
    if caption is None:
        assert not scratch_captions
    else:
        assert any(caption in c for c in scratch_captions), scratch_captions
