"""Fraud models, assembled from the shared layer library.

Every fraud model has the same two-part shape, which keeps explanation
generic:

    raw columns, one input per type (`sources.input_groups`)
                --> `features` (non-differentiable preprocessing: normalisation,
                    category lookup + embeddings, card history)
                --> `scorer`   (the differentiable network) --> fraud score

Integrated gradients run over the `features` output, and attributions are
summed back to the original columns with `feature_slices`.
"""

from __future__ import annotations

import keras

from domains.fraud_detection.config import AutoencoderConfig, MLPConfig, SequenceConfig
from domains.fraud_detection.sources import (
    CATEGORICAL_INPUT,
    HISTORY_INPUTS,
    NUMERIC_INPUT,
    input_groups,
)
from shared.layers import ClassificationHead, DenseBlock, RecurrentBlock, TabularEncoder
from shared.layers.names import FEATURES, SCORER, TABULAR


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
        cols["numeric"], cols["categorical"], embedding_dim=embedding_dim, vocabularies=state.get("vocabularies"), grouped_inputs=True, name=TABULAR
    )
    encoder.adapt(adapt_ds)
    tabular = encoder({k: inputs[k] for k in input_groups(cols)})
    outputs = [tabular]
    if history:
        # Per-feature normalisation over (features, steps); padded steps go back to 0.
        norm = keras.layers.Normalization(axis=1, mean=history["mean"], variance=history["variance"], name="history_norm")
        mask = keras.layers.Reshape((1, history["length"]))(inputs["history_mask"])
        outputs.append(keras.layers.Multiply(name="history_masked")([norm(inputs["history"]), mask]))
    model = keras.Model(inputs, outputs if len(outputs) > 1 else tabular, name=FEATURES)
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
    scorer = keras.Model(x_in, ClassificationHead(1, name="fraud_probability")(x), name=SCORER)
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
    scorer = keras.Model(x_in, score, name=SCORER)
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
    scorer = keras.Model([tab_in, hist_in], ClassificationHead(1, name="fraud_probability")(x), name=SCORER)
    return assemble(features, scorer, features.input)


def mlp_loss(cfg) -> keras.losses.Loss:
    """The MLP's loss: focal (`model.loss=focal`, `model.focal_gamma`) or binary cross-entropy."""
    losses = {
        "focal": lambda: keras.losses.BinaryFocalCrossentropy(gamma=cfg.model.focal_gamma),
        "binary_crossentropy": keras.losses.BinaryCrossentropy,
    }
    return losses[cfg.model.loss]()


def binary_crossentropy(cfg) -> keras.losses.Loss:
    """The sequence model's loss."""
    return keras.losses.BinaryCrossentropy()


def reconstruction_loss(cfg) -> keras.losses.Loss:
    """The autoencoder's loss: its output, the reconstruction error, is the loss."""
    from shared.training.losses import ScoreAsLoss

    return ScoreAsLoss()
