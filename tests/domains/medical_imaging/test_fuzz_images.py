"""Random and mutated image bytes through every medical image reader.

Each reader must return a decoded image of the expected shape and dtype, or
raise one `DlsuiteError` line naming the file; any other exception, a
TensorFlow error from the training pipeline included, fails the test.
"""

import io
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from pydicom.uid import RLELossless

from domains.medical_imaging.config import MedicalDataConfig
from domains.medical_imaging.decoding import check_file, decode_path
from domains.medical_imaging.pipeline import make_dataset
from domains.medical_imaging.sources import load_images
from domains.medical_imaging.synthetic import build_dicom
from shared.errors import DlsuiteError
from shared.runs import Run
from tests.tests_support import demo_run, fuzz_settings

ROOT = Path(__file__).resolve().parents[3]
SIZE = 16
CFG = MedicalDataConfig(image_size=SIZE)


def _pillow_bytes(array: np.ndarray, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _dicom_bytes(compress: bool = False, **kwargs) -> bytes:
    stored = (np.arange(24 * 20).reshape(20, 24) * 8).astype(np.uint16)
    ds = build_dicom(stored, "P1", window=(1800, 3600), **kwargs)
    if compress:
        ds.compress(RLELossless, encoding_plugin="pydicom")
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


_rng = np.random.default_rng(0)
_grey = _rng.integers(0, 256, (20, 24), dtype=np.uint8)
SEEDS = {
    ".png": [
        _pillow_bytes(_grey, "PNG"),
        _pillow_bytes((_grey.astype(np.uint16) * 257), "PNG"),  # 16-bit
        _pillow_bytes(np.stack([_grey, _grey[::-1], _grey[:, ::-1]], axis=-1), "PNG"),  # RGB
    ],
    ".jpg": [_pillow_bytes(_grey, "JPEG", quality=90), _pillow_bytes(np.stack([_grey] * 3, axis=-1), "JPEG", quality=80)],
    ".dcm": [_dicom_bytes(), _dicom_bytes(photometric="MONOCHROME1"), _dicom_bytes(compress=True)],
}

# Positions: the first 64 bytes (signatures, PNG IHDR, JPEG and DICOM headers) often, anywhere else too.
_positions = st.one_of(st.integers(0, 64), st.integers(0, 1 << 16))
_edits = st.lists(
    st.tuples(st.sampled_from(["flip", "truncate", "splice", "insert"]), _positions, st.binary(min_size=1, max_size=12)),
    min_size=1,
    max_size=4,
)


@st.composite
def mutated(draw, suffix: str) -> bytes:
    """A valid file of type `suffix`, bit-flipped, cut, overwritten or grown in a few places; or random bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=512))
    data = bytearray(draw(st.sampled_from(SEEDS[suffix])))
    for op, position, chunk in draw(_edits):
        at = position % (len(data) + 1)
        if op == "flip" and data:
            data[at % len(data)] ^= 1 << (position % 8)
        elif op == "truncate":
            data = data[:at]
        elif op == "splice":
            data[at : at + len(chunk)] = chunk
        else:
            data[at:at] = chunk
    return bytes(data)


def _any_file():
    return st.sampled_from(sorted(SEEDS)).flatmap(lambda suffix: st.tuples(st.just(suffix), mutated(suffix)))


def check_image(image, shape=(SIZE, SIZE, 1)) -> None:
    image = np.asarray(image)
    assert image.shape == shape and image.dtype == np.float32, (image.shape, image.dtype)
    assert np.isfinite(image).all() and image.min() >= 0.0 and image.max() <= 1.0


def check_message(exc: DlsuiteError, name: str) -> None:
    message = str(exc)
    assert message and "\n" not in message, message
    assert name in message, message


def _write(folder: Path, suffix: str, data: bytes, name: str = "scan") -> Path:
    path = folder / f"{name}{suffix}"
    path.write_bytes(data)
    return path


def test_seeds_decode():
    with tempfile.TemporaryDirectory() as folder:
        for suffix, seeds in SEEDS.items():
            for i, data in enumerate(seeds):
                check_image(decode_path(_write(Path(folder), suffix, data, f"seed{i}"), CFG))


def check_and_decode(path: Path) -> None:
    """The header check, then the decoder: each succeeds or raises one line naming the file."""
    for read in (lambda p: check_file(p, CFG), lambda p: check_image(decode_path(p, CFG))):
        try:
            read(path)
        except DlsuiteError as exc:
            check_message(exc, str(path))


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
@fuzz_settings()
@given(data=st.data())
def test_pillow_reader(suffix, data):
    content = data.draw(mutated(suffix))
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder), suffix, content)
        check_and_decode(path)


@fuzz_settings()
@given(content=mutated(".dcm"))
def test_dicom_reader(content):
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder), ".dcm", content)
        check_and_decode(path)


@fuzz_settings()
@given(file=_any_file())
def test_training_pipeline(file):
    """A class folder holding the file, through `load_images` and the tf.data stream training uses."""
    suffix, content = file
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "a").mkdir()
        (root / "b").mkdir()
        bad = _write(root / "a", suffix, content)
        _write(root / "b", ".png", SEEDS[".png"][0])
        try:
            images = load_images(MedicalDataConfig(path=str(root), image_size=SIZE))
        except DlsuiteError as exc:
            check_message(exc, str(bad))
            return
        streamed = [(x.numpy(), int(y)) for x, y in make_dataset(images)]
        assert len(streamed) == 2
        for image, _ in streamed:
            check_image(image)


@pytest.fixture(scope="module")
def upload_decoder():
    """The function the medical page calls on an upload, bound to the demo classifier run."""
    from apps.components.images import decode_uploaded_image
    from shared.domain import get_task

    get_task("medical_imaging", "classifier")  # registers the domain's layers, as the app does
    run_path = str(demo_run("medical_imaging", "classifier"))
    size = Run.open(run_path).state["image_size"]
    return lambda name, content: decode_uploaded_image(run_path, name, content), size


@fuzz_settings()
@given(file=_any_file())
def test_app_upload_decoding(upload_decoder, file):
    decode, size = upload_decoder
    suffix, content = file
    name = f"upload{suffix}"
    try:
        image = decode(name, content)
    except DlsuiteError as exc:
        check_message(exc, name)
        assert "dlsuite-upload-" not in str(exc)
        return
    check_image(image, (size, size, 1))
