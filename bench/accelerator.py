"""Accelerator benchmark: float32, mixed precision, and mixed precision with XLA.

Trains each domain's main model -- the fraud `classifier` MLP and the
medical-imaging `classifier` transfer model on the offline TF Hub backbone
`dlsuite/fashion-cnn-64` -- in three settings, one after the other in one
process, from the same in-memory, batched `tf.data` input:

  (a) float32, no XLA;
  (b) mixed precision: the `mixed_float16` global Keras policy. Keras wraps
      the optimizer in a `LossScaleOptimizer` itself at `compile`; the
      benchmark checks that it did and reports it;
  (c) mixed precision with XLA: as (b), compiled with `jit_compile=True`.
      Keras silently falls back to no XLA when a layer cannot be compiled
      (it only warns); the benchmark reports whether XLA was really applied
      and, if not, which layers prevented it.

Each setting builds and compiles a fresh model under its policy through the
domain's own task API, trains one warm-up epoch (tracing and XLA
compilation, not timed), then times N epochs. Reported: examples/s per
setting and the ratios (b)/(a) and (c)/(a). The global dtype policy is put
back to what it was afterwards, also when a setting fails.

On a CPU, float16 arithmetic is emulated and slower than float32, so ratios
below 1 are the expected result there; on a GPU with tensor cores the same
script measures the real speed-up.

    python bench/accelerator.py            # full sizes (about 1.5 minutes on 2 CPU cores)
    python bench/accelerator.py --quick    # tiny sizes, a smoke check
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

SEED = 7


@dataclass(frozen=True)
class Setting:
    key: str
    label: str
    policy: str
    jit_compile: bool


SETTINGS = (
    Setting("a", "float32", "float32", False),
    Setting("b", "mixed precision", "mixed_float16", False),
    Setting("c", "mixed precision + XLA", "mixed_float16", True),
)

FULL = {"fraud_rows": 60_000, "fraud_batch_size": 512, "images": 2400, "image_batch_size": 32, "epochs": 5}
QUICK = {"fraud_rows": 3000, "fraud_batch_size": 256, "images": 120, "image_batch_size": 32, "epochs": 1}


@dataclass
class Workload:
    """One model to time: how to build it, and the input it trains on.

    `build(jit_compile)` builds and compiles a fresh model under the current
    global dtype policy.
    """

    name: str
    batches: Any  # tf.data.Dataset of (inputs, targets), batched, in memory
    examples_per_epoch: int
    batch_size: int
    build: Callable[[bool], Any]
    notes: str = ""


def device_name() -> str:
    """The GPU Keras trains on (name and compute capability), else the CPU."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        name = details.get("device_name", "GPU")
        capability = details.get("compute_capability")
        if capability:
            name += f" (compute capability {capability[0]}.{capability[1]})"
        return name if len(gpus) == 1 else f"{name}, first of {len(gpus)} GPUs"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"CPU, {cores} cores ({platform.processor() or platform.machine()})"


def _in_memory(x, y, batch_size: int):
    """Batches of ready tensors; every batch full, so each setting traces one shape."""
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def fraud_workload(workdir: Path, rows: int, batch_size: int) -> Workload:
    from shared.domain import get_task
    from shared.training.optimizers import make_optimizer

    task = get_task("fraud_detection", "classifier")
    base = [f"data.synthetic_rows={rows}", f"trainer.batch_size={batch_size}"]
    data = task.load_data(task.resolve_config(overrides=base), workdir)
    n = data.provenance["train_rows"]
    x, y = next(iter(data.train.unbatch().batch(n)))  # the training split, once, in memory

    def build(jit_compile: bool):
        cfg = task.resolve_config(overrides=base + [f"trainer.jit_compile={str(jit_compile).lower()}"])
        model = task.build_model(cfg, data)
        task.compile(model, cfg, lambda: make_optimizer(cfg.optimizer))
        return model

    return Workload(
        name="fraud MLP",
        batches=_in_memory(x, y, batch_size),
        examples_per_epoch=(n // batch_size) * batch_size,
        batch_size=batch_size,
        build=build,
        notes="raw columns in, string lookups and embeddings inside the model",
    )


def medical_workload(workdir: Path, images: int, batch_size: int) -> Workload:
    import numpy as np

    from shared.domain import get_task
    from shared.training.optimizers import make_optimizer

    task = get_task("medical_imaging", "classifier")
    base = [f"data.synthetic_images={images}", f"trainer.batch_size={batch_size}"]
    cfg = task.resolve_config(overrides=base)
    if cfg.model.type != "transfer":
        raise RuntimeError(f"the medical classifier preset no longer trains the transfer model (model.type={cfg.model.type!r})")
    data = task.load_data(cfg, workdir)
    pairs = [(x.numpy(), y.numpy()) for x, y in data.train]  # one pass, so images and labels stay paired
    x = np.concatenate([p[0] for p in pairs])
    y = np.concatenate([p[1] for p in pairs])
    # Timed in the fine-tuning phase (backbone trainable, as the preset's
    # `fine_tune_from` says), where the backbone's gradients cost the most.
    fine_tune = task.phases(cfg)[-1]

    def build(jit_compile: bool):
        c = task.resolve_config(overrides=base + [f"trainer.jit_compile={str(jit_compile).lower()}"])
        model = task.build_model(c, data)
        if fine_tune.prepare is not None:
            fine_tune.prepare(model)
        task.compile(model, c, lambda: make_optimizer(c.optimizer))
        return model

    return Workload(
        name="medical transfer classifier",
        batches=_in_memory(x, y, batch_size),
        examples_per_epoch=(len(x) // batch_size) * batch_size,
        batch_size=batch_size,
        build=build,
        notes=f"{cfg.model.handle} backbone, {fine_tune.name} phase; the SavedModel backbone computes in its own float32",
    )


def _blocking_layers(model) -> list[str]:
    # Keras' own test for jit support (`model_supports_jit`) walks every nested layer.
    return [layer.name for layer in model._flatten_layers() if not getattr(layer, "supports_jit", True)]


def measure_setting(workload: Workload, setting: Setting, epochs: int) -> dict:
    """Build, compile, warm up and time one model in one setting.

    The caller sets the global dtype policy (and restores it).
    """
    import keras

    keras.utils.set_random_seed(SEED)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = workload.build(setting.jit_compile)
    optimizer = model.optimizer
    scaled = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    inner = optimizer.inner_optimizer if scaled else optimizer
    xla = bool(model.jit_compile)
    result = {
        "setting": setting.key,
        "label": setting.label,
        "policy": keras.mixed_precision.global_policy().name,
        "compute_dtype": model.dtype_policy.compute_dtype,
        "output_dtype": str(model.outputs[0].dtype),
        "jit_compile_requested": setting.jit_compile,
        "xla_applied": xla,
        "optimizer": f"LossScaleOptimizer({type(inner).__name__})" if scaled else type(optimizer).__name__,
        "loss_scale_optimizer": scaled,
    }
    if setting.jit_compile and not xla:
        result["xla_blocked_by"] = _blocking_layers(model)
        result["keras_warning"] = next((str(w.message) for w in caught if "jit_compile" in str(w.message)), "")
    model.fit(workload.batches, epochs=1, verbose=0, shuffle=False)  # trace, compile, warm caches
    timer = _epoch_timer()
    start = time.perf_counter()
    model.fit(workload.batches, epochs=epochs, verbose=0, shuffle=False, callbacks=[timer])
    seconds = time.perf_counter() - start
    per_epoch = [workload.examples_per_epoch / s for s in timer.seconds]
    result["seconds"] = seconds
    result["examples_per_s"] = workload.examples_per_epoch * epochs / seconds
    # The spread between epochs shows how much the machine's load moved the figure.
    result["epoch_examples_per_s_min"] = min(per_epoch)
    result["epoch_examples_per_s_max"] = max(per_epoch)
    return result


def _epoch_timer():
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    return EpochTimer()


def measure(workloads: list[Workload], epochs: int, settings=SETTINGS) -> list[dict]:
    """Every workload in every setting; the global dtype policy is restored afterwards."""
    import keras

    from shared.training.precision import apply_precision

    original = keras.mixed_precision.global_policy()
    out = []
    try:
        for workload in workloads:
            runs = []
            for setting in settings:
                apply_precision(setting.policy)
                runs.append(measure_setting(workload, setting, epochs))
            base = runs[0]["examples_per_s"]
            for r in runs:
                r["ratio_to_float32"] = r["examples_per_s"] / base
            out.append(
                {
                    "model": workload.name,
                    "examples_per_epoch": workload.examples_per_epoch,
                    "batch_size": workload.batch_size,
                    "epochs": epochs,
                    "notes": workload.notes,
                    "settings": runs,
                }
            )
    finally:
        keras.mixed_precision.set_global_policy(original)
    return out


def rows(measurements: list[dict]) -> list[dict]:
    """bench/run.py's rows: one per ratio, (b)/(a) and (c)/(a) for each model."""
    import keras
    import tensorflow as tf

    out = []
    for m in measurements:
        a, b, c = m["settings"]
        common = {"examples": m["examples_per_epoch"], "batch_size": m["batch_size"], "epochs": m["epochs"]}
        out.append(
            {
                "benchmark": f"{m['model']} training: mixed precision vs float32",
                **common,
                "float32_examples_per_s": a["examples_per_s"],
                "mixed_float16_examples_per_s": b["examples_per_s"],
                "ratio": b["ratio_to_float32"],
                "optimizer": b["optimizer"],
                "loss_scale_optimizer": b["loss_scale_optimizer"],
                "tf_version": tf.__version__,
                "keras_version": keras.__version__,
            }
        )
        xla_row = {
            "benchmark": f"{m['model']} training: mixed precision + XLA vs float32",
            **common,
            "float32_examples_per_s": a["examples_per_s"],
            "mixed_float16_xla_examples_per_s": c["examples_per_s"],
            "ratio": c["ratio_to_float32"],
            "optimizer": c["optimizer"],
            "loss_scale_optimizer": c["loss_scale_optimizer"],
            "xla_applied": c["xla_applied"],
        }
        if "xla_blocked_by" in c:
            xla_row["xla_blocked_by"] = c["xla_blocked_by"]
        out.append(xla_row)
    return out


def accelerator_throughput(
    fraud_rows: int = FULL["fraud_rows"],
    fraud_batch_size: int = FULL["fraud_batch_size"],
    images: int = FULL["images"],
    image_batch_size: int = FULL["image_batch_size"],
    epochs: int = FULL["epochs"],
) -> list[dict]:
    """Measure both models in the three settings; return bench/run.py's rows."""
    return rows(measure_all(fraud_rows, fraud_batch_size, images, image_batch_size, epochs))


def measure_all(fraud_rows: int, fraud_batch_size: int, images: int, image_batch_size: int, epochs: int) -> list[dict]:
    with ExitStack() as stack:
        fraud_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        medical_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        workloads = [
            fraud_workload(fraud_dir, fraud_rows, fraud_batch_size),
            medical_workload(medical_dir, images, image_batch_size),
        ]
        return measure(workloads, epochs)


def report(measurements: list[dict]) -> str:
    """A markdown table of every setting, then what to read into it."""
    lines = [
        "| model | setting | policy | XLA | optimizer | examples/s | per-epoch range | ÷ (a) float32 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for m in measurements:
        for r in m["settings"]:
            if not r["jit_compile_requested"]:
                xla = "off"
            elif r["xla_applied"]:
                xla = "on"
            else:
                xla = "requested, NOT applied"
            lines.append(
                f"| {m['model']} | ({r['setting']}) {r['label']} | {r['policy']} | {xla} | {r['optimizer']} "
                f"| {r['examples_per_s']:,.0f} | {r['epoch_examples_per_s_min']:,.0f}–{r['epoch_examples_per_s_max']:,.0f} "
                f"| {r['ratio_to_float32']:.2f} |"
            )
        notes.append(
            f"- {m['model']}: {m['examples_per_epoch']:,} examples per epoch, batch {m['batch_size']}, "
            f"{m['epochs']} timed epoch(s) after 1 warm-up; {m['notes']}."
        )
        for r in m["settings"]:
            if r["policy"] == "mixed_float16":
                verdict = "wrapped" if r["loss_scale_optimizer"] else "NOT wrapped"
                notes.append(
                    f"  ({r['setting']}) Keras {verdict} the optimizer in a LossScaleOptimizer at compile "
                    f"(optimizer: {r['optimizer']}); compute dtype {r['compute_dtype']}, output dtype {r['output_dtype']}."
                )
            if r["jit_compile_requested"] and not r["xla_applied"]:
                notes.append(
                    f"  ({r['setting']}) jit_compile=True was declined by Keras (layers without XLA support: "
                    f"{', '.join(r.get('xla_blocked_by', [])) or 'unknown'}), so this row ran without XLA, like (b)."
                )
    return "\n".join(lines + [""] + notes)


def main(argv: list[str] | None = None, results_dir: Path = HERE / "results") -> list[dict]:
    import keras
    import tensorflow as tf

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke check")
    parser.add_argument("--epochs", type=int, default=None, help="timed epochs per setting")
    args = parser.parse_args(argv)
    sizes = dict(QUICK if args.quick else FULL)
    if args.epochs is not None:
        sizes["epochs"] = args.epochs
    device = device_name()
    print(f"device: {device}; TensorFlow {tf.__version__}, Keras {keras.__version__}", flush=True)
    if not tf.config.list_physical_devices("GPU"):
        print("no GPU: float16 is emulated on the CPU, so ratios below 1 are expected here", flush=True)
    start = time.perf_counter()
    measurements = measure_all(**sizes)
    print(report(measurements))
    print(f"total {time.perf_counter() - start:.0f} s")
    record = {
        "device": device,
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "quick": args.quick,
        "sizes": sizes,
        "tf_version": tf.__version__,
        "keras_version": keras.__version__,
        "measurements": measurements,
        "results": rows(measurements),
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    out = results_dir / f"accelerator-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(record, indent=2))
    print(f"written: {out}")
    return measurements


if __name__ == "__main__":
    main()
