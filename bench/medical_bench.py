"""Medical imaging benchmark: image input-pipeline efficiency.

Examples/s of the from-scratch CNN fed by the real pipeline (PNG files on
disk -> parallel decode and resize -> batch -> prefetch) divided by
examples/s of the same model fed the same images as in-memory tensors.
The first epoch decodes from disk; later epochs read the pipeline's cache,
so the ratio is reported for both.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path


def image_training_throughput(images: int = 1200, batch_size: int = 64, epochs: int = 2) -> dict:
    import numpy as np

    from domains.medical_imaging import data as mdata
    from shared.domain import get_task
    from shared.training.optimizers import make_optimizer

    task = get_task("medical_imaging", "classifier")
    with tempfile.TemporaryDirectory() as work:
        manifest = mdata.write_synthetic_folder(Path(work) / "pngs", n=images, seed=1)
        cfg = task.resolve_config(
            overrides=[
                f"data.path={manifest.parent}", "model.type=cnn", f"trainer.batch_size={batch_size}",
                "trainer.cache=false", "data.split.type=random", "data.split.column=null",
            ]
        )
        data = task.load_data(cfg, Path(work))
        model = task.build_model(cfg, data)
        task.compile(model, cfg, lambda: make_optimizer(cfg.optimizer))
        n = int(data.extras["train_rows"])

        model.fit(data.train, epochs=1, verbose=0)  # trace
        start = time.perf_counter()
        model.fit(data.train, epochs=epochs, verbose=0)
        pipeline = n * epochs / (time.perf_counter() - start)

        x = np.concatenate([b.numpy() for b, _ in data.train])
        y = np.concatenate([b.numpy() for _, b in data.train])
        model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0)
        memory = n * epochs / (time.perf_counter() - start)
    return {
        "benchmark": "medical CNN training (PNG decode every epoch)",
        "examples": n,
        "batch_size": batch_size,
        "pipeline_examples_per_s": pipeline,
        "in_memory_examples_per_s": memory,
        "ratio": pipeline / memory,
    }
