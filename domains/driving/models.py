"""Driving perception models, assembled from the shared layer library.

- `deeplab` (segmentation): DeepLabV3+ (`shared.vision.segmentation_heads`):
  ASPP on a TF Hub backbone's spatial feature map, fused with a stride-4
  detail branch; transfer learning in two phases (`backbone_phases`);
- `unet` (segmentation): a U-Net trained from scratch;
- `centernet` (detection): CenterNet heads (`shared.vision.detection_heads`)
  on the same backbone + detail fusion, output stride 4;
- `transfer` (signs): the backbone's pooled features + a classification head;
- `cnn` (signs): a small residual CNN from scratch.

Every model takes float32 RGB images in [0, 1] at the run's fixed size
(`data.state`). The backbone sees the image resized to its own input size
(96 x 160 for `dlsuite/road-scenes-cnn`, 64 x 64 for the sign crops'
`dlsuite/fashion-cnn-64`), so its coarse map carries context, and
the detail branch works at the image's resolution for edges and small
objects. Augmentation keeps labels valid: colour jitter only for masks and
boxes; rotation, zoom and shifts but never a horizontal flip for signs
(`turn_left` would become `turn_right`).

Each `build_*_twin` rebuilds a transfer model with the backbone's own
architecture from random weights (`shared.training.scratch_twin`), the
from-scratch control of the same size.
"""

from __future__ import annotations

import keras

from domains.driving.config import (
    CenterNetConfig,
    DeepLabConfig,
    PhotometricConfig,
    SignAugmentConfig,
    SignCNNConfig,
    SignTransferConfig,
    UNetConfig,
)
from shared.errors import ConfigError
from shared.hub import HubBackbone
from shared.layers import ClassificationHead, ConvBlock, ResidualBlock
from shared.layers.names import BACKBONE, FEATURE_MAP
from shared.vision.detection_heads import centernet_head
from shared.vision.segmentation_heads import deeplab_v3_plus, unet

OUTPUT_STRIDE = 4  # detection grid and the detail branch: input pixels per cell


def image_input(data, size: tuple[int, int] | None = None) -> keras.KerasTensor:
    height, width = size or (data.state["image_height"], data.state["image_width"])
    return keras.Input((height, width, 3), name="image")


def photometric(cfg: PhotometricConfig, name: str = "augment"):
    """Brightness and contrast jitter in training; identity at inference."""
    layers = []
    if cfg.enabled and cfg.brightness:
        layers.append(keras.layers.RandomBrightness(cfg.brightness, value_range=(0.0, 1.0)))
    if cfg.enabled and cfg.contrast:
        layers.append(keras.layers.RandomContrast(cfg.contrast, value_range=(0.0, 1.0)))
    return keras.Sequential(layers, name=name) if layers else keras.layers.Identity(name=name)


def sign_augmentation(cfg: SignAugmentConfig, name: str = "augment"):
    """Rotation, zoom, shifts and colour jitter, never a flip: the mirror of a left sign is a right sign."""
    layers = []
    if cfg.enabled:
        if cfg.rotation:
            layers.append(keras.layers.RandomRotation(cfg.rotation, fill_mode="reflect"))
        if cfg.zoom:
            layers.append(keras.layers.RandomZoom(cfg.zoom, fill_mode="reflect"))
        if cfg.translation:
            layers.append(keras.layers.RandomTranslation(cfg.translation, cfg.translation, fill_mode="reflect"))
        if cfg.contrast:
            layers.append(keras.layers.RandomContrast(cfg.contrast, value_range=(0.0, 1.0)))
        if cfg.brightness:
            layers.append(keras.layers.RandomBrightness(cfg.brightness, value_range=(0.0, 1.0)))
    return keras.Sequential(layers, name=name) if layers else keras.layers.Identity(name=name)


def backbone_size(cfg) -> tuple[int, int]:
    """The backbone's input (height, width), from the config or its hub registry entry."""
    from shared.hub.registry import HUB_MODELS

    if cfg.input_size:
        sizes = [cfg.input_size] if isinstance(cfg.input_size, int) else list(cfg.input_size)
        return int(sizes[0]), int(sizes[-1])
    entry = HUB_MODELS.get(cfg.handle) if cfg.handle in HUB_MODELS else None
    if entry is None or len(entry.input.shape) < 2 or not entry.input.shape[0] or not entry.input.shape[1]:
        raise ConfigError(f"config error at model.input_size: set it for the unregistered backbone {cfg.handle!r} (its input size is unknown)")
    return int(entry.input.shape[0]), int(entry.input.shape[1])


def _to_backbone(cfg, x):
    height, width = backbone_size(cfg)
    return keras.layers.Resizing(height, width, interpolation="bilinear", name="to_backbone_size")(x)


def _hub(cfg, x):
    """The pretrained backbone (frozen at first; `backbone_phases` unfreezes it)."""
    features = HubBackbone(cfg.handle, trainable=False, endpoint=cfg.endpoint, training_mode="inference", name=BACKBONE)(_to_backbone(cfg, x))
    if cfg.endpoint and len(features.shape) != 4:
        raise ConfigError(f"config error at model.endpoint: backbone {cfg.handle!r} endpoint {cfg.endpoint!r} gives no spatial feature map (shape {features.shape})")
    return features


def _twin_trunk(cfg, extractor, x, spatial: bool):
    """The backbone's architecture from random weights, tapped where the Hub backbone is."""
    from shared.hub.saved_model import last_spatial_output

    if spatial:
        trunk = keras.Model(extractor.inputs, last_spatial_output(extractor), name="scratch_backbone")
        return trunk(_to_backbone(cfg, x))
    return extractor(_to_backbone(cfg, x))


def _detail(x, filters):
    """Stride-4 detail branch on the full-resolution image: edges, lane markings, small objects."""
    x = ConvBlock(filters[0], strides=2, name="detail_stem")(x)
    return ConvBlock(filters[1], strides=2, name="detail_stage")(x)


def _scaled(x):
    return keras.layers.Rescaling(2.0, offset=-1.0, name="to_unit_range")(x)


# --- segmentation ----------------------------------------------------------------------


def _deeplab(cfg: DeepLabConfig, data, trunk) -> keras.Model:
    images = image_input(data)
    x = photometric(cfg.augmentation)(images)
    high = keras.layers.Identity(name=FEATURE_MAP)(trunk(cfg, x))
    low = _detail(_scaled(x), cfg.low_level_filters)
    size = (data.state["image_height"], data.state["image_width"])
    mask = deeplab_v3_plus(high, low, size, len(data.state["classes"]), cfg.aspp_filters, cfg.rates, cfg.low_level_filters[1], cfg.decoder_filters, cfg.dropout)
    return keras.Model(images, mask, name="deeplab_v3_plus")


def build_deeplab(cfg: DeepLabConfig, data) -> keras.Model:
    """DeepLabV3+ on the TF Hub backbone's spatial feature map."""
    return _deeplab(cfg, data, _hub)


def build_deeplab_twin(cfg: DeepLabConfig, data, extractor) -> keras.Model:
    return _deeplab(cfg, data, lambda c, x: _twin_trunk(c, extractor, x, spatial=True))


def build_unet(cfg: UNetConfig, data) -> keras.Model:
    """A U-Net from scratch, one softmax over the classes per pixel."""
    images = image_input(data)
    x = _scaled(photometric(cfg.augmentation)(images))
    return keras.Model(images, unet(x, cfg.filters, num_classes=len(data.state["classes"]), dropout=cfg.dropout, l2=cfg.l2), name="unet")


# --- detection -------------------------------------------------------------------------


def _centernet(cfg: CenterNetConfig, data, trunk) -> keras.Model:
    images = image_input(data)
    x = photometric(cfg.augmentation)(images)
    high = keras.layers.Identity(name=FEATURE_MAP)(trunk(cfg, x))
    low = _detail(_scaled(x), cfg.low_level_filters)
    grid = (int(low.shape[1]), int(low.shape[2]))
    context = keras.layers.Resizing(*grid, interpolation="bilinear", name="context_upsample")(ConvBlock(cfg.neck_filters, kernel_size=1, name="context_project")(high))
    x = keras.layers.Concatenate(name="neck_concat")([context, low])
    x = ConvBlock(cfg.neck_filters, name="neck_a")(x)
    x = ConvBlock(cfg.neck_filters, name="neck_b")(x)
    return keras.Model(images, centernet_head(x, len(data.state["classes"]), cfg.head_filters), name="centernet")


def build_centernet(cfg: CenterNetConfig, data) -> keras.Model:
    """CenterNet heads at output stride 4 on the Hub backbone + detail fusion."""
    return _centernet(cfg, data, _hub)


def build_centernet_twin(cfg: CenterNetConfig, data, extractor) -> keras.Model:
    return _centernet(cfg, data, lambda c, x: _twin_trunk(c, extractor, x, spatial=True))


# --- signs -----------------------------------------------------------------------------


def _sign_head(features, data, dropout):
    return ClassificationHead(len(data.state["classes"]), dropout=dropout, activation="softmax", name="probabilities")(features)


def _sign_transfer(cfg: SignTransferConfig, data, trunk) -> keras.Model:
    size = data.state["image_height"]
    images = image_input(data, (size, size))
    features = trunk(cfg, sign_augmentation(cfg.augmentation)(images))
    if len(features.shape) == 4:
        features = keras.layers.GlobalAveragePooling2D(name="pool")(keras.layers.Identity(name=FEATURE_MAP)(features))
    return keras.Model(images, _sign_head(features, data, cfg.dropout), name="sign_transfer")


def build_sign_transfer(cfg: SignTransferConfig, data) -> keras.Model:
    """The Hub backbone's features of a sign crop + a softmax head."""
    return _sign_transfer(cfg, data, _hub)


def build_sign_twin(cfg: SignTransferConfig, data, extractor) -> keras.Model:
    return _sign_transfer(cfg, data, lambda c, x: _twin_trunk(c, extractor, x, spatial=bool(c.endpoint)))


def build_sign_cnn(cfg: SignCNNConfig, data) -> keras.Model:
    """A residual CNN from scratch on sign crops."""
    size = data.state["image_height"]
    images = image_input(data, (size, size))
    x = _scaled(sign_augmentation(cfg.augmentation)(images))
    x = ConvBlock(cfg.filters[0], l2=cfg.l2, name="stem")(x)
    for i, f in enumerate(cfg.filters[1:]):
        x = ResidualBlock(f, strides=2, l2=cfg.l2, name=f"res_{i}")(x)
    features = keras.layers.GlobalAveragePooling2D(name="pool")(keras.layers.Identity(name=FEATURE_MAP)(x))
    return keras.Model(images, _sign_head(features, data, cfg.dropout), name="sign_cnn")
