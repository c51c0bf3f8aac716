"""Export a trained model: Keras file, TF SavedModel for serving, or TFLite."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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


def _serving_archive(model, batch_size: int | None = None, extra_endpoints: dict | None = None):
    """An export archive whose `serve` endpoint runs the model in inference mode.

    `model.export` traces `model(x)` without `training=False`, and Keras 3's
    augmentation layers (RandomFlip, RandomRotation...) default to training
    mode, so the plain export would augment every request. The endpoint here
    passes `training=False` explicitly. A model with a `serving_endpoints()`
    method (`shared.seq2seq.Seq2SeqModel`) gets the endpoints it names.
    `extra_endpoints` (name -> (fn, input signature), from
    `Task.serving_endpoints`) adds a task's own, e.g. a detector's decoding
    and NMS after the network.
    """
    import keras
    import tensorflow as tf

    endpoints = getattr(model, "serving_endpoints", None)
    if callable(endpoints):  # a subclassed model (e.g. a seq2seq translator) names its own endpoints
        archive = keras.export.ExportArchive()
        archive.track(model)
        for name, (fn, signature) in endpoints().items():
            archive.add_endpoint(name=name, fn=fn, input_signature=signature)
        return archive
    spec = keras.tree.map_structure(
        lambda t: tf.TensorSpec((batch_size, *t.shape[1:]), t.dtype, name=t.name.split(":")[0]), model.input
    )
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(name="serve", fn=lambda inputs: model(inputs, training=False), input_signature=[spec])
    archive.add_endpoint(name="serving_default", fn=lambda inputs: model(inputs, training=False), input_signature=[spec])
    for name, (fn, signature) in (extra_endpoints or {}).items():
        archive.add_endpoint(name=name, fn=fn, input_signature=signature)
    return archive


@EXPORTERS.register("savedmodel")
def export_savedmodel(model, path: Path, extra_endpoints: dict | None = None) -> Path:
    with atomic_path(path) as tmp:
        _serving_archive(model, extra_endpoints=extra_endpoints).write_out(str(tmp), verbose=False)
    return Path(path)


def _convert(staging: str, select_tf_ops: bool) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(staging)
    ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if select_tf_ops:
        ops.append(tf.lite.OpsSet.SELECT_TF_OPS)
    converter.target_spec.supported_ops = ops
    return converter.convert()


@EXPORTERS.register("tflite")
def export_tflite(model, path: Path) -> Path:
    """A `.tflite` file, with TFLite builtin ops only when the model allows.

    Builtin-only models run on any TFLite / LiteRT runtime (phones,
    microcontrollers). A model whose builtin conversion needs static shapes
    (recurrent layers) is converted with a batch of one instead. A model with ops outside that set (string lookups,
    TF-only kernels) is converted with `SELECT_TF_OPS` instead, and then
    needs the Flex delegate at run time; `tflite_uses_flex` says which one
    a file is.
    """
    import tempfile

    path = Path(path)
    if path.suffix != ".tflite":
        path = path.with_suffix(".tflite")
    blob = None
    with tempfile.TemporaryDirectory() as staging:
        _serving_archive(model).write_out(staging, verbose=False)
        try:
            blob = _convert(staging, select_tf_ops=False)
        except Exception:  # noqa: BLE001 - the converter raises several types; try a static batch, then TF ops
            pass
    if blob is None and not callable(getattr(model, "serving_endpoints", None)):
        # Recurrent layers (GRU/LSTM) lower to builtin ops only with static shapes: one example per call.
        with tempfile.TemporaryDirectory() as staging:
            _serving_archive(model, batch_size=1).write_out(staging, verbose=False)
            try:
                blob = _convert(staging, select_tf_ops=False)
            except Exception:  # noqa: BLE001
                pass
    if blob is None:
        with tempfile.TemporaryDirectory() as staging:
            _serving_archive(model).write_out(staging, verbose=False)
            blob = _convert(staging, select_tf_ops=True)
    with atomic_path(path) as tmp:
        tmp.write_bytes(blob)
    return path


def tflite_uses_flex(path: Path) -> bool:
    """Whether a `.tflite` file holds TensorFlow (`Flex*`) ops, which need the Flex delegate to run."""
    from ai_edge_litert.interpreter import Interpreter

    try:
        ops = Interpreter(model_path=str(path))._get_ops_details()
    except (RuntimeError, ValueError) as exc:
        if "flex" in str(exc).lower() or "select tensorflow op" in str(exc).lower():
            return True
        raise
    return any(str(op.get("op_name", "")).startswith("Flex") for op in ops)


def export(model, fmt: str, path: Path, extra_endpoints: dict | None = None) -> Path:
    """Export `model` as `fmt`; `extra_endpoints` go into a SavedModel only (see `_serving_archive`)."""
    if fmt == "savedmodel":
        return export_savedmodel(model, path, extra_endpoints)
    return EXPORTERS.get(fmt)(model, path)
