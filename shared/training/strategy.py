"""Choose a tf.distribute strategy from the environment.

Strategies are registered by name; `auto` picks the right one for the
devices present:

| name | when `auto` picks it | strategy |
|---|---|---|
| `tpu` | a TPU is attached (`TPU_NAME`, or a Cloud TPU VM's `/dev/accel*`) | TPUStrategy |
| `multi_worker` | `TF_CONFIG` describes a cluster of two or more tasks | MultiWorkerMirroredStrategy |
| `mirrored` | two or more GPUs | MirroredStrategy |
| `default` | otherwise | the default (one device) strategy |

New environments plug in by registering a factory and a detector, without
touching the engine.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from shared.errors import RunError, first_line
from shared.registry import Registry
from shared.training.cluster import read_tf_config, rendezvous

log = logging.getLogger(__name__)

DEFAULT_WORKER_TIMEOUT = 300.0


@dataclass
class StrategyFactory:
    """Builds a strategy; `applies` says whether `auto` should pick it.

    `build` takes keyword settings (e.g. `worker_timeout`) and ignores the
    ones it has no use for.
    """

    build: Callable[..., object]
    applies: Callable[[], bool]
    priority: int  # higher wins under `auto`


STRATEGIES: Registry[StrategyFactory] = Registry("distribution strategy")


def _gpus() -> list:
    import tensorflow as tf

    return tf.config.list_logical_devices("GPU")


def _default(**_):
    import tensorflow as tf

    return tf.distribute.get_strategy()


def _mirrored(**_):
    import tensorflow as tf

    gpus = _gpus()
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy([d.name for d in gpus])
    # Several logical CPUs (tests, or hosts without GPUs) also mirror.
    cpus = tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy([d.name for d in cpus]) if len(cpus) > 1 else tf.distribute.MirroredStrategy()


def _in_cluster() -> bool:
    spec = read_tf_config()
    return spec is not None and spec.size > 1


def _multi_worker(worker_timeout: float = DEFAULT_WORKER_TIMEOUT, **_):
    """MultiWorkerMirroredStrategy over the cluster in `TF_CONFIG`.

    Every worker runs the same command. TensorFlow waits in C++, without a
    deadline, for absent workers, so the workers first meet with a deadline
    of `worker_timeout` seconds (`rendezvous`). Once running, a worker that
    dies is noticed by the coordination service's heartbeats (about 10 s)
    and the others stop with an error.
    """
    import tensorflow as tf

    spec = read_tf_config()
    if spec is None:
        raise RunError("strategy 'multi_worker' needs TF_CONFIG in the environment (see the README's scale-out section)")
    rendezvous(spec, worker_timeout)
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except (RuntimeError, ValueError, tf.errors.OpError) as exc:
        raise RunError(f"could not join the cluster as {spec.role} {spec.index} ({spec.me}): {first_line(exc)}") from None


def tpu_present() -> bool:
    """A TPU named in the environment, or a Cloud TPU VM's local chips.

    Hosts where neither shows (some TPU generations expose their chips only
    through VFIO) select it with `--set trainer.strategy=tpu`.
    """
    return bool(os.environ.get("TPU_NAME") or glob.glob("/dev/accel[0-9]*"))


def _tpu(**_):
    """TPUStrategy through TPUClusterResolver (`TPU_NAME`, else the local TPU VM)."""
    import tensorflow as tf

    name = os.environ.get("TPU_NAME", "local")
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=name)
        if name != "local":
            tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    except (RuntimeError, ValueError, tf.errors.OpError) as exc:
        # TensorFlow appends the failed op's attributes (in no fixed order) after "Failed in initialization".
        reason = first_line(exc).split(" Failed in initialization", 1)[0].rstrip(". ")
        raise RunError(f"no usable TPU at {name!r}: {reason}; run on a TPU VM, set TPU_NAME, or choose another trainer.strategy") from None


STRATEGIES.register("default", StrategyFactory(_default, applies=lambda: True, priority=0))
STRATEGIES.register("mirrored", StrategyFactory(_mirrored, applies=lambda: len(_gpus()) > 1, priority=10))
STRATEGIES.register("multi_worker", StrategyFactory(_multi_worker, applies=_in_cluster, priority=50))
STRATEGIES.register("tpu", StrategyFactory(_tpu, applies=tpu_present, priority=100))


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


def resolve_strategy(name: str = "auto", **settings):
    """Return a strategy by name, or the best match for the devices under `auto`.

    Args:
        name: str. A registered strategy name, or `"auto"`.
        **settings: passed to the factory (`worker_timeout` for
            `multi_worker`).
    """
    if name != "auto":
        strategy = STRATEGIES.get(name).build(**settings)
    else:
        # Highest priority first, and stop at the first match: detecting GPUs
        # starts TensorFlow, which must not happen before a multi-worker
        # strategy is created.
        ranked = sorted(STRATEGIES.items(), key=lambda item: -item[1].priority)
        name, factory = next((n, f) for n, f in ranked if f.applies())
        strategy = factory.build(**settings)
    log.info("distribution strategy: %s (%d replica(s))", name, strategy.num_replicas_in_sync)
    return strategy


def is_tpu(strategy) -> bool:
    return type(strategy).__name__.startswith("TPUStrategy")


def is_multi_worker(strategy) -> bool:
    """True for a strategy whose replicas span several processes."""
    in_multi = getattr(getattr(strategy, "extended", None), "_in_multi_worker_mode", None)
    return bool(in_multi and in_multi())


def worker_count(strategy) -> int:
    """Processes training together: the members of `TF_CONFIG` in a cluster, else 1."""
    return read_tf_config().size if is_multi_worker(strategy) else 1


def is_chief(strategy) -> bool:
    """Whether this process writes the run directory (always, outside a cluster)."""
    return read_tf_config().is_chief if is_multi_worker(strategy) else True


def describe(strategy) -> dict:
    name = type(strategy).__name__
    # TensorFlow's class behind MultiWorkerMirroredStrategy has an older name.
    out = {"strategy": "MultiWorkerMirroredStrategy" if name == "CollectiveAllReduceStrategy" else name, "replicas": int(strategy.num_replicas_in_sync)}
    if is_multi_worker(strategy):
        out["workers"] = worker_count(strategy)
    return out
