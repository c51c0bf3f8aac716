"""Transcribed audio into memory, and the tf.data pipelines a CTC model trains on.

`load_transcripts` decodes every utterance of a manifest listing
(`sources.read_transcripts`) with the shared audio reader, builds the
character vocabulary from the training transcripts only, encodes every
split with it (`data.unknown_characters`: name the characters outside it,
or drop them and count them), and drops utterances too short for their
transcript (CTC needs at least one frame per label), counting them.

`transcript_datasets` batches them with `padded_batch`: waveforms padded
with zeros, labels padded with 0 (the blank, which CTC reads as padding),
and the true logit frames of each utterance, so the loss ignores padding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from domains.speech.config import TranscriptDataConfig
from shared.ctc.vocabulary import CharVocabulary
from shared.errors import DataError
from shared.inputs.audio import read_audio
from shared.progress import track

SPLITS = ("train", "validation", "test")


@dataclass
class TranscriptData:
    """Decoded utterances with their transcripts, label ids, speakers and splits."""

    waves: list[np.ndarray]
    texts: list[str]  # normalized transcripts
    labels: list[np.ndarray]  # int32 ids 1..N
    split: np.ndarray  # object: train / validation / test
    speakers: np.ndarray  # object
    paths: np.ndarray  # object
    vocabulary: CharVocabulary
    provenance: dict = field(default_factory=dict)

    def indices(self, name: str) -> np.ndarray:
        return np.flatnonzero(self.split == name)

    def seconds(self, name: str, rate: int) -> float:
        return float(sum(len(self.waves[i]) for i in self.indices(name)) / rate)


def load_transcripts(listing, cfg: TranscriptDataConfig, frames: Callable[[int], int]) -> TranscriptData:
    """Decode and encode a `sources.TranscriptSet`; `frames(samples)` gives the model's logit frames."""
    frame = listing.frame.reset_index(drop=True)
    for name in SPLITS:
        if not (frame["split"] == name).any():
            raise DataError(f"the {name} split has no utterances; add utterances or speakers, or change data.validation_percent / data.testing_percent")
    train_texts = frame.loc[frame["split"] == "train", "transcript"].tolist()
    vocabulary = CharVocabulary.from_transcripts(train_texts)
    labels, dropped_chars = vocabulary.encode_all(frame["transcript"].tolist(), unknown=cfg.unknown_characters)
    waves = []
    for path in track(frame["path"].tolist(), "decoding utterances", total=len(frame), unit="clip"):
        wave, _ = read_audio(Path(path), cfg.sample_rate, max_seconds=cfg.max_clip_seconds)
        waves.append(wave)
    keep = [i for i, (w, y) in enumerate(zip(waves, labels)) if frames(len(w)) >= len(y)]
    too_short = len(frame) - len(keep)
    if not keep:
        raise DataError("every utterance is too short for its transcript (CTC needs one frame per character); check that the audio matches the transcripts")
    frame = frame.iloc[keep].reset_index(drop=True)
    waves = [waves[i] for i in keep]
    labels = [labels[i] for i in keep]
    texts = [vocabulary.decode(y) for y in labels]
    split = frame["split"].to_numpy(object)
    data = TranscriptData(
        waves, texts, labels, split, frame["speaker"].astype(str).to_numpy(object), frame["path"].astype(str).to_numpy(object), vocabulary
    )
    data.provenance = {
        **listing.provenance,
        "utterances": int(len(frame)),
        "sample_rate": cfg.sample_rate,
        "vocabulary": "".join(vocabulary.characters),
        "dropped_characters": dict(dropped_chars),
        "too_short_for_transcript": int(too_short),
        **{f"{name}_utterances": int((split == name).sum()) for name in SPLITS},
        **{f"{name}_speakers": int(len(set(data.speakers[split == name]))) for name in SPLITS},
        **{f"{name}_seconds": round(data.seconds(name, cfg.sample_rate), 1) for name in SPLITS},
    }
    return data


def transcript_datasets(data: TranscriptData, names, batch_size: int, seed: int, shuffle_buffer: int, frames: Callable) -> dict:
    """Batched `(waveform, {labels, logit_length})` datasets, padded per batch."""
    import tensorflow as tf

    from shared.ctc import LABELS, LOGIT_LENGTH

    out = {}
    for name in names:
        idx = data.indices(name)
        waves = [data.waves[i] for i in idx]
        labels = [data.labels[i] for i in idx]
        wave_rt = tf.RaggedTensor.from_row_lengths(np.concatenate(waves).astype(np.float32), [len(w) for w in waves])
        label_rt = tf.RaggedTensor.from_row_lengths(np.concatenate(labels).astype(np.int32), [len(y) for y in labels])
        logit_length = np.array([frames(len(w)) for w in waves], np.int32)
        # Rows of a ragged tensor; the identity map turns them into dense 1-D tensors, which padded_batch needs.
        ds = tf.data.Dataset.from_tensor_slices((wave_rt, label_rt, logit_length)).map(lambda w, y, n: (w, y, n))
        if name == "train":
            ds = ds.shuffle(min(len(idx), max(shuffle_buffer, 1)), seed=seed, reshuffle_each_iteration=True)
        ds = ds.padded_batch(batch_size, padding_values=(0.0, 0, 0))
        ds = ds.map(lambda w, y, n: (w, {LABELS: y, LOGIT_LENGTH: n}), num_parallel_calls=tf.data.AUTOTUNE)
        out[name] = ds.prefetch(tf.data.AUTOTUNE)
    return out


def transcribe_waves(model, waves: list[np.ndarray], vocabulary: CharVocabulary, frames: Callable, method: str = "greedy", beam_width: int = 16, batch: int = 16):
    """Transcripts of waveforms (any lengths), batched with zero padding; also the mean per-frame confidence."""
    from shared.ctc import decode_texts

    texts, confidence = [], []
    order = np.argsort([len(w) for w in waves])  # similar lengths per batch: less padding
    result: dict[int, tuple[str, float]] = {}
    for start in range(0, len(order), batch):
        chunk = order[start : start + batch]
        longest = max(len(waves[i]) for i in chunk)
        x = np.zeros((len(chunk), longest), np.float32)
        for row, i in enumerate(chunk):
            x[row, : len(waves[i])] = waves[i]
        logits = np.asarray(model(x, training=False))
        lengths = np.array([min(frames(len(waves[i])), logits.shape[1]) for i in chunk], np.int32)
        decoded = decode_texts(vocabulary, logits, lengths, method=method, beam_width=beam_width)
        probs = _softmax(logits)
        for row, i in enumerate(chunk):
            result[int(i)] = (" ".join(decoded[row].split()), float(probs[row, : lengths[row]].max(axis=-1).mean()))
    for i in range(len(waves)):
        texts.append(result[i][0])
        confidence.append(result[i][1])
    return texts, confidence


def frame_posteriors(model, wave: np.ndarray, vocabulary: CharVocabulary, frames: Callable) -> tuple[np.ndarray, list[str]]:
    """Per-frame character probabilities of one waveform `(frames, vocab)`, and the id names (blank first)."""
    logits = np.asarray(model(wave[None].astype(np.float32), training=False))[0]
    n = min(frames(len(wave)), logits.shape[0])
    return _softmax(logits[:n]), ["<blank>", *vocabulary.characters]


def _softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)
