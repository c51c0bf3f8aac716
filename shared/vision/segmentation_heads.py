"""Segmentation networks as functional building blocks: a U-Net and a DeepLabV3+ decoder.

Both take Keras tensors and return Keras tensors, so a domain wires them to
its own input, preprocessing and backbone and keeps its layer names stable:

- `unet(x, filters, ...)`: an encoder of `ConvBlock` pairs with max pooling,
  a mirrored decoder of transposed convolutions and skip connections;
- `deeplab_v3_plus(high, low, ...)`: atrous spatial pyramid pooling on a
  backbone's coarse feature map, upsampled and fused with a finer feature
  map, then upsampled to the output size.

The last layer (named `name`, default `"mask"`) is a float32 1x1 convolution:
`num_classes == 1` gives a sigmoid probability map for binary masks,
`num_classes > 1` a per-pixel softmax over the classes.
"""

from __future__ import annotations

import keras

from shared.layers import AtrousSpatialPyramidPooling, ConvBlock


def _check_filters(filters) -> list[int]:
    filters = [int(f) for f in filters]
    if len(filters) < 2 or min(filters) < 1:
        raise ValueError(f"a U-Net needs at least two positive filter counts (one level and the bottom). Received: filters={filters}")
    return filters


def mask_output(x, num_classes: int, name: str = "mask"):
    """The per-pixel output layer: sigmoid for one class, softmax for several, always float32."""
    if num_classes < 1:
        raise ValueError(f"num_classes must be positive. Received: num_classes={num_classes}")
    activation = "sigmoid" if num_classes == 1 else "softmax"
    return keras.layers.Conv2D(num_classes, 1, activation=activation, dtype="float32", name=name)(x)


def unet(x, filters, num_classes: int = 1, dropout: float = 0.0, l2: float = 0.0, name: str = "mask"):
    """A U-Net on the (already normalised) image tensor `x`.

    Args:
        x: Keras tensor `(batch, H, W, channels)`; H and W divisible by
            `2 ** (len(filters) - 1)`.
        filters: list of int. Channels per level, the last one for the bottom.
        num_classes: int. 1 for a binary mask, else the number of classes.
        dropout: float. Dropout after the second block of each level.
        l2: float. L2 penalty on the convolution kernels.
        name: str. Name of the output layer.

    Returns:
        `(batch, H, W, num_classes)` probabilities.
    """
    filters = _check_filters(filters)
    skips = []
    for i, f in enumerate(filters[:-1]):
        x = ConvBlock(f, l2=l2, name=f"down_{i}_a")(x)
        x = ConvBlock(f, dropout=dropout, l2=l2, name=f"down_{i}_b")(x)
        skips.append(x)
        x = keras.layers.MaxPooling2D(name=f"pool_{i}")(x)
    x = ConvBlock(filters[-1], l2=l2, name="bottom_a")(x)
    x = ConvBlock(filters[-1], dropout=dropout, l2=l2, name="bottom_b")(x)
    for i, f in reversed(list(enumerate(filters[:-1]))):
        x = keras.layers.Conv2DTranspose(f, 2, strides=2, padding="same", name=f"up_{i}")(x)
        x = keras.layers.Concatenate(name=f"skip_{i}")([x, skips[i]])
        x = ConvBlock(f, l2=l2, name=f"dec_{i}_a")(x)
        x = ConvBlock(f, l2=l2, name=f"dec_{i}_b")(x)
    return mask_output(x, num_classes, name)


def deeplab_v3_plus(
    high,
    low,
    output_size: tuple[int, int],
    num_classes: int,
    aspp_filters: int = 64,
    rates=(1, 2, 3),
    low_filters: int = 24,
    decoder_filters: int = 64,
    dropout: float = 0.1,
    name: str = "mask",
):
    """The DeepLabV3+ decoder on a coarse and a fine feature map.

    `high` (the backbone's last map, output stride 16 or 32) goes through
    ASPP and is resized to the size of `low` (a stride-4 map with edges and
    thin structures); the two are concatenated, refined by two 3x3
    convolutions and resized to `output_size`.

    Args:
        high: Keras tensor `(batch, h, w, c)`, known h and w.
        low: Keras tensor `(batch, H/4, W/4, c')`.
        output_size: (H, W) of the mask.
        num_classes: int. Classes of the per-pixel softmax (1: sigmoid).
        aspp_filters, rates, dropout: ASPP settings.
        low_filters: int. The fine map is projected to this many channels
            first, so that it does not outweigh the context.
        decoder_filters: int. Channels of the two refining convolutions.
        name: str. Name of the output layer.

    Returns:
        `(batch, H, W, num_classes)` probabilities.

    Reference:
        Chen et al., 2018, "Encoder-Decoder with Atrous Separable Convolution
        for Semantic Image Segmentation" (DeepLabV3+), arXiv:1802.02611.
    """
    context = AtrousSpatialPyramidPooling(aspp_filters, rates=rates, dropout=dropout, name="aspp")(high)
    low_size = (int(low.shape[1]), int(low.shape[2]))
    context = keras.layers.Resizing(*low_size, interpolation="bilinear", name="aspp_upsample")(context)
    detail = ConvBlock(low_filters, kernel_size=1, name="low_level_project")(low)
    x = keras.layers.Concatenate(name="decoder_concat")([context, detail])
    x = ConvBlock(decoder_filters, name="decoder_a")(x)
    x = ConvBlock(decoder_filters, name="decoder_b")(x)
    x = keras.layers.Resizing(int(output_size[0]), int(output_size[1]), interpolation="bilinear", name="decoder_upsample")(x)
    return mask_output(x, num_classes, name)
