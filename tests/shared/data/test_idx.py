"""IDX reader: the format on tiny synthetic files, shapes on Debian's real Fashion-MNIST."""

import gzip
import struct

import numpy as np
import pytest

from shared.data.idx import load_fashion_mnist, read_idx
from shared.errors import DataError


def idx_bytes(array: np.ndarray, code: int, big_endian_dtype: str) -> bytes:
    """IDX written by hand from the spec: magic, big-endian dims, big-endian data."""
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(big_endian_dtype).tobytes()


@pytest.mark.parametrize(
    "dtype, code, stored",
    [("uint8", 0x08, "u1"), ("int8", 0x09, "i1"), ("int16", 0x0B, ">i2"), ("int32", 0x0C, ">i4"), ("float32", 0x0D, ">f4"), ("float64", 0x0E, ">f8")],
)
@pytest.mark.parametrize("compressed", [False, True], ids=["raw", "gzip"])
def test_reads_every_type_raw_and_gzip(tmp_path, dtype, code, stored, compressed):
    array = (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4).astype(dtype)
    data = idx_bytes(array, code, stored)
    path = tmp_path / "x-idx3"  # no .gz suffix: compression is read from the content
    path.write_bytes(gzip.compress(data) if compressed else data)
    found = read_idx(path)
    np.testing.assert_array_equal(found, array)
    assert found.dtype == np.dtype(dtype) and found.dtype.isnative


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x08\x03", "not an IDX file (only 2 bytes)"),
        (b"\x1f\x00\x08\x01\x00\x00\x00\x01\x07", "bad magic number 0x1f000801"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x07", "unknown IDX type code 0x07"),
        (b"\x00\x00\x08\x02\x00\x00\x00\x01", "truncated IDX header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x03\x07\x08", "IDX file truncated: header shape (3,) needs 3 data bytes, found 2"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x07\x08", "longer than its header says"),
        (gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07", mtime=0)[:-6], "damaged gzip data"),
    ],
)
def test_bad_files_raise_data_error(tmp_path, data, message):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(data)
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_idx(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="IDX file not found"):
        read_idx(tmp_path / "none")


def write_fashion(folder, n_train=5, n_test=3, gz=("train-images-idx3-ubyte",)):
    rng = np.random.default_rng(0)
    files = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)).astype("uint8"),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train).astype("uint8"),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)).astype("uint8"),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test).astype("uint8"),
    }
    for name, array in files.items():
        data = idx_bytes(array, 0x08, "u1")
        if name in gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return files


def test_load_fashion_mnist_from_any_folder_with_or_without_gz(tmp_path):
    files = write_fashion(tmp_path)
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(tmp_path)
    np.testing.assert_array_equal(x_train, files["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(y_test, files["t10k-labels-idx1-ubyte"])
    assert (x_train.dtype, y_train.dtype, x_test.shape, y_test.shape) == (np.uint8, np.int32, (3, 28, 28), (3,))


def test_missing_fashion_file_names_it_and_the_sources(tmp_path):
    write_fashion(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError) as info:
        load_fashion_mnist(tmp_path)
    message = str(info.value)
    assert f"t10k-labels-idx1-ubyte[.gz] not found in {tmp_path}" in message
    assert "apt-get install dataset-fashion-mnist" in message and "github.com/zalandoresearch/fashion-mnist" in message


def test_mismatched_image_and_label_counts(tmp_path):
    write_fashion(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(4, "uint8"), 0x08, "u1"))
    with pytest.raises(DataError, match=r"train files .* do not match: images \(5, 28, 28\), labels \(4,\)"):
        load_fashion_mnist(tmp_path)


def test_debian_fashion_mnist_shapes():
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()  # /usr/share/datasets/fashion-mnist
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert np.bincount(y_train).tolist() == [6000] * 10 and np.bincount(y_test).tolist() == [1000] * 10
