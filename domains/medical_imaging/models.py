"""Medical imaging models, assembled from the shared layer library.

- `transfer`: a TF Hub backbone (the suite's offline backbone by default, any
  tfhub.dev / Kaggle handle by one config value) + a new head, trained in two
  phases: frozen backbone, then its top part at a lower learning rate;
- `cnn`: the same head on a convolutional network trained from scratch;
- `unet`: a U-Net for lesion segmentation, trained with a Dice loss.

Every classifier keeps a 4-D feature map in its graph (the layer named
`shared.layers.names.FEATURE_MAP`), so Grad-CAM works on all of them. Every
model takes `data.channels` input channels (`data.state["channels"]`): 1 for
grey images, 3 for grey repeated into RGB.
"""

from __future__ import annotations

import keras

from domains.medical_imaging.config import AugmentationConfig, CNNConfig, TransferConfig, UNetConfig
from shared.errors import ConfigError
from shared.hub import HubBackbone
from shared.layers import ClassificationHead, ConvBlock, IntensityNormalization, ResidualBlock
from shared.layers.names import BACKBONE, FEATURE_MAP
from shared.vision.segmentation_heads import unet

__all__ = ["AugmentationConfig", "CNNConfig", "TransferConfig", "UNetConfig", "build_cnn", "build_transfer", "build_unet"]


def augmentation(cfg: AugmentationConfig, name: str = "augment"):
    """Keras preprocessing layers; active only in training, identity at inference."""
    layers = []
    if cfg.enabled:
        if cfg.flip:
            layers.append(keras.layers.RandomFlip("horizontal"))
        if cfg.rotation:
            layers.append(keras.layers.RandomRotation(cfg.rotation, fill_mode="constant"))
        if cfg.zoom:
            layers.append(keras.layers.RandomZoom(cfg.zoom, fill_mode="constant"))
        if cfg.contrast:
            layers.append(keras.layers.RandomContrast(cfg.contrast, value_range=(0.0, 1.0)))
    if not layers:
        return keras.layers.Identity(name=name)
    return keras.Sequential(layers, name=name)


POOLING = {"max": keras.layers.GlobalMaxPooling2D, "avg": keras.layers.GlobalAveragePooling2D}


def _classifier_head(features, num_classes: int, dropout: float, pooling: str = "max"):
    pooled = POOLING[pooling](name="pool")(features)
    return ClassificationHead(num_classes, dropout=dropout, activation="softmax", name="probabilities")(pooled)


def backbone_settings(cfg: TransferConfig) -> tuple[int, str | None]:
    """Input size and endpoint of the backbone, from the config or the hub registry.

    Naming a registered model (`--set model.handle=mobilenet_v3_small`) is
    enough: its registry entry knows its input size, and only the suite's own
    backbones export the spatial `feature_maps` endpoint.
    """
    from shared.hub.registry import HUB_MODELS

    entry = HUB_MODELS.get(cfg.handle) if cfg.handle in HUB_MODELS else None
    size = cfg.input_size or (entry.input.shape[0] if entry and entry.input.shape and entry.input.shape[0] else None)
    if size is None:
        raise ConfigError(f"config error at model.input_size: set it for the unregistered backbone {cfg.handle!r} (its input size is unknown)")
    endpoint = cfg.endpoint
    if endpoint == "auto":
        endpoint = "feature_maps" if entry is not None and entry.handle == entry.name and entry.name.startswith("dlsuite/") else None
    return int(size), endpoint


def image_input(data) -> keras.KerasTensor:
    """The model's image input: [image_size, image_size, channels] from the run's data state."""
    size, channels = data.state["image_size"], int(data.state.get("channels", 1))
    return keras.Input((size, size, channels), name="image")


def _backbone_input(cfg: TransferConfig, data):
    """Images -> augmented, exposure-normalised, backbone-sized images with the backbone's channels, in [0, 1]."""
    input_size, _ = backbone_settings(cfg)
    size = data.state["image_size"]
    images = image_input(data)
    channels = images.shape[-1]
    x = augmentation(cfg.augmentation)(images)
    # Exposure varies between images; stretch each to [0, 1], the backbone's range.
    x = IntensityNormalization("minmax", name="intensity")(x)
    if size != input_size:
        x = keras.layers.Resizing(input_size, input_size, name="to_backbone_size")(x)
    if cfg.input_channels == 3 and channels == 1:
        x = keras.layers.Concatenate(name="grey_to_rgb")([x, x, x])
    elif cfg.input_channels == 1 and channels == 3:
        # The channel mean as a frozen 1x1 convolution: saved and reloaded like any layer.
        mean = keras.initializers.Constant(1.0 / 3.0)
        x = keras.layers.Conv2D(1, 1, use_bias=False, trainable=False, kernel_initializer=mean, name="rgb_to_grey")(x)
    return images, x


def build_transfer(cfg: TransferConfig, data) -> keras.Model:
    """Hub backbone + new head; phases set the backbone's trainability."""
    images, x = _backbone_input(cfg, data)
    backbone = HubBackbone(cfg.handle, trainable=False, endpoint=backbone_settings(cfg)[1], training_mode="inference", name=BACKBONE)
    features = backbone(x)
    if len(features.shape) == 4:
        features = keras.layers.Identity(name=FEATURE_MAP)(features)
        outputs = _classifier_head(features, len(data.state["classes"]), cfg.dropout, cfg.pooling)
    else:  # a feature-vector handle: no spatial map to explain with
        outputs = ClassificationHead(len(data.state["classes"]), dropout=cfg.dropout, activation="softmax", name="probabilities")(features)
    return keras.Model(images, outputs, name="transfer_classifier")


def build_scratch_twin(cfg: TransferConfig, data, extractor: keras.Model) -> keras.Model:
    """The transfer model's exact architecture with random weights, for comparison.

    `extractor` is the backbone's own Keras architecture, freshly initialised;
    the twin taps the same spatial map (or pooled vector) and the same head.
    """
    from shared.hub.saved_model import last_spatial_output

    images, x = _backbone_input(cfg, data)
    classes = len(data.state["classes"])
    spatial = last_spatial_output(extractor) if backbone_settings(cfg)[1] else None
    if spatial is not None:
        trunk = keras.Model(extractor.inputs, spatial, name="scratch_backbone")
        outputs = _classifier_head(trunk(x), classes, cfg.dropout, cfg.pooling)
    else:
        outputs = ClassificationHead(classes, dropout=cfg.dropout, activation="softmax", name="probabilities")(extractor(x))
    return keras.Model(images, outputs, name="scratch_twin")


def build_cnn(cfg: CNNConfig, data) -> keras.Model:
    """A convolutional classifier trained from scratch."""
    images = image_input(data)
    x = augmentation(cfg.augmentation)(images)
    x = IntensityNormalization("zscore", name="intensity")(x)
    x = ConvBlock(cfg.filters[0], strides=2, l2=cfg.l2, name="stem")(x)
    for i, f in enumerate(cfg.filters[1:]):
        block = ResidualBlock(f, strides=2, l2=cfg.l2, name=f"res_{i}") if cfg.residual else ConvBlock(f, strides=2, l2=cfg.l2, name=f"conv_{i}")
        x = block(x)
    features = keras.layers.Identity(name=FEATURE_MAP)(x)
    return keras.Model(images, _classifier_head(features, len(data.state["classes"]), cfg.dropout, cfg.pooling), name="cnn_classifier")


def build_unet(cfg: UNetConfig, data) -> keras.Model:
    """U-Net (`shared.vision.segmentation_heads.unet`) on z-scored images, one sigmoid lesion channel."""
    images = image_input(data)
    x = IntensityNormalization("zscore", name="intensity")(images)
    return keras.Model(images, unet(x, cfg.filters, num_classes=1, dropout=cfg.dropout), name="unet")
