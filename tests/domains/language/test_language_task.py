"""Language tasks end to end on tiny configs: figures reported, predictions, explanations, exports, and every bad input."""

import json

import numpy as np
import pandas as pd
import pytest
from tests_support import one_error_line, run_cli

from domains.language import synthetic
from shared.domain import get_task
from shared.runs import Run
from shared.training.runner import prepare_run, train


def train_tiny(path, task_name, *overrides):
    task = get_task("language", task_name)
    cfg = task.resolve_config(overrides=[*task.quick_overrides, *overrides])
    run_dir = prepare_run(task, cfg, path)
    train(task, cfg, run_dir)
    return run_dir


@pytest.fixture(scope="module")
def sentiment_run(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("language") / "sentiment", "sentiment", "trainer.epochs=2")


@pytest.fixture(scope="module")
def translation_run(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("language") / "translation", "translation", "trainer.epochs=1")


def test_sentiment_run_reports_every_figure(sentiment_run):
    metrics = json.loads((sentiment_run / "metrics.json").read_text())
    assert {"accuracy", "macro_f1", "confusion_matrix", "ece", "baseline", "beats_baseline"} <= set(metrics)
    assert 0 <= metrics["ece"] <= 1 and len(metrics["confusion_matrix"]) == 3
    base = metrics["baseline"]
    assert "TF-IDF" in base["model"] and base["C"] > 0 and 0 <= base["accuracy"] <= 1
    for name in ("confusion_matrix.png", "reliability.png", "model_card.md", "assets/vocabulary.txt"):
        assert (sentiment_run / name).is_file(), name
    card = (sentiment_run / "model_card.md").read_text()
    assert "synthetic" in card.lower()
    state = Run.open(sentiment_run).state
    assert state["classes"] == list(synthetic.CLASSES)


def test_classify_long_and_html_texts(sentiment_run):
    task = get_task("language", "sentiment")
    run = Run.open(sentiment_run)
    long_text = " ".join(["the battery is excellent"] * 200)
    frame = task.classify_texts(run, ["The lid is awful.<br /><br />I returned it.", long_text])
    assert frame["note"].iloc[0] == "ok"
    assert frame["note"].iloc[1].startswith("truncated:") and "first 12" not in frame["note"].iloc[1]
    probs = frame[[f"p_{c}" for c in synthetic.CLASSES]].to_numpy()
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-4)


def test_explain_highlights_tokens(sentiment_run):
    task = get_task("language", "sentiment")
    run = Run.open(sentiment_run)
    explanation = task.explain(run, "Although the price is awful, the battery is excellent.")
    assert explanation.names and len(explanation.names) == len(explanation.values)
    assert "price" in " ".join(explanation.names) and explanation.details["predicted"] in synthetic.CLASSES
    assert np.isfinite(explanation.values).all()


def test_sentiment_evaluate_file_and_class_folders(capsys, tmp_path, sentiment_run):
    table = synthetic.write_reviews_csv(tmp_path / "held_out.csv", 30, seed=99)
    code, out, err = run_cli(capsys, "evaluate", sentiment_run, "--data", table)
    assert code == 0, err
    metrics = json.loads(out)
    assert {"accuracy", "macro_f1", "ece"} <= set(metrics)


def test_train_on_class_folders(tmp_path):
    root = synthetic.write_class_folders(tmp_path / "aclImdb", train=60, test=20, seed=1)
    run_dir = train_tiny(tmp_path / "run", "sentiment", f"data.path={root}")
    metadata = json.loads((run_dir / "metadata.json").read_text())
    assert "test split" in metadata["split"]["reason"]
    assert Run.open(run_dir).state["classes"] == ["neg", "pos"]


def test_translation_run_reports_both_baselines_and_signatures(translation_run):
    metrics = json.loads((translation_run / "metrics.json").read_text())
    assert {"bleu", "chrf", "bleu_signature", "chrf_signature", "greedy", "beam", "baselines", "beats_word_by_word", "examples"} <= set(metrics)
    assert metrics["bleu_signature"].startswith("nrefs:1") and "chrF" in metrics["chrf_signature"] or "nc:6" in metrics["chrf_signature"]
    assert set(metrics["baselines"]) == {"copy_source", "word_by_word"}
    assert metrics["beam"]["beam_width"] == Run.open(translation_run).config(get_task("language", "translation").config_schema()).evaluation.beam_width
    assert (translation_run / "attention.png").is_file()
    assert "synthetic" in (translation_run / "model_card.md").read_text().lower()


def test_translate_greedy_and_beam(translation_run):
    task = get_task("language", "translation")
    run = Run.open(translation_run)
    sentences = ["The red house is small.", "I do not see the dog."]
    greedy = task.translate(run, sentences, method="greedy")
    beam = task.translate(run, sentences, method="beam", beam_width=3, length_penalty=1.0)
    assert len(greedy) == len(beam) == 2
    assert greedy["translation"].map(lambda t: isinstance(t, str)).all()


def test_translation_explain_is_cross_attention(translation_run):
    task = get_task("language", "translation")
    explanation = task.explain(Run.open(translation_run), "The white cats are happy.")
    weights = np.asarray(explanation.details["attention"])
    assert weights.shape == (len(explanation.details["target_tokens"]), len(explanation.details["source_tokens"]))
    assert np.all(weights >= 0) and np.all(weights.sum(axis=1) <= 1 + 1e-4)


def test_serving_export_takes_token_ids(translation_run):
    import tensorflow as tf

    loaded = tf.saved_model.load(str(translation_run / "saved_model"))
    out = loaded.signatures["serving_default"](source_ids=tf.constant([[5, 6, 7] + [0] * 29], tf.int32))
    assert out["target_ids"].dtype == tf.int32 and out["target_ids"].shape[0] == 1


# --- bad input: one clear line each ------------------------------------------------------------


def test_empty_text_is_refused(capsys, tmp_path, sentiment_run):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n   \n", encoding="utf-8")
    code, _, err = run_cli(capsys, "predict", sentiment_run, empty)
    assert code != 0
    one_error_line(err, "empty.txt")
    with pytest.raises(Exception, match="empty"):
        get_task("language", "sentiment").classify_texts(Run.open(sentiment_run), ["  "])


def test_non_utf8_file_is_refused(capsys, tmp_path, sentiment_run):
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("text,label\ncafé très bon,positive\nmauvais,negative\n".encode("latin-1"))
    code, _, err = run_cli(capsys, "train", "language", "--task", "sentiment", "--data", latin, "--run-dir", tmp_path / "r")
    assert code != 0
    one_error_line(err, "latin1.csv", "UTF-8")
    text = tmp_path / "latin1.txt"
    text.write_bytes("très bon\n".encode("latin-1"))
    code, _, err = run_cli(capsys, "predict", sentiment_run, text)
    assert code != 0
    one_error_line(err, "latin1.txt", "UTF-8")


def test_wrong_column_count_is_refused(capsys, tmp_path):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("I see the dog.\tVeo el perro.\nno tab on this line\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "train", "language", "--task", "translation", "--data", pairs, "--run-dir", tmp_path / "r")
    assert code != 0
    one_error_line(err, "pairs.tsv", "line 2", "1 column")
    table = tmp_path / "reviews.tsv"
    table.write_text("text\tlabel\ngood\tpositive\tEXTRA\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "train", "language", "--task", "sentiment", "--data", table, "--run-dir", tmp_path / "s")
    assert code != 0
    one_error_line(err, "reviews.tsv", "line 2")


def test_one_class_label_column_is_refused(capsys, tmp_path):
    table = tmp_path / "one.csv"
    table.write_text("text,label\ngood,positive\nfine,positive\ngreat,positive\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "train", "language", "--task", "sentiment", "--data", table, "--run-dir", tmp_path / "r")
    assert code != 0
    one_error_line(err, "one class", "'positive'")


def test_unknown_language_code_is_refused(capsys, tmp_path):
    pairs = synthetic.write_pairs_tsv(tmp_path / "pairs.tsv", synthetic.sentence_pairs(40, seed=1))
    code, _, err = run_cli(
        capsys, "train", "language", "--task", "translation", "--data", pairs, "--run-dir", tmp_path / "r", "--set", "data.target_language=xq",
    )
    assert code != 0
    one_error_line(err, "xq")


def test_unknown_characters_source_is_refused(capsys, tmp_path, translation_run):
    task = get_task("language", "translation")
    translator = task.translator(Run.open(translation_run))
    assert "unknown" in translator.problem("ЖЖЖ ЩЩЩ")
    cyrillic = tmp_path / "ru.txt"
    cyrillic.write_text("ЖЖЖ ЩЩЩ\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "explain", translation_run, cyrillic)
    assert code != 0
    one_error_line(err, "unknown")


def test_predict_table_of_translations(capsys, tmp_path, translation_run):
    sentences = tmp_path / "en.txt"
    sentences.write_text("The dog is big.\nShe has a red car.\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "predict", translation_run, sentences, "--output", tmp_path / "t.csv")
    assert code == 0, err
    table = pd.read_csv(tmp_path / "t.csv", keep_default_na=False)
    assert list(table["line"]) == [1, 2] and {"translation", "score", "note"} <= set(table.columns)


@pytest.mark.parametrize(
    "task_name, overrides",
    [
        ("sentiment", ["model.type=transformer", "model.embedding_dim=16", "model.num_heads=2", "model.num_layers=1", "model.ff_dim=16", "model.sequence_length=48"]),
        ("sentiment", ["model.type=recurrent", "model.cell=lstm", "model.units=8", "model.embedding_dim=8", "model.sequence_length=48", "model.tokenizer.kind=sentencepiece", "model.tokenizer.vocabulary_size=300"]),
        ("translation", ["model.type=recurrent", "model.embedding_dim=16", "model.units=16", "data.tokenizer.kind=wordpiece", "data.shared_vocabulary=true"]),
    ],
    ids=["sentiment-transformer", "sentiment-lstm-sentencepiece", "translation-recurrent-wordpiece-shared"],
)
def test_other_model_types_train_and_serve(tmp_path, task_name, overrides):
    task = get_task("language", task_name)
    quick = [o for o in task.quick_overrides if not o.startswith("model.")]
    cfg = task.resolve_config(overrides=[*quick, *overrides])
    run_dir = prepare_run(task, cfg, tmp_path / "run")
    train(task, cfg, run_dir)
    run = Run.open(run_dir)
    if task_name == "sentiment":
        frame = task.classify_texts(run, ["The lid is awful."])
        assert frame["label"].iloc[0] in synthetic.CLASSES
        assert task.explain(run, "The lid is awful.").names
    else:
        out = task.translate(run, ["The dog is big."], method="beam", beam_width=2)
        assert isinstance(out["translation"].iloc[0], str)
        weights = np.asarray(task.explain(run, "The dog is big.").details["attention"])
        assert weights.ndim == 2 and np.all(weights >= 0)
        assert Run.open(run_dir).state["source_vocabulary"] == Run.open(run_dir).state["target_vocabulary"]
