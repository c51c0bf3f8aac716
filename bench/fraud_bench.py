"""Fraud benchmarks: input-pipeline efficiency and batch-scoring overhead.

Both report ratios measured in one process, one after the other, so machine
noise mostly cancels:

- training: examples/s of the fraud MLP fed by the real input pipeline
  (TFRecord shards -> parallel parse -> shuffle -> batch -> prefetch) divided
  by examples/s of the same model fed tensors already in memory;
- scoring: rows/s of `dlsuite predict`'s path (read CSV, validate, build
  inputs, predict, decide) divided by rows/s of a raw `model.predict` on
  ready tensors.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pandas as pd


def _examples_per_second(fit, examples: int, epochs: int) -> float:
    fit(1)  # trace and warm caches first
    start = time.perf_counter()
    fit(epochs)
    return examples * epochs / (time.perf_counter() - start)


def training_throughput(rows: int = 60_000, batch_size: int = 512, epochs: int = 3) -> dict:
    import tensorflow as tf

    from shared.domain import get_task
    from shared.training.optimizers import make_optimizer

    task = get_task("fraud_detection", "classifier")
    cfg = task.resolve_config(overrides=[f"data.synthetic_rows={rows}", f"trainer.batch_size={batch_size}"])
    with tempfile.TemporaryDirectory() as work:
        data = task.load_data(cfg, Path(work))
        model = task.build_model(cfg, data)
        task.compile(model, cfg, lambda: make_optimizer(cfg.optimizer))
        n = data.provenance["train_rows"]

        pipeline = _examples_per_second(lambda e: model.fit(data.train, epochs=e, verbose=0, shuffle=False), n, epochs)

        # The same examples, materialised once as in-memory tensors.
        xs, ys = [], []
        for x, y in data.train.unbatch().batch(n):
            xs.append(x)
            ys.append(y)
        x_mem, y_mem = xs[0], ys[0]
        memory = _examples_per_second(
            lambda e: model.fit(x_mem, y_mem, batch_size=batch_size, epochs=e, verbose=0, shuffle=True), n, epochs
        )
    return {
        "benchmark": "fraud MLP training",
        "examples": n,
        "batch_size": batch_size,
        "pipeline_examples_per_s": pipeline,
        "in_memory_examples_per_s": memory,
        "ratio": pipeline / memory,
        "tf_version": tf.__version__,
    }


def scoring_throughput(run_dir: Path, rows: int = 50_000) -> dict:
    import tensorflow as tf

    from domains.fraud_detection.data import generate_transactions
    from shared.domain import get_task
    from shared.runs import Run

    run = Run.open(run_dir)
    task = get_task(run.domain_name, run.task_name)
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "transactions.csv"
        generate_transactions(rows, seed=123).to_csv(path, index=False)
        task.predict(run, [path])  # warm-up: trace the predict function
        start = time.perf_counter()
        out = task.predict(run, [path])
        full = len(out) / (time.perf_counter() - start)

        arrays, _ = task.model_inputs(run, pd.read_csv(path), str(path))
        ready = {k: tf.constant(v.astype(str) if v.dtype == object else v) for k, v in arrays.items() if k != "label"}
        run.model.predict(ready, batch_size=4096, verbose=0)
        start = time.perf_counter()
        run.model.predict(ready, batch_size=4096, verbose=0)
        raw = rows / (time.perf_counter() - start)
    return {
        "benchmark": "fraud batch scoring",
        "rows": rows,
        "end_to_end_rows_per_s": full,
        "raw_predict_rows_per_s": raw,
        "ratio": full / raw,
    }


def summarize(results: list[dict]) -> str:
    lines = ["| benchmark | figures | ratio |", "|---|---|---|"]
    for r in results:
        figures = ", ".join(
            f"{k} {v:,.0f}" if k.endswith(("_per_s", "_mb")) else f"{k} {v:.2f}" for k, v in r.items() if k.endswith(("_per_s", "_mb", "_ratio"))
        )
        lines.append(f"| {r['benchmark']} | {figures} | {r['ratio']:.2f} |")
    return "\n".join(lines)

