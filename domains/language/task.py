"""Language: registration, metrics, predict, evaluate and explain.

Two tasks:

- `sentiment`: text classification with any labels, from a CSV/TSV with
  named columns or class folders (aclImdb); a recurrent or transformer
  encoder over subword tokens, or a pretrained Hub text backbone; reported
  beside TF-IDF + logistic regression fitted in the same run;
- `translation`: any language pair from sentence pairs (TSV, the
  Tatoeba/Anki format); a transformer or an attentional LSTM
  encoder-decoder over subword vocabularies; greedy or beam-search
  decoding with cached keys and values; BLEU and chrF from sacrebleu,
  beside copying the source and a word-by-word dictionary.

The demo data is synthetic (grammar-made reviews and English-Spanish
pairs, `domains/language/synthetic.py`), and the app and model cards say so.

This module imports no TensorFlow or Keras: the model builders are
registered with `lazy(...)` and every TensorFlow import is inside a method.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from domains.language.config import (
    PAIR_SUFFIXES,
    STRINGS,
    TOKEN_IDS,
    RecurrentClassifierConfig,
    RecurrentTranslatorConfig,
    SentimentDataConfig,
    SentimentEvaluationConfig,
    SentimentState,
    TransferClassifierConfig,
    TransformerClassifierConfig,
    TransformerTranslatorConfig,
    TranslationDataConfig,
    TranslationEvaluationConfig,
    TranslationState,
)
from shared.data.splits import SplitChoice
from shared.domain import DataBundle, Domain, ExampleFiles, Explanation, InputKind, ModelSpec, Task, lazy
from shared.errors import DataError, RunError
from shared.registry import Registry
from shared.run_files import RESTORE_HINT
from shared.training.class_weights import balanced_class_weights
from shared.training.phases import backbone_phases

HERE = Path(__file__).resolve().parent
DEMO_SEED = 27_182  # held out: no preset trains on it
PREVIEW_CHARS = 80
MAX_TEXTS = 10_000  # per predict call
UNKNOWN_LIMIT = 1.0  # a source whose every token is unknown has nothing to translate

INTENDED_USE = "Teaching and prototyping text classification and machine translation on your own labelled texts and sentence pairs."
LIMITATIONS = (
    "The demo models learned synthetic text (grammar-made reviews and English-Spanish sentences): they know a few hundred words "
    "and the grammar's patterns, not English or Spanish at large. Retrain on real data before relying on a model."
)


def _preview(text: str) -> str:
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def read_texts(paths: list[Path]) -> list[tuple[str, int, str]]:
    """`(file, line number, text)` for every non-empty line of UTF-8 text files."""
    from shared.inputs.text import read_lines

    out: list[tuple[str, int, str]] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            raise DataError(f"{path} is a folder; pass text files (one text per line)")
        for number, line in enumerate(read_lines(path), start=1):
            out.append((str(path), number, line))
    if len(out) > MAX_TEXTS:
        raise DataError(f"{len(out):,} texts in one call; the limit is {MAX_TEXTS:,} (split the file)")
    return out


def _checked_text(text: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise DataError("the text is empty: type or paste at least one word")
    return text


class LanguageTask(Task):
    input_kind = InputKind.TEXT
    intended_use = INTENDED_USE
    limitations = LIMITATIONS

    def read_example(self, run: Any, path: Path, row: int = 1) -> Any:
        """The first non-empty line of a UTF-8 text file (what `explain` explains)."""
        from shared import inputs
        from shared.inputs.text import read_lines

        inputs.require_kind(Path(path), self.input_kind, self.extra_suffixes())
        return read_lines(Path(path))[0]


# --- sentiment / text classification ----------------------------------------------------------


class SentimentTask(LanguageTask):
    name = "sentiment"
    objective = ("macro_f1", "max")

    def tuning_data(self, data: DataBundle) -> DataBundle:
        import dataclasses

        from shared.data.splits import validation_as_test

        loaded = dataclasses.replace(data.loaded, split=validation_as_test(data.loaded.split))
        return dataclasses.replace(data, test=data.validation, loaded=loaded)
    title = "Sentiment / text classification"
    description = "Classifies texts into your labels: subword BiGRU/LSTM, transformer encoder, or a pretrained Hub text backbone; beside TF-IDF + logistic regression."
    score_meaning = "probability of the predicted label (softmax over the run's labels; p_<label> columns for each)"
    quick_overrides = (
        "data.synthetic.reviews=300", "trainer.epochs=1", "trainer.tensorboard=false", "model.units=8", "model.embedding_dim=8",
        "model.tokenizer.vocabulary_size=300", "model.sequence_length=48",
    )
    preset = HERE / "configs" / "sentiment.yaml"
    data_config = SentimentDataConfig
    evaluation_config = SentimentEvaluationConfig
    state_schema = SentimentState
    models = Registry("model type")
    models.register("recurrent", ModelSpec(RecurrentClassifierConfig, lazy("domains.language.models:build_recurrent"), "subword embeddings + bidirectional GRU/LSTM + attention pooling"))
    models.register("transformer", ModelSpec(TransformerClassifierConfig, lazy("domains.language.models:build_transformer"), "subword embeddings + transformer encoder blocks"))
    models.register(
        "transfer",
        ModelSpec(TransferClassifierConfig, lazy("domains.language.models:build_transfer"), "pretrained Hub text backbone (raw strings in) + head, frozen then fine-tuned", phases=backbone_phases, pretrained=True),
    )

    # --- data ------------------------------------------------------------------------
    def load_data(self, cfg, workdir: Path) -> DataBundle:
        from domains.language.baseline import tfidf_logistic_regression
        from domains.language.pipeline import load_labelled, save_vocabulary, text_dataset
        from shared.text.tokenizers import SubwordVocabulary

        data = load_labelled(cfg.data, cfg.run.seed)
        takes = type(cfg.model).takes
        train_texts, train_labels = data.part("train")
        vocabulary, described, length = None, None, None
        if takes == TOKEN_IDS:
            tok = cfg.model.tokenizer
            vocabulary = SubwordVocabulary.train(train_texts.tolist(), kind=tok.kind, vocabulary_size=tok.vocabulary_size, lowercase=cfg.data.standardize.lowercase, seed=cfg.run.seed)
            Path(workdir).mkdir(parents=True, exist_ok=True)
            described = save_vocabulary(vocabulary, workdir, "vocabulary")
            length = cfg.model.sequence_length
        t = cfg.trainer
        splits = {
            name: text_dataset(*data.part(name), takes, vocabulary, length, t.batch_size, cfg.run.seed, shuffle=name == "train")
            for name in ("train", "validation", "test")
        }
        baseline = None
        if cfg.evaluation.baseline:
            baseline = tfidf_logistic_regression(train_texts.tolist(), train_labels, cfg.run.seed)
        counts = np.bincount(train_labels, minlength=len(data.classes))
        provenance = dict(data.provenance)
        if vocabulary is not None:
            provenance["vocabulary"] = {"kind": vocabulary.kind, "size": vocabulary.size, "trained_on": "the training split"}
            provenance["truncated_share"] = {
                name: float(vocabulary.encode(data.part(name)[0].tolist(), length).truncated.mean()) for name in ("train", "test")
            }
        return DataBundle(
            train=splits["train"],
            validation=splits["validation"],
            test=splits["test"],
            provenance=provenance,
            split=SplitChoice(cfg.data.split, provenance["split_reason"]),
            class_weight=balanced_class_weights(counts, data.classes, source=str(data.provenance.get("source"))),
            state=SentimentState(
                classes=data.classes, takes=takes, lowercase=cfg.data.standardize.lowercase, sequence_length=length, vocabulary=described,
            ).model_dump(),
            train_rows=int(len(train_texts)),
            baseline=baseline,
            loaded=data,
        )

    def input_spec(self, data: DataBundle) -> dict:
        s = data.state
        inputs = (
            {"text": "string (), raw text standardized by shared.text.standardize"} if s["takes"] == STRINGS
            else {"token_ids": f"int32 [{s['sequence_length']}], subword ids from assets/{s['vocabulary']['file']} (0 = padding)"}
        )
        return {"inputs": inputs, "outputs": {"probabilities": f"softmax over {s['classes']}"}}

    def loss(self, cfg):
        import keras

        return keras.losses.SparseCategoricalCrossentropy()

    def metrics(self, cfg) -> list:
        import keras

        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    # --- evaluation ------------------------------------------------------------------
    def evaluate(self, model, data: DataBundle, cfg, out_dir: Path) -> dict:
        from shared.evaluation import calibration, multiclass, plots

        loaded = data.loaded
        classes = loaded.classes
        y, probs = _predict_dataset(model, data.test)
        report = multiclass.multiclass_report(y, probs, classes)
        report["texts"] = int(len(y))
        report["ece"] = calibration.expected_calibration_error(y, probs, n_bins=cfg.evaluation.calibration_bins)
        plots.save_figure(plots.confusion_matrix_multiclass(report["confusion_matrix"], classes), out_dir / "confusion_matrix.png")
        plots.save_figure(
            plots.reliability_diagram(calibration.reliability(y, probs, n_bins=cfg.evaluation.calibration_bins), report["ece"]), out_dir / "reliability.png"
        )
        report["training_texts"] = loaded.counts("train")
        if data.baseline is not None:
            test_texts, test_labels = loaded.part("test")
            base_probs = data.baseline["pipeline"].predict_proba(test_texts.tolist())
            base = multiclass.multiclass_report(test_labels, base_probs, classes)
            report["baseline"] = {
                "model": "TF-IDF (word 1-2-grams, sublinear tf) + logistic regression",
                "C": data.baseline["C"], "cv_accuracy": data.baseline["cv_accuracy"],
                "accuracy": base["accuracy"], "macro_f1": base["macro_f1"],
                "ece": calibration.expected_calibration_error(test_labels, base_probs, n_bins=cfg.evaluation.calibration_bins),
            }
            report["beats_baseline"] = bool(report["accuracy"] > base["accuracy"])
        if cfg.evaluation.compare_from_scratch and self.model_spec(cfg).pretrained:
            report["from_scratch"] = _sentiment_scratch_twin(cfg, data)
            if "macro_f1" in report["from_scratch"]:
                report["transfer_beats_scratch"] = bool(report["macro_f1"] > report["from_scratch"]["macro_f1"])
        return report

    def summarize(self, metrics: dict) -> str:
        line = f"test: accuracy {metrics['accuracy']:.3f}, macro-F1 {metrics['macro_f1']:.3f}, ECE {metrics['ece']:.3f}"
        if "baseline" in metrics:
            verdict = "beats" if metrics["beats_baseline"] else "does NOT beat"
            line += f"; TF-IDF + logistic regression {metrics['baseline']['accuracy']:.3f} ({verdict} it)"
        if "macro_f1" in metrics.get("from_scratch", {}):
            fs = metrics["from_scratch"]
            verdict = "beats" if metrics["transfer_beats_scratch"] else "does NOT beat"
            line += f"; from scratch: accuracy {fs['accuracy']:.3f}, macro-F1 {fs['macro_f1']:.3f} (transfer {verdict} it on macro-F1)"
        return line

    # --- serving ---------------------------------------------------------------------
    def _state(self, run) -> SentimentState:
        return run.task_state(self.state_schema)

    def _vocabulary(self, run, state: SentimentState):
        from domains.language.pipeline import load_vocabulary

        cache = run.__dict__.setdefault("_language_vocabularies", {})
        if "vocabulary" not in cache:
            cache["vocabulary"] = load_vocabulary(run.path, state.vocabulary)
        return cache["vocabulary"]

    def _inputs(self, run, texts: list[str]) -> tuple[Any, list[str]]:
        """The model's inputs for standardized texts, and a note per text (truncation)."""
        state = self._state(run)
        if state.takes == STRINGS:
            return np.array(texts, dtype=object), ["ok"] * len(texts)
        encoded = self._vocabulary(run, state).encode(texts, state.sequence_length)
        notes = [
            f"truncated: {int(n)} tokens, the model reads the first {state.sequence_length}" if cut else "ok"
            for n, cut in zip(encoded.original_lengths, encoded.truncated)
        ]
        return encoded.ids, notes

    def _probabilities(self, run, inputs) -> np.ndarray:
        state = self._state(run)
        probs = np.concatenate([np.asarray(run.model(inputs[i : i + 256], training=False)) for i in range(0, len(inputs), 256)])
        if probs.shape[-1] != len(state.classes):
            raise RunError(
                f"run directory {run.path}: metadata.json at task_state.classes lists {len(state.classes)} classes but model.keras scores {probs.shape[-1]}; {RESTORE_HINT}"
            )
        return probs

    def classify_texts(self, run, texts: list[str]) -> pd.DataFrame:
        """Label, probabilities and a note (e.g. truncation) for each text."""
        from shared.text.standardize import standardize_all

        state = self._state(run)
        texts = [_checked_text(t) for t in texts]
        clean = standardize_all(texts, lowercase=state.lowercase)
        if not all(clean):
            raise DataError("a text holds nothing but markup or white space once standardized; nothing to classify")
        inputs, notes = self._inputs(run, clean)
        probs = self._probabilities(run, inputs)
        top = probs.argmax(axis=1)
        frame = pd.DataFrame({"text": [_preview(t) for t in texts], "label": [state.classes[i] for i in top], "score": probs[np.arange(len(top)), top]})
        for i, c in enumerate(state.classes):
            frame[f"p_{c}"] = probs[:, i]
        frame["note"] = notes
        return frame

    def predict(self, run, inputs: list[Path]) -> pd.DataFrame:
        """One row per non-empty line of each text file: label, score, p_<label> and a note."""
        rows = read_texts(inputs)
        frame = self.classify_texts(run, [text for _, _, text in rows])
        frame.insert(0, "line", [n for _, n, _ in rows])
        frame.insert(0, "path", [p for p, _, _ in rows])
        return frame

    def evaluate_file(self, run, path: Path) -> dict:
        """Accuracy, macro-F1 and ECE on a labelled CSV/TSV (the run's text and label columns) or class folders."""
        from shared.evaluation import calibration, multiclass
        from shared.text.readers import read_class_folders, read_labelled_texts
        from shared.text.standardize import standardize_all

        state = self._state(run)
        path = Path(path)
        if not path.exists():
            raise DataError(f"{path} does not exist")
        if path.is_dir():  # class folders; of the aclImdb layout, its test split
            read = read_class_folders(path, split="test" if (path / "test").is_dir() else None)
        else:
            d = run.config(self.config_schema()).data
            read = read_labelled_texts(path, d.text_column, d.label_column)
        odd = sorted(set(read.labels) - set(state.classes))
        if odd:
            raise DataError(f"{path} has label(s) {odd[:5]} the run does not know; its labels are {state.classes}")
        inputs, notes = self._inputs(run, standardize_all(read.texts, lowercase=state.lowercase))
        probs = self._probabilities(run, inputs)
        y = np.array([state.classes.index(c) for c in read.labels])
        report = multiclass.multiclass_report(y, probs, state.classes)
        return {
            "source": str(path), "texts": int(len(y)), "accuracy": report["accuracy"], "macro_f1": report["macro_f1"],
            "ece": calibration.expected_calibration_error(y, probs), "per_class": report.get("per_class"),
            "truncated": int(sum(n != "ok" for n in notes)),
        }

    def explain(self, run, example: Any) -> Explanation:
        """Token attributions: integrated gradients on the embeddings (token models) or word occlusion (Hub backbones)."""
        from shared.explain.token_attributions import token_attributions, word_occlusion
        from shared.text.standardize import standardize

        state = self._state(run)
        text = _checked_text(str(example))
        clean = standardize(text, lowercase=state.lowercase)
        if not clean:
            raise DataError("the text holds nothing but markup or white space once standardized; nothing to explain")
        if state.takes == STRINGS:
            result = word_occlusion(lambda batch: self._probabilities(run, np.array(batch, dtype=object)), clean)
            tokens, method = result["words"], "word occlusion: the drop in p({label}) when each word is left out"
        else:
            vocabulary = self._vocabulary(run, state)
            encoded = vocabulary.encode([clean], state.sequence_length)
            result = token_attributions(run.model, encoded.ids[0])
            n = int(encoded.lengths[0])
            tokens = vocabulary.pieces(encoded.ids[0][:n])
            result["attributions"] = result["attributions"][:n]
            method = "integrated gradients of p({label}) over the token embeddings, from all-zero embeddings (padding mask held)"
        k = result["class_index"]
        label = state.classes[k]
        probs = result["probabilities"]
        return Explanation(
            names=[str(t) for t in tokens],
            values=[float(v) for v in result["attributions"]],
            score=float(probs[k]),
            baseline_score=float(result["baseline_probabilities"][k]),
            method=method.format(label=label),
            details={"predicted": label, "classes": state.classes, "probabilities": [float(p) for p in probs], "text": clean},
        )

    def write_examples(self, out_dir: Path) -> ExampleFiles:
        """Held-out synthetic reviews: a text file (one per line), a labelled CSV and one review to explain."""
        from domains.language.synthetic import reviews, write_reviews_csv

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        rows = reviews(12, DEMO_SEED)
        texts = out_dir / "reviews.txt"
        texts.write_text("\n".join(t for t, _ in rows[:6]) + "\n", encoding="utf-8")
        labelled = write_reviews_csv(out_dir / "reviews.csv", 60, DEMO_SEED)
        one = out_dir / "review.txt"
        one.write_text(rows[0][0] + "\n", encoding="utf-8")
        return ExampleFiles(predict=[texts], evaluate=Path(labelled), explain=one)


def _predict_dataset(model, dataset) -> tuple[np.ndarray, np.ndarray]:
    ys, ps = [], []
    for x, y in dataset:
        ps.append(np.asarray(model(x, training=False)))
        ys.append(np.asarray(y))
    return np.concatenate(ys), np.concatenate(ps)


def _sentiment_scratch_twin(cfg, data: DataBundle) -> dict:
    from domains.language.models import build_scratch_twin
    from shared.evaluation import multiclass
    from shared.training.scratch_twin import train_scratch_twin

    trained = train_scratch_twin(cfg, data, lambda extractor: build_scratch_twin(cfg.model, data, extractor))
    if trained.model is None:
        return {"skipped": trained.skipped}
    y, probs = _predict_dataset(trained.model, data.test)
    report = multiclass.multiclass_report(y, probs, data.state["classes"])
    return {"model": "same architecture, random init", "epochs": trained.epochs, "accuracy": report["accuracy"], "macro_f1": report["macro_f1"]}


# --- translation ---------------------------------------------------------------------------------


class TranslationTask(LanguageTask):
    name = "translation"
    objective = ("bleu", "max")

    def tuning_data(self, data: DataBundle) -> DataBundle:
        import dataclasses

        from shared.data.splits import validation_as_test

        pairs = dataclasses.replace(data.loaded.pairs, split=validation_as_test(data.loaded.pairs.split))
        return dataclasses.replace(data, test=data.validation, loaded=dataclasses.replace(data.loaded, pairs=pairs))
    title = "Machine translation"
    description = "Translates sentences for any language pair from your sentence pairs: transformer or attentional LSTM encoder-decoder, greedy or beam search; BLEU and chrF."
    score_meaning = "the translation, with its mean log-probability per token (higher is more confident)"
    quick_overrides = (
        "data.synthetic.pairs=200", "trainer.epochs=1", "trainer.tensorboard=false", "model.dim=16", "model.ff_dim=16", "model.num_heads=2",
        "model.num_layers=1", "data.tokenizer.vocabulary_size=120", "evaluation.max_test_pairs=20", "evaluation.beam_width=2",
    )
    preset = HERE / "configs" / "translation.yaml"
    data_config = TranslationDataConfig
    evaluation_config = TranslationEvaluationConfig
    state_schema = TranslationState
    models = Registry("model type")
    models.register("transformer", ModelSpec(TransformerTranslatorConfig, lazy("domains.language.models:build_transformer_translator"), "transformer encoder-decoder, cached decoding"))
    models.register("recurrent", ModelSpec(RecurrentTranslatorConfig, lazy("domains.language.models:build_recurrent_translator"), "bidirectional-LSTM encoder, LSTM decoder with Luong attention"))

    def extra_suffixes(self) -> tuple[str, ...]:
        return PAIR_SUFFIXES

    # --- data ------------------------------------------------------------------------
    def load_data(self, cfg, workdir: Path) -> DataBundle:
        from domains.language.baseline import WordByWord
        from domains.language.pipeline import LoadedPairs, fits, load_pairs, pair_dataset, save_vocabulary
        from shared.text.tokenizers import SubwordVocabulary

        d = cfg.data
        pairs = load_pairs(d, cfg.run.seed)
        train_src, train_tgt = pairs.part("train")
        tok = d.tokenizer
        lowercase = False  # translations keep their case: BLEU and chrF are case-sensitive
        if d.shared_vocabulary:
            src_vocab = tgt_vocab = SubwordVocabulary.train([*train_src, *train_tgt], kind=tok.kind, vocabulary_size=tok.vocabulary_size, lowercase=lowercase, seed=cfg.run.seed)
        else:
            src_vocab = SubwordVocabulary.train(train_src.tolist(), kind=tok.kind, vocabulary_size=tok.vocabulary_size, lowercase=lowercase, seed=cfg.run.seed)
            tgt_vocab = SubwordVocabulary.train(train_tgt.tolist(), kind=tok.kind, vocabulary_size=tok.vocabulary_size, lowercase=lowercase, seed=cfg.run.seed)
        Path(workdir).mkdir(parents=True, exist_ok=True)
        src_file = save_vocabulary(src_vocab, workdir, "source_vocabulary")
        tgt_file = src_file if d.shared_vocabulary else save_vocabulary(tgt_vocab, workdir, "target_vocabulary")
        t = cfg.trainer
        splits, left_out = {}, {}
        for name in ("train", "validation", "test"):
            src, tgt = pairs.part(name)
            keep = fits(src_vocab, src, d.source_length) & fits(tgt_vocab, tgt, d.target_length + 1, add_bos=True, add_eos=True)
            left_out[name] = int((~keep).sum())
            if name != "test":  # a truncated target would teach the model to stop mid-sentence
                src, tgt = src[keep], tgt[keep]
            if len(src) == 0:
                raise DataError(f"no {name} pair fits in data.source_length={d.source_length} and data.target_length={d.target_length} tokens; raise them")
            splits[name] = pair_dataset(src, tgt, src_vocab, tgt_vocab, d.source_length, d.target_length, t.batch_size, cfg.run.seed, shuffle=name == "train")
        baseline = WordByWord.fit(train_src, train_tgt) if cfg.evaluation.baselines else None
        provenance = {
            **pairs.provenance,
            "vocabularies": {"kind": tok.kind, "source_size": src_vocab.size, "target_size": tgt_vocab.size, "shared": d.shared_vocabulary, "trained_on": "the training split"},
            "too_long_left_out": {k: v for k, v in left_out.items() if k != "test"},
            "too_long_in_test": left_out["test"],
        }
        return DataBundle(
            train=splits["train"],
            validation=splits["validation"],
            test=splits["test"],
            provenance=provenance,
            split=SplitChoice(d.split, provenance["split_reason"]),
            state=TranslationState(
                source_language=pairs.source_language, target_language=pairs.target_language, source_length=d.source_length,
                target_length=d.target_length, source_vocabulary=src_file, target_vocabulary=tgt_file,
            ).model_dump(),
            train_rows=int((pairs.split == "train").sum()) - left_out["train"],
            baseline=baseline,
            loaded=LoadedPairs(pairs, src_vocab, tgt_vocab),
        )

    def input_spec(self, data: DataBundle) -> dict:
        s = data.state
        return {
            "inputs": {
                "source": f"int32 [{s['source_length']}], source subword ids ({s['source_language']}) from assets/{s['source_vocabulary']['file']}, 0 = padding",
                "target": f"int32 [{s['target_length'] + 1}], [BOS] target ids [EOS] ({s['target_language']}), for teacher forcing",
            },
            "outputs": {"logits": f"float32 [{s['target_length']}, {s['target_vocabulary']['size']}], next-token scores"},
        }

    def compile(self, model, cfg, make_optimizer) -> None:
        # The loss (masked cross-entropy on the shifted target) lives in the model's compute_loss.
        model.compile(optimizer=make_optimizer(), jit_compile=cfg.trainer.jit_compile, steps_per_execution=cfg.trainer.steps_per_execution)

    # --- evaluation ------------------------------------------------------------------
    def evaluate(self, model, data: DataBundle, cfg, out_dir: Path) -> dict:
        from domains.language.baseline import copy_source
        from shared.evaluation.plots import save_figure
        from shared.evaluation.text_plots import attention_heatmap
        from shared.evaluation.translation import sentence_scores, translation_report

        ev = cfg.evaluation
        state = TranslationState.model_validate(data.state)
        loaded = data.loaded
        sources, references = loaded.pairs.part("test")
        if ev.max_test_pairs:
            sources, references = sources[: ev.max_test_pairs], references[: ev.max_test_pairs]
        translator = Translator(model, loaded.source_vocabulary, loaded.target_vocabulary, state)
        report: dict = {"test_pairs": int(len(sources)), "decoding": ev.decoding}
        for method in ("greedy", "beam") if ev.decoding == "beam" else ("greedy",):
            out = translator.translate(sources.tolist(), method=method, beam_width=ev.beam_width, length_penalty=ev.length_penalty)
            scored = translation_report(out.translations, references.tolist())
            report[method] = {**scored, "sentences_per_second": len(sources) / out.seconds if out.seconds else None}
            if method == ev.decoding:
                hypotheses = out.translations
        headline = report[ev.decoding]
        report.update({"bleu": headline["bleu"], "chrf": headline["chrf"], "bleu_signature": headline["bleu_signature"], "chrf_signature": headline["chrf_signature"]})
        if ev.decoding == "beam":
            report["beam"].update({"beam_width": ev.beam_width, "length_penalty": ev.length_penalty})
        if data.baseline is not None:
            copied = translation_report(copy_source(sources.tolist()), references.tolist())
            word = data.baseline.translate_all(sources.tolist())
            by_word = translation_report(word, references.tolist())
            report["baselines"] = {
                "copy_source": {"bleu": copied["bleu"], "chrf": copied["chrf"]},
                "word_by_word": {"bleu": by_word["bleu"], "chrf": by_word["chrf"], "dictionary_words": len(data.baseline.table)},
            }
            report["beats_word_by_word"] = bool(report["bleu"] > by_word["bleu"] and report["chrf"] > by_word["chrf"])
        else:
            word = None
        if ev.examples:
            n = min(ev.examples, len(sources))
            scores = sentence_scores(hypotheses[:n], references[:n].tolist())
            report["examples"] = [
                {"source": sources[i], "reference": references[i], "translation": hypotheses[i], "sentence_bleu": scores[i]["bleu"],
                 **({"word_by_word": word[i]} if word is not None else {})}
                for i in range(n)
            ]
        attention = translator.attention(sources[0])
        save_figure(attention_heatmap(attention["weights"], attention["source_tokens"], attention["target_tokens"], title="cross-attention, first test sentence"), out_dir / "attention.png")
        return report

    def summarize(self, metrics: dict) -> str:
        line = f"test ({metrics['test_pairs']} pairs, {metrics['decoding']}): BLEU {metrics['bleu']:.1f}, chrF {metrics['chrf']:.1f}"
        if "baselines" in metrics:
            b = metrics["baselines"]
            verdict = "beats" if metrics["beats_word_by_word"] else "does NOT beat"
            line += (
                f"; word by word BLEU {b['word_by_word']['bleu']:.1f}, chrF {b['word_by_word']['chrf']:.1f} ({verdict} it); "
                f"copy BLEU {b['copy_source']['bleu']:.1f}, chrF {b['copy_source']['chrf']:.1f}"
            )
        return line

    # --- serving ---------------------------------------------------------------------
    def _state(self, run) -> TranslationState:
        return run.task_state(self.state_schema)

    def translator(self, run) -> Translator:
        """The run's model with its vocabularies (checked against their recorded hashes), cached per run."""
        from domains.language.pipeline import load_vocabulary

        cache = run.__dict__.setdefault("_language_translator", {})
        if "translator" not in cache:
            state = self._state(run)
            source = load_vocabulary(run.path, state.source_vocabulary)
            target = source if state.target_vocabulary == state.source_vocabulary else load_vocabulary(run.path, state.target_vocabulary)
            cache["translator"] = Translator(run.model, source, target, state)
        return cache["translator"]

    def translate(self, run, sentences: list[str], method: str = "greedy", beam_width: int = 4, length_penalty: float = 0.6) -> pd.DataFrame:
        """Translations of sentences, with a score and a note each; `attrs["seconds"]` is the decoding time (`attrs["traced"]`: it includes tracing the loop)."""
        sentences = [_checked_text(s) for s in sentences]
        out = self.translator(run).translate(sentences, method=method, beam_width=beam_width, length_penalty=length_penalty, check=True)
        frame = pd.DataFrame({"source": sentences, "translation": out.translations, "score": out.scores, "note": out.notes})
        frame.attrs["seconds"] = out.seconds
        frame.attrs["traced"] = out.traced
        return frame

    def predict(self, run, inputs: list[Path]) -> pd.DataFrame:
        """One row per non-empty line (a source sentence) of each text file: its translation (beam search as the run was evaluated)."""
        rows = read_texts(inputs)
        ev = run.config(self.config_schema()).evaluation
        translator = self.translator(run)
        for path, number, text in rows:
            problem = translator.problem(text)
            if problem:
                raise DataError(f"{path} line {number}: {problem}")
        frame = self.translate(run, [t for _, _, t in rows], method=ev.decoding, beam_width=ev.beam_width, length_penalty=ev.length_penalty)
        frame.insert(0, "line", [n for _, n, _ in rows])
        frame.insert(0, "path", [p for p, _, _ in rows])
        return frame

    def evaluate_file(self, run, path: Path) -> dict:
        """BLEU and chrF (sacrebleu, with signatures) on a TSV of source<TAB>reference pairs, beside copying the source."""
        from domains.language.baseline import copy_source
        from shared.evaluation.translation import translation_report
        from shared.text.readers import read_sentence_pairs

        ev = run.config(self.config_schema()).evaluation
        pairs = read_sentence_pairs(Path(path))
        out = self.translator(run).translate(pairs.sources, method=ev.decoding, beam_width=ev.beam_width, length_penalty=ev.length_penalty)
        report = translation_report(out.translations, pairs.targets)
        copied = translation_report(copy_source(pairs.sources), pairs.targets)
        return {
            "source": str(path), "pairs": len(pairs.sources), "decoding": ev.decoding, **report,
            "copy_source": {"bleu": copied["bleu"], "chrf": copied["chrf"]},
            "sentences_per_second": len(pairs.sources) / out.seconds if out.seconds else None,
            "truncated_sources": int(sum("truncated" in n for n in out.notes)),
        }

    def explain(self, run, example: Any) -> Explanation:
        """The cross-attention of the last decoder layer while translating one sentence (greedy)."""
        sentence = _checked_text(str(example))
        translator = self.translator(run)
        problem = translator.problem(sentence)
        if problem:
            raise DataError(problem)
        attention = translator.attention(sentence)
        weights = attention["weights"]
        return Explanation(
            names=attention["target_tokens"],
            values=[float(row.max()) for row in weights],
            score=float(attention["score"]),
            baseline_score=0.0,
            method="cross-attention of the last decoder layer (mean over heads): where each output token looked in the source; values: each output token's peak weight",
            details={"translation": attention["translation"], "source_tokens": attention["source_tokens"], "target_tokens": attention["target_tokens"], "attention": weights},
        )

    def write_examples(self, out_dir: Path) -> ExampleFiles:
        """Held-out synthetic English sentences (one per line) and a TSV of held-out pairs with references."""
        from domains.language.synthetic import sentence_pairs, write_pairs_tsv

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        pairs = sentence_pairs(40, DEMO_SEED)
        sentences = out_dir / "sentences.txt"
        sentences.write_text("\n".join(s for s, _ in pairs[:5]) + "\n", encoding="utf-8")
        tsv = write_pairs_tsv(out_dir / "pairs.tsv", pairs, attribution=True)
        one = out_dir / "sentence.txt"
        one.write_text(pairs[0][0] + "\n", encoding="utf-8")
        return ExampleFiles(predict=[sentences], evaluate=Path(tsv), explain=one)


class Translation:
    """What `Translator.translate` returns: one translation, score and note per sentence, and the decoding time."""

    def __init__(self, translations: list[str], scores: list[float], notes: list[str], seconds: float, traced: bool = False):
        self.translations, self.scores, self.notes, self.seconds = translations, scores, notes, seconds
        self.traced = traced  # the decoding loop was traced in this call: `seconds` includes that one-off cost


class Translator:
    """A translation model with its source and target vocabularies: strings in, strings out."""

    def __init__(self, model, source_vocabulary, target_vocabulary, state: TranslationState):
        from shared.seq2seq import Decoder

        self.model, self.source, self.target, self.state = model, source_vocabulary, target_vocabulary, state
        self.decoder = Decoder(model, max_length=state.target_length)

    def problem(self, sentence: str) -> str | None:
        """Why a source sentence cannot be translated, or None."""
        if not sentence.strip():
            return "the sentence is empty"
        if float(self.source.unknown_share([sentence])[0]) >= UNKNOWN_LIMIT:
            return (
                f"every token of {_preview(sentence)!r} is unknown to the run's {self.state.source_language} vocabulary "
                "(another script or language?); nothing to translate"
            )
        return None

    def translate(self, sentences: list[str], method: str = "greedy", beam_width: int = 4, length_penalty: float = 0.6, check: bool = False) -> Translation:
        if method not in ("greedy", "beam"):
            raise ValueError(f"method must be 'greedy' or 'beam'. Received: method={method!r}")
        if check:
            for sentence in sentences:
                problem = self.problem(sentence)
                if problem:
                    raise DataError(problem)
        encoded = self.source.encode([" ".join(s.split()) for s in sentences], self.state.source_length)
        first_call = self.decoder.tracing_count(method, beam_width if method == "beam" else 1) == 0
        begin = time.perf_counter()
        if method == "beam":
            result = self.decoder.translate_batches(encoded.ids, method="beam", beam_width=beam_width, length_penalty=length_penalty)
        else:
            result = self.decoder.translate_batches(encoded.ids, method="greedy")
        seconds = time.perf_counter() - begin
        translations = self.target.decode(result.ids)
        lengths = np.maximum(np.asarray(result.lengths), 1)
        # Beam search ranks by its length-penalized score; the score reported is the same for both
        # methods: the best output's summed log-probability per token.
        log_probs = result.beams.log_probs[:, 0] if result.beams is not None else result.scores
        scores = [float(s) / float(n) for s, n in zip(log_probs, lengths)]
        notes = [
            f"source truncated: {int(n)} tokens, the model reads the first {self.state.source_length}" if cut else "ok"
            for n, cut in zip(encoded.original_lengths, encoded.truncated)
        ]
        return Translation(translations, scores, notes, seconds, traced=first_call)

    def attention(self, sentence: str) -> dict:
        """Greedy translation of one sentence with the cross-attention weights `(output tokens, source tokens)`."""
        encoded = self.source.encode([" ".join(sentence.split())], self.state.source_length)
        result = self.decoder.greedy(encoded.ids)
        out_len = int(result.lengths[0])
        weights = np.asarray(self.decoder.attention(encoded.ids, result.ids))[0]
        src_len = int(encoded.lengths[0])
        return {
            "translation": self.target.decode(result.ids)[0],
            "source_tokens": self.source.pieces(encoded.ids[0][:src_len]),
            "target_tokens": self.target.pieces(result.ids[0][:out_len]),
            "weights": weights[:out_len, :src_len],
            "score": float(result.scores[0]) / max(out_len, 1),
        }


DOMAIN = Domain(
    name="language",
    title="Language",
    description="Classify the sentiment of texts and translate sentences between languages. Demo models learned synthetic text.",
    task_classes=[SentimentTask, TranslationTask],
    default_task="sentiment",
    package_dir=HERE,
    demo_tasks={"sentiment": [], "translation": []},
    icon=":material/translate:",
)
