"""Keyword clips into memory, and the tf.data pipelines that train on them.

`load_keywords` reads the folder listing (`sources.read_keyword_folder`),
decodes every clip once with the shared audio reader (any WAV, FLAC or OGG,
any rate, mono or stereo, resampled to `data.sample_rate`), fits it to the
clip length, and adds the `_silence_` examples, cut from the background
noise of the clip's own split, so that no noise sample is in two splits.

`keyword_datasets` batches them. Only the training split mixes in background
noise at a random SNR; the waveform and spectrogram augmentation are layers
of the model (active in training only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from domains.speech.config import SILENCE, UNKNOWN, KeywordDataConfig
from shared.errors import DataError
from shared.inputs.audio import read_audio
from shared.progress import track

SPLITS = ("train", "validation", "test")
SEEN = "seen"  # training speakers' clips held back from training, to measure accuracy on heard speakers
NOISE_SHARES = {"train": (0.0, 0.8), "validation": (0.8, 0.9), "test": (0.9, 1.0)}  # of each noise recording
DIGITAL_SILENCE_SHARE = 0.1  # of the silence examples: all-zero clips


@dataclass
class KeywordSet:
    """Decoded clips with their labels, speakers and splits (`split` also has `"seen"`)."""

    waves: np.ndarray  # float32 [clips, samples]
    labels: np.ndarray  # int32 [clips]
    split: np.ndarray  # object [clips]: train / validation / test / seen
    speakers: np.ndarray  # object [clips]; "" for silence
    paths: np.ndarray  # object [clips]; "" for silence
    classes: list[str]
    keywords: list[str]
    noise: dict[str, np.ndarray] = field(default_factory=dict)  # split -> float32 [samples]
    provenance: dict = field(default_factory=dict)
    padded: int = 0
    cropped: int = 0

    def mask(self, name: str) -> np.ndarray:
        return self.split == name

    def class_counts(self, name: str) -> dict[str, int]:
        counts = np.bincount(self.labels[self.mask(name)], minlength=len(self.classes))
        return {c: int(n) for c, n in zip(self.classes, counts)}


def fit_clip(wave: np.ndarray, samples: int) -> tuple[np.ndarray, str]:
    """A clip of exactly `samples`: zero-padded on both sides, or the loudest window of a longer one.

    Returns:
        (clip, how): `how` is "", "padded" or "cropped".
    """
    n = len(wave)
    if n == samples:
        return wave, ""
    if n < samples:
        left = (samples - n) // 2
        return np.pad(wave, (left, samples - n - left)), "padded"
    energy = np.concatenate([[0.0], np.cumsum(wave.astype(np.float64) ** 2)])
    start = int(np.argmax(energy[samples:] - energy[:-samples]))
    return wave[start : start + samples], "cropped"


def decode_clips(paths, cfg: KeywordDataConfig, desc: str = "decoding clips") -> tuple[np.ndarray, int, int]:
    """Decode and fit every clip; returns (waves, padded count, cropped count)."""
    samples = clip_samples(cfg)
    out = np.zeros((len(paths), samples), np.float32)
    padded = cropped = 0
    for i, path in enumerate(track(paths, desc, total=len(paths), unit="clip")):
        wave, _ = read_audio(Path(path), cfg.sample_rate, max_seconds=cfg.max_clip_seconds)
        out[i], how = fit_clip(wave, samples)
        padded += how == "padded"
        cropped += how == "cropped"
    return out, padded, cropped


def clip_samples(cfg: KeywordDataConfig) -> int:
    return int(round(cfg.clip_seconds * cfg.sample_rate))


def noise_banks(files, cfg: KeywordDataConfig) -> dict[str, np.ndarray]:
    """Each background-noise recording cut into train / validation / test parts (80 / 10 / 10 %)."""
    banks: dict[str, list[np.ndarray]] = {name: [] for name in SPLITS}
    for path in files:
        wave, _ = read_audio(Path(path), cfg.sample_rate)
        for name, (lo, hi) in NOISE_SHARES.items():
            banks[name].append(wave[int(lo * len(wave)) : int(hi * len(wave))])
    return {name: np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32) for name, parts in banks.items()}


def silence_clips(n: int, bank: np.ndarray, samples: int, rng: np.random.Generator) -> np.ndarray:
    """`n` silence examples: windows of background noise at a random gain, and some all-zero clips."""
    out = np.zeros((n, samples), np.float32)
    if len(bank) <= samples:
        return out
    for i in range(n):
        if rng.random() < DIGITAL_SILENCE_SHARE:
            continue
        start = int(rng.integers(0, len(bank) - samples))
        out[i] = bank[start : start + samples] * rng.uniform(0.0, 1.0)
    return out


def _subsample_unknown(frame, fraction: float | None, rng: np.random.Generator):
    if fraction is None:
        return frame
    keep = []
    for _, part in frame.groupby("split", sort=False):
        unknown = part.index[part["label"] == UNKNOWN].to_numpy()
        limit = int(round(fraction * int((part["label"] != UNKNOWN).sum())))
        if len(unknown) > limit:
            unknown = rng.choice(unknown, size=limit, replace=False)
        keep.extend(part.index[part["label"] != UNKNOWN])
        keep.extend(unknown)
    return frame.loc[sorted(keep)]


def _limit_per_class(frame, limit: int | None, rng: np.random.Generator):
    if limit is None:
        return frame
    train = frame[frame["split"] == "train"]
    keep = [g.index.to_numpy() if len(g) <= limit else rng.choice(g.index.to_numpy(), size=limit, replace=False) for _, g in train.groupby("label")]
    kept = set(np.concatenate(keep).tolist()) if keep else set()
    return frame[(frame["split"] != "train") | frame.index.isin(kept)]


def _hold_back_seen(frame, percent: float, rng: np.random.Generator):
    """Mark `percent` of the training clips (per class) as `seen`: heard speakers, never trained on."""
    if not percent:
        return frame
    frame = frame.copy()
    for _, group in frame[frame["split"] == "train"].groupby("label"):
        n = int(round(len(group) * percent / 100.0))
        if n and len(group) - n >= 1:
            frame.loc[rng.choice(group.index.to_numpy(), size=n, replace=False), "split"] = SEEN
    return frame


def load_keywords(listing, cfg: KeywordDataConfig, seed: int) -> KeywordSet:
    """Decode a keyword folder listing (`sources.KeywordFolder`) into a `KeywordSet`."""
    rng = np.random.default_rng(seed)
    frame = listing.clips.reset_index(drop=True)
    keywords = list(listing.keywords)
    classes = [*keywords, SILENCE, UNKNOWN]
    frame = _subsample_unknown(frame, cfg.unknown_fraction, rng)
    frame = _limit_per_class(frame, cfg.limit_per_class, rng)
    frame = _hold_back_seen(frame, cfg.seen_speaker_percent, rng).reset_index(drop=True)
    for name in SPLITS:
        if not (frame["split"] == name).any():
            raise DataError(f"the {name} split has no clips; add clips or speakers, or change data.validation_percent / data.testing_percent")
    waves, padded, cropped = decode_clips(frame["path"].tolist(), cfg)
    index = {c: i for i, c in enumerate(classes)}
    labels = frame["label"].map(index).to_numpy(np.int32)
    parts = [(waves, labels, frame["split"].to_numpy(object), frame["speaker"].astype(str).to_numpy(object), frame["path"].astype(str).to_numpy(object))]
    banks = noise_banks(listing.noise_files, cfg)
    samples = clip_samples(cfg)
    for name in SPLITS:
        keyword_clips = int(((frame["split"] == name) & (frame["label"] != UNKNOWN)).sum())
        n = int(round(cfg.silence_fraction * keyword_clips))
        if n:
            blank = np.full(n, "", object)
            parts.append((silence_clips(n, banks[name], samples, rng), np.full(n, index[SILENCE], np.int32), np.full(n, name, object), blank, blank))
    waves, labels, split, speakers, paths = (np.concatenate([p[i] for p in parts]) for i in range(5))
    data = KeywordSet(waves, labels, split, speakers, paths, classes, keywords, banks, padded=padded, cropped=cropped)
    data.provenance = {
        **listing.provenance,
        "clips": int(len(frame)),
        "sample_rate": cfg.sample_rate,
        "clip_seconds": cfg.clip_seconds,
        "padded_clips": padded,
        "cropped_clips": cropped,
        "noise_files": len(listing.noise_files),
        "noise_seconds": {k: round(len(v) / cfg.sample_rate, 1) for k, v in banks.items()},
        **{f"{name}_clips": int((split == name).sum()) for name in (*SPLITS, SEEN)},
        **{f"{name}_speakers": int(len({s for s in speakers[split == name] if s})) for name in (*SPLITS, SEEN)},
        "class_counts": {name: data.class_counts(name) for name in (*SPLITS, SEEN)},
    }
    return data


def mix_noise(waves, bank, probability: float, min_snr_db: float, max_snr_db: float, seed):
    """Add windows of `bank` to a batch of waveforms at a random SNR, each with `probability` (TensorFlow ops)."""
    import tensorflow as tf

    batch, samples = tf.shape(waves)[0], tf.shape(waves)[1]
    bank = tf.constant(bank, tf.float32)
    seeds = tf.random.experimental.stateless_split(seed, 3)
    starts = tf.random.stateless_uniform([batch], seeds[0], 0, tf.shape(bank)[0] - samples, dtype=tf.int32)
    noise = tf.gather(bank, starts[:, None] + tf.range(samples)[None, :])
    snr = tf.random.stateless_uniform([batch, 1], seeds[1], min_snr_db, max_snr_db)
    signal_rms = tf.sqrt(tf.reduce_mean(tf.square(waves), axis=1, keepdims=True) + 1e-10)
    noise_rms = tf.sqrt(tf.reduce_mean(tf.square(noise), axis=1, keepdims=True) + 1e-10)
    scale = signal_rms / noise_rms * tf.pow(10.0, -snr / 20.0)
    apply = tf.cast(tf.random.stateless_uniform([batch, 1], seeds[2]) < probability, tf.float32)
    return tf.clip_by_value(waves + apply * scale * noise, -1.0, 1.0)


def keyword_datasets(data: KeywordSet, cfg: KeywordDataConfig, batch_size: int, seed: int, shuffle_buffer: int) -> dict:
    """Batched train / validation / test / seen datasets of (waveform, label)."""
    import tensorflow as tf

    from shared.data.pipeline import split_datasets

    def unbatched(name):
        mask = data.mask(name)
        return tf.data.Dataset.from_tensor_slices((data.waves[mask], data.labels[mask]))

    names = (*SPLITS, SEEN) if data.mask(SEEN).any() else SPLITS
    splits = split_datasets(unbatched, batch_size, shuffle_buffer=shuffle_buffer, seed=seed, names=names)
    bank = data.noise["train"]
    samples = data.waves.shape[1]
    if cfg.noise.enabled and cfg.noise.probability > 0 and len(bank) > samples:
        n = cfg.noise
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        mixed = tf.data.Dataset.zip(splits["train"], seeds).map(
            lambda xy, s: (mix_noise(xy[0], bank, n.probability, n.min_snr_db, n.max_snr_db, s), xy[1]),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        splits["train"] = mixed.prefetch(tf.data.AUTOTUNE)
    return splits
