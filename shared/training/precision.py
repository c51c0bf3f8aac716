"""Mixed precision and XLA policy."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

# float16 matrix math is fast on GPUs with tensor cores (Volta, compute
# capability 7.0, and newer); on older GPUs it is as slow as float32 or slower.
TENSOR_CORE_CAPABILITY = (7, 0)


def float16_pays_off() -> bool:
    """True when TensorFlow sees GPUs and none is older than tensor cores.

    A GPU that does not report its compute capability (a ROCm build, say) is
    taken to be recent.
    """
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return False
    for gpu in gpus:
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        if capability is not None and tuple(capability) < TENSOR_CORE_CAPABILITY:
            log.info("mixed precision left off: %s has compute capability %d.%d (< 7.0, no tensor cores)", gpu.name, *capability)
            return False
    return True


def resolve_precision(setting: str, strategy=None) -> str:
    """Map `auto|on|off` to a Keras dtype policy name.

    On a TPU (a `TPUStrategy`), mixed precision means `mixed_bfloat16`, which
    needs no loss scaling. Elsewhere it means `mixed_float16`, for which
    Keras wraps the optimizer in a `LossScaleOptimizer` at compile time.
    `auto` turns it on for TPUs, and for GPUs with tensor cores (compute
    capability 7.0 or higher) only: on CPU and on older GPUs reduced-precision
    math is slower, not faster.
    """
    from shared.training.strategy import is_tpu

    if setting == "off":
        return "float32"
    if strategy is not None and is_tpu(strategy):
        return "mixed_bfloat16"
    if setting == "on" or float16_pays_off():
        return "mixed_float16"
    return "float32"


def apply_precision(policy: str) -> None:
    import keras

    keras.mixed_precision.set_global_policy(policy)
