import keras
import numpy as np
import pytest

from shared.training.losses import ClassWeightedDiceCrossEntropy


def _probs(labels, num_classes, confidence=0.9):
    off = (1 - confidence) / (num_classes - 1)
    out = np.full((*labels.shape, num_classes), off, "float32")
    np.put_along_axis(out, np.clip(labels, 0, num_classes - 1)[..., None], confidence, axis=-1)
    return out


def test_matches_a_reference_cross_entropy_with_weights_and_ignore():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, (2, 4, 5))
    labels[0, 0, :2] = 255
    probs = rng.dirichlet(np.ones(3), (2, 4, 5)).astype("float32")
    weights = [1.0, 2.0, 0.5]
    loss = ClassWeightedDiceCrossEntropy(3, class_weights=weights, dice_weight=0.0, reduction=None)
    got = keras.ops.convert_to_numpy(loss(labels, probs))
    for i in range(2):
        keep = labels[i] != 255
        lab, p = labels[i][keep], probs[i][keep]
        w = np.array(weights)[lab]
        expected = (w * -np.log(p[np.arange(len(lab)), lab])).sum() / w.sum()
        np.testing.assert_allclose(got[i], expected, rtol=1e-5)


def test_ignored_pixels_do_not_change_the_loss():
    labels = np.array([[[0, 1, 1, 2]]])
    probs = _probs(labels, 3)
    base = float(ClassWeightedDiceCrossEntropy(3)(labels, probs))
    ignored = labels.copy()
    ignored[0, 0, 0] = 255
    wrong = probs.copy()
    wrong[0, 0, 0] = [0.0, 0.0, 1.0]  # a confident mistake on a pixel that no longer counts
    assert float(ClassWeightedDiceCrossEntropy(3)(ignored, wrong)) < base + 0.5
    assert np.isfinite(float(ClassWeightedDiceCrossEntropy(3)(np.full((1, 2, 2), 255), _probs(np.zeros((1, 2, 2), int), 3))))


def test_dice_term_rewards_the_rare_class():
    labels = np.zeros((1, 10, 10), int)
    labels[0, 0, 0] = 1  # one pixel of a rare class
    missed = _probs(np.zeros_like(labels), 2, 0.99)
    found = missed.copy()
    found[0, 0, 0] = [0.01, 0.99]
    loss = ClassWeightedDiceCrossEntropy(2, dice_weight=1.0, smooth=1e-3)
    assert float(loss(labels, missed)) - float(loss(labels, found)) > 0.3


def test_config_round_trip_and_bad_arguments():
    loss = ClassWeightedDiceCrossEntropy(3, class_weights=[1, 2, 3], dice_weight=0.5)
    again = ClassWeightedDiceCrossEntropy.from_config(loss.get_config())
    assert again.class_weights == [1.0, 2.0, 3.0] and again.dice_weight == 0.5
    with pytest.raises(ValueError, match="num_classes"):
        ClassWeightedDiceCrossEntropy(1)
    with pytest.raises(ValueError, match="class_weights"):
        ClassWeightedDiceCrossEntropy(3, class_weights=[1, 2])
