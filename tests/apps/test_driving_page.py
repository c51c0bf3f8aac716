"""Driving page: synthetic notice, masks and boxes with slider and filters, latency, video, signs, metrics, bad uploads."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests_support import demo_models_of, open_page, page_ok, shown_metrics

PAGE = "pages/driving.py"
KEY = "driving:"
TASKS = ("segmentation", "detection", "signs")


@pytest.fixture
def driving_demo(demo_models) -> Path:
    return demo_models_of(demo_models, "driving", TASKS)


def _open(app_path):
    return open_page(app_path, PAGE)


def _captions(at) -> list[str]:
    return [caption for image in at.image for caption in image.captions]


def test_demo_scene_shows_masks_boxes_latency_and_the_synthetic_notice(driving_demo, app_path):
    at = _open(app_path)
    page_ok(at)
    assert any("synthetic" in w.value for w in at.warning)
    captions = _captions(at)
    assert "Predicted classes" in captions and any(c.startswith("Boxes at confidence") for c in captions)
    shown = shown_metrics(at)
    assert shown["Segmentation latency"].endswith(" ms") and shown["Detection latency"].endswith(" ms")
    assert int(shown["Objects shown"]) >= 0


def test_confidence_slider_and_class_filter_change_the_boxes(driving_demo, app_path):
    at = _open(app_path)
    at.slider(key=KEY + "threshold").set_value(0.05).run()
    page_ok(at)
    many = int(shown_metrics(at)["Objects shown"])
    at.slider(key=KEY + "threshold").set_value(0.95).run()
    page_ok(at)
    few = int(shown_metrics(at)["Objects shown"])
    assert few <= many
    at.slider(key=KEY + "threshold").set_value(0.05).run()
    at.multiselect(key=KEY + "box_classes").set_value([]).run()
    page_ok(at)
    assert int(shown_metrics(at)["Objects shown"]) == 0


def _image_url(at, caption: str) -> str:
    return next(image.proto.imgs[0].url for image in at.image if caption in image.captions)


def test_mask_filter_and_opacity_redraw_the_overlay(driving_demo, app_path):
    at = _open(app_path)
    before = _image_url(at, "Predicted classes")
    at.multiselect(key=KEY + "mask_classes").set_value(["road"]).run()
    page_ok(at)
    only_road = _image_url(at, "Predicted classes")
    assert only_road != before  # the media URL is a hash of the image
    at.slider(key=KEY + "opacity").set_value(0.0).run()
    page_ok(at)
    assert _image_url(at, "Predicted classes") not in (before, only_road)


def test_demo_clip_is_annotated_played_and_downloadable(driving_demo, app_path):
    at = _open(app_path)
    at.radio(key=KEY + "video_model").set_value("detection").run()
    at.button(key=KEY + "annotate").click().run(timeout=300)
    page_ok(at)
    shown = shown_metrics(at)
    assert shown["Frames"] == "100" and shown["End to end"].endswith("frames/s")
    assert at.get("video"), "the annotated video is shown"
    assert at.get("download_button"), "and offered for download"


def test_uploaded_scene_and_a_corrupt_upload(driving_demo, app_path):
    at = _open(app_path)
    at.radio(key=KEY + "source").set_value("Upload PNG or JPEG").run()
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (120, 200, 3), dtype=np.uint8)).save(buffer, format="PNG")
    at.file_uploader(key=KEY + "upload").set_value(("road.png", buffer.getvalue(), "image/png")).run()
    page_ok(at)
    assert "Predicted classes" in _captions(at)

    at.file_uploader(key=KEY + "upload").set_value(("broken.png", buffer.getvalue()[:200], "image/png")).run()
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "broken.png" in at.error[0].value and "\n" not in at.error[0].value


def test_corrupt_video_upload_is_one_error_box(driving_demo, app_path):
    at = _open(app_path)
    at.radio(key=KEY + "clip").set_value("Upload a video").run()
    at.file_uploader(key=KEY + "video_upload").set_value(("clip.mp4", np.random.default_rng(1).bytes(4000), "video/mp4")).run()
    at.button(key=KEY + "annotate").click().run(timeout=120)
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "clip.mp4" in at.error[0].value


def test_sign_classifier_and_metrics_tabs(driving_demo, app_path):
    at = _open(app_path)
    at.selectbox(key=KEY + "signs").set_value("signs").run()
    page_ok(at)
    assert "Predicted sign" in shown_metrics(at)
    shown = shown_metrics(at)
    assert {"mIoU", "mAP@[.5:.95]", "From scratch: mIoU", "From scratch: mAP"} <= set(shown)
