"""Fraud-detection config sections: data, evaluation and one per model type.

Plain pydantic `Section`s with their bounds; importing this module imports
no TensorFlow or Keras, so listing tasks and validating configs stays fast.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.config import Section
from shared.data.splits import SplitConfig


class CostConfig(Section):
    """What each kind of mistake costs, used to pick the decision threshold."""

    false_alert: float = Field(1.0, gt=0)
    missed_fraud: float = Field(25.0, gt=0)


class FraudDataConfig(Section):
    path: str | None = None  # None: the synthetic demo transactions
    target: str = "is_fraud"
    numeric: list[str] | None = None  # None: every numeric column not named elsewhere
    categorical: list[str] | None = None  # None: every text column not named elsewhere
    drop: list[str] = ["transaction_id", "fraud_pattern"]
    id_column: str | None = "transaction_id"
    card_column: str | None = "card_id"
    time_column: str | None = "timestamp"
    max_categories: int = Field(5000, ge=2)
    sequence_length: int = Field(8, ge=2, le=256)
    # auto: a time split on `column` when the data has it, else a stratified random split.
    split: SplitConfig = SplitConfig(type="auto", column="timestamp")
    synthetic_rows: int = Field(60_000, ge=1000)
    synthetic_seed: int = 0
    # Shards are written only for multi-worker runs (split by file) and by `dlsuite data pack`.
    rows_per_shard: int = Field(50_000, ge=100)
    # Rows read at a time by `dlsuite data pack`; bounds its memory use.
    chunk_rows: int = Field(50_000, ge=100)
    # The logistic-regression baseline is fitted on at most this many training rows.
    baseline_max_rows: int = Field(200_000, ge=1000)
    # Checksum every shard of a packed data set before training from it.
    verify_shards: bool = True


class FraudEvaluationConfig(Section):
    costs: CostConfig = CostConfig()
    target_precision: float = Field(0.9, gt=0, lt=1)
    alert_budget: float = Field(0.01, gt=0, lt=1)


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
