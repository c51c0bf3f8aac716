import time

import numpy as np
import pandas as pd
import pytest
from scipy.ndimage import maximum_filter
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from domains.medical_imaging.config import CLASSES, MedicalDataConfig
from domains.medical_imaging.decoding import decode_path
from domains.medical_imaging.sources import load_images
from domains.medical_imaging.synthetic import generate_radiographs, write_synthetic_folder


@pytest.fixture(scope="module")
def radiographs():
    return generate_radiographs(2000, seed=0)


def test_same_seed_gives_identical_arrays_and_other_seed_differs():
    a = generate_radiographs(300, seed=5)
    b = generate_radiographs(300, seed=5)
    for left, right in zip(a, b):
        np.testing.assert_array_equal(left, right)
    assert not np.array_equal(a[0], generate_radiographs(300, seed=6)[0])


def test_shapes_dtypes_and_range(radiographs):
    images, labels, masks, patients = radiographs
    assert images.shape == (2000, 64, 64, 1) and images.dtype == np.float32
    assert labels.shape == (2000,) and labels.dtype == np.int32
    assert masks.shape == images.shape and masks.dtype == np.uint8
    assert patients.shape == (2000,)
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert set(np.unique(masks)) == {0, 1}
    assert set(labels) == set(range(len(CLASSES)))


def test_classes_roughly_balanced(radiographs):
    shares = np.bincount(radiographs[1], minlength=len(CLASSES)) / len(radiographs[1])
    assert shares.min() > 0.2 and shares.max() < 0.55, shares


def test_masks_non_empty_exactly_for_lesion_classes(radiographs):
    images, labels, masks, _ = radiographs
    has_lesion = masks.reshape(len(masks), -1).any(axis=1)
    np.testing.assert_array_equal(has_lesion, labels != CLASSES.index("normal"))
    # Lesions are brighter than a 3-pixel ring around them.
    ring = (maximum_filter(masks, size=(1, 7, 7, 1)) > 0) & (masks == 0)
    inside = (images * masks).sum(axis=(1, 2, 3)) / masks.sum(axis=(1, 2, 3)).clip(1)
    around = (images * ring).sum(axis=(1, 2, 3)) / ring.sum(axis=(1, 2, 3)).clip(1)
    brighter = inside > around
    assert brighter[labels == CLASSES.index("nodule")].mean() > 0.95
    assert brighter[labels == CLASSES.index("opacity")].mean() > 0.75


def test_patients_have_one_to_four_images_of_one_class(radiographs):
    _, labels, _, patients = radiographs
    per_patient = pd.Series(labels).groupby(patients).agg(["size", "nunique"])
    assert per_patient["size"].between(1, 4).all() and (per_patient["size"] > 1).mean() > 0.5
    assert (per_patient["nunique"] == 1).all()


def test_small_and_large_sizes_keep_lesion_masks():
    for size in (16, 128):
        images, labels, masks, _ = generate_radiographs(60, seed=2, image_size=size)
        assert images.shape[1:] == (size, size, 1)
        np.testing.assert_array_equal(masks.reshape(60, -1).any(axis=1), labels != 0)


def test_generates_2400_images_in_a_few_seconds():
    start = time.perf_counter()
    generate_radiographs(2400, seed=1)
    assert time.perf_counter() - start < 10.0


def test_learnable_from_pixels_but_not_from_brightness(radiographs):
    images, labels, _, patients = radiographs
    train = np.isin(patients, np.unique(patients)[::2])
    test = ~train
    chance = np.bincount(labels[test]).max() / test.sum()
    n = len(images)
    small = images[..., 0].reshape(n, 16, 4, 16, 4).mean(axis=(2, 4)).reshape(n, -1)
    standardised = (small - small.mean(1, keepdims=True)) / small.std(1, keepdims=True)
    brightness = np.stack([images.mean(axis=(1, 2, 3)), images.std(axis=(1, 2, 3))], axis=1)
    with threadpool_limits(1):  # BLAS oversubscription makes lbfgs crawl on small CI machines
        pixels_acc = LogisticRegression(C=0.1, max_iter=2000).fit(standardised[train], labels[train]).score(standardised[test], labels[test])
        brightness_acc = LogisticRegression().fit(brightness[train], labels[train]).score(brightness[test], labels[test])
    assert pixels_acc > chance + 0.08, (pixels_acc, chance)
    assert brightness_acc < chance + 0.05, (brightness_acc, chance)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="Received: n=5"):
        generate_radiographs(5)
    with pytest.raises(ValueError, match="image_size"):
        generate_radiographs(20, image_size=8)
    with pytest.raises(ValueError, match="fmt"):
        write_synthetic_folder("unused", 20, fmt="tiff")


@pytest.mark.parametrize("fmt, tolerance", [("png", 0.5 / 255 + 1e-6), ("dcm", 0.5 / 4095 + 1e-5)])
def test_written_folder_round_trips(tmp_path, fmt, tolerance):
    manifest = write_synthetic_folder(tmp_path, 24, seed=3, fmt=fmt)
    images, labels, _, patients = generate_radiographs(24, seed=3)
    table = pd.read_csv(manifest)
    assert list(table.columns) == ["path", "label", "patient_id"]
    assert list(table["label"]) == [CLASSES[i] for i in labels]
    assert list(table["patient_id"]) == list(patients)
    cfg = MedicalDataConfig()
    for row, image in zip(table.itertuples(), images):
        assert row.path.startswith(f"{row.label}/") and row.path.endswith(f".{fmt}")
        np.testing.assert_allclose(decode_path(tmp_path / row.path, cfg), image, atol=tolerance)
    loaded = load_images(MedicalDataConfig(path=str(tmp_path)))
    assert len(loaded) == 24 and loaded.provenance["format"] == ("DICOM folders" if fmt == "dcm" else "image folders")
