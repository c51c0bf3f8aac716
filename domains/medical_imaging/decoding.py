"""Image files -> model inputs: float32 (image_size, image_size, channels) in [0, 1].

Every decoder returns a 2-D float32 array in [0, 1] at the file's own size;
`prepare_array` then makes it square and gives it its channels:

- PNG/JPEG through Pillow (`shared.inputs.image.read_grey`): 8-bit images
  are divided by 255, 16-bit ones by 65535, so a 16-bit radiograph keeps
  its dynamic range; colour is converted to grey (ITU-R 601 luma). In
  training, 8-bit PNG and JPEG files decode natively in tf.data instead
  (`pipeline.make_dataset`), with the same result up to rounding.
- DICOM through pydicom (`dicom.decode_dicom`), window applied.
- Resizing keeps the aspect ratio by default (`resize: pad`): the long side
  is scaled to `image_size` and the short side padded with black (0), the
  value of air on a radiograph; `resize: stretch` scales both sides.

Before any pixels are decoded, the image's size is read from its header
(PNG IHDR, JPEG frame header, DICOM Rows x Columns) and an image over
`data.max_pixels` is refused. `check_file` only runs the cheap checks: the
readable header, the pixel limit, the PNG chunks and their CRCs up to the
end chunk, the JPEG end marker, and DICOM pixel data present and of the
expected length.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from domains.medical_imaging.config import IMAGE_SUFFIXES, MedicalDataConfig
from domains.medical_imaging.dicom import decode_dicom, read_dicom
from shared.errors import DataError
from shared.inputs.image import check_image, fit_to_square, pixel_limit_error, read_grey, to_grey
from shared.registry import Registry

__all__ = ["FORMATS", "ImageFormat", "check_file", "decode_path", "fit_to_square", "pixel_limit_error", "prepare_array", "to_grey"]


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


def _decode_pillow(path: Path, cfg: MedicalDataConfig) -> np.ndarray:
    return read_grey(path, cfg.max_pixels)


def _check_pillow(path: Path, cfg: MedicalDataConfig) -> None:
    check_image(path, cfg.max_pixels)


@dataclass(frozen=True)
class ImageFormat:
    """How one file type is checked cheaply and decoded fully."""

    check: Callable[[Path, MedicalDataConfig], object]
    decode: Callable[[Path, MedicalDataConfig], np.ndarray]


FORMATS: Registry[ImageFormat] = Registry("image file type")
for _suffix in (".png", ".jpg", ".jpeg"):
    FORMATS.register(_suffix, ImageFormat(check=_check_pillow, decode=_decode_pillow))
FORMATS.register(".dcm", ImageFormat(check=lambda path, cfg: read_dicom(path, cfg.max_pixels), decode=decode_dicom))


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
