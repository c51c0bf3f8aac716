"""Medical page: a decompression bomb or a truncated image uploaded gives one error box, nothing decoded."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.domains.medical_imaging.test_hostile_images import cut_idat_png, one_colour_png, truncated_idat_png, truncated_jpeg

PAGE = "pages/medical_imaging.py"
SOURCE = "medical_imaging:source"
UPLOAD = "medical_imaging:upload"
UPLOAD_SOURCE = "Upload PNG, JPEG or DICOM"


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile_uploads")
    return {
        "bomb.png": one_colour_png(folder / "bomb.png", 20_000, 20_000),
        "bomb13k.png": one_colour_png(folder / "bomb13k.png", 13_000, 13_000),
        "truncated.png": truncated_idat_png(folder / "truncated.png"),
        "cut.png": cut_idat_png(folder / "cut.png"),
        "truncated.jpg": truncated_jpeg(folder / "truncated.jpg"),
    }


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bomb.png", "bomb.png is 20,000 x 20,000 = 400,000,000 pixels, over the limit of 40,000,000 (data.max_pixels)"),
        ("bomb13k.png", "bomb13k.png is 13,000 x 13,000 = 169,000,000 pixels, over the limit"),
        ("truncated.png", "truncated.png is truncated or corrupt"),
        ("cut.png", "cut.png is truncated or corrupt"),
        ("truncated.jpg", "truncated.jpg is truncated or corrupt"),
    ],
    ids=["bomb-400MP", "bomb-169MP", "truncated-idat", "cut-idat", "truncated-jpeg"],
)
def test_hostile_upload_shows_one_error_box(demo_models, app_path, hostile_files, name, message):
    at = AppTest.from_file(str(app_path), default_timeout=120).run()
    at.switch_page(PAGE).run(timeout=120)
    at.radio(key=SOURCE).set_value(UPLOAD_SOURCE).run()
    at.file_uploader(key=UPLOAD).set_value((name, hostile_files[name].read_bytes(), "image/png")).run()
    assert not at.exception, at.exception
    assert len(at.error) == 1, [e.value for e in at.error]
    error = at.error[0].value
    assert error.startswith(message), error
    assert "\n" not in error and "dlsuite-upload-" not in error and "/tmp" not in error
    assert "Predicted class" not in {m.label for m in at.metric}
    assert not at.image
