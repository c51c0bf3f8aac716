"""
Title: Sentiment and translation on your own texts
Description: Train a text classifier and a translator with dlsuite, score them against classical baselines, explain them.

## Introduction

A CSV with a text column and a label column is all the classifier needs; a
TSV of `source<TAB>target` lines (the Tatoeba/Anki format) is all the
translator needs. We train a subword BiGRU classifier beside TF-IDF +
logistic regression, then a transformer translator beside a word-by-word
dictionary, score the translator with sacrebleu's BLEU and chrF, and look at
which words moved a sentiment score and where the translator looked.

Run it with `python domains/language/quickstart.py` (about 10 minutes on 2
CPU cores; `--quick` checks that it runs in about one). With no arguments it uses the suite's synthetic demo data
(grammar-made reviews and English-Spanish pairs), so it needs no download;
pass `--reviews your.csv` and `--pairs your.tsv` to use your own.
"""

# ## Setup
import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from shared.domain import get_task  # noqa: E402
from shared.runs import Run  # noqa: E402
from shared.training.runner import prepare_run, train  # noqa: E402


def sentiment(work: Path, reviews: str | None, epochs: int, quick: bool = False) -> None:
    task = get_task("language", "sentiment")
    examples = task.write_examples(work / "sentiment_examples")

    # ## A text classifier
    # Texts are standardized (HTML tags such as `<br />` out, lower case), a
    # WordPiece vocabulary is trained on the training split, and tokenization
    # runs inside tf.data. The same run fits TF-IDF + logistic regression
    # (C chosen by cross-validation) on the same training texts.
    overrides = [*(task.quick_overrides if quick else ()), f"trainer.epochs={epochs}", "trainer.tensorboard=false"]
    if reviews:
        overrides.append(f"data.path={reviews}")
    cfg = task.resolve_config(overrides=overrides)
    result = train(task, cfg, prepare_run(task, cfg, work / "sentiment"))
    print(task.summarize(result.metrics))

    # ## Predictions and an explanation
    # Integrated gradients on the token embeddings: green tokens raised the
    # predicted label's probability, red ones lowered it.
    run = Run.open(result.run_dir)
    print(task.predict(run, examples.predict)[["label", "score", "text"]].to_string(index=False))
    explanation = task.explain(run, task.read_example(run, examples.explain))
    top = sorted(zip(explanation.values, explanation.names), reverse=True)[:5]
    print(f"{explanation.details['predicted']}: " + ", ".join(f"{name} {value:+.3f}" for value, name in top))


def translation(work: Path, pairs: str | None, epochs: int, quick: bool = False) -> None:
    task = get_task("language", "translation")
    examples = task.write_examples(work / "translation_examples")

    # ## A translator
    # SentencePiece vocabularies per side, a transformer encoder-decoder with
    # teacher forcing in its own loss, beam search with a length penalty over
    # cached keys and values. The run reports copying the source and a
    # word-by-word dictionary beside it, all scored with sacrebleu.
    overrides = [*(task.quick_overrides if quick else ()), f"trainer.epochs={epochs}", "trainer.tensorboard=false", "evaluation.max_test_pairs=300"]
    if pairs:
        overrides.append(f"data.path={pairs}")
    cfg = task.resolve_config(overrides=overrides)
    result = train(task, cfg, prepare_run(task, cfg, work / "translation"))
    print(task.summarize(result.metrics))
    print(result.metrics["bleu_signature"])

    # ## Batch translation and the attention map
    run = Run.open(result.run_dir)
    print(task.predict(run, examples.predict)[["source", "translation"]].to_string(index=False))
    explanation = task.explain(run, task.read_example(run, examples.explain))
    print(f"{explanation.details['translation']!r}; attention shape {explanation.details['attention'].shape}")
    print(f"held-out file: {task.evaluate_file(run, examples.evaluate)['bleu']:.1f} BLEU")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Language quickstart: sentiment and translation")
    parser.add_argument("--reviews", help="a CSV/TSV with text and label columns (or class folders)")
    parser.add_argument("--pairs", help="a TSV of source<TAB>target sentence pairs")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--quick", action="store_true", help="tiny data and models: checks that everything runs, learns little")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    sentiment(work, args.reviews, args.epochs, args.quick)
    translation(work, args.pairs, args.epochs, args.quick)
    print(f"runs in {work}")
