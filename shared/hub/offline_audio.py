"""The suite's own audio backbone: a log-mel CNN pretrained on spoken words.

Offline, there is no YAMNet to download. `dlsuite hub build
speech-words-cnn` synthesizes a word-classification set with espeak-ng
(`shared.data.espeak.PRETRAINING_WORDS`, a vocabulary disjoint from the
speech domain's demo keywords, spoken by many voices over noise), trains a
classifier on it and exports ONLY the feature extractor, raw 16 kHz audio
in and a feature vector out, as a TF2 reusable SavedModel under
`data/hub/speech-words-cnn/`. `HubBackbone("dlsuite/speech-words-cnn")`
then uses it as it would use a tfhub.dev audio embedding model.

The log-mel front end is part of the backbone (`shared.layers.LogMelSpectrogram`),
so it runs wherever the SavedModel runs.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.runs import atomic_path, now, versions

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class AudioBackboneRecipe:
    """How to pretrain one offline audio backbone.

    Args:
        name: str. Registry name in `HUB_MODELS` (`"dlsuite/..."`).
        clip_samples: int. Input length: one second at 16 kHz.
        num_mel_bins: int. Log-mel bins of the front end.
        stem_filters: int. Filters of the first `ConvBlock`.
        stage_filters: tuple of int. One strided `ResidualBlock` per entry;
            the last one is the feature dimension.
        speakers: int. espeak-ng voices (voice and variant) speaking each word.
        clips_per_speaker: int. Takes of each word per speaker (speed, pitch, noise vary).
        epochs: int. Default pretraining epochs.
        batch_size: int.
        learning_rate: float. Peak Adam learning rate (cosine decay to 0).
        seed: int.
    """

    name: str
    clip_samples: int = SAMPLE_RATE
    num_mel_bins: int = 40
    stem_filters: int = 16
    stage_filters: tuple = (32, 64, 96)
    speakers: int = 40
    clips_per_speaker: int = 1
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 3e-3
    seed: int = 0
    dataset: str = "espeak_words"

    @property
    def feature_dim(self) -> int:
        return self.stage_filters[-1]


def build_audio_extractor(recipe: AudioBackboneRecipe):
    """The backbone: float32 waveform `(batch, clip_samples)` in [-1, 1] -> `(batch, feature_dim)`."""
    import keras

    from shared.layers import ConvBlock, IntensityNormalization, LogMelSpectrogram, ResidualBlock

    audio = keras.Input((recipe.clip_samples,), name="audio")
    x = LogMelSpectrogram(SAMPLE_RATE, num_mel_bins=recipe.num_mel_bins, name="log_mel")(audio)
    x = IntensityNormalization("zscore", name="feature_norm")(x)  # per clip: CMVN-like, no batch statistics
    x = keras.layers.Reshape((*x.shape[1:], 1), name="as_image")(x)
    x = ConvBlock(recipe.stem_filters, name="stem")(x)
    for index, filters in enumerate(recipe.stage_filters):
        x = ResidualBlock(filters, strides=2, name=f"stage{index + 1}")(x)
    features = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(audio, features, name=recipe.name.replace("/", "_").replace("-", "_"))


def synthesize_words(recipe: AudioBackboneRecipe, limit: int | None = None):
    """The pretraining set: `(waves, labels, speakers, words)`, every word spoken by every speaker.

    Speakers are split 80 / 20 into training and test voices, so the
    reported test accuracy is on voices the backbone never heard.
    """
    from shared.data import espeak
    from shared.progress import track

    rng = np.random.default_rng(recipe.seed)
    words = list(espeak.PRETRAINING_WORDS)
    speakers = espeak.speakers(recipe.speakers, seed=recipe.seed)
    jobs = [(w, s) for s in speakers for w in range(len(words)) for _ in range(recipe.clips_per_speaker)]
    if limit:
        jobs = jobs[:limit]
    waves = np.zeros((len(jobs), recipe.clip_samples), np.float32)
    labels = np.zeros(len(jobs), np.int32)
    owner = np.empty(len(jobs), object)
    for i, (w, s) in enumerate(track(jobs, "synthesizing pretraining words", total=len(jobs), unit="clip")):
        speech = espeak.speak(words[w], voice=s.voice, variant=s.variant, speed=s.speed, pitch=s.pitch, sample_rate=SAMPLE_RATE)
        speech = speech[: recipe.clip_samples]
        start = int(rng.integers(0, recipe.clip_samples - len(speech) + 1))
        clip = np.zeros(recipe.clip_samples, np.float32)
        clip[start : start + len(speech)] = speech * rng.uniform(0.3, 1.0) / max(float(np.abs(speech).max()), 1e-6)
        noise = rng.standard_normal(recipe.clip_samples).astype(np.float32)
        rms = float(np.sqrt(np.mean(clip**2)) + 1e-8)
        clip += noise * rms * 10 ** (-rng.uniform(10, 40) / 20)
        waves[i] = np.clip(clip, -1, 1)
        labels[i] = w
        owner[i] = s.id
    return waves, labels, owner, words


def build_audio_backbone(recipe: AudioBackboneRecipe, out_dir: Path, epochs: int, limit: int | None, stages, verbose) -> dict:
    """Pretrain `recipe` on synthesized words, export its extractor to `out_dir`; returns the metadata."""
    import keras
    import tensorflow as tf

    from shared.data import espeak
    from shared.data.pipeline import batched
    from shared.hub.handles import fingerprint
    from shared.hub.layer import HubBackbone
    from shared.hub.offline import METADATA_FILE, verify_export
    from shared.hub.saved_model import write_reusable
    from shared.training.engine import Trainer
    from shared.training.strategy import resolve_strategy

    start = time.perf_counter()
    keras.utils.set_random_seed(recipe.seed)
    with stages.stage(f"synthesize {len(espeak.PRETRAINING_WORDS)} words with espeak-ng"):
        waves, labels, owner, words = synthesize_words(recipe, limit)
        ids = sorted(set(owner))
        test_ids = set(ids[:: 5])  # every fifth voice is held out
        test = np.array([o in test_ids for o in owner])
        train_ds = batched(tf.data.Dataset.from_tensor_slices((waves[~test], labels[~test])), recipe.batch_size, shuffle_buffer=int((~test).sum()), seed=recipe.seed)
        test_ds = batched(tf.data.Dataset.from_tensor_slices((waves[test], labels[test])), recipe.batch_size)

    with stages.stage(f"pretrain {recipe.name} on {int((~test).sum())} clips for {epochs} epoch(s)"):
        strategy = resolve_strategy("auto")
        with strategy.scope():
            extractor = build_audio_extractor(recipe)
            inputs = keras.Input((recipe.clip_samples,), name="audio")
            x = keras.layers.Dropout(0.2, name="head_dropout")(extractor(inputs))
            classifier = keras.Model(inputs, keras.layers.Dense(len(words), name="head")(x), name="pretraining_classifier")
            steps = epochs * int(np.ceil((~test).sum() / recipe.batch_size))
            classifier.compile(
                optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(recipe.learning_rate, max(steps, 1))),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"],
            )
        Trainer(strategy, epochs=epochs, verbose=verbose).fit(classifier, train_ds)

    with stages.stage(f"evaluate on {int(test.sum())} clips by {len(test_ids)} held-out voices"):
        metrics = classifier.evaluate(test_ds, verbose=0, return_dict=True)
        print(f"pretraining test accuracy (held-out voices): {metrics['accuracy']:.4f}", file=stages.stream, flush=True)

    with stages.stage(f"export the feature extractor to {out_dir}"):
        metadata = _metadata(recipe, words, int((~test).sum()), int(test.sum()), len(ids), epochs, metrics, time.perf_counter() - start)
        with atomic_path(out_dir) as tmp:
            write_reusable(extractor, tmp)
            metadata["fingerprint"] = fingerprint(tmp)
            (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")

    with stages.stage("verify with tensorflow_hub.load and HubBackbone"):
        verify_export(out_dir, extractor, tf.constant(waves[test][:8]), HubBackbone)
    return metadata


def _metadata(recipe, words, train, test, voices, epochs, metrics, seconds) -> dict:
    import importlib.metadata as md

    from shared.hub.registry import HUB_MODELS

    spec = HUB_MODELS.get(recipe.name)
    return {
        "name": recipe.name,
        "format": "TF2 reusable SavedModel: obj(audio, training=False), variables, trainable_variables, "
        "regularization_losses; signature serving_default -> {feature_vector}",
        "usage": f"HubBackbone('{recipe.name}') or tensorflow_hub.load(<this directory>)",
        "input": {"shape": [recipe.clip_samples], "dtype": "float32", "value_range": [-1.0, 1.0], "notes": spec.input.notes},
        "output": {"feature_dim": recipe.feature_dim, "key": "feature_vector", "description": spec.output},
        "architecture": {
            "layers": f"LogMelSpectrogram({recipe.num_mel_bins} bins, 25 ms frames, 10 ms hop), per-clip z-score (IntensityNormalization), "
            f"ConvBlock({recipe.stem_filters}), " + ", ".join(f"ResidualBlock({f}, stride 2)" for f in recipe.stage_filters) + ", GlobalAveragePooling2D",
        },
        "pretraining": {
            "dataset": "synthetic spoken words (espeak-ng), a vocabulary disjoint from the speech demo keywords",
            "source": "espeak-ng (Debian package espeak-ng), voices x variants, random speed, pitch, offset, gain and white noise (10-40 dB SNR)",
            "words": list(words),
            "voices": voices,
            "train_examples": train,
            "test_examples": test,
            "test_split": "every fifth voice held out",
            "epochs": epochs,
            "batch_size": recipe.batch_size,
            "optimizer": f"Adam, cosine decay from {recipe.learning_rate}",
            "seed": recipe.seed,
            "test_accuracy": metrics["accuracy"],
            "test_loss": metrics["loss"],
            "seconds": round(seconds, 1),
        },
        "intended_use": "offline stand-in for an audio embedding model (YAMNet): transfer learning for keyword spotting "
        "and other short-clip speech tasks where tfhub.dev cannot be reached",
        "limits": "learned synthetic speech of about 30 words: features are weaker on real voices, music or environmental sound",
        "created": now(),
        "versions": {**versions(), "tensorflow-hub": md.version("tensorflow-hub")},
    }
