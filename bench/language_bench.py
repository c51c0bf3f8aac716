"""Language benchmarks: the decoder's key/value cache, beam search against greedy, tokenizing in the input pipeline.

- decoding cache: tokens/s of greedy decoding with the key/value cache ÷
  tokens/s without it (every step re-runs the decoder over the whole
  prefix), for a transformer encoder-decoder of the translation preset's
  size at a source length of 30 tokens, 32 decoding steps, a batch of 32
  (`shared.seq2seq.benchmark.cache_speedup`: an untrained model whose EOS
  is pushed down, so both paths run every step and must decode the same
  tokens). Best of the repeats.
- beam vs greedy: sentences/s of batch translation with beam search (width
  4, length penalty 0.6) ÷ sentences/s of greedy decoding, with the demo
  translator on held-out synthetic English sentences, strings in and out
  (`Translator.translate`: encode, decode, detokenize). Best of the rounds.
- text-classification training: examples/s of one training epoch of the
  sentiment preset's BiGRU fed by the real pipeline (raw strings in,
  WordPiece tokenization inside tf.data) ÷ examples/s of the same compiled
  model fed the same texts as token ids encoded once beforehand, cached in
  memory. Timed alternately, best of the rounds, after a warm-up epoch of
  each. 1.0 means tokenizing in the pipeline costs nothing.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from timing import best_epoch_seconds

SEED = 4242


def _best(fn, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def decoding_cache_speedup(batch_size: int = 32, repeats: int = 3) -> dict:
    from shared.seq2seq.benchmark import cache_speedup

    r = cache_speedup(source_length=30, target_length=32, batch_size=batch_size, repeats=repeats, print_fn=lambda *_: None)
    return {
        "benchmark": "greedy decoding tokens/s: key/value cache ÷ no cache (source length 30)",
        "cached_tokens_per_s": r["cached_tokens_per_second"],
        "uncached_tokens_per_s": r["uncached_tokens_per_second"],
        "batch_size": batch_size,
        "ratio": r["speedup"],
    }


def beam_vs_greedy(run_dir: Path, sentences: int = 256, rounds: int = 2) -> dict:
    from domains.language.synthetic import sentence_pairs
    from shared.domain import get_task
    from shared.runs import Run

    translator = get_task("language", "translation").translator(Run.open(run_dir))
    sources = [s for s, _ in sentence_pairs(sentences, SEED)]
    for method in ("greedy", "beam"):  # trace each loop once
        translator.translate(sources[:4], method=method)
    greedy = _best(lambda: translator.translate(sources, method="greedy"), rounds)
    beam = _best(lambda: translator.translate(sources, method="beam", beam_width=4, length_penalty=0.6), rounds)
    return {
        "benchmark": "batch translation sentences/s: beam 4 ÷ greedy (demo translator)",
        "beam_sentences_per_s": len(sources) / beam,
        "greedy_sentences_per_s": len(sources) / greedy,
        "sentences": len(sources),
        "ratio": greedy / beam,
    }


def text_training_throughput(reviews: int = 3000, rounds: int = 3, quick: bool = False) -> dict:
    import keras
    import tensorflow as tf

    from domains.language.config import VocabularyFile
    from domains.language.pipeline import load_vocabulary
    from shared.domain import get_task
    from shared.training.optimizers import make_optimizer

    task = get_task("language", "sentiment")
    overrides = [f"data.synthetic.reviews={reviews}", "trainer.tensorboard=false", "evaluation.baseline=false"]
    if quick:
        overrides += ["model.units=8", "model.embedding_dim=8", "model.tokenizer.vocabulary_size=300", "model.sequence_length=48"]
    cfg = task.resolve_config(overrides=overrides)
    keras.utils.set_random_seed(SEED)
    with tempfile.TemporaryDirectory() as work:
        data = task.load_data(cfg, Path(work) / "data")
        texts, labels = data.loaded.part("train")
        vocabulary = load_vocabulary(Path(work), VocabularyFile.model_validate(data.state["vocabulary"]))  # saved by load_data
        ids = vocabulary.encode(texts.tolist(), cfg.model.sequence_length).ids
        feeds = {
            "pipeline": data.train,
            "memory": tf.data.Dataset.from_tensor_slices((ids, labels.astype("int32"))).batch(cfg.trainer.batch_size).cache().prefetch(tf.data.AUTOTUNE),
        }
        model = task.build_model(cfg, data)
        task.compile(model, cfg, lambda: make_optimizer(cfg.optimizer))
        best = best_epoch_seconds(model, feeds, rounds)
    n = len(texts)
    return {
        "benchmark": "text-classification training examples/s: raw strings through tf.data ÷ in-memory token ids",
        "pipeline_examples_per_s": n / best["pipeline"],
        "memory_examples_per_s": n / best["memory"],
        "examples": n,
        "ratio": best["memory"] / best["pipeline"],
    }
