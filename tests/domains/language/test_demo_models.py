"""The shipped language demo models on held-out synthetic data: floors against the baselines, TFLite parity, the serving export.

Held-out data comes from `DEMO_SEED`, which no preset trains on (the grammars
are small, so some held-out texts also occur in training). Figures measured
on this data are in domains/language/README.md; the floors sit below them.
"""

import numpy as np
import pytest
from tests_support import demo_run

from domains.language.baseline import WordByWord
from domains.language.synthetic import reviews, sentence_pairs, write_pairs_tsv, write_reviews_csv
from domains.language.task import DEMO_SEED
from shared.domain import get_task
from shared.evaluation.translation import translation_report
from shared.runs import Run

SENTIMENT_FLOORS = {"accuracy": 0.9, "macro_f1": 0.9}
MIN_BLEU, MIN_CHRF = 60.0, 80.0


def test_sentiment_demo_beats_its_baseline_and_scores_held_out_reviews(tmp_path):
    run = Run.open(demo_run("language", "sentiment"))
    assert "synthetic" in str(run.metadata["data"]).lower()
    assert run.metrics["beats_baseline"] and run.metrics["accuracy"] > run.metrics["baseline"]["accuracy"]
    metrics = get_task("language", "sentiment").evaluate_file(run, write_reviews_csv(tmp_path / "held_out.csv", 300, DEMO_SEED))
    for name, floor in SENTIMENT_FLOORS.items():
        assert metrics[name] > floor, (name, metrics[name])


def test_translation_demo_beats_word_by_word_on_held_out_pairs(tmp_path):
    run = Run.open(demo_run("language", "translation"))
    m = run.metrics
    assert m["beats_word_by_word"] and set(m["baselines"]) == {"copy_source", "word_by_word"}
    pairs = sentence_pairs(300, DEMO_SEED)
    metrics = get_task("language", "translation").evaluate_file(run, write_pairs_tsv(tmp_path / "held_out.tsv", pairs))
    assert metrics["bleu"] > MIN_BLEU and metrics["chrf"] > MIN_CHRF, metrics
    train = sentence_pairs(5000, 0)
    table = WordByWord.fit([s for s, _ in train], [t for _, t in train])
    by_word = translation_report(table.translate_all([s for s, _ in pairs]), [t for _, t in pairs])
    assert metrics["bleu"] > by_word["bleu"] + 20 and metrics["chrf"] > by_word["chrf"], (metrics, by_word)


def test_sentiment_tflite_export_agrees_with_keras(tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    from shared.export import export, tflite_uses_flex

    run = Run.open(demo_run("language", "sentiment"))
    task = get_task("language", "sentiment")
    texts = [t for t, _ in reviews(40, DEMO_SEED)]
    ids, _ = task._inputs(run, [t.lower() for t in texts])
    keras_probs = np.asarray(run.model(ids, training=False))
    path = export(run.model, "tflite", tmp_path / "sentiment.tflite")
    assert not tflite_uses_flex(path), "the token-id classifier must convert to TFLite builtin ops"
    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    lite = np.zeros_like(keras_probs)
    for i, row in enumerate(ids):
        interpreter.set_tensor(inp["index"], row[None].astype(inp["dtype"]))
        interpreter.invoke()
        lite[i] = interpreter.get_tensor(out["index"])[0]
    assert np.abs(lite - keras_probs).max() < 1e-3
    assert (lite.argmax(1) == keras_probs.argmax(1)).all()


def test_translation_serving_export_decodes_like_the_task(tmp_path):
    import tensorflow as tf

    run = Run.open(demo_run("language", "translation"))
    translator = get_task("language", "translation").translator(run)
    sentences = [s for s, _ in sentence_pairs(8, DEMO_SEED)]
    encoded = translator.source.encode(sentences, translator.state.source_length)
    served = tf.saved_model.load(str(run.path / "saved_model")).signatures["serving_default"](source_ids=tf.constant(encoded.ids, tf.int32))
    from_export = translator.target.decode(served["target_ids"].numpy())
    assert from_export == translator.translate(sentences, method="greedy").translations


def test_greedy_and_beam_scores_mean_the_same_thing():
    translator = get_task("language", "translation").translator(Run.open(demo_run("language", "translation")))
    sources = [s for s, _ in sentence_pairs(12, 777)]
    greedy = translator.translate(sources, method="greedy")
    beam = translator.translate(sources, method="beam", beam_width=4, length_penalty=0.6)
    same = [i for i, (g, b) in enumerate(zip(greedy.translations, beam.translations)) if g == b]
    assert same, "the demo translator decodes most sentences alike both ways"
    for i in same:  # the same output has the same mean log-probability per token, whichever search found it
        assert beam.scores[i] == pytest.approx(greedy.scores[i], abs=1e-3)
    assert all(s <= 0 for s in greedy.scores + beam.scores)
