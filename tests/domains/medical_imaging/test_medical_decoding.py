import shutil

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_rescale

from domains.medical_imaging.config import MedicalDataConfig
from domains.medical_imaging.decoding import check_file, decode_path, prepare_array
from domains.medical_imaging.dicom import modality_values, window_image
from domains.medical_imaging.synthetic import build_dicom
from shared.errors import DataError

NATIVE = dict(image_size=64, resize="stretch")  # 64x64 fixtures decode without resizing


def ramp(dtype, high, shape=(64, 64)):
    return np.linspace(0, high, shape[0] * shape[1]).reshape(shape).astype(dtype)


def assert_one_line(excinfo, *fragments):
    message = str(excinfo.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message


def save_dicom(path, pixels, **kwargs):
    build_dicom(pixels, kwargs.pop("patient_id", "P1"), **kwargs).save_as(path, enforce_file_format=True)
    return path


# --- PNG / JPEG ---


def test_png_8bit_scaled_by_255(tmp_path):
    pixels = ramp(np.uint8, 255)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    out = decode_path(tmp_path / "a.png", MedicalDataConfig(**NATIVE))
    assert out.shape == (64, 64, 1) and out.dtype == np.float32
    np.testing.assert_allclose(out[..., 0], pixels / 255.0, atol=1e-6)


def test_png_16bit_keeps_its_dynamic_range(tmp_path):
    pixels = ramp(np.uint16, 65535)
    Image.fromarray(pixels).save(tmp_path / "a16.png")
    assert Image.open(tmp_path / "a16.png").mode.startswith("I;16")
    out = decode_path(tmp_path / "a16.png", MedicalDataConfig(**NATIVE))[..., 0]
    np.testing.assert_allclose(out, pixels / 65535.0, atol=1e-6)
    assert len(np.unique(out)) > 1000  # far more than 8 bits of levels
    # A narrow 16-bit band must not be clipped to white as an 8-bit conversion would.
    band = ramp(np.uint16, 1000) + 20_000
    Image.fromarray(band).save(tmp_path / "band.png")
    out = decode_path(tmp_path / "band.png", MedicalDataConfig(**NATIVE))[..., 0]
    np.testing.assert_allclose(out, band / 65535.0, atol=1e-6)


def test_32bit_integer_images_are_read_as_16bit():
    from shared.inputs.image import PIL_MODES as _PIL_MODES

    image = Image.fromarray(ramp(np.int32, 70_000))
    assert image.mode == "I"
    out = _PIL_MODES["I"](image)
    assert out.max() == 1.0 and np.isclose(out[32, 0], ramp(np.int32, 70_000)[32, 0] / 65535.0)


def test_rgb_png_and_jpeg_become_grey(tmp_path):
    rgb = np.zeros((64, 64, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 100, 50
    Image.fromarray(rgb).save(tmp_path / "c.png")
    Image.fromarray(rgb).save(tmp_path / "c.jpg", quality=95)
    Image.fromarray(ramp(np.uint8, 255)).save(tmp_path / "g.jpeg", quality=95)
    luma = (0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255
    for name in ("c.png", "c.jpg"):
        out = decode_path(tmp_path / name, MedicalDataConfig(**NATIVE))
        assert out.shape == (64, 64, 1)
        np.testing.assert_allclose(out, luma, atol=2 / 255)
    grey = decode_path(tmp_path / "g.jpeg", MedicalDataConfig(**NATIVE))[..., 0]
    assert np.abs(grey - ramp(np.uint8, 255) / 255.0).mean() < 0.02


def test_pad_keeps_aspect_stretch_fills_and_channels_repeat():
    wide = np.ones((40, 80), np.float32)
    padded = prepare_array(wide, MedicalDataConfig(image_size=32), "wide")[..., 0]
    assert padded[:6].max() == 0 and padded[-6:].max() == 0 and np.allclose(padded[10:22], 1)
    stretched = prepare_array(wide, MedicalDataConfig(image_size=32, resize="stretch"), "wide")
    np.testing.assert_allclose(stretched, 1.0)
    rgb = prepare_array(np.full((20, 20), 0.5, np.float32), MedicalDataConfig(image_size=16, channels=3), "x")
    assert rgb.shape == (16, 16, 3) and np.allclose(rgb, 0.5)


def test_large_images_are_downsized_with_antialiasing():
    stripes = np.tile(np.array([0.0, 1.0], np.float32), (512, 256))
    out = prepare_array(stripes, MedicalDataConfig(image_size=32), "stripes")
    np.testing.assert_allclose(out, 0.5, atol=0.05)


# --- DICOM ---


def test_pydicom_ct_small_applies_rescale_and_decodes():
    path = get_testdata_file("CT_small.dcm")
    ds = pydicom.dcmread(path)
    assert float(ds.RescaleIntercept) != 0
    values = modality_values(path)
    np.testing.assert_allclose(values, apply_rescale(ds.pixel_array, ds))
    # No window in the file: min-max of the rescaled values.
    out = decode_path(path, MedicalDataConfig(image_size=128))[..., 0]
    np.testing.assert_allclose(out, (values - values.min()) / (values.max() - values.min()), atol=1e-6)
    small = decode_path(path, MedicalDataConfig())
    assert small.shape == (64, 64, 1) and small.min() >= 0 and small.max() <= 1
    # A configured window is in modality units (Hounsfield units here).
    windowed = decode_path(path, MedicalDataConfig(image_size=128, window_center=40, window_width=400))[..., 0]
    np.testing.assert_allclose(windowed, window_image(values, 40, 400), atol=1e-6)


def test_pydicom_mr_small_uses_the_files_window():
    path = get_testdata_file("MR_small.dcm")
    ds = pydicom.dcmread(path)
    out = decode_path(path, MedicalDataConfig(**NATIVE))
    assert out.shape == (64, 64, 1) and 0 <= out.min() and out.max() <= 1
    expected = window_image(modality_values(path), float(ds.WindowCenter), float(ds.WindowWidth))
    np.testing.assert_allclose(out[..., 0], expected, atol=1e-6)


def test_rescale_slope_intercept_and_monochrome1_inversion(tmp_path):
    stored = ramp(np.uint16, 4000)
    mono2 = save_dicom(tmp_path / "m2.dcm", stored, slope=2.0, intercept=-1000.0, window=(3000, 8000))
    mono1 = save_dicom(tmp_path / "m1.dcm", stored, slope=2.0, intercept=-1000.0, window=(3000, 8000), photometric="MONOCHROME1")
    np.testing.assert_allclose(modality_values(mono2), 2.0 * stored - 1000.0)
    bright = decode_path(mono2, MedicalDataConfig(**NATIVE))[..., 0]
    np.testing.assert_allclose(bright, window_image(2.0 * stored - 1000.0, 3000, 8000), atol=1e-6)
    inverted = decode_path(mono1, MedicalDataConfig(**NATIVE))[..., 0]
    np.testing.assert_allclose(inverted, 1.0 - bright, atol=1e-6)
    assert bright[0, 0] < bright[-1, -1] and inverted[0, 0] > inverted[-1, -1]


def test_multi_frame_dicom_uses_the_first_frame():
    path = get_testdata_file("rtdose.dcm")
    ds = pydicom.dcmread(path)
    assert int(ds.NumberOfFrames) > 1
    np.testing.assert_allclose(modality_values(path), ds.pixel_array[0])
    assert decode_path(path, MedicalDataConfig(image_size=16)).shape == (16, 16, 1)


@pytest.mark.parametrize("name", ["SC_rgb_small_odd.dcm", "SC_ybr_full_422_uncompressed.dcm", "examples_palette.dcm"])
def test_colour_dicom_becomes_grey(name):
    out = decode_path(get_testdata_file(name), MedicalDataConfig(image_size=32))
    assert out.shape == (32, 32, 1) and out.dtype == np.float32
    assert 0 <= out.min() and out.max() <= 1 and out.max() > 0


def test_window_functions():
    values = np.array([-100.0, 0.0, 50.0, 100.0, 200.0])
    np.testing.assert_allclose(window_image(values, 50, 100, "LINEAR_EXACT"), [0, 0, 0.5, 1, 1])
    sigmoid = window_image(values, 50, 100, "SIGMOID")
    assert np.isclose(sigmoid[2], 0.5) and np.all(np.diff(sigmoid) > 0)
    np.testing.assert_allclose(window_image(values, 50, 100, "UNKNOWN"), window_image(values, 50, 100))
    np.testing.assert_array_equal(window_image(values, 50, 1), [0, 0, 1, 1, 1])


def test_window_needs_center_and_width_together():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="window_center"):
        MedicalDataConfig(window_center=40)


# --- bad input: one DataError line naming the file ---


def test_corrupt_png(tmp_path):
    path = tmp_path / "corrupt.png"
    path.write_bytes(b"definitely not an image" * 10)
    for action in (check_file, lambda p: decode_path(p, MedicalDataConfig())):
        with pytest.raises(DataError) as excinfo:
            action(path)
        assert_one_line(excinfo, str(path), "not a readable PNG or JPEG")


def test_truncated_png_and_jpeg(tmp_path):
    Image.fromarray(ramp(np.uint8, 255)).save(tmp_path / "whole.png")
    Image.fromarray(ramp(np.uint8, 255)).save(tmp_path / "whole.jpg")
    for name, marker in (("whole.png", "PNG end chunk"), ("whole.jpg", "JPEG end marker")):
        data = (tmp_path / name).read_bytes()
        cut = tmp_path / f"cut{name[5:]}"
        cut.write_bytes(data[:-100])
        with pytest.raises(DataError) as excinfo:
            check_file(cut)
        assert_one_line(excinfo, str(cut), "truncated", marker)
        with pytest.raises(DataError) as excinfo:
            decode_path(cut, MedicalDataConfig())
        assert_one_line(excinfo, str(cut), "truncated or corrupt")
        # Cut inside the header: Pillow cannot even open it.
        cut.write_bytes(data[:30])
        with pytest.raises(DataError) as excinfo:
            check_file(cut)
        assert_one_line(excinfo, str(cut))


def test_truncated_dicom(tmp_path):
    path = tmp_path / "cut.dcm"
    data = save_dicom(tmp_path / "whole.dcm", ramp(np.uint16, 4000)).read_bytes()
    path.write_bytes(data[:-1000])
    for action in (check_file, lambda p: decode_path(p, MedicalDataConfig())):
        with pytest.raises(DataError) as excinfo:
            action(path)
        assert_one_line(excinfo, str(path), "truncated", "of 8192 bytes")
    bundled = tmp_path / "MR_truncated.dcm"
    shutil.copy(get_testdata_file("MR_truncated.dcm"), bundled)
    with pytest.raises(DataError) as excinfo:
        decode_path(bundled, MedicalDataConfig())
    assert_one_line(excinfo, str(bundled), "truncated")


def test_dicom_without_pixel_data(tmp_path):
    ds = build_dicom(ramp(np.uint16, 100), "P9")
    del ds.PixelData
    path = tmp_path / "nopixels.dcm"
    ds.save_as(path, enforce_file_format=True)
    with pytest.raises(DataError) as excinfo:
        decode_path(path, MedicalDataConfig())
    assert_one_line(excinfo, str(path), "has no pixel data")


def test_not_a_dicom_and_unsupported_photometric(tmp_path):
    fake = tmp_path / "fake.dcm"
    fake.write_bytes(b"\x00" * 50 + b"no preamble here")
    with pytest.raises(DataError) as excinfo:
        check_file(fake)
    assert_one_line(excinfo, str(fake), "not a DICOM file")
    ds = build_dicom(ramp(np.uint16, 100), "P9")
    ds.PhotometricInterpretation = "HSV"
    odd = tmp_path / "hsv.dcm"
    ds.save_as(odd, enforce_file_format=True)
    with pytest.raises(DataError) as excinfo:
        decode_path(odd, MedicalDataConfig())
    assert_one_line(excinfo, str(odd), "'HSV'", "MONOCHROME2")


@pytest.mark.parametrize("shape", [(4, 28, 28), (4, 28, 28, 28), (100,)])
def test_wrong_rank_names_the_shape(shape):
    with pytest.raises(DataError) as excinfo:
        prepare_array(np.zeros(shape, np.uint8), MedicalDataConfig(), "volume.npz")
    assert_one_line(excinfo, "volume.npz", str(shape))


def test_missing_empty_and_unsupported_files(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "scan.bmp").write_bytes(b"BM")
    cases = [("absent.png", "image file not found"), ("empty.png", "image file is empty"), ("scan.bmp", "unsupported image type '.bmp'")]
    for name, fragment in cases:
        with pytest.raises(DataError) as excinfo:
            decode_path(tmp_path / name, MedicalDataConfig())
        assert_one_line(excinfo, str(tmp_path / name), fragment)
