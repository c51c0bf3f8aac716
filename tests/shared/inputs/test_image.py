"""shared.inputs.image: Pillow and native tf.data decoding agree; bad files are one line."""

import numpy as np
import pytest
from PIL import Image

from shared.errors import DataError
from shared.inputs.image import check_image, fit_to_square, native_decodable, open_image, read_grey, tf_read_image


def _pictures(tmp_path):
    rng = np.random.default_rng(0)
    smooth = np.add.outer(np.linspace(0, 200, 48), np.linspace(0, 55, 80)).astype(np.uint8)  # 48 x 80: padded
    files = {
        "grey.png": Image.fromarray(smooth),
        "rgb.png": Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)),
        "rgba.png": Image.fromarray(rng.integers(0, 256, (70, 30, 4), dtype=np.uint8)),
        "palette.png": Image.fromarray(smooth).convert("P"),
        "same_size.png": Image.fromarray(rng.integers(0, 256, (32, 32), dtype=np.uint8)),
        "photo.jpg": Image.fromarray(np.stack([smooth, smooth[::-1], smooth], -1)),
    }
    for name, image in files.items():
        image.save(tmp_path / name, quality=95) if name.endswith(".jpg") else image.save(tmp_path / name)
    return [tmp_path / name for name in files]


@pytest.mark.parametrize("resize", ["pad", "stretch"])
def test_native_decoding_matches_pillow(tmp_path, resize):
    size = 32
    for path in _pictures(tmp_path):
        assert native_decodable(path), path
        python = fit_to_square(read_grey(path), size, resize)
        native = tf_read_image(str(path), size, 1, resize).numpy()[..., 0]
        assert native.shape == python.shape == (size, size)
        # Same padding, same grey levels; only the bilinear filters differ slightly when resizing.
        assert np.abs(native - python).mean() < 0.01, path.name
        assert np.abs(native - python).max() < 0.1, path.name
        if path.name == "same_size.png":
            np.testing.assert_allclose(native, python, atol=1e-6)
    rgb = tf_read_image(str(tmp_path / "grey.png"), size, 3, "pad").numpy()
    assert rgb.shape == (size, size, 3) and np.array_equal(rgb[..., 0], rgb[..., 2])


def test_sixteen_bit_png_is_not_native_and_keeps_its_range(tmp_path):
    ramp = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    assert not native_decodable(tmp_path / "deep.png")
    np.testing.assert_allclose(read_grey(tmp_path / "deep.png"), ramp / 65535.0, atol=1e-6)


def test_bad_files_are_one_line(tmp_path):
    (tmp_path / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(DataError, match="truncated or corrupt|not a readable") as excinfo:
        read_grey(tmp_path / "junk.png")
    assert "\n" not in str(excinfo.value)
    assert not native_decodable(tmp_path / "junk.png")
    Image.fromarray(np.zeros((100, 100), np.uint8)).save(tmp_path / "big.png")
    with pytest.raises(DataError, match=r"100 x 100 = 10,000 pixels, over the limit of 9,999 \(data.max_pixels\)"):
        open_image(tmp_path / "big.png", max_pixels=9_999)
    (tmp_path / "cut.png").write_bytes((tmp_path / "big.png").read_bytes()[:-12])
    with pytest.raises(DataError, match="PNG end chunk is missing"):
        check_image(tmp_path / "cut.png")
