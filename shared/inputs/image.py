"""Image files as float32 grey levels in [0, 1], through Pillow or natively in tf.data.

Two ways to decode the same file, with the same result (up to rounding and
the resampling filter, about 1/255 on average):

- Python (`read_grey`, `fit_to_square`): Pillow, for any format it reads and
  for 16-bit PNGs (divided by 65535, so a 16-bit radiograph keeps its range);
- native (`native_decodable`, `tf_read_image`): `tf.io.decode_image` inside a
  parallel `tf.data` map, for 8-bit PNG and baseline JPEG, with the grey
  conversion, resize and padding done by TensorFlow ops.

Before any pixels are decoded, `open_image` reads the image's size from its
header and refuses one over `max_pixels` (a decompression bomb: a small file
that would expand to gigabytes). Every failure is one `DataError` line
naming the file. Colour is converted to grey with the ITU-R 601 luma weights.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np

from shared.errors import DataError, first_line

# Above the largest radiographs and mammograms (about 30 megapixels), far
# below a decompression bomb (20000 x 20000 is 400).
MAX_PIXELS = 40_000_000
LUMA = (0.299, 0.587, 0.114)  # ITU-R 601, as Pillow's convert("L")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
# Exceptions Pillow raises on a corrupt file, while opening or decoding it.
PILLOW_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, struct.error, ZeroDivisionError)


def pixel_limit_error(path, width: int, height: int, max_pixels: int, setting: str = "data.max_pixels") -> DataError:
    """The one-line error for an image over the pixel limit `setting`."""
    return DataError(
        f"{path} is {width:,} x {height:,} = {width * height:,} pixels, over the limit of {max_pixels:,} "
        f"({setting}), so it is not decoded; "
        f"if the image is genuine, raise {setting} (e.g. --set {setting}={width * height}; "
        "for predict and the app, in the run's config.yaml)"
    )


def to_grey(image: np.ndarray, source: str) -> np.ndarray:
    """(H, W), (H, W, 1), (H, W, 3) or (H, W, 4) -> (H, W); anything else is a `DataError`."""
    if image.ndim == 3 and image.shape[-1] == 1:
        return image[..., 0]
    if image.ndim == 3 and image.shape[-1] in (3, 4):
        rgb = image[..., :3].astype(np.float32)
        return rgb @ np.array(LUMA, np.float32)
    if image.ndim != 2:
        raise DataError(
            f"{source} has an image of shape {tuple(image.shape)}; expected a 2-D image "
            "(H, W), (H, W, 1) or (H, W, 3)"
        )
    return image


def _opener(prefix: bytes) -> Callable:
    """PNG and JPEG open with their own Pillow plugin: `Image.open` refuses images over Pillow's
    process-wide `MAX_IMAGE_PIXELS` before their size can be read, and `max_pixels` decides here."""
    from PIL import Image, JpegImagePlugin, PngImagePlugin

    if prefix.startswith(PNG_SIGNATURE):
        return PngImagePlugin.PngImageFile
    if prefix.startswith(JPEG_SIGNATURE):
        return JpegImagePlugin.JpegImageFile
    return Image.open  # another format under a .png/.jpg name


def open_image(path: Path, max_pixels: int = MAX_PIXELS, setting: str = "data.max_pixels"):
    """Open an image lazily (header only) and check its size against `max_pixels`.

    Returns:
        An open `PIL.Image.Image`; close it (or use it in a `with` block).
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    unreadable = f"{path} is not a readable PNG or JPEG image (corrupt, or another format under this name)"
    try:
        with path.open("rb") as fh:
            prefix = fh.read(8)
        im = _opener(prefix)(str(path))
    except UnidentifiedImageError:
        raise DataError(unreadable) from None
    except Image.DecompressionBombError as exc:  # Image.open only: another format over Pillow's own limit
        raise DataError(f"{path} is too large to decode: {first_line(exc)}") from None
    except OSError as exc:
        if exc.errno is not None:  # the operating system's error, not the file's content
            raise DataError(f"could not open {path}: {exc.strerror}") from None
        raise DataError(f"{path} is truncated or corrupt: {first_line(exc)}") from None
    except PILLOW_ERRORS:  # a plugin's "not a PNG file" and the like
        raise DataError(unreadable) from None
    width, height = im.size
    if width * height > max_pixels:
        im.close()
        raise pixel_limit_error(path, width, height, max_pixels, setting)
    return im


# Pillow modes that need more than `convert("L")`: 16-bit greyscale keeps
# its range, and 32-bit "I" (how some writers store 16-bit data) is read as 16-bit.
def _sixteen_bit(im) -> np.ndarray:
    return np.asarray(im).astype(np.float32) / 65535.0


def _int32_as_sixteen_bit(im) -> np.ndarray:
    return np.clip(np.asarray(im, dtype=np.float32) / 65535.0, 0.0, 1.0)


def _eight_bit(im) -> np.ndarray:
    return np.asarray(im.convert("L"), dtype=np.float32) / 255.0


PIL_MODES: dict[str, Callable] = {
    "I;16": _sixteen_bit,
    "I;16L": _sixteen_bit,
    "I;16B": _sixteen_bit,
    "I;16N": _sixteen_bit,
    "I": _int32_as_sixteen_bit,
}


def read_grey(path: Path, max_pixels: int = MAX_PIXELS, setting: str = "data.max_pixels") -> np.ndarray:
    """Decode an image file with Pillow into a 2-D float32 array in [0, 1] at its own size."""
    from PIL import Image

    path = Path(path)
    with open_image(path, max_pixels, setting) as im:
        try:
            im.load()
            return PIL_MODES.get(im.mode, _eight_bit)(im)
        except (*PILLOW_ERRORS, Image.DecompressionBombError) as exc:
            raise DataError(f"{path} is truncated or corrupt: {first_line(exc)}") from None


def check_image(path: Path, max_pixels: int = MAX_PIXELS, setting: str = "data.max_pixels") -> None:
    """Header, pixel-limit and end-of-file check; PNG chunk CRCs too. No pixels are decoded."""
    path = Path(path)
    with open_image(path, max_pixels, setting) as im:
        fmt = im.format
        with path.open("rb") as fh:
            fh.seek(max(0, path.stat().st_size - 1024))
            tail = fh.read()
        if fmt == "PNG" and not tail.endswith(PNG_END):
            raise DataError(f"{path} is truncated: the PNG end chunk is missing; copy or export the file again")
        if fmt == "JPEG" and b"\xff\xd9" not in tail:
            raise DataError(f"{path} is truncated: the JPEG end marker is missing; copy or export the file again")
        if fmt == "PNG":
            try:
                im.verify()  # reads every chunk and checks its CRC; decompresses nothing
            except PILLOW_ERRORS as exc:
                raise DataError(f"{path} is truncated or corrupt: {first_line(exc)}; copy or export the file again") from None


def fit_to_square(image: np.ndarray, size: int, resize: str = "pad") -> np.ndarray:
    """Resize a 2-D float image to (size, size) with Pillow.

    `pad` scales the long side to `size` and pads the short one with 0
    (centred); `stretch` scales both sides. Pillow's bilinear filter widens
    its support when shrinking, so downsizing is antialiased.
    """
    from PIL import Image

    h, w = image.shape
    target = _target_size(h, w, size, resize)
    if (w, h) != target:
        image = np.asarray(Image.fromarray(image.astype(np.float32)).resize(target, Image.Resampling.BILINEAR))
    if image.shape != (size, size):
        canvas = np.zeros((size, size), np.float32)
        top, left = (size - image.shape[0]) // 2, (size - image.shape[1]) // 2
        canvas[top : top + image.shape[0], left : left + image.shape[1]] = image
        image = canvas
    return image


def _target_size(h: int, w: int, size: int, resize: str) -> tuple[int, int]:
    """(width, height) the image is scaled to before padding."""
    if resize == "pad":
        scale = size / max(h, w)
        return max(1, round(w * scale)), max(1, round(h * scale))
    return size, size


# --- native decoding in tf.data ---------------------------------------------------

# Pillow modes whose pixels `tf.io.decode_png`/`decode_jpeg` return at 8 bits, as Pillow's
# `convert("L")` sees them; 16-bit PNGs and CMYK JPEGs go through `read_grey`.
_NATIVE_MODES = {"PNG": {"1", "L", "LA", "P", "RGB", "RGBA"}, "JPEG": {"L", "RGB"}}


def native_decodable(path: Path) -> bool:
    """Whether `tf_read_image` decodes `path` as `read_grey` would: an 8-bit PNG or a grey/RGB JPEG.

    Reads the header only; a file Pillow cannot open is not native (its
    Python decoding then reports what is wrong with it).
    """
    try:
        with open_image(Path(path), max_pixels=2**62) as im:
            return im.mode in _NATIVE_MODES.get(im.format, ())
    except DataError:
        return False


def tf_grey(image):
    """A decoded uint8 image tensor [H, W, C] (C = 1..4) -> float32 [H, W, 1] in [0, 1]."""
    import tensorflow as tf

    image = tf.cast(image, tf.float32) / 255.0
    channels = tf.shape(image)[-1]
    rgb = image[..., :3] if image.shape[-1] in (3, 4) else None
    if rgb is not None:
        return tf.reduce_sum(rgb * tf.constant(LUMA, tf.float32), axis=-1, keepdims=True)
    # Channel count unknown until run time (decode_image with channels=0).
    luma = lambda: tf.reduce_sum(image[..., :3] * tf.constant(LUMA, tf.float32), axis=-1, keepdims=True)  # noqa: E731
    return tf.cond(channels >= 3, luma, lambda: image[..., :1])


def tf_fit_to_square(image, size: int, resize: str = "pad"):
    """`fit_to_square` in TensorFlow ops: float32 [H, W, 1] -> [size, size, 1] (bilinear, antialiased)."""
    import tensorflow as tf

    shape = tf.shape(image)
    h, w = tf.cast(shape[0], tf.float64), tf.cast(shape[1], tf.float64)
    if resize == "pad":
        scale = size / tf.maximum(h, w)
        # Python's round() halves to even, as `_target_size` does.
        th = tf.maximum(1, tf.cast(tf.math.round(h * scale), tf.int32))
        tw = tf.maximum(1, tf.cast(tf.math.round(w * scale), tf.int32))
    else:
        th = tw = tf.constant(size, tf.int32)
    same = tf.logical_and(tf.equal(th, shape[0]), tf.equal(tw, shape[1]))
    image = tf.cond(same, lambda: image, lambda: tf.image.resize(image, tf.stack([th, tw]), method="bilinear", antialias=True))
    top, left = (size - th) // 2, (size - tw) // 2
    image = tf.pad(image, [[top, size - th - top], [left, size - tw - left], [0, 0]])
    image.set_shape([size, size, 1])
    return image


def tf_read_image(path, size: int, channels: int = 1, resize: str = "pad"):
    """Read and decode a PNG or JPEG file inside tf.data: -> float32 [size, size, channels] in [0, 1].

    Use it for files `native_decodable` accepts; the result matches
    `fit_to_square(read_grey(path), size, resize)` (repeated over `channels`)
    within about 1/255 on average (the resampling filters differ slightly).
    """
    import tensorflow as tf

    decoded = tf.io.decode_image(tf.io.read_file(path), channels=0, dtype=tf.uint8, expand_animations=False)
    image = tf_fit_to_square(tf.clip_by_value(tf_grey(decoded), 0.0, 1.0), size, resize)
    if channels != 1:
        image = tf.repeat(image, channels, axis=-1)
    return image


def expand_image_inputs(inputs, suffixes) -> list[Path]:
    """The files of `inputs`, each folder replaced by the images under it (sorted, hidden files left out)."""
    paths: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(p for p in item.rglob("*") if p.suffix.lower() in suffixes and not p.name.startswith("."))
            if not found:
                raise DataError(f"no images ({', '.join(suffixes)}) found in {item}")
            paths.extend(found)
        else:
            paths.append(item)
    return paths


def run_pixel_limit(run) -> int:
    """A run's data.max_pixels (its config.yaml): predict and the app refuse larger images, as training did."""
    from shared.errors import RunError

    data = run.config_data.get("data")
    limit = data.get("max_pixels", MAX_PIXELS) if isinstance(data, dict) else MAX_PIXELS
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise RunError(f"run directory {run.path}: config.yaml at data.max_pixels must be a positive integer. Received: {limit!r}")
    return limit
