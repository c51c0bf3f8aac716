"""The driving domain's offline backbone: its data is held out from the demo data, its labels are coarser, and the committed build loads."""

import json

import numpy as np

from domains.driving import backbone
from domains.driving.classes import SEGMENTATION_NAMES
from domains.driving.synthetic import _scene_seeds, render_scene
from shared.hub import HubBackbone, handles
from shared.hub.offline import METADATA_FILE, get_recipe
from shared.hub.offline_dense import DENSE_PRETRAINING_DATA
from shared.hub.registry import HUB_MODELS

COMMITTED = handles.LOCAL_HUB_DIR / "road-scenes-cnn"


def test_every_class_has_a_category_and_both_tables_agree():
    table = backbone.category_lookup()
    assert set(backbone.CLASS_CATEGORY) == set(SEGMENTATION_NAMES)
    for class_id, name in enumerate(SEGMENTATION_NAMES):
        assert backbone.CATEGORIES[table[class_id]] == backbone.CLASS_CATEGORY[name]
    assert (table[len(SEGMENTATION_NAMES):] == 255).all()  # ignore stays ignore
    assert len(set(table[: len(SEGMENTATION_NAMES)])) == len(backbone.CATEGORIES) < len(SEGMENTATION_NAMES)


def test_pretraining_seeds_avoid_the_demo_streams():
    seeds = backbone.pretraining_seeds(500)
    assert len(seeds) == len(set(seeds.tolist())) == 500
    for stream in backbone.RESERVED_STREAMS:
        assert not np.isin(seeds, _scene_seeds(backbone.RESERVED_SCENES, stream)).any()
    np.testing.assert_array_equal(seeds, backbone.pretraining_seeds(500))  # deterministic


def test_loader_renders_category_masks_at_the_recipe_size():
    recipe = get_recipe(backbone.NAME)
    splits = DENSE_PRETRAINING_DATA.get(backbone.DATASET).load(recipe, 3)
    assert splits.train_images.shape == splits.test_images.shape == (3, 96, 160, 3)
    first = render_scene(int(backbone.pretraining_seeds(1)[0]), 96, 160)
    np.testing.assert_array_equal(splits.train_images[0], first.image)
    np.testing.assert_array_equal(splits.train_labels[0], backbone.category_lookup()[first.mask])
    assert splits.train_labels.max() < len(backbone.CATEGORIES)


def test_registry_record_matches_the_recipe():
    recipe = get_recipe("road-scenes-cnn")
    record = HUB_MODELS.get(backbone.NAME)
    assert record.input.shape == (recipe.image_height, recipe.image_width, 3)
    assert record.output_dim == recipe.feature_dim and record.local_dir == "data/hub/road-scenes-cnn"


def test_committed_backbone_loads_with_its_feature_maps():
    metadata = json.loads((COMMITTED / METADATA_FILE).read_text())
    assert metadata["fingerprint"] == handles.fingerprint(COMMITTED)
    assert metadata["pretraining"]["classes"] == list(backbone.CATEGORIES)
    assert metadata["pretraining"]["test_miou"] > 0.6
    images = np.random.default_rng(0).random((2, 96, 160, 3), dtype="float32")
    assert np.asarray(HubBackbone(backbone.NAME, endpoint="feature_maps")(images)).shape == (2, 6, 10, 128)
    assert np.asarray(HubBackbone(backbone.NAME)(images)).shape == (2, 128)


def test_cli_lists_the_domain_backbone(capsys):
    from shared.cli.main import main

    assert main(["hub", "list"]) == 0
    out = capsys.readouterr().out
    assert "dlsuite/road-scenes-cnn (image, 128-d): data/hub/road-scenes-cnn [" in out
