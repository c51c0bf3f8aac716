"""Dense-prediction pretraining (`shared.hub.offline_dense`) on a tiny dataset registered here."""

import json

import numpy as np
import pytest
import tensorflow_hub as hub

from shared.hub import HubBackbone
from shared.hub.offline import METADATA_FILE, RECIPES, build_backbone, build_feature_extractor, get_recipe
from shared.hub.offline_dense import DENSE_PRETRAINING_DATA, IGNORE_LABEL, DenseBackboneRecipe, DensePretrainingData, DenseSplits
from shared.hub.registry import HUB_MODELS, HubModel, InputSpec

NAME = "dlsuite/test-squares-dense"
BAD = "dlsuite/test-squares-bad"
H, W = 32, 48


def squares(recipe, limit, n=48, seed=0):
    """A bright square (label 1) on a dark background (label 0); its border pixels are ignored."""
    rng = np.random.default_rng(seed)
    n = min(n, limit or n)
    images = (rng.random((n, H, W, 3)) * 60).astype(np.uint8)
    labels = np.zeros((n, H, W), np.uint8)
    for i in range(n):
        y, x, s = rng.integers(0, H - 12), rng.integers(0, W - 12), rng.integers(8, 12)
        images[i, y : y + s, x : x + s] = 200
        labels[i, y : y + s, x : x + s] = 1
        labels[i, y, x : x + s] = IGNORE_LABEL
    half = n // 2
    return DenseSplits(images[:half], labels[:half], images[half:], labels[half:])


def bad_ids(recipe, limit):
    splits = squares(recipe, limit)
    splits.train_labels[0, 0, 0] = 7
    return splits


@pytest.fixture(autouse=True)
def registered(monkeypatch):
    """The two test recipes, registered for one test only (the registries are process-wide)."""
    for name, load in ((NAME, squares), (BAD, bad_ids)):
        monkeypatch.setitem(DENSE_PRETRAINING_DATA._items, name, DensePretrainingData("squares", load, ("background", "square"), "generated in the test", "a second draw"))
        recipe = DenseBackboneRecipe(name, dataset=name, image_height=H, image_width=W, stem_filters=8, stage_filters=(8, 16), decoder_filters=8, epochs=1, batch_size=8)
        monkeypatch.setitem(RECIPES._items, name, recipe)
        monkeypatch.setitem(HUB_MODELS._items, name, HubModel(name, "image", name, InputSpec((H, W, 3), "float32", (0.0, 1.0), "test"), 16, "test features"))


def test_extractor_is_the_recipes_encoder_with_its_stride():
    recipe = get_recipe(NAME)
    extractor = build_feature_extractor(recipe)
    assert extractor.input_shape == (None, H, W, 3) and extractor.output_shape == (None, 16)
    assert recipe.output_stride == 8
    assert extractor.get_layer("stage2").output.shape[1:] == (H // 8, W // 8, 16)


def test_build_exports_the_encoder_with_feature_maps(tmp_path, capsys):
    out = tmp_path / "squares"
    result = build_backbone(NAME, out_dir=out, epochs=2, verbose=0)
    err = capsys.readouterr().err
    assert "[1/5] load squares" in err and "pretraining test mIoU" in err and "[5/5] verify" in err
    metadata = json.loads((out / METADATA_FILE).read_text())
    assert metadata == json.loads(json.dumps(result.metadata))
    pre = metadata["pretraining"]
    assert pre["train_examples"] == pre["test_examples"] == 24
    assert set(pre["test_iou_per_class"]) == {"background", "square"} and 0 <= pre["test_miou"] <= 1
    assert metadata["output"]["feature_maps"] == [H // 8, W // 8, 16] and metadata["output"]["output_stride"] == 8
    assert result.summary == f"pretraining test mIoU {pre['test_miou']:.4f}"
    images = np.random.default_rng(1).random((2, H, W, 3), dtype="float32")
    loaded = hub.load(str(out))
    assert loaded.feature_maps(images, training=False).shape == (2, H // 8, W // 8, 16)
    np.testing.assert_allclose(np.asarray(HubBackbone(str(out), endpoint="feature_maps")(images)), loaded.feature_maps(images).numpy(), atol=1e-5)
    assert not any(v.name.startswith("decoder") for v in loaded.variables)  # the pretraining decoder is not exported


def test_limit_caps_each_split(tmp_path):
    result = build_backbone(NAME, out_dir=tmp_path / "few", epochs=1, limit=10, verbose=0)
    assert result.metadata["pretraining"]["train_examples"] == result.metadata["pretraining"]["test_examples"] == 5


def test_bad_labels_are_refused_before_training_and_nothing_is_written(tmp_path):
    out = tmp_path / "bad"
    with pytest.raises(ValueError, match=r"labels hold ids \[7\] outside 0\.\.1 and 255"):
        build_backbone(BAD, out_dir=out, verbose=0)
    assert not out.exists()


def test_a_dense_recipe_reads_no_data_folder(tmp_path):
    from shared.errors import ConfigError

    with pytest.raises(ConfigError, match="reads no --data folder"):
        build_backbone(NAME, out_dir=tmp_path / "x", data_dir=tmp_path)
