"""Every layer in `ALL_LAYERS` saves to `.keras` and reloads with safe_mode=True.

`MODEL_FACTORIES` holds one tiny functional model per layer class. Adding a
layer to `ALL_LAYERS` without a factory here fails `test_every_layer_has_a_case`.
The same factories also run under the `mixed_float16` policy.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from shared.layers import (
    ALL_LAYERS,
    AtrousSpatialPyramidPooling,
    AttentionPooling,
    ClassificationHead,
    ConvBlock,
    DenseBlock,
    IntensityNormalization,
    LogMelSpectrogram,
    PositionalEmbedding,
    RecurrentBlock,
    ResidualBlock,
    SinePositionEncoding,
    SpecAugment,
    TabularEncoder,
    TransformerDecoderBlock,
    TransformerEncoderBlock,
    WaveformAugment,
)

TOKENS = np.array([[3, 1, 4, 1, 5], [9, 2, 6, 0, 0]], "int32")


def floats(*shape):
    return np.random.default_rng(0).standard_normal(shape).astype("float32")


def dense_block():
    inputs = keras.Input((6,))
    outputs = DenseBlock(4, dropout=0.2, l2=1e-3)(inputs)
    return keras.Model(inputs, outputs), floats(3, 6)


def conv_block():
    inputs = keras.Input((8, 8, 3))
    outputs = ConvBlock(4, strides=2, dropout=0.1, l2=1e-3)(inputs)
    return keras.Model(inputs, outputs), floats(2, 8, 8, 3)


def residual_block():
    inputs = keras.Input((10, 3))
    outputs = ResidualBlock(4, rank=1, strides=2, dropout=0.1)(inputs)
    return keras.Model(inputs, outputs), floats(2, 10, 3)


def recurrent_block():
    inputs = keras.Input((5,), dtype="int32")
    x = keras.layers.Embedding(10, 4, mask_zero=True)(inputs)
    outputs = RecurrentBlock(3, cell="gru", bidirectional=True)(x)
    return keras.Model(inputs, outputs), TOKENS


def positional_embedding():
    inputs = keras.Input((5,), dtype="int32")
    x = PositionalEmbedding(10, sequence_length=5, embedding_dim=4)(inputs)
    # Pooling consumes the padding mask, so the reloaded mask is exercised too.
    outputs = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, outputs), TOKENS


def sine_position_encoding():
    inputs = keras.Input((5, 4))
    outputs = SinePositionEncoding(max_wavelength=100)(inputs)
    return keras.Model(inputs, outputs), floats(2, 5, 4)


def transformer_encoder_block():
    inputs = keras.Input((5,), dtype="int32")
    x = PositionalEmbedding(10, sequence_length=5, embedding_dim=8)(inputs)
    outputs = TransformerEncoderBlock(num_heads=2, key_dim=4, ff_dim=8)(x)
    return keras.Model(inputs, outputs), TOKENS


def transformer_decoder_block():
    sources = keras.Input((5,), dtype="int32")
    targets = keras.Input((4,), dtype="int32")
    encoded = PositionalEmbedding(10, sequence_length=5, embedding_dim=8)(sources)
    embedded = PositionalEmbedding(10, sequence_length=4, embedding_dim=8)(targets)
    outputs = TransformerDecoderBlock(num_heads=2, key_dim=4, ff_dim=8)(embedded, encoded)
    return (
        keras.Model([sources, targets], outputs),
        [TOKENS, np.array([[1, 2, 3, 4], [5, 6, 0, 0]], "int32")],
    )


def attention_pooling():
    inputs = keras.Input((5,), dtype="int32")
    x = keras.layers.Embedding(10, 4, mask_zero=True)(inputs)
    outputs = AttentionPooling(units=3)(x)
    return keras.Model(inputs, outputs), TOKENS


def tabular_encoder():
    rows = {
        "age": np.array([21.0, 35.0, 58.0, 44.0], "float32"),
        "income": np.array([1.5, 3.0, 2.2, 0.7], "float32"),
        "city": np.array(["paris", "rome", "paris", "oslo"]),
        "plan": np.array(["free", "pro", "pro", "free"]),
    }
    encoder = TabularEncoder(
        ["age", "income"], ["city", "plan"], embedding_dim=3,
        vocabularies={"plan": ["free", "pro"]},
    )
    encoder.adapt(tf.data.Dataset.from_tensor_slices(rows).batch(2))
    inputs = {
        name: keras.Input((1,), dtype="string" if name in ("city", "plan") else "float32", name=name)
        for name in rows
    }
    model = keras.Model(inputs, encoder(inputs))
    # "berlin" was never seen: it must land in the same OOV bucket after reload.
    test_rows = {name: column[:, None] for name, column in rows.items()}
    test_rows["city"] = np.array([["paris"], ["berlin"], ["oslo"], ["rome"]])
    # Keras' NumPy adapter rejects string arrays in predict(); tensors work.
    return model, {name: tf.constant(column) for name, column in test_rows.items()}


def classification_head():
    inputs = keras.Input((6,))
    outputs = ClassificationHead(3, dropout=0.2)(inputs)
    return keras.Model(inputs, outputs), floats(3, 6)


def intensity_normalization():
    inputs = keras.Input((5, 5, 1))
    outputs = IntensityNormalization("minmax")(inputs)
    return keras.Model(inputs, outputs), floats(2, 5, 5, 1)


def log_mel_spectrogram():
    inputs = keras.Input((1600,))
    outputs = LogMelSpectrogram(8000, frame_length=200, frame_step=80, fft_length=256, num_mel_bins=16, upper_edge_hertz=3500.0)(inputs)
    return keras.Model(inputs, outputs), floats(2, 1600)


def spec_augment():
    inputs = keras.Input((None, 16))
    outputs = SpecAugment(1, 4, 2, 5, seed=3)(inputs)
    return keras.Model(inputs, outputs), floats(2, 20, 16)


def waveform_augment():
    inputs = keras.Input((None,))
    outputs = WaveformAugment(max_shift=0.2, speed=0.05, gain_db=3.0, seed=3)(inputs)
    return keras.Model(inputs, outputs), floats(2, 800) * 0.1


def atrous_spatial_pyramid_pooling():
    inputs = keras.Input((6, 10, 3))
    outputs = AtrousSpatialPyramidPooling(4, rates=(1, 2), dropout=0.1)(inputs)
    return keras.Model(inputs, outputs), floats(2, 6, 10, 3)


MODEL_FACTORIES = {
    "AtrousSpatialPyramidPooling": atrous_spatial_pyramid_pooling,
    "DenseBlock": dense_block,
    "ConvBlock": conv_block,
    "ResidualBlock": residual_block,
    "RecurrentBlock": recurrent_block,
    "PositionalEmbedding": positional_embedding,
    "SinePositionEncoding": sine_position_encoding,
    "TransformerEncoderBlock": transformer_encoder_block,
    "TransformerDecoderBlock": transformer_decoder_block,
    "AttentionPooling": attention_pooling,
    "TabularEncoder": tabular_encoder,
    "ClassificationHead": classification_head,
    "IntensityNormalization": intensity_normalization,
    "LogMelSpectrogram": log_mel_spectrogram,
    "SpecAugment": spec_augment,
    "WaveformAugment": waveform_augment,
}


def test_every_layer_has_a_case():
    assert set(MODEL_FACTORIES) == {layer.__name__ for layer in ALL_LAYERS}


@pytest.mark.parametrize("name", sorted(MODEL_FACTORIES))
def test_save_and_load_gives_identical_predictions(name, tmp_path):
    model, inputs = MODEL_FACTORIES[name]()
    expected = model.predict(inputs, verbose=0)

    path = tmp_path / "m.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)

    reloaded_layer_types = {type(layer).__name__ for layer in reloaded.layers}
    assert name in reloaded_layer_types
    np.testing.assert_allclose(reloaded.predict(inputs, verbose=0), expected, atol=1e-6)


@pytest.mark.parametrize("name", sorted(MODEL_FACTORIES))
def test_runs_under_mixed_precision(name, mixed_precision):
    model, inputs = MODEL_FACTORIES[name]()
    outputs = model(inputs, training=False)
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(outputs)))
    # Heads must hand float32 to the loss; every other block computes in float16.
    expected_dtype = "float32" if name == "ClassificationHead" else "float16"
    assert keras.backend.standardize_dtype(outputs.dtype) == expected_dtype
