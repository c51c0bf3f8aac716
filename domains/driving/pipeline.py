"""tf.data input pipelines of the driving tasks: decoding, resizing, label mapping and target encoding.

Every pipeline takes either files (a user's data set: decoded natively with
`tf.io.decode_image`, no Python in the graph) or in-memory arrays (the
synthetic demo scenes), and yields float32 RGB images in [0, 1] at the
run's fixed size:

- `segmentation_dataset`: (image, label ids [H, W]); label PNGs are decoded and
  mapped to the class table once, by the validating reader;
- `detection_dataset`: (image, packed CenterNet targets [H/s, W/s, C + 5]);
  boxes are rescaled with the image and encoded by
  `shared.vision.centernet.encode_targets` inside `Dataset.map`;
- `sign_dataset`: (crop, class id); GTSRB ROIs are cropped before resizing.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE


def _decode_rgb(path):
    return tf.io.decode_image(tf.io.read_file(path), channels=3, dtype=tf.uint8, expand_animations=False)


def to_model_image(image, height: int, width: int):
    """uint8 [h, w, 3] -> float32 [height, width, 3] in [0, 1] (bilinear, antialiased when shrinking)."""
    image = tf.image.resize(tf.cast(image, tf.float32) / 255.0, (height, width), method="bilinear", antialias=True)
    return tf.clip_by_value(image, 0.0, 1.0)


def segmentation_dataset(height: int, width: int, masks, *, images=None, image_paths=None):
    """Unbatched (image, label ids) pairs: images from arrays or files, masks (uint8 [n, height, width]) in memory.

    Label files are decoded once, when the data set is read
    (`sources.decode_label` maps ids, Cityscapes labelIds or colours and
    refuses unknown values), so the graph only resizes images.
    """
    if images is not None:
        ds = tf.data.Dataset.from_tensor_slices((images, masks))
    else:
        ds = tf.data.Dataset.from_tensor_slices((list(map(str, image_paths)), masks)).map(lambda p, m: (_decode_rgb(p), m), num_parallel_calls=AUTOTUNE)
    return ds.map(lambda image, mask: (to_model_image(image, height, width), tf.cast(mask, tf.int32)), num_parallel_calls=AUTOTUNE)


def resize_labels(ids: np.ndarray, height: int, width: int) -> np.ndarray:
    """Class ids [h, w] -> [height, width] by nearest neighbour (labels are never interpolated)."""
    from PIL import Image

    if ids.shape == (height, width):
        return np.asarray(ids, np.uint8)
    return np.asarray(Image.fromarray(np.asarray(ids, np.uint8)).resize((width, height), resample=Image.NEAREST))


def _ragged(rows: list[np.ndarray], width: int | None, dtype):
    lengths = [len(r) for r in rows]
    flat = np.concatenate([np.asarray(r, dtype).reshape(-1, *(() if width is None else (width,))) for r in rows]) if rows else np.zeros((0,), dtype)
    if width is not None and flat.size == 0:
        flat = flat.reshape(0, width)
    return tf.RaggedTensor.from_row_lengths(flat, lengths)


def detection_dataset(height: int, width: int, stride: int, num_classes: int, boxes: list[np.ndarray], labels: list[np.ndarray],
                      *, images=None, image_paths=None, source_sizes=None):
    """Unbatched (image, packed CenterNet targets) from arrays or files; boxes in each source image's pixels.

    `source_sizes` ([(height, width)] per file) rescales boxes from the
    file's size to the model's; arrays are taken to be at the model's size.
    """
    from shared.vision.centernet import encode_targets, pack_targets

    box_rows = _ragged(boxes, 4, np.float32)
    label_rows = _ragged(labels, None, np.int32)
    output_hw = (height // stride, width // stride)
    if images is not None:
        sizes = np.tile(np.array([[images.shape[1], images.shape[2]]], np.float32), (len(images), 1))
        ds = tf.data.Dataset.from_tensor_slices((images, sizes, box_rows, label_rows))
    else:
        sizes = np.asarray(source_sizes, np.float32).reshape(-1, 2)
        ds = tf.data.Dataset.from_tensor_slices((list(map(str, image_paths)), sizes, box_rows, label_rows)).map(
            lambda p, s, b, c: (_decode_rgb(p), s, b, c), num_parallel_calls=AUTOTUNE
        )

    def prepare(image, size, box, label):
        scale = tf.stack([width / size[1], height / size[0], width / size[1], height / size[0]])
        box = tf.cast(box, tf.float32) * scale
        targets = encode_targets(box, label, (height, width), output_hw, num_classes)
        return to_model_image(image, height, width), pack_targets(targets)

    return ds.map(prepare, num_parallel_calls=AUTOTUNE)


def sign_dataset(size: int, *, images=None, labels=None, paths=None, rois=None):
    """Unbatched (crop float32 [size, size, 3], class id) from arrays or files (cropped to their ROIs when given)."""
    labels = np.asarray(labels, np.int32)
    if images is not None:
        ds = tf.data.Dataset.from_tensor_slices((images, labels))
        return ds.map(lambda x, y: (to_model_image(x, size, size), y), num_parallel_calls=AUTOTUNE)
    if rois is None:
        ds = tf.data.Dataset.from_tensor_slices((list(map(str, paths)), labels))
        return ds.map(lambda p, y: (to_model_image(_decode_rgb(p), size, size), y), num_parallel_calls=AUTOTUNE)
    ds = tf.data.Dataset.from_tensor_slices((list(map(str, paths)), np.asarray(rois, np.int32), labels))

    def crop(path, roi, label):
        image = _decode_rgb(path)
        image = image[roi[1] : roi[3] + 1, roi[0] : roi[2] + 1]
        return to_model_image(image, size, size), label

    return ds.map(crop, num_parallel_calls=AUTOTUNE)


def _coins(batch_images, seed):
    """One left-right coin per example of a batch, broadcastable over [B, H, W, ...]."""
    return tf.random.uniform(tf.shape(batch_images)[:1], seed=seed) < 0.5


def mirror_segmentation(images, masks, seed: int | None = None):
    """A training batch with about half its scenes mirrored left-right, masks with them.

    Runs on batches after the cache and shuffle, so each epoch draws new
    coins. A mirrored road scene is still a road scene; a traffic-sign
    crop is not (its class may change), so the sign task never mirrors.
    """
    coin = _coins(images, seed)
    return tf.where(coin[:, None, None, None], images[:, :, ::-1], images), tf.where(coin[:, None, None], masks[:, :, ::-1], masks)


def mirror_detection(num_classes: int, seed: int | None = None):
    """A batch transform mirroring about half the images and their packed CenterNet targets.

    The heatmap, size and mask maps mirror as they are; a centre at
    `cell + offset` moves to cell `Wo - 1 - cell` with x offset `1 - offset`.
    """
    offset_x = num_classes + 2

    def mirror(images, targets):
        coin = _coins(images, seed)
        flipped = targets[:, :, ::-1]
        centre = flipped[..., -1:] > 0
        channel = tf.range(tf.shape(targets)[-1]) == offset_x
        flipped = tf.where(centre & channel, 1.0 - flipped, flipped)
        return tf.where(coin[:, None, None, None], images[:, :, ::-1], images), tf.where(coin[:, None, None, None], flipped, targets)

    return mirror
