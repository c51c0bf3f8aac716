"""The run config's sections: trainer, optimizer, run, plus a task's own.

`schema_for` assembles the config class of one task from these fixed
sections and the task's `data`, `model` and `evaluation` schemas.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, create_model, field_validator

from shared.config import Section
from shared.training.optimizers import OPTIMIZERS
from shared.training.strategy import STRATEGIES


class EarlyStoppingConfig(Section):
    enabled: bool = True
    monitor: str = "val_loss"
    mode: Literal["auto", "min", "max"] = "auto"
    patience: int = Field(3, ge=0)
    restore_best_weights: bool = True


class TrainerConfig(Section):
    epochs: int = Field(10, ge=1, le=100_000)
    batch_size: int = Field(256, ge=1)
    shuffle_buffer: int = Field(10_000, ge=0)
    cache: bool = True
    strategy: str = "auto"
    # auto: mixed_float16 on GPUs, mixed_bfloat16 on TPUs, float32 on CPUs.
    mixed_precision: Literal["auto", "on", "off"] = "auto"
    # auto: Keras compiles with XLA on GPUs when every layer supports it.
    jit_compile: Literal["auto"] | bool = "auto"
    # Steps per compiled call: a large value (e.g. 32) keeps a TPU busy.
    steps_per_execution: int = Field(1, ge=1)
    # Seconds a multi-worker run waits for every worker in TF_CONFIG to answer.
    worker_timeout: float = Field(300.0, gt=0)
    class_weight: Literal["none", "balanced"] = "none"
    early_stopping: EarlyStoppingConfig = EarlyStoppingConfig()
    tensorboard: bool = True
    verbose: Literal["auto", 0, 1, 2] = "auto"

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        if value != "auto" and value not in STRATEGIES:
            raise ValueError(STRATEGIES.unknown_message(value))
        return value


class ScheduleConfig(Section):
    type: Literal["constant", "cosine", "exponential"] = "constant"
    warmup_steps: int = Field(0, ge=0)
    decay_steps: int = Field(1000, ge=1)
    decay_rate: float = Field(0.9, gt=0, le=1)
    alpha: float = Field(0.0, ge=0, le=1)


class OptimizerConfig(Section):
    type: str = "adam"
    learning_rate: float = Field(1e-3, gt=0, le=10)
    weight_decay: float = Field(0.0, ge=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    clipnorm: float | None = Field(None, gt=0)
    schedule: ScheduleConfig = ScheduleConfig()

    @field_validator("type")
    @classmethod
    def _known_optimizer(cls, value: str) -> str:
        if value not in OPTIMIZERS:
            raise ValueError(OPTIMIZERS.unknown_message(value))
        return value


class RunSection(Section):
    name: str | None = None
    output_dir: str = "runs"
    seed: int = 42
    intended_use: str | None = None


class RunConfigBase(Section):
    domain: str
    task: str
    trainer: TrainerConfig = TrainerConfig()
    optimizer: OptimizerConfig = OptimizerConfig()
    run: RunSection = RunSection()


class NoEvaluationSettings(Section):
    """For tasks whose evaluation has nothing to configure."""


def schema_for(
    task_name: str,
    data_config: type[Section],
    model_configs: list[type[Section]],
    evaluation_config: type[Section] = NoEvaluationSettings,
):
    """Build the config class of one task from its data and model schemas.

    Args:
        task_name: str. Used to name the generated class.
        data_config: Section subclass. Schema of the `data` section.
        model_configs: list of Section subclasses, each with a `type` field
            declared as `Literal["name"]`.
        evaluation_config: Section subclass. Schema of the `evaluation`
            section (operating point, costs). Defaults to an empty section.
    """
    if not model_configs:
        raise ValueError(f"task {task_name!r} declares no model configs.")
    if len(model_configs) == 1:
        model_field: Any = model_configs[0]
    else:
        model_field = Annotated[Union[tuple(model_configs)], Field(discriminator="type")]  # noqa: UP007 - a runtime union of classes
    return create_model(
        f"{task_name.title().replace('_', '')}RunConfig",
        __base__=RunConfigBase,
        data=(data_config, ...),
        model=(model_field, ...),
        evaluation=(evaluation_config, evaluation_config()),
    )
