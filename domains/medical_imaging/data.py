"""Medical-imaging data: loaders for the real formats, image decoding and the synthetic demo generator.

Every source becomes one `ImageSet`: a light table with one row per image
(`path`, `label`, `label_name`, `patient_id`) plus, for sources that arrive as
arrays (MedMNIST `.npz`, the synthetic generator), the raw arrays. Files are
decoded lazily: `make_dataset` streams `(image, label)` pairs through
`tf.data` with a parallel `tf.numpy_function` around `decode_path`, so a
folder of full-size radiographs never sits in memory.

Sources (`MedicalDataConfig.source`, chosen by name from `SOURCES`):

- `synthetic`: `generate_radiographs`, chest-like images with labelled
  findings; nothing to download.
- `folder`: one sub-folder per class holding `.png`, `.jpg`, `.jpeg` or
  `.dcm` files (searched recursively; hidden files and folders skipped).
- `dicom`: the same layout with `.dcm` files only; the patient id comes from
  each file's PatientID tag.
- `manifest`: a CSV or Parquet table with `path`, `label` and optional
  `patient_id` columns (names configurable); relative paths are relative to
  the manifest's folder.
- `medmnist`: a MedMNIST `.npz` file (`train_images`, `train_labels`,
  `val_*`, `test_*`); the official splits are kept. The files are published
  on Zenodo: https://zenodo.org/records/10519652/files/pneumoniamnist.npz
  (28 px) and `pneumoniamnist_64.npz`, `_128`, `_224` (MedMNIST+), one per
  flag. The `medmnist` package stores them in `~/.medmnist`, the default
  folder searched here. Nothing is downloaded by this module.

`source: auto` (the default) infers the source from `path`: no path means
`synthetic`; a `.csv`/`.parquet` file a `manifest`; a `.npz` file `medmnist`;
a folder `dicom` when every image in it is a `.dcm` file, else `folder`.

Decoding (`decode_path`) always returns float32 in [0, 1] of shape
(image_size, image_size, channels):

- PNG/JPEG through Pillow: 8-bit images are divided by 255, 16-bit ones by
  65535, so a 16-bit radiograph keeps its dynamic range; colour is converted
  to grey (ITU-R 601 luma).
- DICOM through pydicom: the first frame of a multi-frame file; stored
  values go through RescaleSlope/RescaleIntercept (pydicom's
  `apply_rescale`), then the window `data.window_center`/`window_width`, else
  the file's own WindowCenter/WindowWidth (with its VOILUTFunction), else the
  image's min-max; MONOCHROME1 is inverted so that dense tissue is bright.
  Colour DICOM (RGB, YBR, PALETTE COLOR) is converted to grey without
  rescale or window. VOI LUT sequences are not applied (min-max is used).
- Resizing keeps the aspect ratio by default (`resize: pad`): the long side
  is scaled to `image_size` and the short side padded with black (0), the
  value of air on a radiograph; `resize: stretch` scales both sides.

Splits (`assign_splits`): MedMNIST keeps its official splits unless
`data.split` is set. Otherwise the default is a group split by patient when
every image has a patient id, so that no patient's images are in two splits,
and a label-stratified random split when none has one. `data.limit` keeps
only N training images (class-balanced, round-robin over classes) and marks
the other training rows `"unlabelled"`, for few-label experiments.

Problems with the input are raised as one-line `DataError`s that name the
file. Before any pixels are decoded, the image's size is read from its
header (PNG IHDR, JPEG frame header, DICOM Rows x Columns) and an image over
`data.max_pixels` (`MAX_PIXELS`, 40 megapixels, by default) is refused, so a
small file that would expand to gigabytes (a decompression bomb) is never
decoded. Files are checked when the set is loaded: `verify: decode` (the
default) decodes every file once up front, so that a file corrupt in the
middle cannot stop a training run halfway; `verify: header` only checks the
readable header, the pixel limit, the PNG chunks and their CRCs up to the end
chunk, the JPEG end marker, and DICOM pixel data present and of the expected
length.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from shared.config import Section
from shared.data.splits import SplitConfig, split
from shared.data.tables import SUFFIXES as TABLE_SUFFIXES
from shared.data.tables import categorical_column, read_table, require_columns
from shared.errors import DataError, first_line
from shared.registry import Registry

CLASSES = ("normal", "nodule", "opacity")
# Default of data.max_pixels: above the largest radiographs and mammograms
# (about 30 megapixels), far below a decompression bomb (20000 x 20000 is 400).
MAX_PIXELS = 40_000_000
IMAGE_SUFFIXES = (".dcm", ".jpeg", ".jpg", ".png")
MEDMNIST_SPLITS = {"train": "train", "val": "validation", "test": "test"}
MEDMNIST_URL = "https://zenodo.org/records/10519652/files/{name}?download=1"
MEDMNIST_ROOT = Path("~/.medmnist")
# Class names published by MedMNIST (`medmnist.INFO[flag]["label"]`) for the
# flags the presets use; other flags get "0", "1", ... unless data.classes is set.
MEDMNIST_LABELS = {
    "pneumoniamnist": ("normal", "pneumonia"),
    "breastmnist": ("malignant", "normal, benign"),
}


class MedicalDataConfig(Section):
    """Where the images come from and how they are decoded and split (the `data:` section)."""

    source: Literal["auto", "synthetic", "folder", "manifest", "medmnist", "dicom"] = "auto"
    path: str | None = None  # None: synthetic (auto) or ~/.medmnist (medmnist)
    image_size: int = Field(64, ge=16, le=1024)
    channels: Literal[1, 3] = 1  # 3 repeats the grey channel for ImageNet backbones
    resize: Literal["pad", "stretch"] = "pad"
    classes: list[str] | None = None  # None: every class found, sorted; else these, in this order
    path_column: str = "path"
    label_column: str = "label"
    patient_column: str = "patient_id"
    mask_column: str = "mask_path"  # manifests: optional lesion-mask image per row, for segmentation
    window_center: float | None = None  # None: the DICOM file's window, else min-max
    window_width: float | None = Field(None, ge=1)
    verify: Literal["header", "decode"] = "decode"
    # Largest image decoded (width x height; a DICOM's Rows x Columns), read from the header first.
    max_pixels: int = Field(MAX_PIXELS, ge=1)
    split: SplitConfig | None = None  # None: official, by patient, or stratified random
    limit: int | None = Field(None, ge=1)  # labelled training images kept
    synthetic_images: int = Field(2400, ge=50)
    synthetic_seed: int = 0
    medmnist_flag: str = "pneumoniamnist"
    # Images per shard file written by `dlsuite data pack`.
    rows_per_shard: int = Field(1024, ge=1)
    # Checksum every shard of a packed data set before training from it.
    verify_shards: bool = True

    @model_validator(mode="after")
    def _window_pair(self):
        if (self.window_center is None) != (self.window_width is None):
            raise ValueError(
                "set both window_center and window_width, or neither. "
                f"Received: window_center={self.window_center}, window_width={self.window_width}"
            )
        return self


# --- decoding --------------------------------------------------------------------
# Every decoder returns a 2-D float32 array in [0, 1] at the file's own size;
# `prepare_array` then makes it (image_size, image_size, channels).


def to_grey(image: np.ndarray, source: str) -> np.ndarray:
    """(H, W), (H, W, 1), (H, W, 3) or (H, W, 4) -> (H, W); anything else is a `DataError`."""
    if image.ndim == 3 and image.shape[-1] == 1:
        return image[..., 0]
    if image.ndim == 3 and image.shape[-1] in (3, 4):
        rgb = image[..., :3].astype(np.float32)
        return rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    if image.ndim != 2:
        raise DataError(
            f"{source} has an image of shape {tuple(image.shape)}; expected a 2-D image "
            "(H, W), (H, W, 1) or (H, W, 3)"
        )
    return image


def fit_to_square(image: np.ndarray, size: int, resize: str = "pad") -> np.ndarray:
    """Resize a 2-D float image to (size, size).

    `pad` scales the long side to `size` and pads the short one with 0
    (centred); `stretch` scales both sides. Pillow's bilinear filter widens
    its support when shrinking, so downsizing is antialiased.
    """
    from PIL import Image

    h, w = image.shape
    if resize == "pad":
        scale = size / max(h, w)
        target = (max(1, round(w * scale)), max(1, round(h * scale)))
    else:
        target = (size, size)
    if (w, h) != target:
        image = np.asarray(Image.fromarray(image.astype(np.float32)).resize(target, Image.Resampling.BILINEAR))
    if image.shape != (size, size):
        canvas = np.zeros((size, size), np.float32)
        top, left = (size - image.shape[0]) // 2, (size - image.shape[1]) // 2
        canvas[top : top + image.shape[0], left : left + image.shape[1]] = image
        image = canvas
    return image


def prepare_array(image: np.ndarray, cfg: MedicalDataConfig, source: str) -> np.ndarray:
    """A decoded or in-memory image -> float32 (image_size, image_size, channels) in [0, 1].

    Integer arrays are scaled by their type's range (uint8 by 255, uint16 by
    65535); float arrays are taken to be in [0, 1] already.
    """
    image = np.asarray(image)
    if np.issubdtype(image.dtype, np.integer):
        image = image.astype(np.float32) / np.float32(np.iinfo(image.dtype).max)
    grey = np.clip(to_grey(image.astype(np.float32, copy=False), source), 0.0, 1.0)
    square = fit_to_square(grey, cfg.image_size, cfg.resize)
    return np.repeat(square[..., None], cfg.channels, axis=-1).astype(np.float32, copy=False)


# Pillow modes that need more than `convert("L")`: 16-bit greyscale keeps
# its range, and 32-bit "I" (how some writers store 16-bit data) is read as 16-bit.
def _sixteen_bit(im) -> np.ndarray:
    return np.asarray(im).astype(np.float32) / 65535.0


def _int32_as_sixteen_bit(im) -> np.ndarray:
    return np.clip(np.asarray(im, dtype=np.float32) / 65535.0, 0.0, 1.0)


_PIL_MODES: dict[str, Callable] = {
    "I;16": _sixteen_bit,
    "I;16L": _sixteen_bit,
    "I;16B": _sixteen_bit,
    "I;16N": _sixteen_bit,
    "I": _int32_as_sixteen_bit,
}


def _eight_bit(im) -> np.ndarray:
    return np.asarray(im.convert("L"), dtype=np.float32) / 255.0


def pixel_limit_error(path, width: int, height: int, max_pixels: int) -> DataError:
    """The one-line error for an image over `data.max_pixels`."""
    return DataError(
        f"{path} is {width:,} x {height:,} = {width * height:,} pixels, over the limit of {max_pixels:,} "
        "(data.max_pixels), so it is not decoded; "
        f"if the image is genuine, raise data.max_pixels (e.g. --set data.max_pixels={width * height}; "
        "for predict and the app, in the run's config.yaml)"
    )


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SIGNATURE = b"\xff\xd8\xff"
# Exceptions Pillow raises on a corrupt file, while opening or decoding it.
_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, struct.error, ZeroDivisionError)


def _pillow_opener(prefix: bytes) -> Callable:
    """PNG and JPEG open with their own Pillow plugin: `Image.open` refuses images over Pillow's
    process-wide `MAX_IMAGE_PIXELS` before their size can be read, and data.max_pixels decides here."""
    from PIL import Image, JpegImagePlugin, PngImagePlugin

    if prefix.startswith(_PNG_SIGNATURE):
        return PngImagePlugin.PngImageFile
    if prefix.startswith(_JPEG_SIGNATURE):
        return JpegImagePlugin.JpegImageFile
    return Image.open  # another format under a .png/.jpg name


def _open_pillow(path: Path, max_pixels: int):
    """Open an image lazily (header only) and check its size against `max_pixels`."""
    from PIL import Image, UnidentifiedImageError

    unreadable = f"{path} is not a readable PNG or JPEG image (corrupt, or another format under this name)"
    try:
        with path.open("rb") as fh:
            prefix = fh.read(8)
        im = _pillow_opener(prefix)(str(path))
    except UnidentifiedImageError:
        raise DataError(unreadable) from None
    except Image.DecompressionBombError as exc:  # Image.open only: another format over Pillow's own limit
        raise DataError(f"{path} is too large to decode: {first_line(exc)}") from None
    except OSError as exc:
        if exc.errno is not None:  # the operating system's error, not the file's content
            raise DataError(f"could not open {path}: {exc.strerror}") from None
        raise DataError(f"{path} is truncated or corrupt: {first_line(exc)}") from None
    except _PILLOW_ERRORS:  # a plugin's "not a PNG file" and the like
        raise DataError(unreadable) from None
    width, height = im.size
    if width * height > max_pixels:
        im.close()
        raise pixel_limit_error(path, width, height, max_pixels)
    return im


def _decode_pillow(path: Path, cfg: MedicalDataConfig) -> np.ndarray:
    from PIL import Image

    with _open_pillow(path, cfg.max_pixels) as im:
        try:
            im.load()
            return _PIL_MODES.get(im.mode, _eight_bit)(im)
        except (*_PILLOW_ERRORS, Image.DecompressionBombError) as exc:
            raise DataError(f"{path} is truncated or corrupt: {first_line(exc)}") from None


_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def _check_pillow(path: Path, cfg: MedicalDataConfig) -> None:
    """Header, pixel-limit and end-of-file check; PNG chunk CRCs too. No pixels are decoded."""
    with _open_pillow(path, cfg.max_pixels) as im:
        fmt = im.format
        with path.open("rb") as fh:
            fh.seek(max(0, path.stat().st_size - 1024))
            tail = fh.read()
        if fmt == "PNG" and not tail.endswith(_PNG_END):
            raise DataError(f"{path} is truncated: the PNG end chunk is missing; copy or export the file again")
        if fmt == "JPEG" and b"\xff\xd9" not in tail:
            raise DataError(f"{path} is truncated: the JPEG end marker is missing; copy or export the file again")
        if fmt == "PNG":
            try:
                im.verify()  # reads every chunk and checks its CRC; decompresses nothing
            except _PILLOW_ERRORS as exc:
                raise DataError(f"{path} is truncated or corrupt: {first_line(exc)}; copy or export the file again") from None


# --- DICOM ---


# What pydicom and NumPy raise on a damaged file, while reading it or when a value is
# first used (pydicom converts element values lazily); RuntimeError covers NotImplementedError.
_DICOM_ERRORS = (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError, IndexError, RuntimeError, OverflowError, ZeroDivisionError, struct.error)


@contextmanager
def _reading_dicom(path):
    """Turn a damaged file's exception into one `DataError` line naming it."""
    from pydicom.errors import BytesLengthException, InvalidDicomError

    try:
        yield
    except InvalidDicomError as exc:
        raise DataError(f"{path} is not a DICOM file: {first_line(exc)}") from None
    except (BytesLengthException, *_DICOM_ERRORS) as exc:
        raise DataError(f"could not read {path} as DICOM: {first_line(exc)}") from None


_DEFLATED = "1.2.840.10008.1.2.1.99"  # Deflated Explicit VR Little Endian
_INFLATE_BLOCK = 1 << 20


def _check_inflated_size(path: Path, max_pixels: int) -> None:
    """A Deflated DICOM is inflated whole by pydicom; stream it first and refuse one that inflates too far.

    The bound is 8 bytes per allowed pixel (64-bit samples, or several
    frames) plus 64 MiB of other elements.
    """
    import zlib

    from pydicom.errors import BytesLengthException, InvalidDicomError
    from pydicom.filereader import read_file_meta_info

    try:
        meta = read_file_meta_info(path)
        deflated = str(meta.get("TransferSyntaxUID", "")) == _DEFLATED
        start = 132 + 12 + int(meta.get("FileMetaInformationGroupLength", 0))
    except (InvalidDicomError, BytesLengthException, *_DICOM_ERRORS):
        return  # dcmread reports what is wrong with the file
    if not deflated:
        return
    limit = 8 * max_pixels + (64 << 20)
    inflater, total = zlib.decompressobj(-zlib.MAX_WBITS), 0
    try:
        with path.open("rb") as fh:
            fh.seek(start)
            while (block := fh.read(_INFLATE_BLOCK)) and not inflater.eof:
                while block and total <= limit:
                    total += len(inflater.decompress(block, _INFLATE_BLOCK))
                    block = inflater.unconsumed_tail
                if total > limit:
                    raise DataError(
                        f"{path} inflates to more than {limit >> 20} MiB (Deflated transfer syntax), too large "
                        f"for data.max_pixels = {max_pixels}; raise data.max_pixels if the image is genuine"
                    )
    except zlib.error as exc:
        raise DataError(f"{path} has corrupt deflated data: {exc}") from None


def check_dicom_size(ds, path, max_pixels: int = MAX_PIXELS) -> None:
    """Refuse a DICOM image whose Rows x Columns (the one frame decoded) exceeds `max_pixels`."""
    try:
        rows, columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{path} has an unreadable Rows or Columns: {first_line(exc)}") from None
    if rows * columns > max_pixels:
        raise pixel_limit_error(path, columns, rows, max_pixels)


def read_dicom(path: str | Path, max_pixels: int = MAX_PIXELS):
    """Read a DICOM file without decoding its pixels, checking it holds a whole image.

    Args:
        path: str or Path. A DICOM file.
        max_pixels: int. Largest Rows x Columns accepted. Defaults to
            `MAX_PIXELS`.

    Returns:
        `pydicom.Dataset`.

    Raises:
        DataError: not a DICOM file, no pixel data, an image over
            `max_pixels`, or pixel data shorter than Rows x Columns x frames
            (uncompressed transfer syntaxes).
    """
    path = Path(path)
    _check_inflated_size(path, max_pixels)
    with _reading_dicom(path):
        return _checked_dicom(path, max_pixels)


def _checked_dicom(path: Path, max_pixels: int):
    import pydicom
    from pydicom.pixels.utils import get_expected_length

    ds = pydicom.dcmread(path)
    if not any(tag in ds for tag in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        raise DataError(f"{path} has no pixel data (not an image object, or the file is cut short)")
    check_dicom_size(ds, path, max_pixels)
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if "PixelData" in ds and syntax is not None and not syntax.is_compressed:
        try:
            expected = get_expected_length(ds, unit="bytes")
        except (AttributeError, TypeError, ValueError, KeyError) as exc:
            raise DataError(f"{path} has an incomplete image header: {first_line(exc)}") from None
        if len(ds.PixelData) < expected:
            raise DataError(f"{path} is truncated: its pixel data has {len(ds.PixelData)} of {expected} bytes")
    return ds


def _first_frame(ds, path: Path) -> np.ndarray:
    ds.pixel_array_options(index=0)  # multi-frame files: decode the first frame only
    try:
        return ds.pixel_array
    except (ValueError, RuntimeError, NotImplementedError, AttributeError, TypeError, KeyError) as exc:
        raise DataError(f"could not decode the pixel data of {path}: {first_line(exc)}") from None


def modality_values(path: str | Path) -> np.ndarray:
    """The first frame of a greyscale DICOM image in modality units (e.g. Hounsfield units for CT).

    Stored values go through RescaleSlope/RescaleIntercept (or a Modality
    LUT) with pydicom's `apply_rescale`.

    Returns:
        float32 array (rows, columns).
    """
    from pydicom.pixels import apply_rescale

    path = Path(path)
    ds = read_dicom(path)
    with _reading_dicom(path):
        return apply_rescale(_first_frame(ds, path), ds).astype(np.float32)


def _window_linear(values, center, width):
    if width <= 1:
        return (values > center - 0.5).astype(np.float32)
    return np.clip((values - (center - 0.5)) / (width - 1) + 0.5, 0.0, 1.0)


def _window_linear_exact(values, center, width):
    return np.clip((values - center) / width + 0.5, 0.0, 1.0)


def _window_sigmoid(values, center, width):
    return 1.0 / (1.0 + np.exp(np.clip(-4.0 * (values - center) / width, -60.0, 60.0)))


# DICOM PS3.3 C.11.2.1.2 VOI LUT functions, scaled to [0, 1]; LINEAR is the default.
VOI_FUNCTIONS: dict[str, Callable] = {
    "LINEAR": _window_linear,
    "LINEAR_EXACT": _window_linear_exact,
    "SIGMOID": _window_sigmoid,
}


def window_image(values: np.ndarray, center: float, width: float, function: str = "LINEAR") -> np.ndarray:
    """Map modality values to [0, 1] with a DICOM window.

    Args:
        values: array of modality values.
        center: float. Window centre.
        width: float >= 1. Window width.
        function: str. VOI LUT function: `"LINEAR"`, `"LINEAR_EXACT"` or
            `"SIGMOID"`; unknown names fall back to `"LINEAR"` as the
            standard says. Defaults to `"LINEAR"`.

    Returns:
        float32 array of `values`' shape.
    """
    fn = VOI_FUNCTIONS.get(str(function).upper(), _window_linear)
    return fn(np.asarray(values, np.float32), float(center), float(width)).astype(np.float32)


def _min_max(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.zeros_like(values, np.float32)
    return ((values - low) / (high - low)).astype(np.float32)


def _file_window(ds) -> tuple[float, float] | None:
    if "WindowCenter" not in ds or "WindowWidth" not in ds:
        return None
    center = float(np.atleast_1d(ds.WindowCenter)[0])
    width = float(np.atleast_1d(ds.WindowWidth)[0])
    return (center, width) if width >= 1 else None


def _dicom_grey(ds, frame, path, cfg) -> np.ndarray:
    from pydicom.pixels import apply_rescale

    values = apply_rescale(frame, ds).astype(np.float32)
    window = (cfg.window_center, cfg.window_width) if cfg.window_center is not None else _file_window(ds)
    if window is None:
        return _min_max(values)
    return window_image(values, *window, function=ds.get("VOILUTFunction", "LINEAR"))


def _dicom_inverted(ds, frame, path, cfg) -> np.ndarray:
    return 1.0 - _dicom_grey(ds, frame, path, cfg)


def _dicom_colour(ds, frame, path, cfg) -> np.ndarray:
    # pydicom converts YBR to RGB when decoding; no rescale or window applies.
    return to_grey(frame, str(path)) / np.float32(2 ** int(ds.BitsStored) - 1)


def _dicom_palette(ds, frame, path, cfg) -> np.ndarray:
    from pydicom.pixels import apply_color_lut

    rgb = apply_color_lut(frame, ds)
    return to_grey(rgb, str(path)) / np.float32(np.iinfo(rgb.dtype).max)


_PHOTOMETRIC: dict[str, Callable] = {
    "MONOCHROME2": _dicom_grey,
    "MONOCHROME1": _dicom_inverted,
    "RGB": _dicom_colour,
    "YBR": _dicom_colour,
    "PALETTE COLOR": _dicom_palette,
}


def _decode_dicom(path: Path, cfg: MedicalDataConfig) -> np.ndarray:
    ds = read_dicom(path, cfg.max_pixels)
    with _reading_dicom(path):
        return _dicom_to_grey(ds, path, cfg)


def _dicom_to_grey(ds, path: Path, cfg: MedicalDataConfig) -> np.ndarray:
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    kind = "YBR" if photometric.startswith("YBR") else photometric
    if kind not in _PHOTOMETRIC:
        raise DataError(
            f"{path} has photometric interpretation {photometric!r}; supported: MONOCHROME1, MONOCHROME2, "
            "RGB, YBR_*, PALETTE COLOR"
        )
    frame = _first_frame(ds, path)
    if kind in ("MONOCHROME1", "MONOCHROME2"):
        frame = to_grey(frame, str(path))
    return np.clip(_PHOTOMETRIC[kind](ds, frame, path, cfg), 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class ImageFormat:
    """How one file type is checked cheaply and decoded fully."""

    check: Callable[[Path, MedicalDataConfig], object]
    decode: Callable[[Path, MedicalDataConfig], np.ndarray]


FORMATS: Registry[ImageFormat] = Registry("image file type")
for _suffix in (".png", ".jpg", ".jpeg"):
    FORMATS.register(_suffix, ImageFormat(check=_check_pillow, decode=_decode_pillow))
FORMATS.register(".dcm", ImageFormat(check=lambda path, cfg: read_dicom(path, cfg.max_pixels), decode=_decode_dicom))


def _format_of(path: Path) -> ImageFormat:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise DataError(f"unsupported image type {suffix or '(none)'!r} for {path}; use {', '.join(IMAGE_SUFFIXES)}")
    if not path.is_file():
        raise DataError(f"image file not found: {path}")
    if path.stat().st_size == 0:
        raise DataError(f"image file is empty: {path}")
    return FORMATS.get(suffix)


def check_file(path: str | Path, cfg: MedicalDataConfig | None = None) -> None:
    """Cheap check that `path` is a whole, readable image within `cfg.max_pixels`; raises `DataError` if not."""
    path = Path(path)
    _format_of(path).check(path, cfg or MedicalDataConfig())


def decode_path(path: str | Path, cfg: MedicalDataConfig) -> np.ndarray:
    """Decode one image file for the model.

    Args:
        path: str or Path. A `.png`, `.jpg`, `.jpeg` or `.dcm` file.
        cfg: MedicalDataConfig. Size, channels, resize mode, DICOM window.

    Returns:
        float32 array (image_size, image_size, channels) in [0, 1].

    Example:

    >>> img = decode_path("chest.dcm", MedicalDataConfig(image_size=128))  # doctest: +SKIP
    >>> img.shape
    (128, 128, 1)
    """
    path = Path(path)
    return prepare_array(_format_of(path).decode(path, cfg), cfg, str(path))


# --- image sets ------------------------------------------------------------------


@dataclass
class ImageSet:
    """Labelled images from one source.

    Attributes:
        frame: `pandas.DataFrame`, one row per image: `path` (str; a file, or
            a name such as `synthetic[12]` for in-memory rows), `label`
            (int32 index into `classes`), `label_name`, `patient_id` (str, or
            None when unknown) and, for MedMNIST, `official_split`. Manifest
            columns are kept as well (e.g. a date for a time split).
        classes: list of class names.
        config: the `MedicalDataConfig` the set was loaded with.
        provenance: dict. Where the images came from, for the model card.
        images: array (N, H, W[, C]) or None. In-memory images (MedMNIST,
            synthetic), row-aligned with `frame`; None for file sources.
        masks: uint8 array (N, S, S, 1) or None. Lesion masks (synthetic only).
    """

    frame: pd.DataFrame
    classes: list[str]
    config: MedicalDataConfig
    provenance: dict = field(default_factory=dict)
    images: np.ndarray | None = None
    masks: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.frame)

    def image(self, row: int) -> np.ndarray:
        """Row `row` as float32 (image_size, image_size, channels) in [0, 1]."""
        path = self.frame["path"].iat[row]
        if self.images is not None:
            return prepare_array(self.images[row], self.config, path)
        return decode_path(path, self.config)

    def mask(self, row: int) -> np.ndarray:
        """Row `row`'s lesion mask as float32 (image_size, image_size, 1) of 0/1."""
        single = self.config.model_copy(update={"channels": 1})
        if self.masks is not None:
            grey = prepare_array(self.masks[row].astype("float32"), single, "mask")
        elif "mask_path" in self.frame.columns:
            grey = decode_path(self.frame["mask_path"].iat[row], single)
        else:
            raise DataError("these images have no lesion masks; give the manifest a mask column (data.mask_column)")
        # Resizing blurs mask edges; threshold back to 0/1.
        return (grey >= 0.5).astype("float32")

    @property
    def has_masks(self) -> bool:
        return self.masks is not None or "mask_path" in self.frame.columns

    @property
    def has_patients(self) -> bool:
        return bool(self.frame["patient_id"].notna().all())


SOURCES: Registry[Callable[[MedicalDataConfig], ImageSet]] = Registry("image source")


def resolve_source(cfg: MedicalDataConfig) -> str:
    """The source name `cfg` selects; `auto` is inferred from `cfg.path` (see the module docstring)."""
    if cfg.source != "auto":
        return cfg.source
    if cfg.path is None:
        return "synthetic"
    path = Path(cfg.path).expanduser()
    if not path.exists():
        raise DataError(f"data path not found: {path}")
    if path.is_dir():
        files = [f for files in _scan_class_folders(path, IMAGE_SUFFIXES, cfg.classes).values() for f in files]
        return "dicom" if all(f.suffix.lower() == ".dcm" for f in files) else "folder"
    if path.suffix.lower() in TABLE_SUFFIXES:
        return "manifest"
    if path.suffix.lower() == ".npz":
        return "medmnist"
    raise DataError(
        f"cannot tell the kind of data in {path} from its name; set data.source to one of: "
        f"{', '.join(SOURCES.names())}"
    )


def load_images(cfg: MedicalDataConfig) -> ImageSet:
    """Load the labelled image table (and in-memory arrays) `cfg` describes.

    Returns:
        `ImageSet`. File images are checked (`cfg.verify`) but not kept.
    """
    return SOURCES.get(resolve_source(cfg))(cfg)


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _scan_class_folders(root: Path, suffixes, wanted: list[str] | None) -> dict[str, list[Path]]:
    """Class name -> sorted image files under `root/<class>/` (recursive)."""
    if not root.is_dir():
        raise DataError(f"expected a folder with one sub-folder per class, got: {root}")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise DataError(f"{root} has no class sub-folders; expected one sub-folder per class, e.g. {root / 'normal' / 'image001.png'}")
    out = {}
    for folder in folders:
        if wanted is not None and folder.name not in wanted:
            continue
        files = sorted(
            f for f in folder.rglob("*") if f.suffix.lower() in suffixes and f.is_file() and not _hidden(f, folder)
        )
        if not files:
            raise DataError(
                f"class folder {folder} has no images ({', '.join(suffixes)}); add images or remove the folder"
            )
        out[folder.name] = files
    return out


def _sorted_classes(names) -> list[str]:
    names = sorted(set(map(str, names)))
    try:
        return sorted(names, key=int)
    except ValueError:
        return names


def _finish(frame: pd.DataFrame, found: list[str], cfg: MedicalDataConfig, source: str) -> tuple[pd.DataFrame, list[str], np.ndarray]:
    """Keep the requested classes, number the labels; returns (frame, classes, kept row mask)."""
    classes = list(found) if cfg.classes is None else list(cfg.classes)
    missing = [c for c in classes if c not in found]
    if missing:
        raise DataError(
            f"class(es) {', '.join(map(repr, missing))} (data.classes) not found in {source}; found: {', '.join(found)}"
        )
    if len(classes) < 2:
        raise DataError(f"{source} has only one class ({classes[0]!r}); a classifier needs at least two")
    keep = frame["label_name"].isin(classes).to_numpy()
    frame = frame[keep].reset_index(drop=True)
    frame["label"] = frame["label_name"].map({c: i for i, c in enumerate(classes)}).astype(np.int32)
    return frame, classes, keep


def _counts(frame: pd.DataFrame, classes: list[str]) -> dict:
    counts = np.bincount(frame["label"], minlength=len(classes))
    patients = frame["patient_id"].dropna().nunique()
    return {
        "images": int(len(frame)),
        "classes": list(classes),
        "class_counts": {c: int(n) for c, n in zip(classes, counts)},
        "patients": int(patients) if patients else None,
    }


def _decoding(cfg: MedicalDataConfig) -> dict:
    window = (
        f"center {cfg.window_center:g}, width {cfg.window_width:g}"
        if cfg.window_center is not None
        else "file WindowCenter/WindowWidth, else min-max"
    )
    return {"image_size": cfg.image_size, "channels": cfg.channels, "resize": cfg.resize, "dicom_window": window}


_VERIFY_CHUNK = 256  # files in flight at once: a bad file stops verification within one chunk


def _decodes(path: str, cfg: MedicalDataConfig) -> None:
    decode_path(path, cfg)  # the image itself is dropped at once


def _verify_files(paths: list[str], cfg: MedicalDataConfig, checked: bool = False) -> None:
    """`header`: cheap per-file checks (skipped when the loader already read each file); `decode`: decode all.

    Decoding runs in threads (Pillow and NumPy release the GIL); the first
    bad file in listing order is the one reported.
    """
    if cfg.verify == "header":
        if not checked:
            for path in paths:
                check_file(path, cfg)
        return
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        for start in range(0, len(paths), _VERIFY_CHUNK):
            for _ in pool.map(_decodes, paths[start : start + _VERIFY_CHUNK], [cfg] * _VERIFY_CHUNK):
                pass


@SOURCES.register("folder")
def load_folder(cfg: MedicalDataConfig, suffixes: tuple[str, ...] = IMAGE_SUFFIXES) -> ImageSet:
    """One sub-folder per class; labels are the folder names."""
    root = _require_path(cfg)
    by_class = _scan_class_folders(root, suffixes, cfg.classes)
    rows = [(str(f), name) for name, files in by_class.items() for f in files]
    frame = pd.DataFrame(rows, columns=["path", "label_name"])
    frame["patient_id"] = None
    frame, classes, _ = _finish(frame, _sorted_classes(by_class), cfg, str(root))
    _verify_files(frame["path"].tolist(), cfg)
    provenance = {"source": str(root), "format": "image folders", **_counts(frame, classes), **_decoding(cfg)}
    return ImageSet(frame=frame, classes=classes, config=cfg, provenance=provenance)


@SOURCES.register("dicom")
def load_dicom_folder(cfg: MedicalDataConfig) -> ImageSet:
    """One sub-folder per class of `.dcm` files; patient ids from the PatientID tag."""
    root = _require_path(cfg)
    by_class = _scan_class_folders(root, (".dcm",), cfg.classes)
    rows = []
    for name, files in by_class.items():
        for f in files:
            ds = read_dicom(f, cfg.max_pixels)
            with _reading_dicom(f):
                patient = str(ds.get("PatientID", "") or "").strip()
            rows.append((str(f), name, patient or None))
    frame = pd.DataFrame(rows, columns=["path", "label_name", "patient_id"])
    frame, classes, _ = _finish(frame, _sorted_classes(by_class), cfg, str(root))
    _verify_files(frame["path"].tolist(), cfg, checked=True)
    provenance = {"source": str(root), "format": "DICOM folders", **_counts(frame, classes), **_decoding(cfg)}
    return ImageSet(frame=frame, classes=classes, config=cfg, provenance=provenance)


@SOURCES.register("manifest")
def load_manifest(cfg: MedicalDataConfig) -> ImageSet:
    """A CSV/Parquet table of image paths, labels and optional patient ids."""
    manifest = _require_path(cfg)
    table = read_table(manifest)
    source = f"manifest {manifest}"
    require_columns(table, [cfg.path_column, cfg.label_column], source)
    raw_paths = categorical_column(table, cfg.path_column, source)
    labels = categorical_column(table, cfg.label_column, source)
    base = manifest.parent
    paths = [str(p if p.is_absolute() else base / p) for p in map(Path, raw_paths)]
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        raise DataError(
            f"{source} lists {len(missing)} missing image file(s): {shown} (relative paths are relative to the manifest's folder)"
        )
    frame = table.copy()
    frame["path"], frame["label_name"] = paths, labels
    if cfg.mask_column in table.columns:
        raw_masks = categorical_column(table, cfg.mask_column, source)
        masks = [str(p if p.is_absolute() else base / p) for p in map(Path, raw_masks)]
        absent = [p for p in masks if not Path(p).is_file()]
        if absent:
            shown = ", ".join(absent[:3]) + (", ..." if len(absent) > 3 else "")
            raise DataError(f"{source} lists {len(absent)} missing mask file(s) in {cfg.mask_column!r}: {shown}")
        frame["mask_path"] = masks
    if cfg.patient_column in table.columns:
        ids = table[cfg.patient_column]
        frame["patient_id"] = [None if pd.isna(v) or not str(v).strip() else str(v).strip() for v in ids]
    else:
        frame["patient_id"] = None
    frame, classes, _ = _finish(frame, _sorted_classes(labels), cfg, source)
    _verify_files(frame["path"].tolist(), cfg)
    provenance = {"source": str(manifest), "format": "manifest", **_counts(frame, classes), **_decoding(cfg)}
    return ImageSet(frame=frame, classes=classes, config=cfg, provenance=provenance)


def medmnist_file(cfg: MedicalDataConfig) -> Path:
    """The MedMNIST `.npz` to read: `cfg.path` if it is a file, else `<folder>/<flag>_<size>.npz` or `<flag>.npz`.

    The folder is `cfg.path` or `~/.medmnist`; the size-specific MedMNIST+
    file is preferred when it exists for `image_size`.
    """
    if cfg.path is not None and Path(cfg.path).expanduser().is_file():
        return Path(cfg.path).expanduser()
    folder = Path(cfg.path or MEDMNIST_ROOT).expanduser()
    names = (f"{cfg.medmnist_flag}_{cfg.image_size}.npz", f"{cfg.medmnist_flag}.npz")
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise DataError(
        f"MedMNIST file not found: {folder / names[1]}; download it from "
        f"{MEDMNIST_URL.format(name=names[1])} into {folder}, or set data.path"
    )


@SOURCES.register("medmnist")
def load_medmnist(cfg: MedicalDataConfig) -> ImageSet:
    """A MedMNIST `.npz` (2-D, single-label); official splits kept in `official_split`."""
    import zipfile

    path = medmnist_file(cfg)
    try:
        archive = np.load(path, allow_pickle=False)
        contents = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"could not read {path} as .npz: {first_line(exc)}") from None
    needed = [f"{s}_{kind}" for s in MEDMNIST_SPLITS for kind in ("images", "labels")]
    absent = [k for k in needed if k not in contents]
    if absent:
        raise DataError(f"{path} is not in MedMNIST layout: missing {', '.join(absent)} (found: {', '.join(sorted(contents)) or 'nothing'})")
    images, labels, splits = [], [], []
    for prefix, name in MEDMNIST_SPLITS.items():
        x, y = contents[f"{prefix}_images"], contents[f"{prefix}_labels"]
        if not (x.ndim == 3 or (x.ndim == 4 and x.shape[-1] in (1, 3))):
            raise DataError(f"{path}: {prefix}_images has shape {tuple(x.shape)}; expected (N, H, W) or (N, H, W, 1|3) 2-D images")
        if y.ndim == 2 and y.shape[1] > 1:
            raise DataError(f"{path}: {prefix}_labels has shape {tuple(y.shape)} (multi-label); only single-label MedMNIST sets are supported")
        if y.ndim > 2 or len(y) != len(x):
            raise DataError(f"{path}: {prefix}_labels has shape {tuple(y.shape)} for {len(x)} images; expected ({len(x)},) or ({len(x)}, 1)")
        images.append(x if x.ndim == 4 else x[..., None])
        labels.append(y.reshape(-1).astype(np.int64))
        splits += [name] * len(x)
    shapes = {tuple(x.shape[1:]) for x in images}
    if len(shapes) > 1:
        raise DataError(f"{path}: the splits hold images of different shapes {sorted(shapes)}")
    label = np.concatenate(labels)
    if label.min() < 0:
        raise DataError(f"{path}: labels must be >= 0, found {int(label.min())}")
    flag = path.stem.rsplit("_", 1)[0] if path.stem.rsplit("_", 1)[-1].isdigit() else path.stem
    names = MEDMNIST_LABELS.get(flag) or tuple(str(i) for i in range(int(label.max()) + 1))
    if label.max() >= len(names):
        raise DataError(f"{path}: label {int(label.max())} is out of range for {flag}'s {len(names)} classes")
    frame = pd.DataFrame(
        {
            "path": [f"{path.name}:{s}[{i}]" for s, n in zip(MEDMNIST_SPLITS, map(len, labels)) for i in range(n)],
            "label_name": np.asarray(names, dtype=object)[label],
            "patient_id": None,
            "official_split": splits,
        }
    )
    frame, classes, keep = _finish(frame, list(names), cfg, str(path))
    provenance = {
        "source": str(path),
        "format": "MedMNIST npz",
        "flag": flag,
        "download": MEDMNIST_URL.format(name=path.name),
        "license": "CC BY 4.0 (MedMNIST); cite Yang et al., Scientific Data 10:41 (2023)",
        "official_splits": True,
        **_counts(frame, classes),
        **_decoding(cfg),
    }
    return ImageSet(frame=frame, classes=classes, config=cfg, provenance=provenance, images=np.concatenate(images)[keep])


@SOURCES.register("synthetic")
def load_synthetic(cfg: MedicalDataConfig) -> ImageSet:
    """`generate_radiographs` at `cfg.image_size`."""
    images, labels, masks, patients = generate_radiographs(cfg.synthetic_images, cfg.synthetic_seed, cfg.image_size)
    frame = pd.DataFrame(
        {
            "path": [f"synthetic[{i}]" for i in range(len(labels))],
            "label_name": np.asarray(CLASSES, dtype=object)[labels],
            "patient_id": patients.astype(object),
        }
    )
    frame, classes, keep = _finish(frame, list(CLASSES), cfg, "the synthetic radiographs")
    provenance = {
        "source": "synthetic radiographs (dlsuite generator)",
        "synthetic": True,
        "seed": cfg.synthetic_seed,
        **_counts(frame, classes),
        **_decoding(cfg),
    }
    return ImageSet(frame=frame, classes=classes, config=cfg, provenance=provenance, images=images[keep], masks=masks[keep])


def _require_path(cfg: MedicalDataConfig) -> Path:
    if cfg.path is None:
        raise DataError(f"data.source {cfg.source!r} needs data.path")
    path = Path(cfg.path).expanduser()
    if not path.exists():
        raise DataError(f"data path not found: {path}")
    return path


# --- splits ------------------------------------------------------------------------


def default_split(images: ImageSet) -> SplitConfig:
    """By patient when every image has a patient id, else stratified random."""
    ids = images.frame["patient_id"]
    if ids.notna().all():
        return SplitConfig(type="group", column="patient_id")
    if ids.isna().all():
        return SplitConfig(type="random")
    raise _partial_ids(images)


def _partial_ids(images: ImageSet) -> DataError:
    ids = images.frame["patient_id"]
    first = images.frame["path"][ids.isna()].iloc[0]
    return DataError(
        f"{int(ids.isna().sum())} of {len(ids)} images have no patient id (first: {first}); "
        "add them, or set data.split.type to random to split by image"
    )


def _split_key(images: ImageSet, cfg: SplitConfig) -> np.ndarray | None:
    if cfg.type == "random":
        return None
    frame = images.frame
    column = "patient_id" if cfg.column in ("patient_id", images.config.patient_column) else cfg.column
    if column not in frame.columns:
        raise DataError(
            f"split column {cfg.column!r} (data.split.column) is not in the data; found: {', '.join(map(str, frame.columns[:12]))}"
        )
    values = frame[column]
    if values.isna().any():
        if column == "patient_id":
            raise _partial_ids(images)
        raise DataError(f"split column {column!r} has missing values, first at row {int(np.flatnonzero(values.isna())[0]) + 1}")
    if cfg.type == "group":
        return values.astype(str).to_numpy()
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all():
        return numeric.to_numpy()
    dates = pd.to_datetime(values, errors="coerce")
    if dates.isna().any():
        raise DataError(f"time split column {column!r} has values that are neither numbers nor dates")
    return dates.to_numpy().astype("datetime64[ns]").astype("int64")


def _limit_training(assign: np.ndarray, labels: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    """Keep `limit` training rows, round-robin over classes; the rest become "unlabelled"."""
    train = np.flatnonzero(assign == "train")
    if limit is None or limit >= len(train):
        return assign
    shuffled = np.random.default_rng(seed).permutation(train)
    rank = pd.Series(labels[shuffled]).groupby(labels[shuffled]).cumcount().to_numpy()
    keep = shuffled[np.argsort(rank, kind="stable")[:limit]]
    out = assign.copy()
    out[train] = "unlabelled"
    out[keep] = "train"
    return out


def assign_splits(images: ImageSet, seed: int) -> np.ndarray:
    """One of "train", "validation", "test" or "unlabelled" per row of `images.frame`.

    MedMNIST keeps its official splits unless `data.split` is set; otherwise
    `data.split` or `default_split`. With `data.limit`, training rows beyond
    the limit are "unlabelled".
    """
    frame = images.frame
    labels = frame["label"].to_numpy()
    if images.config.split is None and "official_split" in frame.columns:
        assign = frame["official_split"].to_numpy(dtype=object)
    else:
        cfg = images.config.split or default_split(images)
        assign = split(len(frame), cfg, seed, labels=labels, key=_split_key(images, cfg))
    return _limit_training(assign, labels, images.config.limit, seed)


def split_summary(images: ImageSet, assign: np.ndarray) -> dict:
    """Images, patients and class counts per split, for provenance."""
    out = {}
    for name in ("train", "validation", "test", "unlabelled"):
        rows = images.frame[assign == name]
        if name == "unlabelled" and rows.empty:
            continue
        out[f"{name}_images"] = int(len(rows))
        out[f"{name}_patients"] = int(rows["patient_id"].nunique()) if images.has_patients else None
        out[f"{name}_class_counts"] = [int(n) for n in np.bincount(rows["label"], minlength=len(images.classes))]
    return out


# --- tf.data -----------------------------------------------------------------------


def make_dataset(images: ImageSet, rows=None, deterministic: bool = True):
    """Stream `(image, label)` pairs, decoding in parallel.

    Args:
        images: ImageSet. From `load_images`.
        rows: int indices or a boolean mask over `images.frame`, e.g.
            `assign_splits(...) == "train"`. Defaults to all rows.
        deterministic: bool. Keep the row order under parallel decoding.
            Defaults to `True`.

    Returns:
        Unbatched `tf.data.Dataset` of (float32 [S, S, channels] in [0, 1],
        int32 label), with known cardinality; batch it with
        `shared.data.pipeline.batched`. `load_images` has decoded every
        file once already (`data.verify: decode`, the default), so a bad
        file stops there with one `DataError` line; with `verify: header`, a
        file corrupt inside its pixel data that the header checks miss stops
        iteration with a TensorFlow error carrying that line.
    """
    import tensorflow as tf

    n = len(images.frame)
    rows = np.arange(n) if rows is None else np.asarray(rows)
    if rows.dtype == bool:
        rows = np.flatnonzero(rows)
    labels = images.frame["label"].to_numpy(dtype=np.int32)[rows]
    size, channels = images.config.image_size, images.config.channels

    def load(row):
        return images.image(int(row))

    def decode(row, label):
        image = tf.numpy_function(load, [row], tf.float32, stateful=False)
        image.set_shape([size, size, channels])
        return image, label

    ds = tf.data.Dataset.from_tensor_slices((rows.astype(np.int64), labels))
    return ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)


# --- synthetic radiographs -----------------------------------------------------------
# Coordinates are x (left-right) and y (top-down) in [-1, 1]. Brightness
# stands for attenuation: air is dark, soft tissue grey, lesions bright.

# Share of synthetic patients per entry of CLASSES: "normal" a little more
# common, as in screening data; images per patient vary, so image counts wobble.
_CLASS_SHARES = np.array([0.4, 0.3, 0.3])
_IMAGES_PER_PATIENT = (1, 4)
_CHUNK = 256  # images rendered at once; bounds memory for large n
_COARSE = 6  # grid of the low-frequency texture and opacity patchiness


def _sigmoid(z):
    return 0.5 + 0.5 * np.tanh(0.5 * z)


def _upsample_matrix(coarse: int, size: int) -> np.ndarray:
    """(size, coarse) bilinear interpolation weights; `M @ grid @ M.T` upsamples a grid."""
    pos = np.linspace(0, coarse - 1, size)
    low = np.minimum(np.floor(pos).astype(int), coarse - 2)
    frac = (pos - low).astype(np.float32)
    out = np.zeros((size, coarse), np.float32)
    out[np.arange(size), low] = 1 - frac
    out[np.arange(size), low + 1] = frac
    return out


def _draw(rng: np.random.Generator, n: int, **ranges) -> dict:
    """Uniform float32 draws, one array of `n` per named (low, high) range, in keyword order."""
    return {name: rng.uniform(lo, hi, n).astype(np.float32) for name, (lo, hi) in ranges.items()}


def _render(p: dict, img_p: dict, patient: np.ndarray, cls: np.ndarray, noise: np.random.Generator, size: int):
    """Render one chunk; `p` holds per-patient, `img_p` per-image parameters (already sliced)."""
    col = lambda a: a[:, None, None]  # noqa: E731
    pat = {k: col(v[patient]) for k, v in p.items()}
    im = {k: col(v) for k, v in img_p.items() if v.ndim == 1}
    grid = np.linspace(-1, 1, size, dtype=np.float32)
    yy = (grid[None, :, None] - im["dy"]) / im["scale"]
    xx = (grid[None, None, :] - im["dx"]) / im["scale"]
    edge = np.float32(3.0 / size)

    # Torso with shoulders and neck, the spine, two lung fields, the heart, ribs.
    half_width = pat["body_w"] * (0.55 + 0.45 * _sigmoid((yy + 0.7) / 0.06))
    body = _sigmoid((half_width - np.abs(xx)) / edge)
    img = 0.06 + (pat["tissue"] - 0.06) * body + 0.10 * np.exp(-((xx / 0.08) ** 2)) * body
    lungs = np.zeros_like(img)
    for side in (-1.0, 1.0):
        u = (xx - side * pat["lung_cx"]) / pat["lung_ax"]
        v = (yy - pat["lung_cy"]) / pat["lung_ay"]
        rounded = np.sqrt(u * u + v * v * np.where(v > 0, np.float32(1.0), np.float32(0.8)))
        lungs = np.maximum(lungs, _sigmoid((1 - rounded) / 0.08))
    img = img - 0.33 * lungs
    hu = (xx - pat["heart_x"]) / (1.15 * pat["heart_r"])
    hv = (yy - 0.32) / pat["heart_r"]
    img = img + 0.22 * _sigmoid((1 - np.sqrt(hu * hu + hv * hv)) / 0.12) * lungs
    band = yy + pat["rib_curve"] * (np.abs(xx) - 0.15) ** 2
    ribs = (0.5 + 0.5 * np.cos(2 * np.pi * band / pat["rib_period"] + pat["rib_phase"])) ** 6
    img = img + 0.09 * ribs * lungs

    # Findings: nodules are small sharp bright discs, opacities large patchy haze.
    def lesion_centre(which: str):
        x = pat["side"] * pat["lung_cx"] + pat[f"{which}_u"] * pat["lung_ax"]
        y = pat["lung_cy"] + pat[f"{which}_v"] * pat["lung_ay"]
        return np.sqrt((xx - x) ** 2 + (yy - y) ** 2)

    is_nodule, is_opacity = col(cls == 1), col(cls == 2)
    dist = lesion_centre("les")
    radius = pat["nod_r"] * im["size_jitter"]
    nodules = np.maximum(
        _sigmoid((radius - dist) / (0.25 * radius)),
        _sigmoid((radius - lesion_centre("les2")) / (0.25 * radius)) * pat["second"],
    ) * is_nodule
    spread = 0.5 * pat["op_r"] * im["size_jitter"]
    upsample = _upsample_matrix(_COARSE, size)
    patches = np.einsum("sa,nab,tb->nst", upsample, img_p["patch"], upsample)
    opacity = np.exp(-0.5 * (dist / spread) ** 2) * np.clip(1 + 0.5 * patches, 0.2, None) * lungs * is_opacity
    img = img + pat["amp_nod"] * nodules + pat["amp_op"] * opacity
    # Relative thresholds keep every lesion's mask non-empty, even at small sizes.
    peak_n = nodules.max(axis=(1, 2), keepdims=True)
    peak_o = opacity.max(axis=(1, 2), keepdims=True)
    masks = ((nodules >= 0.5 * peak_n) & (peak_n > 0)) | ((opacity >= 0.35 * peak_o) & (peak_o > 0))

    # Acquisition: texture, a smooth exposure gradient, noise, brightness and contrast.
    texture = np.einsum("sa,nab,tb->nst", upsample, img_p["texture"], upsample)
    img = img + 0.025 * texture * body
    img = img + im["grad"] * (np.cos(im["theta"]) * xx + np.sin(im["theta"]) * yy)
    img = img + im["noise"] * noise.standard_normal(img.shape, dtype=np.float32)
    img = im["gain"] * (img - 0.35) + 0.35 + im["offset"]
    return np.clip(img, 0.0, 1.0).astype(np.float32), masks.astype(np.uint8)


def generate_radiographs(n: int, seed: int = 0, image_size: int = 64):
    """Synthetic chest-radiograph-like images with labelled findings.

    Each synthetic patient has their own anatomy (torso width, lung fields
    darker than the mediastinum, heart, faint curved ribs) and one finding,
    seen in 1-4 images with small changes in positioning and lesion size:

    - `normal`: no finding (40% of patients);
    - `nodule`: one or two small, sharp, bright round blobs inside a lung
      field (30%);
    - `opacity`: a large diffuse patchy brightening inside a lung (30%).

    Every image gets its own brightness, contrast, exposure gradient,
    texture and noise, so mean intensity alone does not give the class away
    (it stays at chance, while logistic regression on 16x16 downsampled
    pixels reaches about 62% on held-out patients against 44% for the
    majority class, and a three-layer CNN about 90% after 15 epochs).
    Lesion masks mark each finding. 2,400 images at 64 px take under two
    seconds on one CPU core.

    Args:
        n: int >= 10. Images to generate.
        seed: int. Seed of the `numpy.random.Generator`. Defaults to `0`.
        image_size: int >= 16. Height and width in pixels. Defaults to `64`.

    Returns:
        Tuple `(images, labels, masks, patient_ids)`: float32
        (n, S, S, 1) in [0, 1]; int32 (n,) indices into `CLASSES`; uint8
        (n, S, S, 1) with 1 on lesion pixels (all 0 for `normal`); str (n,)
        such as `"SYN00012"`. Rows are shuffled, so one patient's images are
        not adjacent.

    Example:

    >>> images, labels, masks, patients = generate_radiographs(100, seed=1)
    >>> images.shape, masks.shape
    ((100, 64, 64, 1), (100, 64, 64, 1))
    """
    if int(n) != n or n < 10:
        raise ValueError(f"`n` must be an integer >= 10. Received: n={n}")
    if int(image_size) != image_size or image_size < 16:
        raise ValueError(f"`image_size` must be an integer >= 16. Received: image_size={image_size}")
    n, size = int(n), int(image_size)
    rng = np.random.default_rng(seed)
    per_patient = rng.integers(_IMAGES_PER_PATIENT[0], _IMAGES_PER_PATIENT[1] + 1, size=n)
    ends = np.cumsum(per_patient)
    n_patients = int(np.searchsorted(ends, n)) + 1
    per_patient = per_patient[:n_patients]
    per_patient[-1] -= ends[n_patients - 1] - n
    patient = np.repeat(np.arange(n_patients), per_patient)
    patient_class = rng.choice(len(CLASSES), n_patients, p=_CLASS_SHARES)

    p = _draw(
        rng, n_patients,
        body_w=(0.80, 0.92), tissue=(0.50, 0.60),
        lung_cx=(0.34, 0.40), lung_cy=(-0.08, 0.02), lung_ax=(0.24, 0.30), lung_ay=(0.52, 0.62),
        heart_r=(0.24, 0.32), heart_x=(0.08, 0.18),
        rib_period=(0.15, 0.21), rib_phase=(0, 2 * np.pi), rib_curve=(0.6, 1.2),
        nod_r=(0.06, 0.10), op_r=(0.22, 0.36), amp_nod=(0.16, 0.28), amp_op=(0.20, 0.32),
    )
    p["side"] = rng.choice(np.array([-1.0, 1.0], np.float32), n_patients)
    # Lesion centres in lung coordinates, within 65% of the lung's radius.
    for which in ("les", "les2"):
        angle = rng.uniform(0, 2 * np.pi, n_patients)
        radius = 0.65 * np.sqrt(rng.random(n_patients))
        p[f"{which}_u"] = (radius * np.cos(angle)).astype(np.float32)
        p[f"{which}_v"] = (radius * np.sin(angle)).astype(np.float32)
    p["second"] = (rng.random(n_patients) < 0.3).astype(np.float32)

    img_p = _draw(
        rng, n,
        dx=(-0.04, 0.04), dy=(-0.04, 0.04), scale=(0.96, 1.04), size_jitter=(0.85, 1.15),
        gain=(0.65, 1.35), offset=(-0.15, 0.15), grad=(0.0, 0.12), theta=(0, 2 * np.pi), noise=(0.012, 0.035),
    )
    img_p["texture"] = rng.standard_normal((n, _COARSE, _COARSE), dtype=np.float32)
    img_p["patch"] = rng.standard_normal((n, _COARSE, _COARSE), dtype=np.float32)
    order = rng.permutation(n)

    images = np.empty((n, size, size), np.float32)
    masks = np.empty((n, size, size), np.uint8)
    for start in range(0, n, _CHUNK):
        rows = slice(start, min(n, start + _CHUNK))
        chunk = {k: v[rows] for k, v in img_p.items()}
        noise = np.random.default_rng([seed, start])
        images[rows], masks[rows] = _render(p, chunk, patient[rows], patient_class[patient[rows]], noise, size)
    labels = patient_class[patient].astype(np.int32)
    ids = np.array([f"SYN{i:05d}" for i in patient])
    return images[order, ..., None], labels[order], masks[order, ..., None], ids[order]


# --- writing demo files ------------------------------------------------------------


def build_dicom(
    pixels: np.ndarray,
    patient_id: str,
    *,
    photometric: str = "MONOCHROME2",
    bits_stored: int = 12,
    slope: float = 1.0,
    intercept: float = 0.0,
    window: tuple[float, float] | None = None,
    modality: str = "DX",
    uid_seed: str = "",
):
    """A single-frame greyscale DICOM dataset, ready for `save_as(path, enforce_file_format=True)`.

    Args:
        pixels: uint16 array (rows, columns). Stored values.
        patient_id: str. PatientID (and PatientName).
        photometric: str. `"MONOCHROME2"` (high = bright) or `"MONOCHROME1"`
            (high = dark). Defaults to `"MONOCHROME2"`.
        bits_stored: int. Defaults to `12`.
        slope, intercept: float. RescaleSlope and RescaleIntercept.
        window: (center, width) or None. WindowCenter/WindowWidth to write.
        modality: str. Defaults to `"DX"` (digital radiography).
        uid_seed: str. Makes the UIDs reproducible.

    Returns:
        `pydicom.Dataset` with file meta (explicit VR little endian).
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    sop_class = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage - For Presentation
    uid = lambda part: generate_uid(entropy_srcs=[uid_seed, patient_id, part])  # noqa: E731
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = uid("instance")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uid("study"), uid("series")
    ds.PatientID, ds.PatientName, ds.Modality = patient_id, patient_id, modality
    ds.set_pixel_data(np.asarray(pixels, dtype=np.uint16), photometric, bits_stored, generate_instance_uid=False)
    ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = f"{slope:g}", f"{intercept:g}", "US"
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = f"{window[0]:g}", f"{window[1]:g}"
    return ds


# Stored values of written demo DICOMs: 12 bits, shifted into a CT-like range.
_DCM_MAX, _DCM_INTERCEPT = 4095, -1024.0


def _write_png(image: np.ndarray, path: Path, patient_id: str) -> Path:
    from PIL import Image

    path = path.with_suffix(".png")
    Image.fromarray(np.round(image[..., 0] * 255).astype(np.uint8)).save(path)
    return path


def _write_dcm(image: np.ndarray, path: Path, patient_id: str) -> Path:
    path = path.with_suffix(".dcm")
    stored = np.round(image[..., 0] * _DCM_MAX).astype(np.uint16)
    # The written window maps the stored range back onto [0, 1] when decoded.
    window = (_DCM_INTERCEPT + (_DCM_MAX + 1) / 2, _DCM_MAX + 1)
    ds = build_dicom(stored, patient_id, intercept=_DCM_INTERCEPT, window=window, uid_seed=path.name)
    ds.save_as(path, enforce_file_format=True)
    return path


_WRITERS: dict[str, Callable] = {"png": _write_png, "dcm": _write_dcm}


def write_synthetic_folder(out_dir: str | Path, n: int = 120, seed: int = 0, fmt: str = "png", image_size: int = 64) -> Path:
    """Write synthetic radiographs as a folder-per-class tree plus a manifest.

    Layout: `out_dir/<class>/<patient>_<k>.png` (8-bit) or `.dcm` (12-bit
    stored values, RescaleIntercept -1024, a window covering them, the
    patient in PatientID), and `out_dir/manifest.csv` with `path` (relative),
    `label` and `patient_id`. `out_dir` is then valid as a `folder`/`dicom`
    source and its manifest as a `manifest` source.

    Args:
        out_dir: str or Path. Created if needed.
        n: int >= 10. Images. Defaults to `120`.
        seed: int. Generator seed. Defaults to `0`.
        fmt: str. `"png"` or `"dcm"`. Defaults to `"png"`.
        image_size: int. Defaults to `64`.

    Returns:
        Path of the manifest CSV.
    """
    if fmt not in _WRITERS:
        raise ValueError(f"`fmt` must be one of {', '.join(_WRITERS)}. Received: fmt={fmt!r}")
    out_dir = Path(out_dir)
    images, labels, _, patients = generate_radiographs(n, seed, image_size)
    rows, seen = [], {}
    for image, label, patient in zip(images, labels, patients):
        folder = out_dir / CLASSES[label]
        folder.mkdir(parents=True, exist_ok=True)
        seen[patient] = seen.get(patient, 0) + 1
        path = _WRITERS[fmt](image, folder / f"{patient}_{seen[patient]}", str(patient))
        rows.append((path.relative_to(out_dir).as_posix(), CLASSES[label], patient))
    manifest = out_dir / "manifest.csv"
    pd.DataFrame(rows, columns=["path", "label", "patient_id"]).to_csv(manifest, index=False)
    return manifest
