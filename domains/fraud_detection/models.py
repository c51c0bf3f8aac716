"""Fraud models, assembled from the shared layer library.

Every fraud model has the same two-part shape, which keeps explanation
generic:

    raw columns, one input per type (`input_groups`)
                --> `features` (non-differentiable preprocessing: normalisation,
                    category lookup + embeddings, card history)
                --> `scorer`   (the differentiable network) --> fraud score

Integrated gradients run over the `features` output, and attributions are
summed back to the original columns with `feature_slices`.
"""

from __future__ import annotations

from typing import Literal

import keras
import numpy as np
from pydantic import Field

from shared.config import Section
from shared.layers import ClassificationHead, DenseBlock, RecurrentBlock, TabularEncoder
from shared.layers.tabular import CATEGORICAL_INPUT, NUMERIC_INPUT

HISTORY_INPUTS = ("history", "history_mask")


class MLPConfig(Section):
    type: Literal["mlp"] = "mlp"
    hidden_units: list[int] = Field(default_factory=lambda: [128, 64], min_length=1)
    dropout: float = Field(0.2, ge=0, lt=1)
    l2: float = Field(1e-5, ge=0)
    batch_norm: bool = True
    embedding_dim: int = Field(8, ge=1, le=256)
    loss: Literal["binary_crossentropy", "focal"] = "binary_crossentropy"
    focal_gamma: float = Field(2.0, ge=0)


class AutoencoderConfig(Section):
    type: Literal["autoencoder"] = "autoencoder"
    encoder_units: list[int] = Field(default_factory=lambda: [32, 16], min_length=1)
    latent_dim: int = Field(6, ge=1)
    dropout: float = Field(0.0, ge=0, lt=1)
    l2: float = Field(0.0, ge=0)
    embedding_dim: int = Field(4, ge=1, le=64)


class SequenceConfig(Section):
    type: Literal["sequence"] = "sequence"
    cell: Literal["gru", "lstm"] = "gru"
    units: int = Field(32, ge=1)
    bidirectional: bool = False
    hidden_units: list[int] = Field(default_factory=lambda: [64], min_length=1)
    dropout: float = Field(0.2, ge=0, lt=1)
    l2: float = Field(1e-5, ge=0)
    embedding_dim: int = Field(8, ge=1, le=256)


def input_groups(columns: dict) -> dict[str, list[str]]:
    """Model input name -> the table columns it holds, in order (empty groups left out).

    A model takes one input per column type, not one per column, so a table
    of thousands of columns builds and trains in seconds; the shards group
    scalar columns of one dtype the same way (`shared.data.records`).
    """
    groups = {NUMERIC_INPUT: list(columns["numeric"]), CATEGORICAL_INPUT: list(columns["categorical"])}
    return {name: names for name, names in groups.items() if names}


def grouped_arrays(arrays: dict, columns: dict) -> dict:
    """Per-column arrays (as `data.feature_arrays` returns them) stacked into the model's inputs.

    Arrays of other names (the label, the card history) are kept as they are.
    """
    groups = input_groups(columns)
    out = {name: np.stack([arrays[c] for c in names], axis=1) for name, names in groups.items()}
    grouped = {c for names in groups.values() for c in names}
    out.update({k: v for k, v in arrays.items() if k not in grouped})
    return out


def as_tensors(inputs: dict) -> dict:
    """Model inputs as tensors, for `Model.predict` (it refuses 2-D NumPy string arrays)."""
    import tensorflow as tf

    return {k: tf.constant(v.astype(str) if v.dtype == object else v) for k, v in inputs.items()}


def raw_inputs(columns: dict, history_shape: tuple[int, int] | None = None) -> dict:
    groups = input_groups(columns)
    dtypes = {NUMERIC_INPUT: "float32", CATEGORICAL_INPUT: "string"}
    inputs = {name: keras.Input(shape=(len(names),), dtype=dtypes[name], name=name) for name, names in groups.items()}
    if history_shape is not None:
        history, mask = HISTORY_INPUTS
        inputs[history] = keras.Input(shape=history_shape, dtype="float32", name=history)
        inputs[mask] = keras.Input(shape=(history_shape[1],), dtype="float32", name=mask)
    return inputs


def build_features(state: dict, adapt_ds, embedding_dim: int, trainable: bool = True) -> tuple[keras.Model, TabularEncoder]:
    """The preprocessing sub-model: grouped raw columns -> encoded tensors.

    Vocabularies in `state` (a packed data set counts them while packing)
    are used as they are; `adapt_ds` (batches of `input_groups`) supplies
    everything else.
    """
    cols = state["columns"]
    history = state.get("history")
    shape = (len(cols["numeric"]), history["length"]) if history else None
    inputs = raw_inputs(cols, shape)
    encoder = TabularEncoder(
        cols["numeric"], cols["categorical"], embedding_dim=embedding_dim, vocabularies=state.get("vocabularies"), grouped_inputs=True, name="tabular"
    )
    encoder.adapt(adapt_ds)
    tabular = encoder({k: inputs[k] for k in input_groups(cols)})
    outputs = [tabular]
    if history:
        # Per-feature normalisation over (features, steps); padded steps go back to 0.
        norm = keras.layers.Normalization(axis=1, mean=history["mean"], variance=history["variance"], name="history_norm")
        mask = keras.layers.Reshape((1, history["length"]))(inputs["history_mask"])
        outputs.append(keras.layers.Multiply(name="history_masked")([norm(inputs["history"]), mask]))
    model = keras.Model(inputs, outputs if len(outputs) > 1 else tabular, name="features")
    model.trainable = trainable
    return model, encoder


def _dense_stack(x, units: list[int], cfg, prefix: str):
    for i, n in enumerate(units):
        x = DenseBlock(n, dropout=cfg.dropout, batch_norm=getattr(cfg, "batch_norm", True), l2=cfg.l2, name=f"{prefix}_{i}")(x)
    return x


def assemble(features: keras.Model, scorer: keras.Model, inputs: dict) -> keras.Model:
    return keras.Model(inputs, scorer(features(inputs)), name="fraud_model")


def build_mlp(cfg: MLPConfig, data) -> keras.Model:
    """Feedforward classifier: encoded columns -> dense blocks -> sigmoid."""
    features, _ = build_features(data.state, data.adapt, cfg.embedding_dim)
    width = features.output.shape[-1]
    x_in = keras.Input(shape=(width,), name="encoded")
    x = _dense_stack(x_in, cfg.hidden_units, cfg, "dense")
    scorer = keras.Model(x_in, ClassificationHead(1, name="fraud_probability")(x), name="scorer")
    return assemble(features, scorer, features.input)


def build_autoencoder(cfg: AutoencoderConfig, data) -> keras.Model:
    """Autoencoder anomaly detector: the output is the reconstruction error.

    The preprocessing is frozen (fixed random category embeddings), so the
    network cannot lower its loss by collapsing its own targets.
    """
    features, _ = build_features(data.state, data.adapt, cfg.embedding_dim, trainable=False)
    width = features.output.shape[-1]
    x_in = keras.Input(shape=(width,), name="encoded")
    x = _dense_stack(x_in, cfg.encoder_units, cfg, "encoder")
    x = keras.layers.Dense(cfg.latent_dim, name="latent")(x)
    x = _dense_stack(x, list(reversed(cfg.encoder_units)), cfg, "decoder")
    recon = keras.layers.Dense(width, dtype="float32", name="reconstruction")(x)
    diff = keras.layers.Subtract(name="residual")([recon, x_in])
    # Squared error summed over features: the anomaly score, one per row.
    score = keras.layers.Dot(axes=1, dtype="float32", name="reconstruction_error")([diff, diff])
    scorer = keras.Model(x_in, score, name="scorer")
    return assemble(features, scorer, features.input)


def build_sequence(cfg: SequenceConfig, data) -> keras.Model:
    """Recurrent model over each card's recent transactions plus the current one."""
    features, _ = build_features(data.state, data.adapt, cfg.embedding_dim)
    tab_shape, hist_shape = (t.shape[1:] for t in features.outputs)
    tab_in = keras.Input(shape=tab_shape, name="encoded")
    hist_in = keras.Input(shape=hist_shape, name="encoded_history")
    steps = keras.layers.Permute((2, 1), name="steps_first")(hist_in)
    steps = keras.layers.Masking(mask_value=0.0, name="padding")(steps)
    summary = RecurrentBlock(cfg.units, cell=cfg.cell, bidirectional=cfg.bidirectional, dropout=cfg.dropout, name="history_rnn")(steps)
    x = keras.layers.Concatenate(name="joined")([tab_in, summary])
    x = _dense_stack(x, cfg.hidden_units, cfg, "dense")
    scorer = keras.Model([tab_in, hist_in], ClassificationHead(1, name="fraud_probability")(x), name="scorer")
    return assemble(features, scorer, features.input)


def history_stats(numeric: np.ndarray) -> dict:
    """Mean and variance per numeric feature, for the history normaliser."""
    return {
        "mean": [float(v) for v in numeric.mean(axis=0)],
        "variance": [float(max(v, 1e-6)) for v in numeric.var(axis=0)],
    }
