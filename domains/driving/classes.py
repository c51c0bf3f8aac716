"""The driving domain's class tables: one place that names every class, its id and its colour.

Segmentation classes follow the Cityscapes colour palette, with a lane-marking
class added (Cityscapes folds markings into `road`). Detection classes are the
objects a perception stack boxes. Sign classes are the traffic signs the demo
renderer draws; `turn_left`/`turn_right` and `keep_left`/`keep_right` are
mirror images of each other, which is why sign augmentation never flips
horizontally.

Real data sets use other ids and names. `CITYSCAPES_LABEL_IDS` maps
Cityscapes `*_labelIds.png` ids onto these classes, and `DETECTION_ALIASES`
maps KITTI, COCO and Pascal VOC object names; anything else becomes
`IGNORE_ID` (segmentation) or is dropped (detection), and the data loader
counts what it dropped in the run's provenance.
"""

from __future__ import annotations

from dataclasses import dataclass

IGNORE_ID = 255  # pixels no loss or metric counts (Cityscapes' "void")


@dataclass(frozen=True)
class SegmentationClass:
    id: int
    name: str
    color: tuple[int, int, int]


SEGMENTATION_CLASSES: tuple[SegmentationClass, ...] = (
    SegmentationClass(0, "road", (128, 64, 128)),
    SegmentationClass(1, "sidewalk", (244, 35, 232)),
    SegmentationClass(2, "building", (70, 70, 70)),
    SegmentationClass(3, "vegetation", (107, 142, 35)),
    SegmentationClass(4, "sky", (70, 130, 180)),
    SegmentationClass(5, "lane_marking", (255, 255, 255)),
    SegmentationClass(6, "vehicle", (0, 0, 142)),
    SegmentationClass(7, "pedestrian", (220, 20, 60)),
    SegmentationClass(8, "traffic_sign", (220, 220, 0)),
    SegmentationClass(9, "traffic_light", (250, 170, 30)),
)
SEGMENTATION_NAMES = tuple(c.name for c in SEGMENTATION_CLASSES)
PALETTE = {c.color: c.id for c in SEGMENTATION_CLASSES}

# Cityscapes labelIds (cityscapesScripts helpers/labels.py) -> our ids.
CITYSCAPES_LABEL_IDS: dict[int, int] = {
    7: 0,  # road
    8: 1,  # sidewalk
    11: 2,  # building
    21: 3,  # vegetation
    22: 3,  # terrain
    23: 4,  # sky
    19: 9,  # traffic light
    20: 8,  # traffic sign
    24: 7,  # person
    25: 7,  # rider
    26: 6,  # car
    27: 6,  # truck
    28: 6,  # bus
    31: 6,  # train
    32: 6,  # motorcycle
    33: 6,  # bicycle
}

DETECTION_CLASSES: tuple[str, ...] = ("vehicle", "pedestrian", "traffic_sign", "traffic_light")

# Object names of KITTI, COCO and Pascal VOC -> a DETECTION_CLASSES name (lower-cased keys).
DETECTION_ALIASES: dict[str, str] = {
    **{name: name for name in DETECTION_CLASSES},
    "car": "vehicle", "van": "vehicle", "truck": "vehicle", "bus": "vehicle", "tram": "vehicle",
    "motorcycle": "vehicle", "motorbike": "vehicle", "bicycle": "vehicle", "cyclist": "vehicle",
    "pedestrian": "pedestrian", "person": "pedestrian", "person_sitting": "pedestrian",
    "stop sign": "traffic_sign", "stop_sign": "traffic_sign", "traffic light": "traffic_light",
}

SIGN_CLASSES: tuple[str, ...] = (
    "stop", "yield", "no_entry", "priority_road", "turn_left", "turn_right",
    "keep_left", "keep_right", "ahead_only", "pedestrian_crossing",
)
# Pairs that swap under a horizontal flip.
MIRROR_PAIRS: tuple[tuple[str, str], ...] = (("turn_left", "turn_right"), ("keep_left", "keep_right"))
