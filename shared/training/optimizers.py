"""Optimizers and learning-rate schedules, chosen by name from the config."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.registry import Registry

OPTIMIZERS: Registry[Callable[..., Any]] = Registry("optimizer")
SCHEDULES: Registry[Callable[..., Any]] = Registry("learning-rate schedule")


def _common(cfg) -> dict:
    return {"clipnorm": cfg.clipnorm} if cfg.clipnorm else {}


@OPTIMIZERS.register("sgd")
def _sgd(cfg, lr):
    import keras

    return keras.optimizers.SGD(learning_rate=lr, momentum=cfg.momentum, nesterov=True, **_common(cfg))


@OPTIMIZERS.register("adam")
def _adam(cfg, lr):
    import keras

    return keras.optimizers.Adam(learning_rate=lr, **_common(cfg))


@OPTIMIZERS.register("adamw")
def _adamw(cfg, lr):
    import keras

    return keras.optimizers.AdamW(learning_rate=lr, weight_decay=cfg.weight_decay or 0.004, **_common(cfg))


@OPTIMIZERS.register("rmsprop")
def _rmsprop(cfg, lr):
    import keras

    return keras.optimizers.RMSprop(learning_rate=lr, momentum=cfg.momentum, **_common(cfg))


@SCHEDULES.register("constant")
def _constant(cfg):
    return cfg.learning_rate


@SCHEDULES.register("cosine")
def _cosine(cfg):
    import keras

    s = cfg.schedule
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=cfg.learning_rate if s.warmup_steps == 0 else 0.0,
        decay_steps=s.decay_steps,
        alpha=s.alpha,
        warmup_target=cfg.learning_rate if s.warmup_steps else None,
        warmup_steps=s.warmup_steps,
    )


@SCHEDULES.register("exponential")
def _exponential(cfg):
    import keras

    s = cfg.schedule
    return keras.optimizers.schedules.ExponentialDecay(cfg.learning_rate, decay_steps=s.decay_steps, decay_rate=s.decay_rate)


def make_optimizer(cfg, learning_rate_scale: float = 1.0):
    """Build the optimizer described by an `OptimizerConfig`.

    `learning_rate_scale` multiplies the learning rate (and its schedule), as
    training phases that fine-tune a pretrained backbone need.
    """
    if learning_rate_scale != 1.0:
        cfg = cfg.model_copy(update={"learning_rate": cfg.learning_rate * learning_rate_scale})
    build = OPTIMIZERS.get(cfg.type)
    return build(cfg, SCHEDULES.get(cfg.schedule.type)(cfg))
