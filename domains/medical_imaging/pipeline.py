"""tf.data pipelines of an `ImageSet`: `(image, label)` for the classifier, `(image, mask)` for segmentation.

Images are decoded in a parallel `map`, never held in memory as a whole:

- 8-bit PNG and grey/RGB JPEG files decode natively
  (`shared.inputs.image.tf_read_image`: `tf.io.decode_image`, grey
  conversion, resize and padding in TensorFlow ops);
- DICOM, 16-bit PNG and anything else Pillow must read go through
  `decoding.decode_path` in a `tf.numpy_function`, as do the in-memory
  arrays of the synthetic and MedMNIST sources.

Both paths give the same image within about 1/255 on average
(`tests/shared/inputs/test_image.py`). `sources.load_images` has decoded
every file once already (`data.verify: decode`, the default), so a bad file
stops there with one `DataError` line; with `verify: header`, a file corrupt
inside its pixel data that the header checks miss stops iteration with a
TensorFlow error carrying that line.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from domains.medical_imaging.sources import ImageSet
from shared.inputs.image import native_decodable, tf_read_image


def _rows(images: ImageSet, rows) -> np.ndarray:
    n = len(images.frame)
    rows = np.arange(n) if rows is None else np.asarray(rows)
    if rows.dtype == bool:
        rows = np.flatnonzero(rows)
    return rows.astype(np.int64)


def _native_flags(paths: list[str]) -> np.ndarray:
    """Which files decode natively (8-bit PNG, grey/RGB JPEG), from their headers."""
    if not paths:
        return np.zeros(0, bool)
    with ThreadPoolExecutor(max_workers=8) as pool:
        return np.fromiter(pool.map(native_decodable, paths), bool, len(paths))


def _image_decoder(images: ImageSet, single_channel: bool = False, all_native: bool = False):
    """`(row, path, native) -> float32 [S, S, C]`, native where it can be, Pillow/pydicom elsewhere.

    With `all_native` (every file is an 8-bit PNG or a JPEG, the usual case)
    the graph has no branch to the Python decoder at all, which more than
    doubles the decoding rate.
    """
    import tensorflow as tf

    cfg = images.config
    size, channels = cfg.image_size, 1 if single_channel else cfg.channels
    python = images.mask if single_channel else images.image

    def by_python(row):
        image = tf.numpy_function(lambda r: python(int(r)), [row], tf.float32, stateful=False)
        image.set_shape([size, size, channels])
        return image

    def decode(row, path, native):
        return tf.cond(native, lambda: tf_read_image(path, size, channels, cfg.resize), lambda: by_python(row))

    def decode_native(row, path, native):
        return tf_read_image(path, size, channels, cfg.resize)

    return decode_native if all_native else decode


def _columns(images: ImageSet, rows: np.ndarray, column: str) -> tuple[np.ndarray, np.ndarray]:
    """(paths, native flags) of `rows`; in-memory sets have no native files."""
    paths = images.frame[column].to_numpy(dtype=object)[rows].astype(str) if column in images.frame.columns else np.full(len(rows), "")
    if images.images is not None and column == "path":
        return paths, np.zeros(len(rows), bool)
    return paths, _native_flags(list(paths))


def make_dataset(images: ImageSet, rows=None, deterministic: bool = True):
    """Stream `(image, label)` pairs, decoding in parallel.

    Args:
        images: ImageSet. From `sources.load_images`.
        rows: int indices or a boolean mask over `images.frame`, e.g.
            `assign_splits(...) == "train"`. Defaults to all rows.
        deterministic: bool. Keep the row order under parallel decoding.
            Defaults to `True`.

    Returns:
        Unbatched `tf.data.Dataset` of (float32 [S, S, channels] in [0, 1],
        int32 label), with known cardinality; batch it with
        `shared.data.pipeline.split_datasets`.
    """
    import tensorflow as tf

    rows = _rows(images, rows)
    labels = images.frame["label"].to_numpy(dtype=np.int32)[rows]
    paths, native = _columns(images, rows, "path")
    decode = _image_decoder(images, all_native=bool(len(native)) and bool(native.all()))

    def pair(row, path, flag, label):
        return decode(row, path, flag), label

    ds = tf.data.Dataset.from_tensor_slices((rows, paths, native, labels))
    return ds.map(pair, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)


def segmentation_dataset(images: ImageSet, rows=None, deterministic: bool = True):
    """Stream `(image, mask)` pairs: the mask is float32 [S, S, 1] of 0/1, decoded like the image."""
    import tensorflow as tf

    rows = _rows(images, rows)
    paths, native = _columns(images, rows, "path")
    if images.masks is None and "mask_path" in images.frame.columns:
        mask_paths, mask_native = _columns(images, rows, "mask_path")
    else:
        mask_paths, mask_native = np.full(len(rows), ""), np.zeros(len(rows), bool)
    decode_image = _image_decoder(images, all_native=bool(len(native)) and bool(native.all()))
    decode_mask = _image_decoder(images, single_channel=True, all_native=bool(len(mask_native)) and bool(mask_native.all()))

    def pair(row, path, flag, mask_path, mask_flag):
        mask = decode_mask(row, mask_path, mask_flag)
        # Resizing blurs mask edges; threshold back to 0/1 (the Python path does the same).
        return decode_image(row, path, flag), tf.cast(mask >= 0.5, tf.float32)

    ds = tf.data.Dataset.from_tensor_slices((rows, paths, native, mask_paths, mask_native))
    return ds.map(pair, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
