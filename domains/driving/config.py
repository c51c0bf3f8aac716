"""Every config section of the driving tasks, and the schemas of what a run saves.

Imports no TensorFlow or Keras, so that reading a config, listing the domain
and checking a run directory stay fast.

- `DrivingDataConfig`: the `data:` section (source, format, image size, split);
- `DeepLabConfig`, `UNetConfig` (segmentation), `CenterNetConfig`
  (detection), `SignTransferConfig`, `SignCNNConfig` (signs): the `model:`
  section of each model type, with `PhotometricConfig` / `SignAugmentConfig`;
- `SegmentationEvaluationConfig`, `DetectionEvaluationConfig`,
  `SignEvaluationConfig`: `evaluation:`;
- `DrivingState`: what `predict`, `evaluate_file` and `explain` read back.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictInt, StrictStr, field_validator, model_validator

from shared.config import Section
from shared.data.splits import SplitConfig
from shared.inputs.image import MAX_PIXELS
from shared.run_files import RunFile

OFFLINE_BACKBONE = "dlsuite/fashion-cnn-64"  # sign crops: small, object-centred images
ROAD_BACKBONE = "dlsuite/road-scenes-cnn"  # whole frames: segmentation and detection (domains/driving/backbone.py)
FORMATS = ("auto", "synthetic", "cityscapes", "segmentation_folder", "coco", "kitti", "voc", "gtsrb", "class_folders")


class DrivingDataConfig(Section):
    """Where the images come from, how they are read and how they are split (the `data:` section)."""

    path: str | None = None  # None: the synthetic road scenes
    format: Literal[FORMATS] = "auto"  # auto: detected from the layout (`sources.detect_format`)
    label_format: Literal["auto", "ids", "palette", "cityscapes"] = "auto"  # segmentation label PNGs
    image_dir: str | None = None  # COCO: the folder its file_names are relative to (default: beside the JSON)
    image_height: int = Field(96, ge=32, le=1024, multiple_of=16)
    image_width: int = Field(160, ge=32, le=2048, multiple_of=16)
    sign_size: int = Field(32, ge=16, le=256)  # traffic-sign crops are resized to sign_size x sign_size
    mirror_scenes: bool = True  # segmentation and detection: mirror half the training scenes left-right each epoch (never sign crops)
    max_pixels: int = Field(MAX_PIXELS, ge=1)  # larger images (width x height) are refused before decoding
    split: SplitConfig = SplitConfig(type="random")
    synthetic_images: int = Field(600, ge=30)
    synthetic_seed: int = 0
    limit: int | None = Field(None, ge=10)  # keep this many labelled images (few-label experiments)

    @model_validator(mode="after")
    def _random_split(self):
        if self.split.type not in ("random", "auto"):
            raise ValueError(f"driving images are split at random (data.split.type: random). Received: {self.split.type!r}")
        return self


# --- model: one section per model type -----------------------------------------------


class PhotometricConfig(Section):
    """Training-only colour jitter: it keeps every pixel's label and every box in place."""

    enabled: bool = True
    brightness: float = Field(0.2, ge=0, lt=1)
    contrast: float = Field(0.2, ge=0, lt=1)


class TransferBackbone(Section):
    """The TF Hub backbone and its two training phases (head on a frozen backbone, then fine-tuning)."""

    handle: str = ROAD_BACKBONE  # registry name (`dlsuite hub list`), URL or SavedModel folder with a spatial endpoint
    input_size: int | list[int] | None = None  # side, or [height, width]; None: from the registry entry of `handle`
    endpoint: str | None = "feature_maps"
    head_epochs: int = Field(4, ge=0)
    fine_tune_epochs: int = Field(8, ge=0)
    fine_tune_from: int | None = None  # None: the whole backbone; -N: its top N variables
    fine_tune_learning_rate_scale: float = Field(0.3, gt=0, le=1)

    @field_validator("input_size")
    @classmethod
    def _input_size(cls, value):
        sizes = [value] if isinstance(value, int) else value
        if sizes is not None and (len(sizes) not in (1, 2) or any(isinstance(v, bool) or v < 16 for v in sizes)):
            raise ValueError(f"input_size must be a side or [height, width] of at least 16 pixels, received {value!r}")
        return value


class DeepLabConfig(TransferBackbone):
    type: Literal["deeplab"] = "deeplab"
    aspp_filters: int = Field(64, ge=4)
    rates: list[int] = Field(default_factory=lambda: [1, 2, 3], min_length=1)
    low_level_filters: list[int] = Field(default_factory=lambda: [16, 32], min_length=2, max_length=2)  # the stride-4 detail branch
    decoder_filters: int = Field(64, ge=4)
    dropout: float = Field(0.1, ge=0, lt=1)
    dice_weight: float = Field(1.0, ge=0)
    class_weighting: Literal["none", "inverse_sqrt_frequency"] = "inverse_sqrt_frequency"
    augmentation: PhotometricConfig = PhotometricConfig()


class UNetConfig(Section):
    type: Literal["unet"] = "unet"
    filters: list[int] = Field(default_factory=lambda: [16, 32, 64, 96], min_length=2)
    dropout: float = Field(0.1, ge=0, lt=1)
    l2: float = Field(0.0, ge=0)
    dice_weight: float = Field(1.0, ge=0)
    class_weighting: Literal["none", "inverse_sqrt_frequency"] = "inverse_sqrt_frequency"
    augmentation: PhotometricConfig = PhotometricConfig()


class CenterNetConfig(TransferBackbone):
    type: Literal["centernet"] = "centernet"
    low_level_filters: list[int] = Field(default_factory=lambda: [16, 32], min_length=2, max_length=2)
    neck_filters: int = Field(64, ge=4)
    head_filters: int = Field(64, ge=4)
    size_weight: float = Field(0.1, ge=0)
    offset_weight: float = Field(1.0, ge=0)
    augmentation: PhotometricConfig = PhotometricConfig()


class SignAugmentConfig(Section):
    """Geometric and colour augmentation that keeps a sign's meaning: no horizontal flip (turn_left would become turn_right)."""

    enabled: bool = True
    rotation: float = Field(0.03, ge=0, le=0.1)  # fraction of a full turn (0.03 ~ 11 degrees)
    zoom: float = Field(0.15, ge=0, lt=1)
    translation: float = Field(0.1, ge=0, lt=0.5)
    contrast: float = Field(0.3, ge=0, lt=1)
    brightness: float = Field(0.2, ge=0, lt=1)


class SignTransferConfig(TransferBackbone):
    type: Literal["transfer"] = "transfer"
    handle: str = OFFLINE_BACKBONE
    endpoint: str | None = None  # the pooled feature vector
    dropout: float = Field(0.3, ge=0, lt=1)
    augmentation: SignAugmentConfig = SignAugmentConfig()


class SignCNNConfig(Section):
    type: Literal["cnn"] = "cnn"
    filters: list[int] = Field(default_factory=lambda: [32, 64, 128], min_length=1)
    dropout: float = Field(0.3, ge=0, lt=1)
    l2: float = Field(1e-4, ge=0)
    augmentation: SignAugmentConfig = SignAugmentConfig()


# --- evaluation ------------------------------------------------------------------------


class SegmentationEvaluationConfig(Section):
    compare_from_scratch: bool = True
    bootstrap_resamples: int = Field(1000, ge=0)  # paired bootstrap of the transfer - scratch mIoU difference; 0: off
    overlay_examples: int = Field(6, ge=0, le=32)


class DetectionEvaluationConfig(Section):
    compare_from_scratch: bool = True
    bootstrap_resamples: int = Field(200, ge=0)  # paired bootstrap of the transfer - scratch mAP difference; 0: off
    score_threshold: float = Field(0.05, ge=0, lt=1)  # detections kept for mAP (low: mAP integrates over scores)
    display_threshold: float = Field(0.3, gt=0, lt=1)  # boxes drawn by predict, the app and videos
    iou_threshold: float = Field(0.5, gt=0, lt=1)  # class-wise NMS
    max_detections: int = Field(50, ge=1, le=300)
    overlay_examples: int = Field(6, ge=0, le=32)


class SignEvaluationConfig(Section):
    compare_from_scratch: bool = True
    bootstrap_resamples: int = Field(1000, ge=0)  # paired bootstrap of the transfer - scratch accuracy difference; 0: off


# --- what a run saves ----------------------------------------------------------------


class DrivingState(RunFile):
    """`task_state` of the driving runs: class names and the input size."""

    classes: list[StrictStr] = Field(min_length=1)
    image_height: StrictInt = Field(ge=16)
    image_width: StrictInt = Field(ge=16)
    output_stride: StrictInt | None = None  # detection: input pixels per heatmap cell
