"""Hostile image files: decompression bombs, truncated pixel data. One line naming the file, exit 2, bounded memory."""

import io
import json
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests_support import demo_run, one_error_line

from domains.medical_imaging.config import MAX_PIXELS, MedicalDataConfig
from domains.medical_imaging.decoding import check_file, decode_path
from domains.medical_imaging.dicom import read_dicom
from domains.medical_imaging.synthetic import build_dicom, write_synthetic_folder
from shared.cli.main import main
from shared.errors import DataError

ROOT = Path(__file__).resolve().parents[3]
TINY_TRAIN = ["--set", "data.image_size=32", "--set", "trainer.batch_size=8", "--set", "trainer.tensorboard=false",
              "--set", "model.head_epochs=1", "--set", "model.fine_tune_epochs=1"]


# --- hostile files, made cheaply ---------------------------------------------------


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def one_colour_png(path: Path, width: int, height: int) -> Path:
    """A black 8-bit PNG of any size, written without ever holding its pixels.

    Each row is deflated once after a full flush, which resets the
    compressor, so every later row compresses to the same bytes; the zlib
    checksum is computed row by row. 20000 x 20000 takes about 0.1 s and 0.8 MB.
    """
    row = bytes(1 + width)  # filter byte 0, then black pixels
    deflate = zlib.compressobj(9)
    first = deflate.compress(row) + deflate.flush(zlib.Z_FULL_FLUSH)
    repeat = deflate.compress(row) + deflate.flush(zlib.Z_FULL_FLUSH)
    adler = 1
    for _ in range(height):
        adler = zlib.adler32(row, adler)
    end = b"\x03\x00" + struct.pack(">I", adler)  # an empty final block, then the checksum
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    with path.open("wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header))
        fh.write(struct.pack(">I", len(first) + len(repeat) * (height - 1) + len(end)) + b"IDAT")
        crc = zlib.crc32(b"IDAT" + first)
        fh.write(first)
        for _ in range(height - 1):
            fh.write(repeat)
            crc = zlib.crc32(repeat, crc)
        fh.write(end + struct.pack(">I", zlib.crc32(end, crc)) + png_chunk(b"IEND", b""))
    return path


def noise_png_bytes(size: int = 48, seed: int = 0) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size, size), dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def truncated_idat_png(path: Path) -> Path:
    """A PNG whose image data stops halfway, re-framed with a valid IDAT length and CRC, IEND kept.

    Every header check passes (IHDR, chunk CRCs, end chunk); only decoding finds it.
    """
    png = noise_png_bytes()
    start = png.index(b"IDAT") - 4
    length = struct.unpack(">I", png[start : start + 4])[0]
    half = png[start + 8 : start + 8 + length // 2]
    path.write_bytes(png[:start] + png_chunk(b"IDAT", half) + png[-12:])
    return path


def cut_idat_png(path: Path) -> Path:
    """A PNG cut in the middle of its IDAT chunk, with the IEND chunk appended again."""
    png = noise_png_bytes()
    start = png.index(b"IDAT") - 4
    length = struct.unpack(">I", png[start : start + 4])[0]
    path.write_bytes(png[: start + 8 + length // 2] + png[-12:])
    return path


def truncated_jpeg(path: Path) -> Path:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (48, 48), dtype=np.uint8)).save(buffer, format="JPEG", quality=90)
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    return path


def dicom_claiming(path: Path, rows: int, columns: int) -> Path:
    """A small DICOM whose header claims Rows x Columns (as a compressed bomb would)."""
    ds = build_dicom(np.zeros((8, 8), np.uint16), "P1")
    ds.Rows, ds.Columns = rows, columns
    ds.save_as(path, enforce_file_format=True)
    return path


def deflated_dicom(path: Path, inflated_bytes: int) -> Path:
    """A Deflated Explicit VR Little Endian DICOM whose data set inflates to `inflated_bytes` of zeros."""
    from pydicom.dataset import FileMetaDataset
    from pydicom.filewriter import write_file_meta_info
    from pydicom.uid import DeflatedExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=["bomb"])
    meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    meta.ImplementationClassUID = generate_uid(entropy_srcs=["dlsuite"])
    head = b"\xe0\x7f\x10\x00OB\x00\x00" + struct.pack("<I", inflated_bytes)  # (7FE0,0010) OB
    block = bytes(1 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = deflate.compress(head) + deflate.flush(zlib.Z_FULL_FLUSH)
    repeat = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    with path.open("wb") as fh:
        fh.write(bytes(128) + b"DICM")
        write_file_meta_info(fh, meta, enforce_standard=True)
        fh.write(first + repeat * (inflated_bytes // len(block)) + deflate.flush())
    return path


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    return {
        "bomb_20000": one_colour_png(folder / "bomb_20000.png", 20_000, 20_000),
        "bomb_13000": one_colour_png(folder / "bomb_13000.png", 13_000, 13_000),
        "truncated_idat": truncated_idat_png(folder / "truncated_idat.png"),
        "cut_idat": cut_idat_png(folder / "cut_idat.png"),
        "truncated_jpeg": truncated_jpeg(folder / "truncated.jpg"),
        "dicom_bomb": dicom_claiming(folder / "bomb.dcm", 20_000, 20_000),
    }


# Fragments of the one-line message each file must give.
EXPECTED = {
    "bomb_20000": ("20,000 x 20,000 = 400,000,000 pixels", "over the limit of 40,000,000 (data.max_pixels)", "--set data.max_pixels="),
    "bomb_13000": ("13,000 x 13,000 = 169,000,000 pixels", "over the limit of 40,000,000 (data.max_pixels)"),
    "truncated_idat": ("truncated or corrupt",),
    "cut_idat": ("truncated or corrupt",),
    "truncated_jpeg": ("truncated",),
    "dicom_bomb": ("20,000 x 20,000 = 400,000,000 pixels", "data.max_pixels"),
}
KINDS = list(EXPECTED)




def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_bomb_files_are_what_they_claim(hostile):
    with warnings.catch_warnings():  # 169 MP: Pillow only warns
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(hostile["bomb_13000"]) as im:
            assert im.size == (13_000, 13_000)
    assert hostile["bomb_20000"].stat().st_size < 1_500_000 and hostile["bomb_13000"].stat().st_size < 700_000
    raw = hostile["truncated_idat"].read_bytes()
    assert raw.endswith(b"IEND\xaeB`\x82")
    # The re-framed truncated PNG passes every header check; only decoding finds it.
    check_file(hostile["truncated_idat"], MedicalDataConfig(verify="header"))
    # A small bomb decodes completely, so the writer is a valid PNG.
    small = one_colour_png(hostile["bomb_20000"].parent / "small.png", 300, 200)
    assert np.asarray(Image.open(small)).shape == (200, 300)


@pytest.mark.parametrize("kind", KINDS)
def test_readers_give_one_line_naming_the_file(hostile, kind):
    path = hostile[kind]
    with pytest.raises(DataError) as excinfo:
        decode_path(path, MedicalDataConfig())
    message = str(excinfo.value)
    assert "\n" not in message and str(path) in message
    for fragment in EXPECTED[kind]:
        assert fragment in message, message


def test_bombs_are_refused_by_the_header_check(hostile):
    for kind in ("bomb_20000", "bomb_13000", "dicom_bomb", "cut_idat"):
        with pytest.raises(DataError, match="max_pixels|truncated or corrupt"):
            check_file(hostile[kind], MedicalDataConfig(verify="header"))


def test_the_limit_is_configurable(hostile, tmp_path):
    image = tmp_path / "wide.png"
    Image.fromarray(np.zeros((40, 100), np.uint8)).save(image)
    assert decode_path(image, MedicalDataConfig(max_pixels=4000, image_size=16)).shape == (16, 16, 1)
    with pytest.raises(DataError, match=r"100 x 40 = 4,000 pixels, over the limit of 3,999 .*--set data.max_pixels=4000"):
        decode_path(image, MedicalDataConfig(max_pixels=3999))
    # Above Pillow's own limit (179 MP) data.max_pixels decides: the header is read, no DecompressionBombError.
    with pytest.raises(DataError, match="over the limit of 200,000,000"):
        check_file(hostile["bomb_20000"], MedicalDataConfig(max_pixels=200_000_000))
    # DICOM: Rows x Columns of the one frame decoded.
    with pytest.raises(DataError, match="8 x 8 = 64 pixels"):
        read_dicom(dicom_claiming(tmp_path / "small.dcm", 8, 8), max_pixels=63)


def test_deflated_dicom_bomb_is_refused_while_streaming(tmp_path):
    path = deflated_dicom(tmp_path / "deflated.dcm", 80 << 20)
    assert path.stat().st_size < 200_000
    with pytest.raises(DataError, match="inflates to more than 71 MiB"):
        check_file(path, MedicalDataConfig(max_pixels=1_000_000))


MEMORY_PROBE = """
import resource, sys
from domains.medical_imaging.config import MedicalDataConfig
from domains.medical_imaging.decoding import check_file, decode_path
from shared.errors import DataError
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for path in sys.argv[1:]:
    for read in (check_file, lambda p: decode_path(p, MedicalDataConfig())):
        try:
            read(path)
        except DataError:
            pass
        else:
            raise SystemExit(f"{path} was accepted")
print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@pytest.mark.slow
def test_refusing_the_bombs_uses_little_memory(hostile, tmp_path):
    """In a fresh process, so the peak is the readers' own: decoding 169 MP would need about 850 MB."""
    deflated = deflated_dicom(tmp_path / "deflated.dcm", 400 << 20)
    paths = [hostile[k] for k in ("bomb_20000", "bomb_13000", "dicom_bomb")] + [deflated]
    done = subprocess.run([sys.executable, "-c", MEMORY_PROBE, *map(str, paths)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    before_kb, after_kb = map(int, done.stdout.split())
    assert after_kb - before_kb < 100_000, (before_kb, after_kb)


# --- through the command line ------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_predict_gives_one_line(capsys, hostile, kind):
    code, out, err = cli(capsys, "predict", demo_run("medical_imaging", "classifier"), hostile[kind])
    assert code == 2 and out == ""
    one_error_line(err, str(hostile[kind]), *EXPECTED[kind])


def test_predict_uses_the_runs_pixel_limit(capsys, tmp_path):
    """predict and the app read data.max_pixels from the run's config.yaml."""
    import shutil

    import yaml

    run = tmp_path / "classifier"
    shutil.copytree(demo_run("medical_imaging", "classifier"), run)
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["data"]["max_pixels"] = 1000
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    image = tmp_path / "xray.png"
    Image.fromarray(np.zeros((40, 40), np.uint8)).save(image)
    code, _, err = cli(capsys, "predict", run, image)
    assert code == 2
    one_error_line(err, str(image), "40 x 40 = 1,600 pixels", "over the limit of 1,000 (data.max_pixels)")

    config["data"]["max_pixels"] = "lots"
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    code, _, err = cli(capsys, "predict", run, image)
    assert code == 2
    one_error_line(err, "config.yaml at data.max_pixels must be a positive integer. Received: 'lots'")


def test_evaluate_gives_one_line(capsys, hostile):
    code, _, err = cli(capsys, "evaluate", demo_run("medical_imaging", "classifier"), "--data", hostile["bomb_20000"])
    assert code == 2
    one_error_line(err)


@pytest.fixture
def folder_with(tmp_path):
    """A tiny class-folder data set holding one hostile file."""

    def make(bad: Path) -> tuple[Path, Path]:
        root = tmp_path / "images"
        write_synthetic_folder(root, n=30, seed=3, image_size=32)
        target = root / "nodule" / bad.name
        target.write_bytes(bad.read_bytes())
        return root, target

    return make


@pytest.mark.parametrize("kind", KINDS)
def test_train_from_a_folder_gives_one_line(capsys, tmp_path, hostile, folder_with, kind):
    root, bad = folder_with(hostile[kind])
    code, _, err = cli(capsys, "train", "medical_imaging", "--data", root, "--run-dir", tmp_path / "run", *TINY_TRAIN)
    assert code == 2
    one_error_line(err, str(bad), *EXPECTED[kind])


@pytest.mark.parametrize("kind", ["bomb_20000", "truncated_idat", "truncated_jpeg", "dicom_bomb"])
def test_pack_gives_one_line_and_writes_nothing(capsys, tmp_path, hostile, folder_with, kind):
    root, bad = folder_with(hostile[kind])
    out = tmp_path / "pack"
    code, _, err = cli(capsys, "data", "pack", "medical_imaging", "--data", root, "--out", out, "--set", "data.image_size=32")
    assert code == 2
    one_error_line(err, str(bad), *EXPECTED[kind])
    assert not out.exists()


def test_header_only_verification_still_catches_bombs_and_cut_chunks(capsys, tmp_path, hostile, folder_with):
    for kind in ("bomb_13000", "cut_idat"):
        root, bad = folder_with(hostile[kind])
        code, _, err = cli(capsys, "train", "medical_imaging", "--data", root, "--run-dir", tmp_path / f"run_{kind}", "--set", "data.verify=header", *TINY_TRAIN)
        assert code == 2
        one_error_line(err, str(bad), *EXPECTED[kind])
        bad.unlink()


@pytest.mark.slow
def test_clean_folder_trains_after_the_full_check(tmp_path):
    """The default full check lets a clean folder through; the run records the limit it used."""
    from shared.domain import get_task
    from shared.training.runner import prepare_run, train

    root = tmp_path / "images"
    write_synthetic_folder(root, n=40, seed=3, image_size=32)
    task = get_task("medical_imaging", "classifier")
    cfg = task.resolve_config(overrides=[f"data.path={root}", "data.image_size=32", "trainer.batch_size=8", "trainer.tensorboard=false",
                                         "model.type=cnn", "model.filters=[8]", "trainer.epochs=1"])
    assert cfg.data.verify == "decode" and cfg.data.max_pixels == MAX_PIXELS
    run_dir = prepare_run(task, cfg, tmp_path / "run")
    train(task, cfg, run_dir)
    assert json.loads((run_dir / "metrics.json").read_text())["accuracy"] >= 0
