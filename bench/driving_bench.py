"""Driving benchmarks: video annotation end to end, and detector training through the image pipeline.

- video: frames/s of `annotate_video` with the demo detector on a rendered
  clip, end to end (PyAV decoding in a background thread, resizing, the
  model, heatmap decoding and NMS, drawing boxes, H.264 encoding) ÷
  frames/s of the raw model call on the same frames as ready tensors
  (batches of 8, as the video path uses). 1.0 would mean everything around
  the model is free.
- detector training: images/s of one training epoch of the detection
  preset's CenterNet fed PNG files through tf.data (`tf.io.decode_image`,
  resizing, rescaling the boxes and encoding CenterNet targets in
  `Dataset.map`) ÷ images/s of the same compiled model fed the same
  images and targets as in-memory tensors (decoded and encoded once,
  cached). Timed alternately, best of the rounds, after a warm-up epoch of
  each. 1.0 means the pipeline costs nothing.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from timing import best_epoch_seconds

SEED = 5150


def video_throughput(run_dir: Path, seconds: float = 10.0) -> dict:
    import numpy as np
    import tensorflow as tf

    from domains.driving.synthetic import write_clip
    from shared.domain import get_task
    from shared.inputs.video import read_frames
    from shared.runs import Run

    run = Run.open(run_dir)
    task = get_task("driving", "detection")
    with tempfile.TemporaryDirectory() as work:
        clip = write_clip(Path(work) / "clip.mp4", seed=SEED, seconds=seconds, fps=10)
        task.annotate_video(run, clip, Path(work) / "warm.mp4")  # trace once
        stats = task.annotate_video(run, clip, Path(work) / "annotated.mp4")
        frames, _ = read_frames(clip, max_frames=len(range(round(seconds * 10))))
    h, w = run.task_state(task.state_schema).image_height, run.task_state(task.state_schema).image_width
    ready = tf.image.resize(tf.cast(frames, tf.float32) / 255.0, (h, w)).numpy()
    call = tf.function(lambda x: run.model(x, training=False))
    call(ready[:8])
    start = time.perf_counter()
    for i in range(0, len(ready), 8):
        np.asarray(call(ready[i : i + 8]))
    model_fps = len(ready) / (time.perf_counter() - start)
    return {
        "benchmark": "video annotation frames/s: end to end (decode, resize, model, NMS, draw, encode) ÷ raw model calls (demo detector)",
        "end_to_end_frames_per_s": stats["frames_per_second"],
        "model_frames_per_s": model_fps,
        "frames": stats["frames"],
        "ratio": stats["frames_per_second"] / model_fps,
    }


def detector_training_throughput(images: int = 600, rounds: int = 3, quick: bool = False) -> dict:
    import keras
    import numpy as np
    import tensorflow as tf

    from domains.driving.synthetic import write_coco
    from shared.domain import get_task
    from shared.training.optimizers import make_optimizer

    task = get_task("driving", "detection")
    with tempfile.TemporaryDirectory() as work:
        annotations = write_coco(Path(work) / "coco", n=images, seed=SEED)
        overrides = [f"data.path={annotations}", "trainer.tensorboard=false", "trainer.cache=false", "evaluation.compare_from_scratch=false"]
        if quick:
            overrides += ["model.neck_filters=16", "model.head_filters=16"]
        cfg = task.resolve_config(overrides=overrides)
        keras.utils.set_random_seed(SEED)
        data = task.load_data(cfg, Path(work) / "data")
        xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in data.train])
        x, y = np.concatenate(xs), np.concatenate(ys)
        feeds = {
            "pipeline": data.train,
            "memory": tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=SEED).batch(cfg.trainer.batch_size).cache().prefetch(tf.data.AUTOTUNE),
        }
        model = task.build_model(cfg, data)
        task.compile(model, cfg, lambda: make_optimizer(cfg.optimizer))
        best = best_epoch_seconds(model, feeds, rounds)
    n = len(x)
    return {
        "benchmark": "detector training images/s: PNG files through tf.data with CenterNet target encoding ÷ in-memory tensors",
        "pipeline_images_per_s": n / best["pipeline"],
        "memory_images_per_s": n / best["memory"],
        "images": n,
        "ratio": best["memory"] / best["pipeline"],
    }
