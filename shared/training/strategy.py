"""Choose a tf.distribute strategy from the environment.

Strategies are registered by name; `auto` picks the right one for the
devices present. New environments (multi-worker, TPU) plug in by
registering a factory and a detector, without touching the engine.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from shared.registry import Registry

log = logging.getLogger(__name__)


@dataclass
class StrategyFactory:
    """Builds a strategy; `applies` says whether `auto` should pick it."""

    build: Callable[[], object]
    applies: Callable[[], bool]
    priority: int  # higher wins under `auto`


STRATEGIES: Registry[StrategyFactory] = Registry("distribution strategy")


def _gpus() -> list:
    import tensorflow as tf

    return tf.config.list_logical_devices("GPU")


def _default():
    import tensorflow as tf

    return tf.distribute.get_strategy()


def _mirrored():
    import tensorflow as tf

    gpus = _gpus()
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy([d.name for d in gpus])
    # Several logical CPUs (tests, or hosts without GPUs) also mirror.
    cpus = tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy([d.name for d in cpus]) if len(cpus) > 1 else tf.distribute.MirroredStrategy()


STRATEGIES.register("default", StrategyFactory(_default, applies=lambda: True, priority=0))
STRATEGIES.register("mirrored", StrategyFactory(_mirrored, applies=lambda: len(_gpus()) > 1, priority=10))


def split_cpu(count: int) -> None:
    """Expose the CPU as `count` logical devices, before TensorFlow starts.

    Lets multi-device code (MirroredStrategy) run on a machine without GPUs,
    for tests and for trying a config before renting accelerators. Set
    `DLSUITE_VIRTUAL_CPUS=N` to do this from the CLI.
    """
    import tensorflow as tf

    if count < 1:
        raise ValueError(f"count must be >= 1. Received: count={count}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)


def resolve_strategy(name: str = "auto"):
    """Return a strategy by name, or the best match for the devices under `auto`."""
    if name != "auto":
        strategy = STRATEGIES.get(name).build()
    else:
        candidates = [(f.priority, n, f) for n, f in STRATEGIES.items() if f.applies()]
        _, name, factory = max(candidates, key=lambda c: c[0])
        strategy = factory.build()
    log.info("distribution strategy: %s (%d replica(s))", name, strategy.num_replicas_in_sync)
    return strategy


def describe(strategy) -> dict:
    return {"strategy": type(strategy).__name__, "replicas": int(strategy.num_replicas_in_sync)}
