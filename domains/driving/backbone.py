"""The driving domain's offline TF Hub backbone, `dlsuite/road-scenes-cnn`.

Without internet there is no ImageNet or Cityscapes backbone to download,
and the suite's Fashion-MNIST backbone (grey 64 x 64 clothing) gives a road
scene nothing. So the domain pretrains its own, the way perception teams
pretrain on simulator output before fine-tuning on their data:

- data: road scenes from the procedural renderer (`synthetic.py`), drawn
  from a seed stream of their own and filtered so that no scene seed is one
  that the demo data (`data.synthetic_seed` 0) or the example files use;
- labels: the seven Cityscapes *categories* (flat, construction, object,
  nature, sky, human, vehicle), not the ten classes the segmentation task
  learns: the backbone never sees road told from sidewalk or lane
  marking, nor a sign told from a traffic light;
- task: dense prediction through a small decoder that is thrown away
  (`shared.hub.offline_dense`); the export is the encoder only, with a
  stride-16 `feature_maps` endpoint (6 x 10 x 128 for a 96 x 160 frame).

Build it with `dlsuite hub build road-scenes-cnn` (about 15 minutes on two
CPU cores); the built SavedModel ships in `data/hub/road-scenes-cnn/`. With
internet, a backbone pretrained on real driving imagery (a Cityscapes or
BDD100K encoder on tfhub.dev or Kaggle Models) is the better choice:
`--set model.handle=<url> --set model.input_size=[h, w]`.
"""

from __future__ import annotations

import numpy as np

from domains.driving.classes import SEGMENTATION_NAMES
from shared.hub.offline import RECIPES
from shared.hub.offline_dense import DENSE_PRETRAINING_DATA, IGNORE_LABEL, DenseBackboneRecipe, DensePretrainingData, DenseSplits
from shared.hub.registry import HUB_MODELS, HubModel, InputSpec

NAME = "dlsuite/road-scenes-cnn"
DATASET = "road_scene_categories"
PRETRAINING_SEED = 20_261_204  # the seed stream of the pretraining scenes
RESERVED_STREAMS = (0, 31_337)  # the demo data's default synthetic_seed and the example files' DEMO_SEED
RESERVED_SCENES = 100_000  # scene seeds of each reserved stream that pretraining never renders

# Cityscapes categories (cityscapesScripts helpers/labels.py) of the segmentation classes.
CATEGORIES: tuple[str, ...] = ("flat", "construction", "object", "nature", "sky", "human", "vehicle")
CLASS_CATEGORY: dict[str, str] = {
    "road": "flat", "sidewalk": "flat", "lane_marking": "flat",
    "building": "construction",
    "traffic_sign": "object", "traffic_light": "object",
    "vegetation": "nature",
    "sky": "sky",
    "pedestrian": "human",
    "vehicle": "vehicle",
}


def category_lookup() -> np.ndarray:
    """A 256-entry table: segmentation class id -> category id, everything else -> 255."""
    table = np.full(256, IGNORE_LABEL, np.uint8)
    for class_id, name in enumerate(SEGMENTATION_NAMES):
        table[class_id] = CATEGORIES.index(CLASS_CATEGORY[name])
    return table


def pretraining_seeds(n: int) -> np.ndarray:
    """`n` scene seeds from the pretraining stream, none of them a seed of the reserved streams."""
    from domains.driving.synthetic import _scene_seeds

    reserved = np.concatenate([_scene_seeds(RESERVED_SCENES, s) for s in RESERVED_STREAMS])
    seeds = _scene_seeds(n + 64, PRETRAINING_SEED)
    seeds = seeds[~np.isin(seeds, reserved)]
    while len(seeds) < n:  # practically never: 64 spare seeds against a 2**31 range
        seeds = np.concatenate([seeds, _scene_seeds(n, int(seeds[-1]))])
        seeds = seeds[~np.isin(seeds, reserved)]
    return seeds[:n]


def load_scene_categories(recipe: DenseBackboneRecipe, limit: int | None) -> DenseSplits:
    """Render the pretraining scenes and their category masks (train first, then test)."""
    from domains.driving.synthetic import render_scene
    from shared.progress import track

    n_train = min(recipe.train_images, limit or recipe.train_images)
    n_test = min(recipe.test_images, limit or recipe.test_images)
    seeds = pretraining_seeds(n_train + n_test)
    h, w = recipe.image_height, recipe.image_width
    images = np.zeros((len(seeds), h, w, 3), np.uint8)
    labels = np.zeros((len(seeds), h, w), np.uint8)
    table = category_lookup()
    for i, seed in enumerate(track(seeds, "rendering pretraining scenes", total=len(seeds), unit="scene")):
        scene = render_scene(int(seed), h, w)
        images[i], labels[i] = scene.image, table[scene.mask]
    return DenseSplits(images[:n_train], labels[:n_train], images[n_train:], labels[n_train:])


DENSE_PRETRAINING_DATA.register(
    DATASET,
    DensePretrainingData(
        title="procedural road scenes, Cityscapes categories",
        load=load_scene_categories,
        classes=CATEGORIES,
        source="the driving domain's procedural renderer (domains/driving/synthetic.py), synthetic; "
        f"scene seeds from stream {PRETRAINING_SEED}",
        held_out=f"train and test scenes have distinct seeds; none is among the first {RESERVED_SCENES} scene seeds of "
        f"streams {', '.join(map(str, RESERVED_STREAMS))} (the demo data's default and the example files); "
        "labels are the 7 Cityscapes categories, coarser than the 10 classes fine-tuned on",
    ),
)
RECIPES.register(NAME, DenseBackboneRecipe(NAME, dataset=DATASET, train_images=8000, test_images=600, epochs=15))
HUB_MODELS.register(
    NAME,
    HubModel(
        name=NAME,
        task="image",
        handle=NAME,
        local_dir="data/hub/road-scenes-cnn",
        input=InputSpec((96, 160, 3), "float32", (0.0, 1.0), "RGB channels last, 96x160 (height x width) fixed; other frames are resized to it"),
        output_dim=128,
        output="(batch, 128) feature vector from __call__ (global average pooling); "
        "endpoint='feature_maps' gives the (batch, 6, 10, 128) stride-16 map",
        notes="the driving domain's own small ResNet, pretrained by segmenting synthetic road scenes into the 7 Cityscapes "
        "categories (`dlsuite hub build road-scenes-cnn`); the offline stand-in for a backbone pretrained on driving "
        "imagery; synthetic scenes only, so expect a domain gap on real camera frames",
    ),
)
