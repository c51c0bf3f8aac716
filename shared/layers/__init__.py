"""Reusable Keras 3 layers for every dlsuite domain.

Each layer is registered as `dlsuite>ClassName`, so models that use it save
to `.keras` files and reload with `keras.saving.load_model(path,
safe_mode=True)`. `ALL_LAYERS` lists every public layer; the serialization
test requires a save/load case for each entry.

The layers are imported on first use (`from shared.layers import DenseBlock`,
or `ALL_LAYERS`, which imports and registers all of them), so that
`shared.layers.names` and other Keras-free modules of this package can be
read without importing Keras.
"""

import importlib

_MODULES = {
    "DenseBlock": "dense",
    "ConvBlock": "conv",
    "ResidualBlock": "residual",
    "RecurrentBlock": "recurrent",
    "PositionalEmbedding": "positional",
    "SinePositionEncoding": "sine_position",
    "TransformerEncoderBlock": "transformer_encoder",
    "TransformerDecoderBlock": "transformer_decoder",
    "AttentionPooling": "attention_pooling",
    "TabularEncoder": "tabular",
    "ClassificationHead": "heads",
    "AtrousSpatialPyramidPooling": "aspp",
    "IntensityNormalization": "intensity",
    "LogMelSpectrogram": "log_mel",
    "SpecAugment": "spec_augment",
    "WaveformAugment": "waveform_augment",
}


def __getattr__(name: str):
    if name == "ALL_LAYERS":
        return tuple(__getattr__(layer) for layer in _MODULES)
    if name in _MODULES:
        return getattr(importlib.import_module(f"shared.layers.{_MODULES[name]}"), name)
    raise AttributeError(f"module 'shared.layers' has no attribute {name!r}")


def register_all() -> tuple:
    """Import every layer, so that `.keras` files using them load; returns `ALL_LAYERS`."""
    return __getattr__("ALL_LAYERS")


__all__ = [*_MODULES, "ALL_LAYERS", "register_all"]
