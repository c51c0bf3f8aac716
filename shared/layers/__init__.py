"""Reusable Keras 3 layers for every dlsuite domain.

Each layer is registered as `dlsuite>ClassName`, so models that use it save
to `.keras` files and reload with `keras.saving.load_model(path,
safe_mode=True)`. `ALL_LAYERS` lists every public layer; the serialization
test requires a save/load case for each entry.
"""

from shared.layers.attention_pooling import AttentionPooling
from shared.layers.conv import ConvBlock
from shared.layers.dense import DenseBlock
from shared.layers.heads import ClassificationHead
from shared.layers.intensity import IntensityNormalization
from shared.layers.positional import PositionalEmbedding
from shared.layers.recurrent import RecurrentBlock
from shared.layers.residual import ResidualBlock
from shared.layers.sine_position import SinePositionEncoding
from shared.layers.tabular import TabularEncoder
from shared.layers.transformer_decoder import TransformerDecoderBlock
from shared.layers.transformer_encoder import TransformerEncoderBlock

ALL_LAYERS = (
    DenseBlock,
    ConvBlock,
    ResidualBlock,
    RecurrentBlock,
    PositionalEmbedding,
    SinePositionEncoding,
    TransformerEncoderBlock,
    TransformerDecoderBlock,
    AttentionPooling,
    TabularEncoder,
    ClassificationHead,
    IntensityNormalization,
)

__all__ = [layer.__name__ for layer in ALL_LAYERS] + ["ALL_LAYERS"]
