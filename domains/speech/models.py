"""Speech models, assembled from the shared layer library.

Every model takes raw audio at the run's sample rate: the log-mel front end
is a layer of the model, so a served or exported model needs no feature
code. Each keyword model is two named sub-models, `features(x)` (waveform
augmentation in training, then `LogMelSpectrogram`) and `scorer(f)`
(SpecAugment in training, then the network), so explanations can take
gradients with respect to the spectrogram.

- `cnn`: residual convolution blocks over the (time, mel) image;
- `transformer`: a small keyword transformer (patches of frames as tokens,
  sine positions, encoder blocks, attention pooling);
- `transfer`: the suite's pretrained audio backbone (or YAMNet's handle)
  plus a new head, trained frozen first, then fine-tuned;
- `ctc`: speech recognition, a convolutional front end, bidirectional GRU or
  LSTM layers and per-frame character logits, trained with CTC loss in
  `CTCModel.compute_loss`.
"""

from __future__ import annotations

import keras

from domains.speech.config import (
    CTCConfig,
    FrontEndConfig,
    KeywordCNNConfig,
    KeywordTransferConfig,
    KeywordTransformerConfig,
    WaveformAugmentConfig,
)
from shared.layers import (
    AttentionPooling,
    ClassificationHead,
    ConvBlock,
    IntensityNormalization,
    LogMelSpectrogram,
    RecurrentBlock,
    ResidualBlock,
    SinePositionEncoding,
    SpecAugment,
    TransformerEncoderBlock,
    WaveformAugment,
)
from shared.layers.names import BACKBONE, FEATURE_MAP, FEATURES, SCORER

__all__ = ["build_cnn", "build_ctc", "build_transfer", "build_transformer", "front_end", "output_frames"]


def _waveform_augment(cfg: WaveformAugmentConfig, seed=None):
    if not cfg.enabled:
        return keras.layers.Identity(name="waveform_augment")
    return WaveformAugment(
        max_shift=cfg.max_shift, speed=cfg.speed, gain_db=cfg.gain_db, min_snr_db=cfg.min_snr_db, max_snr_db=cfg.max_snr_db, seed=seed, name="waveform_augment"
    )


def front_end(cfg: FrontEndConfig, sample_rate: int, samples: int | None, seed=None) -> keras.Model:
    """The `features` sub-model: waveform [samples] -> log-mel [frames, mels]."""
    audio = keras.Input((samples,), name="audio")
    x = _waveform_augment(cfg.waveform_augment, seed)(audio)
    mel = LogMelSpectrogram(
        sample_rate=sample_rate, frame_length=cfg.frame_length, frame_step=cfg.frame_step, fft_length=cfg.fft_length, num_mel_bins=cfg.num_mel_bins, name="log_mel"
    )(x)
    return keras.Model(audio, mel, name=FEATURES)


def output_frames(cfg: FrontEndConfig, samples: int) -> int:
    """Log-mel frames of a clip of `samples` (the front end pads nothing)."""
    return 1 + (samples - cfg.frame_length) // cfg.frame_step


def _spec_augment(cfg: FrontEndConfig, seed=None):
    s = cfg.spec_augment
    if not s.enabled:
        return keras.layers.Identity(name="spec_augment")
    return SpecAugment(s.freq_masks, s.freq_mask_width, s.time_masks, s.time_mask_width, seed=seed, name="spec_augment")


def _assemble(front: keras.Model, scorer: keras.Model, name: str) -> keras.Model:
    audio = keras.Input(front.input_shape[1:], name="audio")
    return keras.Model(audio, scorer(front(audio)), name=name)


def _clip(data) -> tuple[int, int, int]:
    s = data.state
    return int(s["sample_rate"]), int(s["clip_samples"]), len(s["classes"])


def build_cnn(cfg: KeywordCNNConfig, data) -> keras.Model:
    """Residual CNN over the log-mel image (time x mel x 1)."""
    rate, samples, classes = _clip(data)
    front = front_end(cfg.front_end, rate, samples)
    mel = keras.Input((output_frames(cfg.front_end, samples), cfg.front_end.num_mel_bins), name="log_mel")
    x = _spec_augment(cfg.front_end)(mel)
    x = IntensityNormalization("zscore", name="feature_norm")(x)  # per clip: no batch statistics to lag behind
    x = keras.layers.Reshape((*mel.shape[1:], 1), name="as_image")(x)
    for i, filters in enumerate(cfg.filters):
        stride = 1 if i == 0 else 2
        if cfg.residual:
            x = ResidualBlock(filters, strides=stride, l2=cfg.l2, norm_momentum=cfg.norm_momentum, name=f"block{i + 1}")(x)
        else:
            x = ConvBlock(filters, strides=stride, l2=cfg.l2, norm_momentum=cfg.norm_momentum, name=f"block{i + 1}")(x)
    x = keras.layers.Identity(name=FEATURE_MAP)(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    probs = ClassificationHead(classes, dropout=cfg.dropout, activation="softmax", name="probabilities")(x)
    return _assemble(front, keras.Model(mel, probs, name=SCORER), "keyword_cnn")


def build_transformer(cfg: KeywordTransformerConfig, data) -> keras.Model:
    """Keyword transformer: patches of log-mel frames as tokens, encoder blocks, attention pooling."""
    rate, samples, classes = _clip(data)
    frames = output_frames(cfg.front_end, samples)
    tokens = frames // cfg.patch_frames
    bins = cfg.front_end.num_mel_bins
    front = front_end(cfg.front_end, rate, samples)
    mel = keras.Input((frames, bins), name="log_mel")
    x = _spec_augment(cfg.front_end)(mel)
    x = IntensityNormalization("zscore", name="feature_norm")(x)
    x = keras.layers.Cropping1D((0, frames - tokens * cfg.patch_frames), name="whole_patches")(x)
    x = keras.layers.Reshape((tokens, cfg.patch_frames * bins), name="patches")(x)
    x = keras.layers.Dense(cfg.embed_dim, name="patch_embedding")(x)
    x = x + SinePositionEncoding(name="positions")(x)
    for i in range(cfg.num_layers):
        x = TransformerEncoderBlock(cfg.num_heads, cfg.embed_dim // cfg.num_heads, cfg.mlp_dim, dropout=cfg.dropout, name=f"encoder{i + 1}")(x)
    x = AttentionPooling(name="pool")(x)
    probs = ClassificationHead(classes, dropout=cfg.dropout, activation="softmax", name="probabilities")(x)
    return _assemble(front, keras.Model(mel, probs, name=SCORER), "keyword_transformer")


def build_transfer(cfg: KeywordTransferConfig, data) -> keras.Model:
    """A pretrained audio backbone (waveform -> embedding) and a new softmax head."""
    from shared.hub import HubBackbone

    rate, samples, classes = _clip(data)
    audio = keras.Input((samples,), name="audio")
    x = _waveform_augment(cfg.waveform_augment)(audio)
    features = HubBackbone(cfg.handle, trainable=False, name=BACKBONE)(x)
    probs = ClassificationHead(classes, dropout=cfg.dropout, activation="softmax", name="probabilities")(features)
    return keras.Model(audio, probs, name="keyword_transfer")


def build_ctc(cfg: CTCConfig, data) -> keras.Model:
    """Speech recognizer: log-mel, strided conv blocks, bidirectional RNN layers, per-frame character logits."""
    from shared.ctc import CTCModel

    rate = int(data.state["sample_rate"])
    vocab_size = int(data.state["vocabulary_size"])
    front = front_end(cfg.front_end, rate, None)
    audio = keras.Input((None,), name="audio")
    mel = front(audio)
    x = _spec_augment(cfg.front_end)(mel)
    x = keras.layers.BatchNormalization(name="feature_norm")(x)
    x = keras.layers.Reshape((-1, cfg.front_end.num_mel_bins, 1), name="as_image")(x)
    for i, filters in enumerate(cfg.conv_filters):
        x = ConvBlock(filters, strides=2, name=f"conv{i + 1}")(x)
    bins = x.shape[2]
    x = keras.layers.Reshape((-1, bins * cfg.conv_filters[-1]), name="as_sequence")(x)
    for i in range(cfg.rnn_layers):
        x = RecurrentBlock(cfg.rnn_units, cell=cfg.rnn, bidirectional=True, return_sequences=True, dropout=cfg.dropout, name=f"rnn{i + 1}")(x)
    logits = keras.layers.Dense(vocab_size, name="logits")(x)
    return CTCModel(audio, logits, name="speech_ctc")


def ctc_frames(cfg: CTCConfig, samples):
    """Logit frames for `samples` audio samples (a tensor or int): the front end, then each stride-2 conv."""
    frames = 1 + (samples - cfg.front_end.frame_length) // cfg.front_end.frame_step
    for _ in cfg.conv_filters:
        frames = (frames + 1) // 2
    return frames


def build_scratch_twin(cfg: KeywordTransferConfig, data, extractor: keras.Model) -> keras.Model:
    """`build_transfer` with the backbone's own architecture from random weights (the from-scratch comparison)."""
    rate, samples, classes = _clip(data)
    audio = keras.Input((samples,), name="audio")
    x = _waveform_augment(cfg.waveform_augment)(audio)
    features = extractor(x)
    probs = ClassificationHead(classes, dropout=cfg.dropout, activation="softmax", name="probabilities")(features)
    return keras.Model(audio, probs, name="keyword_scratch_twin")
