import numpy as np
import pytest

from shared.layers import IntensityNormalization


def images():
    rng = np.random.default_rng(0)
    base = rng.random((3, 6, 6, 1)).astype("float32")
    return base * np.array([1.0, 5.0, 0.1], "float32")[:, None, None, None] + np.array([0.0, 2.0, -1.0], "float32")[:, None, None, None]


def test_zscore_gives_each_image_zero_mean_unit_std():
    out = np.asarray(IntensityNormalization("zscore")(images()))
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(1, 2, 3)), 1, atol=1e-3)


def test_minmax_maps_each_image_to_unit_range_and_ignores_exposure():
    x = images()
    out = np.asarray(IntensityNormalization("minmax")(x))
    np.testing.assert_allclose(out.min(axis=(1, 2, 3)), 0, atol=1e-6)
    np.testing.assert_allclose(out.max(axis=(1, 2, 3)), 1, atol=1e-4)
    # The same picture at another exposure normalises to the same image.
    again = np.asarray(IntensityNormalization("minmax")(x[:1] * 3.0 + 0.5))
    np.testing.assert_allclose(again, out[:1], atol=1e-5)


def test_flat_image_stays_finite():
    out = np.asarray(IntensityNormalization()(np.ones((1, 4, 4, 1), "float32")))
    assert np.isfinite(out).all()


def test_bad_arguments():
    with pytest.raises(ValueError, match="Received: mode='median'"):
        IntensityNormalization("median")
    with pytest.raises(ValueError, match="Received: epsilon=0"):
        IntensityNormalization(epsilon=0)
