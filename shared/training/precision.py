"""Mixed precision and XLA policy."""

from __future__ import annotations


def resolve_precision(setting: str, strategy=None) -> str:
    """Map `auto|on|off` to a Keras dtype policy name.

    On a TPU (a `TPUStrategy`), mixed precision means `mixed_bfloat16`, which
    needs no loss scaling. Elsewhere it means `mixed_float16`, for which
    Keras wraps the optimizer in a `LossScaleOptimizer` at compile time.
    `auto` turns it on for TPUs and GPUs only, since on CPU reduced-precision
    math is slower, not faster.
    """
    import tensorflow as tf

    from shared.training.strategy import is_tpu

    if setting == "off":
        return "float32"
    if strategy is not None and is_tpu(strategy):
        return "mixed_bfloat16"
    has_gpu = bool(tf.config.list_logical_devices("GPU"))
    if setting == "on" or has_gpu:
        return "mixed_float16"
    return "float32"


def apply_precision(policy: str) -> None:
    import keras

    keras.mixed_precision.set_global_policy(policy)
