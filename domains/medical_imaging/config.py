"""Every config section of the medical tasks, and the schemas of what a run saves.

This module imports no TensorFlow or Keras, so that reading a config,
listing the domain and checking a run directory stay fast.

- `MedicalDataConfig`: the `data:` section (source, decoding, split);
- `TransferConfig`, `CNNConfig`, `UNetConfig` (+ `AugmentationConfig`): the
  `model:` section of each model type;
- `ClassifierEvaluationConfig`, `SegmentationEvaluationConfig`: `evaluation:`;
- `MedicalState`, `DecodingState`, `ClassifierMetrics`: what `predict`,
  `evaluate_file` and `explain` read back from a run directory.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, model_validator

from shared.config import Section
from shared.data.splits import SplitConfig
from shared.inputs.image import MAX_PIXELS
from shared.run_files import RunFile

CLASSES = ("normal", "nodule", "opacity")
IMAGE_SUFFIXES = (".dcm", ".jpeg", ".jpg", ".png")
MEDMNIST_SPLITS = {"train": "train", "val": "validation", "test": "test"}
# Class names published by MedMNIST (`medmnist.INFO[flag]["label"]`) for the
# flags the presets use; other flags get "0", "1", ... unless data.classes is set.
MEDMNIST_LABELS = {
    "pneumoniamnist": ("normal", "pneumonia"),
    "breastmnist": ("malignant", "normal, benign"),
}


class MedicalDataConfig(Section):
    """Where the images come from and how they are decoded and split (the `data:` section)."""

    source: Literal["auto", "synthetic", "folder", "manifest", "medmnist", "dicom"] = "auto"
    path: str | None = None  # None: synthetic (auto) or ~/.medmnist (medmnist)
    image_size: int = Field(64, ge=16, le=1024)
    channels: Literal[1, 3] = 1  # 3 repeats the grey channel for ImageNet backbones
    resize: Literal["pad", "stretch"] = "pad"
    classes: list[str] | None = None  # None: every class found, sorted; else these, in this order
    path_column: str = "path"
    label_column: str = "label"
    patient_column: str = "patient_id"
    mask_column: str = "mask_path"  # manifests: optional lesion-mask image per row, for segmentation
    window_center: float | None = None  # None: the DICOM file's window, else min-max
    window_width: float | None = Field(None, ge=1)
    verify: Literal["header", "decode"] = "decode"
    # Largest image decoded (width x height; a DICOM's Rows x Columns), read from the header first.
    max_pixels: int = Field(MAX_PIXELS, ge=1)
    # None: MedMNIST's official splits, else as `auto`: by patient when every image has a patient id,
    # else stratified random (`splits.choose_split` records which and why).
    split: SplitConfig | None = None
    limit: int | None = Field(None, ge=1)  # labelled training images kept
    synthetic_images: int = Field(2400, ge=50)
    synthetic_seed: int = 0
    medmnist_flag: str = "pneumoniamnist"
    # Images per shard file written by `dlsuite data pack`.
    rows_per_shard: int = Field(1024, ge=1)
    # Checksum every shard of a packed data set before training from it.
    verify_shards: bool = True

    @model_validator(mode="after")
    def _window_pair(self):
        if (self.window_center is None) != (self.window_width is None):
            raise ValueError(
                "set both window_center and window_width, or neither. "
                f"Received: window_center={self.window_center}, window_width={self.window_width}"
            )
        return self



# --- model: one section per model type ---------------------------------------------


class AugmentationConfig(Section):
    enabled: bool = True
    flip: bool = True
    rotation: float = Field(0.05, ge=0, le=0.5)  # fraction of a full turn
    zoom: float = Field(0.1, ge=0, lt=1)
    contrast: float = Field(0.2, ge=0, lt=1)


class TransferConfig(Section):
    type: Literal["transfer"] = "transfer"
    handle: str = "dlsuite/fashion-cnn-64"  # a registry name (`dlsuite hub list`), URL or SavedModel folder
    input_size: int | None = Field(None, ge=16)  # None: from the registry entry of `handle`
    input_channels: Literal[1, 3] = 3  # what the backbone takes; grey images are repeated to 3
    endpoint: str | None = "auto"  # auto: "feature_maps" (spatial, for Grad-CAM) where the backbone exports it
    dropout: float = Field(0.3, ge=0, lt=1)
    pooling: Literal["max", "avg"] = "max"  # max: a small lesion anywhere decides
    head_epochs: int = Field(4, ge=0)
    fine_tune_epochs: int = Field(6, ge=0)
    fine_tune_from: int | None = -6  # the top part: the last N backbone variables
    fine_tune_learning_rate_scale: float = Field(0.1, gt=0, le=1)
    augmentation: AugmentationConfig = AugmentationConfig()


class CNNConfig(Section):
    type: Literal["cnn"] = "cnn"
    filters: list[int] = Field(default_factory=lambda: [16, 32, 64, 128], min_length=1)
    residual: bool = True
    pooling: Literal["max", "avg"] = "max"
    dropout: float = Field(0.3, ge=0, lt=1)
    l2: float = Field(1e-4, ge=0)
    augmentation: AugmentationConfig = AugmentationConfig()


class UNetConfig(Section):
    type: Literal["unet"] = "unet"
    filters: list[int] = Field(default_factory=lambda: [16, 32, 64], min_length=2)
    dropout: float = Field(0.1, ge=0, lt=1)
    dice_weight: float = Field(1.0, ge=0)


# --- evaluation ----------------------------------------------------------------------


class ClassifierEvaluationConfig(Section):
    normal_class: str = "normal"
    target_sensitivity: float = Field(0.9, gt=0, lt=1)  # for the abnormal-vs-normal operating point
    calibration_bins: int = Field(10, ge=2, le=50)
    compare_from_scratch: bool = True  # pretrained models: also train the backbone's architecture from random weights
    gradcam_examples: int = Field(8, ge=0, le=32)


class SegmentationEvaluationConfig(Section):
    threshold: float = Field(0.5, gt=0, lt=1)
    overlay_examples: int = Field(8, ge=0, le=32)


# --- what a run saves ------------------------------------------------------------------


class DecodingState(BaseModel):
    """How the run decoded its images (the `data` keys `decode_inputs` applies to new images)."""

    model_config = ConfigDict(extra="forbid")

    image_size: StrictInt = Field(ge=16, le=1024)
    channels: Literal[1, 3]
    resize: Literal["pad", "stretch"]
    window_center: StrictFloat | None = None
    window_width: StrictFloat | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _window_pair(self):
        if (self.window_center is None) != (self.window_width is None):
            raise ValueError(f"set both window_center and window_width, or neither. Received: window_center={self.window_center}, window_width={self.window_width}")
        return self


DECODING_KEYS = set(DecodingState.model_fields)


class MedicalState(RunFile):
    """`task_state` of the medical runs: class names, image size and decoding."""

    classes: list[StrictStr] = Field(min_length=1)
    image_size: StrictInt = Field(ge=16, le=1024)
    channels: Literal[1, 3]
    decoding: DecodingState


class ScreeningMetrics(RunFile):
    threshold: StrictFloat


class ClassifierMetrics(RunFile):
    """The part of `metrics.json` that predict reads back: the screening operating point."""

    screening: ScreeningMetrics | None = None
