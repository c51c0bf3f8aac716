"""Every config section of the speech tasks, and the schemas of what a run saves.

This module imports no TensorFlow or Keras, so that reading a config,
listing the domain and checking a run directory stay fast.

- `KeywordDataConfig`, `TranscriptDataConfig`: the `data:` sections;
- `FrontEndConfig` (log-mel features, SpecAugment, waveform augmentation),
  shared by every model type;
- `KeywordCNNConfig`, `KeywordTransformerConfig`, `KeywordTransferConfig`,
  `CTCConfig`: the `model:` section of each model type;
- `KeywordEvaluationConfig`, `TranscriptEvaluationConfig`: `evaluation:`;
- `KeywordState`, `TranscriptState`, `KeywordMetrics`: what `predict`,
  `evaluate_file` and `explain` read back from a run directory.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, model_validator

from shared.config import Section
from shared.run_files import RunFile

SAMPLE_RATE = 16_000
UNKNOWN = "_unknown_"
SILENCE = "_silence_"
AUDIO_SUFFIXES = (".flac", ".ogg", ".wav")


# --- data --------------------------------------------------------------------------


class NoiseMixConfig(Section):
    """Background noise mixed into training clips (from `_background_noise_/`), training split only."""

    enabled: bool = True
    probability: float = Field(0.5, ge=0, le=1)
    min_snr_db: float = Field(10.0, ge=-10, le=60)
    max_snr_db: float = Field(30.0, ge=-10, le=60)

    @model_validator(mode="after")
    def _range(self):
        if self.min_snr_db > self.max_snr_db:
            raise ValueError(f"min_snr_db must not exceed max_snr_db. Received: min_snr_db={self.min_snr_db}, max_snr_db={self.max_snr_db}")
        return self


class SyntheticSpeechConfig(Section):
    """The offline demo set, synthesized with espeak-ng (`domains/speech/synthetic.py`)."""

    speakers: int = Field(24, ge=3, le=200)
    clips_per_speaker: int = Field(2, ge=1, le=50)
    seed: int = 0


class KeywordDataConfig(Section):
    """Keyword clips in the Speech Commands layout `<label>/<speaker>_nohash_<n>.wav` (the `data:` section)."""

    source: Literal["auto", "synthetic", "folder"] = "auto"
    path: str | None = None  # None: the synthetic demo set, generated into the run's work folder
    keywords: list[str] | None = None  # None: the demo keywords (synthetic) or every label folder (folder)
    sample_rate: int = Field(SAMPLE_RATE, ge=8_000, le=48_000)
    clip_seconds: float = Field(1.0, gt=0.1, le=10)
    # A training clip longer than this is refused (it is not a keyword clip); shorter ones are zero-padded.
    max_clip_seconds: float = Field(10.0, gt=0, le=600)
    # `_silence_` examples cut from the background noise (and digital silence), per keyword clip.
    silence_fraction: float = Field(0.1, ge=0, le=1)
    # Keep at most this many `_unknown_` clips per keyword clip (None: all of them).
    unknown_fraction: float | None = Field(None, gt=0)
    noise: NoiseMixConfig = NoiseMixConfig()
    validation_percent: float = Field(10.0, gt=0, lt=50)
    testing_percent: float = Field(10.0, gt=0, lt=50)
    # Of the training speakers' clips, this share is held back to measure accuracy on speakers the model has heard.
    seen_speaker_percent: float = Field(10.0, ge=0, lt=50)
    limit_per_class: int | None = Field(None, ge=1)  # few-clip training: keep this many training clips per class
    synthetic: SyntheticSpeechConfig = SyntheticSpeechConfig()


class TranscriptDataConfig(Section):
    """Transcribed audio: LJSpeech `metadata.csv`, Common Voice `.tsv`, or a `path,transcript` CSV."""

    source: Literal["auto", "synthetic", "manifest"] = "auto"
    path: str | None = None  # None: synthetic sentences
    sample_rate: int = Field(SAMPLE_RATE, ge=8_000, le=48_000)
    max_clip_seconds: float = Field(20.0, gt=0, le=600)
    # Characters outside the vocabulary: `error` names them, `drop` removes them (and counts them).
    unknown_characters: Literal["error", "drop"] = "error"
    validation_percent: float = Field(10.0, gt=0, lt=50)
    testing_percent: float = Field(10.0, gt=0, lt=50)
    synthetic_sentences: int = Field(600, ge=30, le=20_000)
    synthetic: SyntheticSpeechConfig = SyntheticSpeechConfig(speakers=16)


# --- model -------------------------------------------------------------------------


class SpecAugmentConfig(Section):
    enabled: bool = True
    freq_masks: int = Field(1, ge=0, le=8)
    freq_mask_width: int = Field(6, ge=0)
    time_masks: int = Field(1, ge=0, le=8)
    time_mask_width: int = Field(10, ge=0)


class WaveformAugmentConfig(Section):
    enabled: bool = True
    max_shift: float = Field(0.1, ge=0, lt=1)  # fraction of the clip
    speed: float = Field(0.05, ge=0, lt=0.5)  # speed factor drawn from [1 - speed, 1 + speed]
    gain_db: float = Field(6.0, ge=0, le=40)
    min_snr_db: float = Field(20.0, ge=-10, le=80)  # white noise, on top of the background noise mix
    max_snr_db: float = Field(50.0, ge=-10, le=80)


class FrontEndConfig(Section):
    """Log-mel features, inside the model so that a served model takes raw audio."""

    num_mel_bins: int = Field(40, ge=8, le=128)
    frame_length: int = Field(400, ge=64)  # samples: 25 ms at 16 kHz
    frame_step: int = Field(160, ge=16)  # samples: 10 ms at 16 kHz
    fft_length: int = Field(512, ge=64)  # a power of two (TFLite), at least frame_length
    spec_augment: SpecAugmentConfig = SpecAugmentConfig()
    waveform_augment: WaveformAugmentConfig = WaveformAugmentConfig()

    @model_validator(mode="after")
    def _fft(self):
        if self.fft_length & (self.fft_length - 1) or self.fft_length < self.frame_length:
            raise ValueError(f"fft_length must be a power of two at least frame_length. Received: fft_length={self.fft_length}, frame_length={self.frame_length}")
        return self


class KeywordCNNConfig(Section):
    type: Literal["cnn"] = "cnn"
    front_end: FrontEndConfig = FrontEndConfig()
    filters: list[int] = Field(default_factory=lambda: [32, 64, 96], min_length=1)
    residual: bool = True
    dropout: float = Field(0.2, ge=0, lt=1)
    l2: float = Field(1e-4, ge=0)
    # Batch-norm moving statistics: a keyword set trains for hundreds of steps, not tens of thousands.
    norm_momentum: float = Field(0.9, gt=0, lt=1)


class KeywordTransformerConfig(Section):
    type: Literal["transformer"] = "transformer"
    front_end: FrontEndConfig = FrontEndConfig()
    patch_frames: int = Field(2, ge=1, le=16)  # log-mel frames per token
    embed_dim: int = Field(64, ge=8)
    num_heads: int = Field(4, ge=1)
    num_layers: int = Field(2, ge=1, le=12)
    mlp_dim: int = Field(128, ge=8)
    dropout: float = Field(0.1, ge=0, lt=1)

    @model_validator(mode="after")
    def _heads(self):
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim must be a multiple of num_heads. Received: embed_dim={self.embed_dim}, num_heads={self.num_heads}")
        return self


class KeywordTransferConfig(Section):
    type: Literal["transfer"] = "transfer"
    handle: str = "dlsuite/speech-words-cnn"  # a registry name (`dlsuite hub list`), URL or SavedModel folder
    dropout: float = Field(0.3, ge=0, lt=1)
    head_epochs: int = Field(10, ge=0)
    fine_tune_epochs: int = Field(10, ge=0)
    fine_tune_from: int | None = None  # None: the whole backbone; -N: only its top N variables
    fine_tune_learning_rate_scale: float = Field(0.3, gt=0, le=1)
    waveform_augment: WaveformAugmentConfig = WaveformAugmentConfig()


class CTCConfig(Section):
    type: Literal["ctc"] = "ctc"
    front_end: FrontEndConfig = FrontEndConfig(num_mel_bins=64, spec_augment=SpecAugmentConfig(time_masks=2, time_mask_width=12))
    conv_filters: list[int] = Field(default_factory=lambda: [32, 32], min_length=1)  # each halves the frame rate
    rnn: Literal["gru", "lstm"] = "gru"
    rnn_units: int = Field(128, ge=8)
    rnn_layers: int = Field(2, ge=1, le=6)
    dropout: float = Field(0.1, ge=0, lt=1)


# --- evaluation ----------------------------------------------------------------------


class StreamingConfig(Section):
    """Sliding the keyword model over a long recording (`dlsuite predict RUN long.wav`)."""

    hop_seconds: float = Field(0.1, gt=0, le=1)
    suppress_seconds: float = Field(1.0, ge=0, le=10)  # detections of one keyword closer than this merge
    target_false_alarms_per_hour: float = Field(30.0, gt=0)  # per-keyword thresholds are tuned to it on validation audio
    validation_seconds: float = Field(120.0, ge=10, le=3600)  # synthetic stream built from validation clips
    test_seconds: float = Field(60.0, ge=10, le=3600)


class KeywordEvaluationConfig(Section):
    baseline: bool = True  # MFCC + logistic regression, same splits
    streaming: StreamingConfig = StreamingConfig()
    compare_from_scratch: bool = True  # pretrained models: also train the same architecture from random weights
    saliency_examples: int = Field(4, ge=0, le=16)
    latency_clips: int = Field(32, ge=1, le=1000)


class TranscriptEvaluationConfig(Section):
    decoding: Literal["greedy", "beam"] = "greedy"
    beam_width: int = Field(16, ge=1, le=256)
    examples: int = Field(8, ge=0, le=64)


# --- what a run saves ------------------------------------------------------------------


class FrontEndState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sample_rate: StrictInt = Field(ge=8_000, le=48_000)
    clip_samples: StrictInt | None = Field(None, ge=1)  # None: variable length (speech recognition)


class KeywordState(RunFile):
    """`task_state` of keyword runs: class names, keywords and the clip length."""

    classes: list[StrictStr] = Field(min_length=2)
    keywords: list[StrictStr] = Field(min_length=1)
    sample_rate: StrictInt = Field(ge=8_000, le=48_000)
    clip_samples: StrictInt = Field(ge=1)
    max_clip_seconds: StrictFloat = Field(gt=0)


class TranscriptState(RunFile):
    """`task_state` of speech-recognition runs: the character vocabulary and sample rate."""

    vocabulary: dict
    sample_rate: StrictInt = Field(ge=8_000, le=48_000)
    max_clip_seconds: StrictFloat = Field(gt=0)
    frame_length: StrictInt = Field(ge=16)  # log-mel frame, in samples
    frame_step: StrictInt = Field(ge=1)
    downsampling: StrictInt = Field(ge=0, le=8)  # stride-2 conv blocks after the log-mel front end

    def frames(self, samples: int) -> int:
        """Logit frames of an utterance of `samples` (the model's own arithmetic)."""
        frames = max(0, 1 + (int(samples) - self.frame_length) // self.frame_step)
        for _ in range(self.downsampling):
            frames = (frames + 1) // 2
        return frames


class StreamingMetrics(RunFile):
    thresholds: dict[StrictStr, StrictFloat]
    hop_seconds: StrictFloat = Field(gt=0)
    suppress_seconds: StrictFloat = Field(ge=0)


class KeywordMetrics(RunFile):
    """The part of `metrics.json` that streaming predict reads back: the tuned thresholds."""

    streaming: StreamingMetrics | None = None
