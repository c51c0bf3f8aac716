"""Mixed precision and XLA policy."""

from __future__ import annotations


def resolve_precision(setting: str) -> str:
    """Map `auto|on|off` to a Keras dtype policy name.

    `auto` turns mixed precision on only when a GPU is present, since on CPU
    float16 math is slower, not faster.
    """
    import tensorflow as tf

    if setting == "off":
        return "float32"
    has_gpu = bool(tf.config.list_logical_devices("GPU"))
    if setting == "on" or has_gpu:
        return "mixed_float16"
    return "float32"


def apply_precision(policy: str) -> None:
    import keras

    keras.mixed_precision.set_global_policy(policy)
