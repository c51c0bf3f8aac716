"""IDX files (the MNIST family's format) and the Fashion-MNIST loader.

An IDX file is a 4-byte magic number `0x00 0x00 <dtype> <rank>`, `rank`
big-endian uint32 dimension sizes, then the values in big-endian C order.
Files may be gzip-compressed; compression is detected from the content, not
the file name.

Example:

```python
from shared.data.idx import load_fashion_mnist

(x_train, y_train), (x_test, y_test) = load_fashion_mnist()
x_train.shape, x_train.dtype  # ((60000, 28, 28), dtype('uint8'))
```

Reference:
    - [LeCun et al., THE MNIST DATABASE](http://yann.lecun.com/exdb/mnist/):
      the IDX file format.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from shared.errors import DataError

# IDX type code -> big-endian numpy dtype.
IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
FASHION_MNIST_SOURCES = (
    "install it with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu, files in "
    f"{FASHION_MNIST_DIR}) or download the four .gz files from "
    "https://github.com/zalandoresearch/fashion-mnist (data/fashion) into one directory"
)
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"IDX file not found: {path}") from None
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:  # truncated or corrupt gzip stream
        raise DataError(f"{path}: damaged gzip data ({exc}); download the file again") from None


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (raw or gzip) into a native-endian numpy array.

    Args:
        path: str or Path. The file, e.g. `train-images-idx3-ubyte.gz`.

    Returns:
        An array whose dtype and shape come from the file header.

    Raises:
        DataError: the file is missing, has a bad magic number, an unknown
            type code, or its size does not match its header.
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise DataError(f"{path}: not an IDX file (only {len(data)} bytes)")
    zero1, zero2, code, rank = data[:4]
    if zero1 or zero2:
        raise DataError(
            f"{path}: not an IDX file (bad magic number 0x{data[:4].hex()}; "
            "expected 0x0000 followed by a type code and a rank)"
        )
    if code not in IDX_DTYPES:
        valid = ", ".join(f"0x{c:02x}" for c in IDX_DTYPES)
        raise DataError(f"{path}: unknown IDX type code 0x{code:02x}; expected one of {valid}")
    header_end = 4 + 4 * rank
    if len(data) < header_end:
        raise DataError(f"{path}: truncated IDX header ({len(data)} bytes, rank {rank} needs {header_end})")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=rank, offset=4))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header_end
    if found != expected:
        state = "truncated" if found < expected else "longer than its header says"
        raise DataError(
            f"{path}: IDX file {state}: header shape {shape} needs {expected} data bytes, found {found}"
        )
    values = np.frombuffer(data, dtype, offset=header_end).reshape(shape)
    return values.astype(dtype.newbyteorder("="), copy=True)


def find_idx_file(directory: str | Path, stem: str) -> Path:
    """Return `directory/stem.gz` or `directory/stem`, whichever exists."""
    directory = Path(directory)
    for name in (f"{stem}.gz", stem):
        if (directory / name).is_file():
            return directory / name
    raise DataError(f"Fashion-MNIST file {stem}[.gz] not found in {directory}; {FASHION_MNIST_SOURCES}")


def load_fashion_mnist(directory: str | Path | None = None):
    """Load Fashion-MNIST from its four standard IDX files.

    Args:
        directory: str, Path or None. Folder holding `train-images-idx3-ubyte`,
            `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte` and
            `t10k-labels-idx1-ubyte`, each with or without `.gz`. Defaults to
            Debian's `/usr/share/datasets/fashion-mnist`.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: images as uint8 arrays of
        shape `(n, 28, 28)`, labels as int32 arrays of shape `(n,)` with
        values 0-9 (names in `FASHION_MNIST_CLASSES`).
    """
    directory = Path(directory) if directory is not None else FASHION_MNIST_DIR
    arrays = {key: read_idx(find_idx_file(directory, stem)) for key, stem in FASHION_MNIST_FILES.items()}
    splits = []
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(
                f"Fashion-MNIST {split} files in {directory} do not match: images {images.shape}, "
                f"labels {labels.shape}; expected (n, 28, 28) images and n labels"
            )
        splits.append((images.astype("uint8"), labels.astype("int32")))
    return tuple(splits)
