"""Export a trained model: Keras file, TF SavedModel for serving, or TFLite."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from shared.registry import Registry
from shared.runs import atomic_path

EXPORTERS: Registry[Callable] = Registry("export format")


@EXPORTERS.register("keras")
def export_keras(model, path: Path) -> Path:
    path = Path(path)
    if path.suffix != ".keras":
        path = path / "model.keras" if path.is_dir() or not path.suffix else path.with_suffix(".keras")
    with atomic_path(path) as tmp:
        model.save(tmp)
    return path


@EXPORTERS.register("savedmodel")
def export_savedmodel(model, path: Path) -> Path:
    with atomic_path(path) as tmp:
        model.export(str(tmp), format="tf_saved_model", verbose=False)
    return Path(path)


@EXPORTERS.register("tflite")
def export_tflite(model, path: Path) -> Path:
    import tempfile

    import tensorflow as tf

    path = Path(path)
    if path.suffix != ".tflite":
        path = path.with_suffix(".tflite")
    with tempfile.TemporaryDirectory() as staging:
        model.export(staging, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(staging)
        # String lookups and other TF ops outside the builtin set need SELECT_TF_OPS.
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
        blob = converter.convert()
    with atomic_path(path) as tmp:
        tmp.write_bytes(blob)
    return path


def export(model, fmt: str, path: Path) -> Path:
    return EXPORTERS.get(fmt)(model, path)
