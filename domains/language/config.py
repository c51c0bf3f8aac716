"""Every config section of the language tasks, and the schemas of what a run saves.

This module imports no TensorFlow or Keras, so that reading a config,
listing the domain and checking a run directory stay fast.

- `SentimentDataConfig`, `TranslationDataConfig`: the `data:` sections;
- `TokenizerConfig`: a subword vocabulary trained on the training split
  (`shared.text.tokenizers`);
- `RecurrentClassifierConfig`, `TransformerClassifierConfig`,
  `TransferClassifierConfig`, `TransformerTranslatorConfig`,
  `RecurrentTranslatorConfig`: the `model:` section of each model type;
- `SentimentEvaluationConfig`, `TranslationEvaluationConfig`: `evaluation:`;
- `SentimentState`, `TranslationState`: what `predict`, `evaluate_file` and
  `explain` read back from a run directory.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, model_validator

from shared.config import Section
from shared.data.splits import SplitConfig
from shared.run_files import RunFile

TOKEN_IDS = "token_ids"  # the model takes int32 token ids, tokenized in tf.data from the run's vocabulary
STRINGS = "strings"  # the model takes raw strings (a Hub text backbone tokenizes inside itself)
TABLE_SUFFIXES = (".csv", ".tsv", ".tab")
PAIR_SUFFIXES = (".tsv", ".tab", ".txt")


# --- data --------------------------------------------------------------------------


class TokenizerConfig(Section):
    """A subword vocabulary trained on the training split only."""

    kind: Literal["wordpiece", "sentencepiece"] = "wordpiece"
    vocabulary_size: int = Field(8000, ge=16, le=100_000)


class StandardizeConfig(Section):
    """`shared.text.standardize`: NFKC, HTML entities and tags (`<br />`) out, white space collapsed."""

    lowercase: bool = True


class SyntheticReviewsConfig(Section):
    """The offline demo set: grammar-made product reviews (`domains/language/synthetic.py`)."""

    reviews: int = Field(6000, ge=30, le=200_000)
    seed: int = 0


class SentimentDataConfig(Section):
    """Labelled texts: a CSV/TSV with named text and label columns, or class folders (the aclImdb layout)."""

    source: Literal["auto", "synthetic", "table", "folders"] = "auto"
    path: str | None = None  # auto: a file is a table, a folder is class folders; none: the synthetic reviews
    text_column: str = "text"
    label_column: str = "label"
    standardize: StandardizeConfig = StandardizeConfig()
    split: SplitConfig = SplitConfig(type="random", validation=0.1, test=0.1)
    limit_per_class: int | None = Field(None, ge=2)  # few-label training: keep this many training texts per class
    synthetic: SyntheticReviewsConfig = SyntheticReviewsConfig()


class SyntheticPairsConfig(Section):
    """The offline demo set: English-Spanish pairs from a grammar with agreement (`domains/language/synthetic.py`)."""

    pairs: int = Field(20_000, ge=50, le=200_000)
    seed: int = 0


class TranslationDataConfig(Section):
    """Sentence pairs: a TSV `source<TAB>target[<TAB>attribution]` (the Tatoeba/Anki format), no quoting."""

    source: Literal["auto", "synthetic", "file"] = "auto"
    path: str | None = None
    source_language: str = "en"  # ISO 639-1 or 639-3 code, checked
    target_language: str = "es"
    max_pairs: int | None = Field(None, ge=10)  # the first N pairs of the file
    split: SplitConfig = SplitConfig(type="group", validation=0.05, test=0.05, column="source")  # one source sentence never spans two splits
    tokenizer: TokenizerConfig = TokenizerConfig(kind="sentencepiece", vocabulary_size=2000)
    shared_vocabulary: bool = False  # one vocabulary for both sides (related languages, copying names)
    source_length: int = Field(32, ge=4, le=512)  # tokens; longer training pairs are left out (and counted)
    target_length: int = Field(32, ge=4, le=512)  # tokens, EOS included
    synthetic: SyntheticPairsConfig = SyntheticPairsConfig()

    @model_validator(mode="after")
    def _split(self):
        if self.split.type == "time":
            raise ValueError("sentence pairs have no time column; use a random or group split. Received: split.type='time'")
        return self


# --- models --------------------------------------------------------------------------


class RecurrentClassifierConfig(Section):
    type: Literal["recurrent"] = "recurrent"
    takes: ClassVar[str] = TOKEN_IDS
    tokenizer: TokenizerConfig = TokenizerConfig()
    sequence_length: int = Field(128, ge=4, le=4096)  # tokens; longer texts are truncated, and predict says so
    embedding_dim: int = Field(64, ge=4)
    cell: Literal["gru", "lstm"] = "gru"
    units: int = Field(64, ge=4)
    layers: int = Field(1, ge=1, le=4)
    bidirectional: bool = True
    dropout: float = Field(0.3, ge=0, lt=1)
    l2: float = Field(0.0, ge=0)


class TransformerClassifierConfig(Section):
    type: Literal["transformer"] = "transformer"
    takes: ClassVar[str] = TOKEN_IDS
    tokenizer: TokenizerConfig = TokenizerConfig()
    sequence_length: int = Field(128, ge=4, le=4096)
    embedding_dim: int = Field(64, ge=8)
    num_heads: int = Field(4, ge=1)
    num_layers: int = Field(2, ge=1, le=12)
    ff_dim: int = Field(128, ge=8)
    dropout: float = Field(0.1, ge=0, lt=1)

    @model_validator(mode="after")
    def _heads(self):
        if self.embedding_dim % self.num_heads:
            raise ValueError(f"embedding_dim must be a multiple of num_heads. Received: embedding_dim={self.embedding_dim}, num_heads={self.num_heads}")
        return self


class TransferClassifierConfig(Section):
    type: Literal["transfer"] = "transfer"
    takes: ClassVar[str] = STRINGS
    handle: str = "dlsuite/wordnet-gloss-64"  # a registry name (`dlsuite hub list`), URL or SavedModel folder; strings in
    hidden_units: int = Field(64, ge=0)  # a dense layer between backbone and head (0: none)
    dropout: float = Field(0.2, ge=0, lt=1)
    head_epochs: int = Field(20, ge=0)
    fine_tune_epochs: int = Field(10, ge=0)
    fine_tune_from: int | None = None
    fine_tune_learning_rate_scale: float = Field(0.3, gt=0, le=1)


class TransformerTranslatorConfig(Section):
    type: Literal["transformer"] = "transformer"
    dim: int = Field(128, ge=8)
    num_layers: int = Field(2, ge=1, le=12)
    num_heads: int = Field(4, ge=1)
    ff_dim: int = Field(256, ge=8)
    dropout: float = Field(0.1, ge=0, lt=1)
    label_smoothing: float = Field(0.1, ge=0, lt=1)

    @model_validator(mode="after")
    def _heads(self):
        if self.dim % self.num_heads:
            raise ValueError(f"dim must be a multiple of num_heads. Received: dim={self.dim}, num_heads={self.num_heads}")
        return self


class RecurrentTranslatorConfig(Section):
    type: Literal["recurrent"] = "recurrent"
    embedding_dim: int = Field(128, ge=8)
    units: int = Field(256, ge=8)
    dropout: float = Field(0.1, ge=0, lt=1)
    label_smoothing: float = Field(0.1, ge=0, lt=1)


# --- evaluation ----------------------------------------------------------------------


class SentimentEvaluationConfig(Section):
    baseline: bool = True  # TF-IDF (1-2 grams) + logistic regression, C by cross-validation on the training split
    compare_from_scratch: bool = True  # pretrained models: also train the same architecture from random weights
    calibration_bins: int = Field(10, ge=2, le=50)


class TranslationEvaluationConfig(Section):
    decoding: Literal["greedy", "beam"] = "beam"
    beam_width: int = Field(4, ge=1, le=32)
    length_penalty: float = Field(0.6, ge=0, le=2)  # GNMT: score / ((5 + length) / 6) ** length_penalty
    baselines: bool = True  # copy the source; a word-by-word dictionary learned from the training pairs
    examples: int = Field(8, ge=0, le=64)
    max_test_pairs: int | None = Field(2000, ge=10)  # decode at most this many held-out pairs


# --- what a run saves ------------------------------------------------------------------


class VocabularyFile(BaseModel):
    """One vocabulary file in the run's `assets/` folder, with the hash it was saved with."""

    model_config = ConfigDict(extra="forbid")

    file: StrictStr = Field(pattern=r"^[A-Za-z0-9_.-]+$")  # a bare name inside assets/, never a path
    kind: Literal["wordpiece", "sentencepiece"]
    lowercase: StrictBool
    sha256: StrictStr = Field(pattern=r"^[0-9a-f]{64}$")
    size: StrictInt = Field(ge=5)


class SentimentState(RunFile):
    """`task_state` of sentiment runs: classes, the input form and (token models) the vocabulary."""

    classes: list[StrictStr] = Field(min_length=2)
    takes: Literal["token_ids", "strings"]
    lowercase: StrictBool
    sequence_length: StrictInt | None = Field(None, ge=1)
    vocabulary: VocabularyFile | None = None

    @model_validator(mode="after")
    def _tokens(self):
        if self.takes == TOKEN_IDS and (self.vocabulary is None or self.sequence_length is None):
            raise ValueError("a token-id model needs vocabulary and sequence_length")
        return self


class TranslationState(RunFile):
    """`task_state` of translation runs: languages, lengths and both vocabularies."""

    source_language: StrictStr
    target_language: StrictStr
    source_length: StrictInt = Field(ge=1)
    target_length: StrictInt = Field(ge=1)
    source_vocabulary: VocabularyFile
    target_vocabulary: VocabularyFile
