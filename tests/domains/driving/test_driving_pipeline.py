"""The driving pipelines: mirroring keeps masks and CenterNet targets consistent with the mirrored images."""

import numpy as np
import tensorflow as tf

from domains.driving.pipeline import mirror_detection, mirror_segmentation
from shared.vision.centernet import encode_targets, pack_targets

H, W, STRIDE, C = 32, 48, 4, 3


def _packed(boxes, labels):
    return pack_targets(encode_targets(tf.constant(boxes, tf.float32), tf.constant(labels), (H, W), (H // STRIDE, W // STRIDE), C))


def test_mirrored_targets_equal_the_targets_of_mirrored_boxes():
    boxes = np.array([[3.3, 5.1, 14.7, 20.2], [25.6, 2.2, 41.3, 12.9]], np.float32)  # centres off the cell grid
    labels = [0, 2]
    mirrored_boxes = np.stack([W - boxes[:, 2], boxes[:, 1], W - boxes[:, 0], boxes[:, 3]], axis=1)
    images = tf.random.stateless_uniform((16, H, W, 3), seed=(1, 2))
    targets = tf.stack([_packed(boxes, labels)] * 16)
    out_images, out_targets = mirror_detection(C, seed=3)(images, targets)
    flipped = np.flatnonzero(np.any(out_images.numpy() != images.numpy(), axis=(1, 2, 3)))
    assert 0 < len(flipped) < 16  # about half, by a seeded coin
    expected = _packed(mirrored_boxes, labels).numpy()
    for i in range(16):
        if i in flipped:
            np.testing.assert_allclose(out_images[i], images[i].numpy()[:, ::-1])
            np.testing.assert_allclose(out_targets[i], expected, atol=1e-5)
        else:
            np.testing.assert_allclose(out_targets[i], targets[i])


def test_mirrored_masks_follow_their_images():
    images = tf.random.stateless_uniform((8, H, W, 3), seed=(4, 5))
    masks = tf.cast(tf.random.stateless_uniform((8, H, W), seed=(6, 7), maxval=10, dtype=tf.int32), tf.int32)
    out_images, out_masks = mirror_segmentation(images, masks, seed=1)
    for i in range(8):
        same = np.array_equal(out_images[i], images[i])
        np.testing.assert_array_equal(out_masks[i], masks[i] if same else masks[i].numpy()[:, ::-1])
