"""Model builders of the language tasks, assembled from `shared.layers`, `shared.hub` and `shared.seq2seq`.

Text classifiers that take token ids are built as `scorer([features(ids),
mask])`: `features` (`shared.layers.names.FEATURES`) embeds the ids and
`scorer` (`SCORER`) reads the embeddings under the padding mask. Token
attributions integrate gradients over the embeddings with the mask held
fixed (`shared.explain.token_attributions`). The transfer classifier takes
raw strings: its Hub backbone tokenizes inside itself.

Each builder is `build(model_cfg, data: DataBundle) -> keras.Model` and reads
what it needs from `data.state` (class names, vocabulary sizes, lengths).
"""

from __future__ import annotations

import keras
from keras import ops

from domains.language.config import (
    RecurrentClassifierConfig,
    RecurrentTranslatorConfig,
    TransferClassifierConfig,
    TransformerClassifierConfig,
    TransformerTranslatorConfig,
)
from shared.hub import HubBackbone
from shared.layers import AttentionPooling, ClassificationHead, PositionalEmbedding, RecurrentBlock, TransformerEncoderBlock
from shared.layers.names import BACKBONE, FEATURES, SCORER
from shared.seq2seq import RecurrentSeq2Seq, TransformerSeq2Seq  # imported here so that loading a run registers them


def _classes(data) -> int:
    return len(data.state["classes"])


def _token_classifier(cfg, data, embed: keras.layers.Layer, encoder, name: str) -> keras.Model:
    length, dim = cfg.sequence_length, cfg.embedding_dim
    ids = keras.Input((length,), dtype="int32", name="token_ids")
    features = keras.Model(ids, embed(ids), name=FEATURES)

    embedded = keras.Input((length, dim), name="embeddings")
    mask = keras.Input((length,), dtype="bool", name="mask")
    pooled = encoder(embedded, mask)
    probs = ClassificationHead(_classes(data), dropout=cfg.dropout, activation="softmax", name="probabilities")(pooled)
    scorer = keras.Model([embedded, mask], probs, name=SCORER)

    inputs = keras.Input((length,), dtype="int32", name="token_ids")
    return keras.Model(inputs, scorer([features(inputs), ops.not_equal(inputs, 0)]), name=name)


def build_recurrent(cfg: RecurrentClassifierConfig, data) -> keras.Model:
    """Subword embeddings -> stacked (bi)GRU/LSTM from `RecurrentBlock` -> attention pooling -> softmax."""
    regularizer = keras.regularizers.L2(cfg.l2) if cfg.l2 else None
    embed = keras.layers.Embedding(data.state["vocabulary"]["size"], cfg.embedding_dim, embeddings_regularizer=regularizer, name="embedding")

    def encoder(x, mask):
        x = keras.layers.SpatialDropout1D(cfg.dropout, name="embedding_dropout")(x)
        for index in range(cfg.layers):
            x = RecurrentBlock(cfg.units, cell=cfg.cell, bidirectional=cfg.bidirectional, return_sequences=True, name=f"rnn{index + 1}")(x, mask=mask)
        return AttentionPooling(name="pool")(x, mask=mask)

    return _token_classifier(cfg, data, embed, encoder, "text_rnn")


def build_transformer(cfg: TransformerClassifierConfig, data) -> keras.Model:
    """Token + position embeddings -> `TransformerEncoderBlock`s -> attention pooling -> softmax."""
    embed = PositionalEmbedding(data.state["vocabulary"]["size"], cfg.sequence_length, cfg.embedding_dim, mask_zero=False, name="embedding")

    def encoder(x, mask):
        x = keras.layers.Dropout(cfg.dropout, name="embedding_dropout")(x)
        for index in range(cfg.num_layers):
            x = TransformerEncoderBlock(cfg.num_heads, cfg.embedding_dim // cfg.num_heads, cfg.ff_dim, dropout=cfg.dropout, name=f"encoder{index + 1}")(x, mask=mask)
        return AttentionPooling(name="pool")(x, mask=mask)

    return _token_classifier(cfg, data, embed, encoder, "text_transformer")


def _transfer_head(cfg: TransferClassifierConfig, data, features, text):
    x = features
    if cfg.hidden_units:
        x = keras.layers.Dropout(cfg.dropout, name="backbone_dropout")(x)
        x = keras.layers.Dense(cfg.hidden_units, activation="relu", name="hidden")(x)
    return ClassificationHead(_classes(data), dropout=cfg.dropout, activation="softmax", name="probabilities")(x)


def build_transfer(cfg: TransferClassifierConfig, data) -> keras.Model:
    """A pretrained Hub text backbone (raw strings in) + a small head; frozen, then fine-tuned."""
    text = keras.Input((), dtype="string", name="text")
    features = HubBackbone(cfg.handle, trainable=True, name=BACKBONE)(text)
    return keras.Model(text, _transfer_head(cfg, data, features, text), name="text_transfer")


def build_scratch_twin(cfg: TransferClassifierConfig, data, extractor: keras.Model) -> keras.Model:
    """`build_transfer` with the backbone's own architecture from random weights (the from-scratch comparison)."""
    text = keras.Input((), dtype="string", name="text")
    return keras.Model(text, _transfer_head(cfg, data, extractor(text), text), name="text_scratch_twin")


# --- translation -------------------------------------------------------------------------


def _sizes(data) -> dict:
    s = data.state
    return {
        "source_vocab_size": s["source_vocabulary"]["size"],
        "target_vocab_size": s["target_vocabulary"]["size"],
        "source_length": s["source_length"],
        "target_length": s["target_length"],
    }


def _built(model: keras.Model, data) -> keras.Model:
    """Build a subclassed seq2seq model's weights with one zero batch (fit's callbacks need a built model)."""
    s = data.state
    model({"source": ops.zeros((1, s["source_length"]), "int32"), "target": ops.zeros((1, s["target_length"] + 1), "int32")})
    return model


def build_transformer_translator(cfg: TransformerTranslatorConfig, data) -> keras.Model:
    """Transformer encoder-decoder (`shared.seq2seq.TransformerSeq2Seq`), teacher forcing in its own loss."""
    return _built(TransformerSeq2Seq(
        **_sizes(data), dim=cfg.dim, num_layers=cfg.num_layers, num_heads=cfg.num_heads, ff_dim=cfg.ff_dim,
        dropout=cfg.dropout, label_smoothing=cfg.label_smoothing, name="transformer_translator",
    ), data)


def build_recurrent_translator(cfg: RecurrentTranslatorConfig, data) -> keras.Model:
    """Bidirectional-LSTM encoder, LSTM decoder with Luong attention (`shared.seq2seq.RecurrentSeq2Seq`)."""
    return _built(RecurrentSeq2Seq(
        **_sizes(data), embedding_dim=cfg.embedding_dim, units=cfg.units, dropout=cfg.dropout,
        label_smoothing=cfg.label_smoothing, name="recurrent_translator",
    ), data)
