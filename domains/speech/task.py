"""Speech: registration, metrics, predict, evaluate and explain.

Two tasks:

- `keywords`: keyword spotting on one-second clips (Speech Commands layout),
  with `_silence_` and `_unknown_` classes, a CNN, a keyword transformer or
  a pretrained audio backbone; streaming detection over long recordings
  with per-keyword thresholds tuned on validation audio;
- `transcribe`: speech recognition with CTC (conv front end, bidirectional
  RNN), greedy or beam-search decoding, WER and CER.

The demo data is synthetic speech (espeak-ng voices), generated once into
the data cache (`shared.data.generated`). Every model takes raw audio.

This module imports no TensorFlow or Keras: the model builders are
registered with `lazy(...)` and every TensorFlow import is inside a method.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from domains.speech import sources
from domains.speech.config import (
    AUDIO_SUFFIXES,
    CTCConfig,
    KeywordCNNConfig,
    KeywordDataConfig,
    KeywordEvaluationConfig,
    KeywordMetrics,
    KeywordState,
    KeywordTransferConfig,
    KeywordTransformerConfig,
    TranscriptDataConfig,
    TranscriptEvaluationConfig,
    TranscriptState,
)
from domains.speech.pipeline import SEEN, fit_clip, keyword_datasets, load_keywords
from shared.domain import DataBundle, Domain, ExampleFiles, Explanation, InputKind, ModelSpec, Task, lazy
from shared.errors import DataError, RunError
from shared.inputs.audio import MAX_SECONDS, read_audio
from shared.registry import Registry
from shared.run_files import RESTORE_HINT
from shared.training.class_weights import balanced_class_weights
from shared.training.phases import backbone_phases

HERE = Path(__file__).resolve().parent
DEMO_SEED = 31_337  # held out: no preset trains on it
MIN_SECONDS = 0.1  # shorter inputs hold no word
CLIPPED_SHARE = 0.01  # a clip with more samples than this at full scale is reported as clipped
SILENT_DBFS = -60.0
TOP_K = 3
SYNTHETIC = "Synthetic speech: every demo clip was spoken by espeak-ng voices, not by people."

INTENDED_USE = "Teaching and prototyping keyword spotting and speech recognition on your own recordings."
LIMITATIONS = (
    "The demo models learned synthetic speech (espeak-ng voices with added noise); they do not recognise real "
    "voices reliably. A model trained on your recordings is only as good as their speakers, microphones and "
    "noise: measure it on speakers it never heard, in the conditions it will run in."
)


def quality_note(wave: np.ndarray, rate: int, samples: int | None) -> str:
    """What was done to an input or is odd about it: silent, clipped, padded or cropped ("" when nothing)."""
    notes = []
    peak = float(np.abs(wave).max()) if len(wave) else 0.0
    if peak == 0.0 or 20 * np.log10(peak) < SILENT_DBFS:
        notes.append("silent")
    clipped = float(np.mean(np.abs(wave) >= 0.999))
    if clipped > CLIPPED_SHARE:
        notes.append(f"clipped ({clipped:.1%} of samples at full scale)")
    if samples is not None and len(wave) < samples:
        notes.append(f"zero-padded from {len(wave) / rate:.2f} s")
    elif samples is not None and len(wave) > samples:
        notes.append(f"loudest {samples / rate:.2f} s of {len(wave) / rate:.2f} s")
    return "; ".join(notes)


def long_input(samples: int, clip_samples: int) -> bool:
    """Whether an input is a recording to search for keywords (over 1.5 clips), not one clip to classify."""
    return samples > 1.5 * clip_samples


def split_choice(provenance: dict, d, key: str = "speaker"):
    """The `SplitChoice` a run prints and records: by the dataset's list files, else by `key` (no speaker in two splits)."""
    from shared.data.splits import SplitChoice, SplitConfig

    method = str(provenance.get("split", ""))
    listed = "list" in method.split(":")[0]
    column = "validation_list.txt/testing_list.txt" if listed else key
    config = SplitConfig(type="group", column=column, validation=d.validation_percent / 100, test=d.testing_percent / 100)
    return SplitChoice(config, method or f"group split by {key}")


def read_input(path: Path, rate: int, max_seconds: float = MAX_SECONDS) -> np.ndarray:
    """An audio file as a mono waveform at `rate`, refusing one too short to hold a word."""
    wave, _ = read_audio(Path(path), rate, max_seconds=max_seconds)
    if len(wave) < MIN_SECONDS * rate:
        raise DataError(f"{path} is {len(wave) / rate * 1000:.0f} ms long; at least {MIN_SECONDS * 1000:.0f} ms of audio is needed")
    return wave


class SpeechTask(Task):
    input_kind = InputKind.AUDIO
    intended_use = INTENDED_USE
    limitations = LIMITATIONS

    def _audio_files(self, inputs: list[Path]) -> list[Path]:
        paths: list[Path] = []
        for item in inputs:
            item = Path(item)
            if item.is_dir():
                found = sorted(p for p in item.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and not p.name.startswith("."))
                if not found:
                    raise DataError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) found in {item}")
                paths.extend(found)
            else:
                paths.append(item)
        return paths


# --- keyword spotting ------------------------------------------------------------------


class KeywordTask(SpeechTask):
    name = "keywords"
    objective = ("macro_f1", "max")

    def tuning_data(self, data: DataBundle) -> DataBundle:
        """Validation clips, speakers and noise in the test split's place; the test and seen-speaker clips hidden."""
        import dataclasses

        from shared.data.splits import validation_as_test

        noise = {**data.loaded.noise, "test": data.loaded.noise.get("validation")}
        loaded = dataclasses.replace(data.loaded, split=validation_as_test(data.loaded.split), noise=noise)
        return dataclasses.replace(data, test=data.validation, loaded=loaded)
    title = "Keyword spotting"
    description = "Spots keywords in one-second clips and in long recordings (with their times); CNN, keyword transformer or pretrained audio backbone."
    score_meaning = "probability of each class (p_<class>, softmax over the keywords, _silence_ and _unknown_)"
    quick_overrides = (
        "data.synthetic.speakers=6", "data.synthetic.clips_per_speaker=1", "trainer.epochs=1", "trainer.tensorboard=false",
        "model.filters=[8,16]", "evaluation.streaming.validation_seconds=20", "evaluation.streaming.test_seconds=20",
        "evaluation.latency_clips=4",
    )
    preset = HERE / "configs" / "keywords.yaml"
    data_config = KeywordDataConfig
    evaluation_config = KeywordEvaluationConfig
    state_schema = KeywordState
    models = Registry("model type")
    models.register("cnn", ModelSpec(KeywordCNNConfig, lazy("domains.speech.models:build_cnn"), "residual CNN over log-mel features"))
    models.register("transformer", ModelSpec(KeywordTransformerConfig, lazy("domains.speech.models:build_transformer"), "keyword transformer over log-mel patches"))
    models.register(
        "transfer",
        ModelSpec(KeywordTransferConfig, lazy("domains.speech.models:build_transfer"), "pretrained audio backbone + head, frozen then fine-tuned", phases=backbone_phases, pretrained=True),
    )

    # --- data ------------------------------------------------------------------------
    def listing(self, cfg) -> sources.KeywordFolder:
        """The clip listing of `data` (the synthetic demo set generated into the data cache when no path is set)."""
        d = cfg.data
        if d.source == "synthetic" or (d.source == "auto" and not d.path):
            from domains.speech.synthetic import DEMO_KEYWORDS, demo_keyword_folder

            root = demo_keyword_folder(d.synthetic.speakers, d.synthetic.clips_per_speaker, d.synthetic.seed)
            keywords = d.keywords or list(DEMO_KEYWORDS)
        else:
            if not d.path:
                raise DataError("data.source=folder needs data.path: a folder of <label>/<speaker>_nohash_<n>.wav clips")
            root, keywords = Path(d.path), d.keywords
        return sources.read_keyword_folder(root, keywords, validation_percent=d.validation_percent, testing_percent=d.testing_percent)

    def load_data(self, cfg, workdir: Path) -> DataBundle:
        from domains.speech.baseline import mfcc_logistic_baseline

        data = load_keywords(self.listing(cfg), cfg.data, cfg.run.seed)
        t = cfg.trainer
        splits = keyword_datasets(data, cfg.data, t.batch_size, cfg.run.seed, t.shuffle_buffer)
        train = data.mask("train")
        counts = np.bincount(data.labels[train], minlength=len(data.classes))
        baseline = None
        if cfg.evaluation.baseline:
            baseline = mfcc_logistic_baseline(data.waves, data.labels, data.split, cfg.data.sample_rate, cfg.run.seed, classes=len(data.classes))
        return DataBundle(
            train=splits["train"],
            validation=splits["validation"],
            test=splits["test"],
            provenance={**data.provenance, "synthetic_speech": SYNTHETIC if "synthetic" in str(data.provenance.get("source", "")) else None},
            class_weight=balanced_class_weights(counts, data.classes, source=str(data.provenance.get("source", "the clips"))),
            state={
                "classes": data.classes,
                "keywords": data.keywords,
                "sample_rate": cfg.data.sample_rate,
                "clip_samples": int(data.waves.shape[1]),
                "max_clip_seconds": float(cfg.data.max_clip_seconds),
            },
            train_rows=int(train.sum()),
            baseline=baseline,
            split=split_choice(data.provenance, cfg.data),
            loaded=data,
        )

    def input_spec(self, data: DataBundle) -> dict:
        s = data.state
        return {
            "inputs": {"audio": f"float32 [{s['clip_samples']}], mono waveform at {s['sample_rate']} Hz in [-1, 1]"},
            "outputs": {"probabilities": f"softmax over {s['classes']}"},
        }

    def loss(self, cfg):
        import keras

        return keras.losses.SparseCategoricalCrossentropy()

    def metrics(self, cfg) -> list:
        import keras

        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    # --- evaluation ------------------------------------------------------------------
    def evaluate(self, model, data: DataBundle, cfg, out_dir: Path) -> dict:
        from domains.speech import streaming
        from shared.evaluation import multiclass, plots

        loaded = data.loaded
        classes = loaded.classes
        ev = cfg.evaluation
        report = _clip_report(model, loaded, "test")
        report["held_out_speakers"] = {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"], "clips": report["clips"]}
        if loaded.mask(SEEN).any():
            seen = _clip_report(model, loaded, SEEN)
            report["training_speakers"] = {"accuracy": seen["accuracy"], "macro_f1": seen["macro_f1"], "clips": seen["clips"]}
        plots.save_figure(plots.confusion_matrix_multiclass(report["confusion_matrix"], classes), out_dir / "confusion_matrix.png")
        if data.baseline is not None:
            y, p = data.baseline["test"]
            base = multiclass.multiclass_report(y, p, classes)
            report["baseline"] = {"model": "MFCC (13 + deltas, mean and std) + logistic regression", "accuracy": base["accuracy"], "macro_f1": base["macro_f1"]}
            if SEEN in data.baseline:
                ys, ps = data.baseline[SEEN]
                report["baseline"]["training_speakers_accuracy"] = multiclass.multiclass_report(ys, ps, classes)["accuracy"]
            report["beats_baseline"] = bool(report["accuracy"] > base["accuracy"])
        if ev.compare_from_scratch and self.model_spec(cfg).pretrained:
            report["from_scratch"] = train_from_scratch_twin(cfg, data, loaded)
            if "macro_f1" in report["from_scratch"]:
                # Macro-F1: with few clips per class in training, the test split's many _unknown_ clips would dominate accuracy.
                report["transfer_beats_scratch"] = bool(report["macro_f1"] > report["from_scratch"]["macro_f1"])
        report["latency"] = _latency(model, loaded, ev.latency_clips)
        s = ev.streaming
        rate, window = cfg.data.sample_rate, loaded.waves.shape[1]
        window_seconds = window / rate
        val = loaded.mask("validation")
        tune = streaming.build_stream(loaded.waves[val], loaded.labels[val], classes, loaded.noise["validation"], rate, s.validation_seconds, cfg.run.seed)
        probs, times, _ = streaming.window_scores(model, tune.wave, rate, window, s.hop_seconds)
        thresholds = streaming.tune_thresholds(probs, times, tune, classes, loaded.keywords, s.suppress_seconds, window_seconds, s.target_false_alarms_per_hour)
        test = loaded.mask("test")
        stream = streaming.build_stream(loaded.waves[test], loaded.labels[test], classes, loaded.noise["test"], rate, s.test_seconds, cfg.run.seed + 1)
        probs, times, seconds = streaming.window_scores(model, stream.wave, rate, window, s.hop_seconds)
        found = streaming.detect(probs, times, classes, thresholds, s.suppress_seconds, window_seconds)
        report["streaming"] = {
            **streaming.streaming_report(found, stream.truth, stream.seconds, window_seconds, loaded.keywords),
            "thresholds": thresholds,
            "hop_seconds": s.hop_seconds,
            "suppress_seconds": s.suppress_seconds,
            "target_false_alarms_per_hour": s.target_false_alarms_per_hour,
            "tuned_on_seconds": round(tune.seconds, 1),
            "real_time_factor": seconds / stream.seconds,
            "audio_seconds_per_second": stream.seconds / seconds if seconds else None,
            "test_stream": "held-out speakers' test clips laid end to end over the test part of the background noise",
        }
        plots.save_figure(detections_timeline(stream.wave, rate, found, stream.truth), out_dir / "streaming.png")
        return report

    def summarize(self, metrics: dict) -> str:
        line = f"held-out speakers: accuracy {metrics['accuracy']:.3f}, macro-F1 {metrics['macro_f1']:.3f}"
        if "training_speakers" in metrics:
            line += f" (training speakers {metrics['training_speakers']['accuracy']:.3f})"
        if "baseline" in metrics:
            verdict = "beats" if metrics["beats_baseline"] else "does NOT beat"
            line += f"; MFCC + logistic regression {metrics['baseline']['accuracy']:.3f} ({verdict} it)"
        if "macro_f1" in metrics.get("from_scratch", {}):
            fs = metrics["from_scratch"]
            verdict = "beats" if metrics["transfer_beats_scratch"] else "does NOT beat"
            line += f"; from scratch: accuracy {fs['accuracy']:.3f}, macro-F1 {fs['macro_f1']:.3f} (transfer {verdict} it on macro-F1)"
        st = metrics.get("streaming", {})
        if st.get("recall") is not None:
            line += f"; streaming recall {st['recall']:.3f}, {st['false_alarms_per_hour']:.0f} false alarms/h, real-time factor {st['real_time_factor']:.3f}"
        return line

    # --- serving ---------------------------------------------------------------------
    def _state(self, run) -> KeywordState:
        return run.task_state(self.state_schema)

    def decode_inputs(self, run, inputs: list[Path]) -> tuple[list[str], np.ndarray]:
        """Audio files (or folders of them) as clips of the run's length: padded, or their loudest window."""
        state = self._state(run)
        paths = self._audio_files(inputs)
        waves = [fit_clip(read_input(p, state.sample_rate), state.clip_samples)[0] for p in paths]
        return [str(p) for p in paths], np.stack(waves).astype("float32")

    def classify(self, run, wave: np.ndarray) -> np.ndarray:
        """Class probabilities of one waveform at the run's rate (fitted to the clip length)."""
        state = self._state(run)
        clip = fit_clip(np.asarray(wave, np.float32), state.clip_samples)[0]
        probs = np.asarray(run.model(clip[None], training=False))[0]
        _check_classes(run, state, probs)
        return probs

    def detect(self, run, wave: np.ndarray) -> pd.DataFrame:
        """Keyword detections (keyword, start, end, score) in a recording of any length."""
        from domains.speech import streaming

        state = self._state(run)
        tuned = run.metrics_as(KeywordMetrics).streaming
        thresholds = tuned.thresholds if tuned else {k: 0.5 for k in state.keywords}
        hop = tuned.hop_seconds if tuned else 0.1
        suppress = tuned.suppress_seconds if tuned else 1.0
        unknown = [k for k in thresholds if k not in state.classes]
        if unknown:
            raise RunError(f"run directory {run.path}: metrics.json at streaming.thresholds names {unknown} outside task_state.classes; {RESTORE_HINT}")
        probs, times, _ = streaming.window_scores(run.model, np.asarray(wave, np.float32), state.sample_rate, state.clip_samples, hop)
        _check_classes(run, state, probs[0])
        found = streaming.detect(probs, times, state.classes, thresholds, suppress, state.clip_samples / state.sample_rate)
        keyword_columns = [state.classes.index(k) for k in state.keywords]
        found.attrs["peak_keyword_score"] = float(probs[:, keyword_columns].max())  # the best any window did, detected or not
        return found

    def predict(self, run, inputs: list[Path]) -> pd.DataFrame:
        """One row per clip (its top keyword), or per detection in a recording longer than 1.5 clips."""
        state = self._state(run)
        rows = []
        for path in self._audio_files(inputs):
            wave = read_input(path, state.sample_rate)
            note = quality_note(wave, state.sample_rate, state.clip_samples)
            if not long_input(len(wave), state.clip_samples):
                probs = self.classify(run, wave)
                order = np.argsort(-probs)[:TOP_K]
                rows.append({
                    "path": str(path), "start": 0.0, "end": round(len(wave) / state.sample_rate, 3),
                    "keyword": state.classes[order[0]], "score": float(probs[order[0]]),
                    "top": ", ".join(f"{state.classes[i]} {probs[i]:.3f}" for i in order), "note": note or "ok",
                })
            else:
                found = self.detect(run, wave)
                for d in found.itertuples(index=False):
                    rows.append({"path": str(path), "start": d.start, "end": d.end, "keyword": d.keyword, "score": d.score, "top": f"{d.keyword} {d.score:.3f}", "note": "detection"})
                if found.empty:
                    peak = found.attrs["peak_keyword_score"]
                    rows.append({
                        "path": str(path), "start": 0.0, "end": round(len(wave) / state.sample_rate, 3), "keyword": "", "score": peak, "top": "-",
                        "note": "no keyword detected (score: the highest keyword probability of any window, under its threshold)",
                    })
        return pd.DataFrame(rows, columns=["path", "start", "end", "keyword", "score", "top", "note"])

    def evaluate_file(self, run, path: Path) -> dict:
        """Accuracy and macro-F1 on a folder of labelled clips (`<label>/<clip>.wav`) with the run's classes;
        or, for a recording with a `keyword,start,end` CSV beside it (same name), streaming recall and false alarms per hour."""
        from shared.evaluation import multiclass

        state = self._state(run)
        if Path(path).is_file():
            return self._evaluate_recording(run, state, Path(path))
        listing = sources.read_keyword_folder(Path(path), state.keywords, split=False)
        known = set(state.classes)
        labels = listing.clips["label"].to_numpy()
        odd = sorted(set(labels) - known)
        if odd:
            raise DataError(f"{path} has label(s) {odd} the run does not know; its classes are {state.classes}")
        cfg = KeywordDataConfig(sample_rate=state.sample_rate, clip_seconds=state.clip_samples / state.sample_rate, max_clip_seconds=state.max_clip_seconds)
        from domains.speech.pipeline import decode_clips

        waves, _, _ = decode_clips(listing.clips["path"].tolist(), cfg)
        probs = np.concatenate([np.asarray(run.model(waves[i : i + 128], training=False)) for i in range(0, len(waves), 128)])
        _check_classes(run, state, probs[0])
        y = np.array([state.classes.index(c) for c in labels])
        report = multiclass.multiclass_report(y, probs, state.classes)
        return {"source": str(path), "clips": int(len(y)), "speakers": int(listing.clips["speaker"].nunique()), "accuracy": report["accuracy"], "macro_f1": report["macro_f1"], "per_class": report.get("per_class")}

    def _evaluate_recording(self, run, state: KeywordState, path: Path) -> dict:
        from domains.speech import streaming

        truth_path = path.with_suffix(".csv")
        if not truth_path.is_file():
            raise DataError(f"{path} is a single recording: put its keyword,start,end truth in {truth_path.name} beside it, or pass a folder of <label>/<clip>.wav clips")
        truth = sources.read_keyword_truth(truth_path, state.keywords)
        wave = read_input(path, state.sample_rate)
        begin = time.perf_counter()
        found = self.detect(run, wave)
        seconds = time.perf_counter() - begin
        report = streaming.streaming_report(found, truth, len(wave) / state.sample_rate, state.clip_samples / state.sample_rate, state.keywords)
        return {"source": str(path), "seconds": round(len(wave) / state.sample_rate, 2), **report, "real_time_factor": seconds / (len(wave) / state.sample_rate)}

    def explain(self, run, example: Any) -> Explanation:
        """Integrated gradients of the top class over the log-mel spectrogram, from a silent baseline's spectrogram."""
        from shared.explain import feature_saliency

        state = self._state(run)
        wave = example if not isinstance(example, (str, Path)) else self.decode_inputs(run, [example])[1][0]
        clip = fit_clip(np.asarray(wave, np.float32), state.clip_samples)[0]
        result = feature_saliency(run.model, clip)
        probs = result["probabilities"]
        _check_classes(run, state, probs)
        top = int(np.argmax(probs))
        order = np.argsort(-probs)[:TOP_K]
        return Explanation(
            names=[state.classes[i] for i in order],
            values=[float(probs[i]) for i in order],
            score=float(probs[top]),
            baseline_score=float(result["baseline_probabilities"][top]),
            method=f"integrated gradients of p({state.classes[top]}) over the log-mel spectrogram, from the spectrogram of silence",
            details={"saliency": result["saliency"], "spectrogram": result["features"], "predicted": state.classes[top], "waveform": clip, "sample_rate": state.sample_rate},
        )

    def write_examples(self, out_dir: Path) -> ExampleFiles:
        """Held-out synthetic clips (a labelled folder), and a 20-second recording to run detection on."""
        from domains.speech.synthetic import DEMO_KEYWORDS, DEMO_UNKNOWN_WORDS, generate_keyword_dataset, generate_long_recording

        out_dir = Path(out_dir)
        clips = out_dir / "clips"
        generate_keyword_dataset(clips, seed=DEMO_SEED, words=[*DEMO_KEYWORDS, *DEMO_UNKNOWN_WORDS[:3]], speakers=3, clips_per_speaker=1, held_out=True)
        long = generate_long_recording(out_dir / "recording.wav", seed=DEMO_SEED, seconds=20.0)
        files = sorted(p for p in clips.rglob("*.wav") if "_background_noise_" not in p.parts)
        return ExampleFiles(predict=[files[0], Path(long)], evaluate=clips, explain=files[0])


def _clip_report(model, data, name: str) -> dict:
    from shared.evaluation import multiclass

    mask = data.mask(name)
    waves, y = data.waves[mask], data.labels[mask]
    probs = np.concatenate([np.asarray(model(waves[i : i + 128], training=False)) for i in range(0, len(waves), 128)])
    report = multiclass.multiclass_report(y, probs, data.classes)
    report["clips"] = int(mask.sum())
    return report


def train_from_scratch_twin(cfg, data: DataBundle, loaded) -> dict:
    """The backbone's own architecture from random weights on the same clips for the same epochs (`shared.training.scratch_twin`)."""
    from domains.speech.models import build_scratch_twin
    from shared.training.scratch_twin import train_scratch_twin

    trained = train_scratch_twin(cfg, data, lambda extractor: build_scratch_twin(cfg.model, data, extractor))
    if trained.model is None:
        return {"skipped": trained.skipped}
    report = _clip_report(trained.model, loaded, "test")
    return {"model": "same architecture, random init", "epochs": trained.epochs, "accuracy": report["accuracy"], "macro_f1": report["macro_f1"]}


def _latency(model, data, clips: int) -> dict:
    """Milliseconds per one-second clip, raw audio in (the front end included), one clip per call."""
    test = data.waves[data.mask("test")][:clips]
    model(test[:1], training=False)  # trace once
    begin = time.perf_counter()
    for clip in test:
        model(clip[None], training=False)
    per_clip = (time.perf_counter() - begin) / len(test)
    return {"ms_per_clip": per_clip * 1000, "clips": int(len(test)), "note": "one clip per call, eager Keras call on this machine's CPU"}


def _check_classes(run, state: KeywordState, probs: np.ndarray) -> None:
    if len(probs) != len(state.classes):
        raise RunError(
            f"run directory {run.path}: metadata.json at task_state.classes lists {len(state.classes)} classes but model.keras "
            f"scores {len(probs)}; {RESTORE_HINT}"
        )


def detections_timeline(wave: np.ndarray, rate: int, detections: pd.DataFrame, truth: pd.DataFrame | None = None):
    """The waveform with detected keywords (and, when known, the words really said) on a time axis."""
    from shared.evaluation.audio_plots import detections_timeline as figure

    return figure(wave, rate, detections, truth)


# --- speech recognition ----------------------------------------------------------------


class TranscribeTask(SpeechTask):
    name = "transcribe"
    objective = ("wer", "min")

    def tuning_data(self, data: DataBundle) -> DataBundle:
        import dataclasses

        from shared.data.splits import validation_as_test

        loaded = dataclasses.replace(data.loaded, split=validation_as_test(data.loaded.split))
        return dataclasses.replace(data, test=data.validation, loaded=loaded)
    title = "Speech recognition (CTC)"
    description = "Transcribes short utterances into characters: conv front end, bidirectional GRU, CTC loss; greedy or beam-search decoding."
    score_meaning = "transcript (characters), with the model's mean per-frame confidence"
    quick_overrides = (
        "data.synthetic_sentences=60", "data.synthetic.speakers=6", "trainer.epochs=1", "trainer.tensorboard=false",
        "model.rnn_units=16", "model.rnn_layers=1", "model.conv_filters=[8]", "evaluation.examples=2",
    )
    preset = HERE / "configs" / "transcribe.yaml"
    data_config = TranscriptDataConfig
    evaluation_config = TranscriptEvaluationConfig
    state_schema = TranscriptState
    models = Registry("model type")
    models.register("ctc", ModelSpec(CTCConfig, lazy("domains.speech.models:build_ctc"), "conv + bidirectional RNN + CTC"))

    def import_model_modules(self) -> None:
        import shared.ctc.model  # noqa: F401  (registers dlsuite>CTCModel)

        super().import_model_modules()

    def listing(self, cfg):
        d = cfg.data
        if d.source == "synthetic" or (d.source == "auto" and not d.path):
            from domains.speech.synthetic import demo_sentence_folder

            root = demo_sentence_folder(d.synthetic_sentences, d.synthetic.speakers, d.synthetic.seed)
            return sources.read_transcripts(root, validation_percent=d.validation_percent, testing_percent=d.testing_percent)
        if not d.path:
            raise DataError("data.source=manifest needs data.path: an LJSpeech metadata.csv, a Common Voice .tsv or a path,transcript .csv")
        return sources.read_transcripts(Path(d.path), validation_percent=d.validation_percent, testing_percent=d.testing_percent)

    def load_data(self, cfg, workdir: Path) -> DataBundle:
        from domains.speech.asr import load_transcripts, transcript_datasets
        from domains.speech.models import ctc_frames

        def frames(samples):
            return ctc_frames(cfg.model, samples)

        data = load_transcripts(self.listing(cfg), cfg.data, frames)
        t = cfg.trainer
        splits = transcript_datasets(data, ("train", "validation", "test"), t.batch_size, cfg.run.seed, t.shuffle_buffer, frames)
        fe = cfg.model.front_end
        return DataBundle(
            train=splits["train"],
            validation=splits["validation"],
            test=splits["test"],
            provenance={**data.provenance, "synthetic_speech": SYNTHETIC if "synthetic" in str(data.provenance.get("source", "")) else None},
            state={
                "vocabulary": data.vocabulary.to_dict(),
                "vocabulary_size": data.vocabulary.size,
                "sample_rate": cfg.data.sample_rate,
                "max_clip_seconds": float(cfg.data.max_clip_seconds),
                "frame_length": fe.frame_length,
                "frame_step": fe.frame_step,
                "downsampling": len(cfg.model.conv_filters),
            },
            train_rows=int(len(data.indices("train"))),
            split=split_choice(data.provenance, cfg.data),
            loaded=data,
        )

    def input_spec(self, data: DataBundle) -> dict:
        s = data.state
        return {
            "inputs": {"audio": f"float32 [samples], mono waveform at {s['sample_rate']} Hz in [-1, 1] (any length; zero-pad a batch)"},
            "outputs": {"logits": f"float32 [frames, {s['vocabulary_size']}]: per-frame character scores, id 0 the CTC blank"},
        }

    def compile(self, model, cfg, make_optimizer) -> None:
        """`CTCModel` computes its own CTC loss; no Keras loss or metric is attached."""
        model.compile(optimizer=make_optimizer(), jit_compile=False, steps_per_execution=cfg.trainer.steps_per_execution)

    def evaluate(self, model, data: DataBundle, cfg, out_dir: Path) -> dict:
        from domains.speech.asr import transcribe_waves
        from domains.speech.models import ctc_frames
        from shared.evaluation.transcripts import transcript_metrics

        loaded = data.loaded
        ev = cfg.evaluation
        rate = cfg.data.sample_rate
        test = loaded.indices("test")
        waves = [loaded.waves[i] for i in test]
        refs = [loaded.texts[i] for i in test]

        def frames(samples):
            return ctc_frames(cfg.model, samples)

        report: dict[str, Any] = {"utterances": int(len(test)), "speakers": int(len(set(loaded.speakers[test]))), "held_out": "speakers never heard in training"}
        transcribe_waves(model, waves[:1], loaded.vocabulary, frames)  # trace once
        for method in ("greedy", "beam"):
            begin = time.perf_counter()
            hyps, _ = transcribe_waves(model, waves, loaded.vocabulary, frames, method=method, beam_width=ev.beam_width)
            seconds = time.perf_counter() - begin
            m = transcript_metrics(refs, hyps)
            report[method] = {"wer": m["wer"], "cer": m["cer"], "real_time_factor": seconds / max(loaded.seconds("test", rate), 1e-9)}
            if method == ev.decoding:
                report.update({"wer": m["wer"], "cer": m["cer"], "decoding": method, "details": m})
                report["examples"] = [{"reference": r, "hypothesis": h} for r, h in list(zip(refs, hyps))[: ev.examples]]
        report["beam_width"] = ev.beam_width
        report["real_time_factor"] = report[ev.decoding]["real_time_factor"]
        report["test_seconds"] = round(loaded.seconds("test", rate), 1)
        report["rtf_note"] = "compute seconds / audio seconds, batches of 16 utterances, eager Keras calls on this machine's CPU"
        return report

    def summarize(self, metrics: dict) -> str:
        g, b = metrics["greedy"], metrics["beam"]
        return (
            f"held-out speakers: WER {g['wer']:.3f}, CER {g['cer']:.3f} (greedy); WER {b['wer']:.3f}, CER {b['cer']:.3f} "
            f"(beam {metrics['beam_width']}); real-time factor {metrics['real_time_factor']:.3f}"
        )

    # --- serving ---------------------------------------------------------------------
    def _asr(self, run):
        from shared.ctc.vocabulary import CharVocabulary

        state = run.task_state(self.state_schema)
        try:
            vocabulary = CharVocabulary.from_dict(state.vocabulary)
        except (ValueError, KeyError, TypeError) as exc:
            raise RunError(f"run directory {run.path}: metadata.json at task_state.vocabulary is not a character vocabulary ({exc}); {RESTORE_HINT}") from None
        return state, vocabulary

    def decode_inputs(self, run, inputs: list[Path]) -> tuple[list[str], np.ndarray]:
        """Audio files as waveforms at the run's rate, zero-padded to the longest."""
        state, _ = self._asr(run)
        paths = self._audio_files(inputs)
        waves = [read_input(p, state.sample_rate, state.max_clip_seconds) for p in paths]
        out = np.zeros((len(waves), max(len(w) for w in waves)), np.float32)
        for i, w in enumerate(waves):
            out[i, : len(w)] = w
        return [str(p) for p in paths], out

    def transcribe(self, run, waves: list[np.ndarray], method: str = "greedy", beam_width: int = 16) -> tuple[list[str], list[float]]:
        """Transcripts and mean per-frame confidences of waveforms at the run's rate."""
        from domains.speech.asr import transcribe_waves

        state, vocabulary = self._asr(run)
        model = run.model
        logits_size = int(model.output_shape[-1])
        if logits_size != vocabulary.size:
            raise RunError(
                f"run directory {run.path}: metadata.json at task_state.vocabulary has {vocabulary.size} ids but model.keras scores {logits_size}; {RESTORE_HINT}"
            )
        return transcribe_waves(model, [np.asarray(w, np.float32) for w in waves], vocabulary, state.frames, method=method, beam_width=beam_width)

    def predict(self, run, inputs: list[Path]) -> pd.DataFrame:
        """One row per file: its transcript (greedy decoding), seconds and mean per-frame confidence."""
        state, _ = self._asr(run)
        paths = self._audio_files(inputs)
        waves = [read_input(p, state.sample_rate, state.max_clip_seconds) for p in paths]
        texts, confidence = self.transcribe(run, waves)
        rows = [
            {"path": str(p), "seconds": round(len(w) / state.sample_rate, 3), "transcript": t, "score": c, "note": quality_note(w, state.sample_rate, None) or "ok"}
            for p, w, t, c in zip(paths, waves, texts, confidence)
        ]
        return pd.DataFrame(rows, columns=["path", "seconds", "transcript", "score", "note"])

    def evaluate_file(self, run, path: Path) -> dict:
        """WER and CER (greedy and beam) on a transcript manifest (LJSpeech, Common Voice or path,transcript CSV)."""
        from shared.evaluation.transcripts import transcript_metrics

        state, vocabulary = self._asr(run)
        listing = sources.read_transcripts(Path(path), split=False)
        waves = [read_input(p, state.sample_rate, state.max_clip_seconds) for p in listing.frame["path"]]
        refs = [vocabulary.normalize(t) for t in listing.frame["transcript"]]
        out = {"source": str(path), "utterances": len(refs)}
        for method in ("greedy", "beam"):
            hyps, _ = self.transcribe(run, waves, method=method)
            m = transcript_metrics(refs, hyps)
            out[method] = {"wer": m["wer"], "cer": m["cer"]}
        out["wer"], out["cer"] = out["greedy"]["wer"], out["greedy"]["cer"]
        return out

    def explain(self, run, example: Any) -> Explanation:
        """Which characters the model heard and when: each emitted character's frame time and posterior."""
        from domains.speech.asr import frame_posteriors

        state, vocabulary = self._asr(run)
        wave = np.asarray(example, np.float32)
        nonzero = np.flatnonzero(wave)
        wave = wave[: nonzero[-1] + 1] if len(nonzero) else wave
        probs, names = frame_posteriors(run.model, wave, vocabulary, state.frames)
        best = probs.argmax(axis=-1)
        seconds_per_frame = len(wave) / state.sample_rate / max(len(best), 1)
        emitted, values, previous = [], [], 0
        for t, k in enumerate(best):
            if k != 0 and k != previous:
                emitted.append(f"{names[k]!r} at {t * seconds_per_frame:.2f} s")
                values.append(float(probs[t, k]))
            previous = k
        transcript = vocabulary.decode(best.tolist())
        if not emitted:
            emitted, values = ["(no character: every frame is blank)"], [float(probs[:, 0].mean())]
        return Explanation(
            names=emitted,
            values=values,
            score=float(probs.max(axis=-1).mean()),
            baseline_score=float(probs[:, 0].mean()),
            method="greedy CTC alignment: the frame where each character is emitted and its posterior; score is the mean per-frame confidence, baseline the mean blank probability",
            details={"transcript": transcript, "posteriors": probs, "names": names, "seconds_per_frame": seconds_per_frame, "waveform": wave, "sample_rate": state.sample_rate},
        )

    def write_examples(self, out_dir: Path) -> ExampleFiles:
        """Held-out synthetic sentences (an LJSpeech folder) by speakers no preset trains on."""
        from domains.speech.synthetic import generate_sentences

        root = generate_sentences(Path(out_dir) / "sentences", seed=DEMO_SEED, sentences=6, speakers=3, held_out=True)
        wavs = sorted((root / "wavs").glob("*.wav"))
        return ExampleFiles(predict=wavs[:2], evaluate=root / "metadata.csv", explain=wavs[0])


DOMAIN = Domain(
    name="speech",
    title="Speech",
    description="Spot keywords in clips and long recordings, and transcribe short utterances with CTC. Demo models learned synthetic speech.",
    task_classes=[KeywordTask, TranscribeTask],
    default_task="keywords",
    package_dir=HERE,
    demo_tasks={"keywords": [], "transcribe": []},
    icon=":material/mic:",
)
