"""Medical imaging benchmark: image input-pipeline efficiency.

Examples/s of the from-scratch CNN fed by the real pipeline (PNG files on
disk -> native parallel decode and resize in tf.data every epoch, no cache
-> batch -> prefetch) divided by examples/s of the same model fed the same
decoded images from the fastest feed there is: in-memory tensors, batched
once and cached, prefetched. 1.0 means decoding costs training nothing.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path


def image_training_throughput(images: int = 1200, batch_size: int = 64, epochs: int = 2, rounds: int = 3) -> dict:
    import numpy as np
    import tensorflow as tf

    from domains.medical_imaging.synthetic import write_synthetic_folder
    from shared.domain import get_task
    from shared.training.optimizers import make_optimizer

    task = get_task("medical_imaging", "classifier")
    with tempfile.TemporaryDirectory() as work:
        manifest = write_synthetic_folder(Path(work) / "pngs", n=images, seed=1)
        cfg = task.resolve_config(
            overrides=[
                f"data.path={manifest.parent}", "model.type=cnn", f"trainer.batch_size={batch_size}",
                "trainer.cache=false", "data.split.type=random", "data.split.column=null",
            ]
        )
        data = task.load_data(cfg, Path(work))
        model = task.build_model(cfg, data)
        task.compile(model, cfg, lambda: make_optimizer(cfg.optimizer))
        n = int(data.train_rows)

        x = np.concatenate([b.numpy() for b, _ in data.train])
        y = np.concatenate([b.numpy() for _, b in data.train])
        feeds = {
            "pipeline": data.train,
            "memory": tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size).cache().prefetch(tf.data.AUTOTUNE),
        }
        for feed in feeds.values():
            model.fit(feed, epochs=1, verbose=0)  # trace, warm up, fill the in-memory cache
        best = dict.fromkeys(feeds, float("inf"))
        for _ in range(rounds):  # alternate, so that other load on the machine hits both feeds alike
            for name, feed in feeds.items():
                start = time.perf_counter()
                model.fit(feed, epochs=epochs, verbose=0)
                best[name] = min(best[name], time.perf_counter() - start)
        pipeline, memory = (n * epochs / best[name] for name in ("pipeline", "memory"))
    return {
        "benchmark": "medical CNN training (PNG decode every epoch)",
        "examples": n,
        "batch_size": batch_size,
        "pipeline_examples_per_s": pipeline,
        "in_memory_examples_per_s": memory,
        "ratio": pipeline / memory,
    }
