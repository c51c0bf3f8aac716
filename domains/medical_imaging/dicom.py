"""DICOM files: reading without decoding, size checks, rescale and windowing.

- `read_dicom` reads a file's elements (not its pixels) and checks that it
  holds a whole image within `data.max_pixels` (Rows x Columns); a Deflated
  file is inflated in a stream first and refused when it inflates too far.
- `decode_dicom` decodes the first frame of a multi-frame file: stored
  values go through RescaleSlope/RescaleIntercept (pydicom's
  `apply_rescale`), then the window `data.window_center`/`window_width`, else
  the file's own WindowCenter/WindowWidth (with its VOILUTFunction), else the
  image's min-max; MONOCHROME1 is inverted so that dense tissue is bright.
  Colour DICOM (RGB, YBR, PALETTE COLOR) is converted to grey without
  rescale or window. VOI LUT sequences are not applied (min-max is used).

Every problem is one `DataError` line naming the file.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from domains.medical_imaging.config import MedicalDataConfig
from shared.errors import DataError, first_line
from shared.inputs.image import MAX_PIXELS, pixel_limit_error, to_grey

# What pydicom and NumPy raise on a damaged file, while reading it or when a value is
# first used (pydicom converts element values lazily); RuntimeError covers NotImplementedError.
_DICOM_ERRORS = (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError, IndexError, RuntimeError, OverflowError, ZeroDivisionError, struct.error)


@contextmanager
def reading_dicom(path):
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
    with reading_dicom(path):
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
    with reading_dicom(path):
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


def decode_dicom(path: Path, cfg: MedicalDataConfig) -> np.ndarray:
    """The first frame of a DICOM file as a 2-D float32 array in [0, 1] (window applied)."""
    ds = read_dicom(path, cfg.max_pixels)
    with reading_dicom(path):
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
