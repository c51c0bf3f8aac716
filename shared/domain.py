"""The one small interface through which a domain plugs into the suite.

A domain package (for example `domains/fraud_detection`) defines one or more
`Task` subclasses and exposes a `Domain` object named `DOMAIN` in its
`task.py`. The CLI, the training runner and the app find it through
`discover()`; nothing in `shared/` imports a domain by name.

A task supplies the parts only it knows (data, model builders, metrics,
predictions, explanations); the runner in `shared.training.runner` supplies
everything else (config, strategy, precision, callbacks, run directory).
Custom training steps (GANs, CTC, teacher forcing, detection losses) live in
the model's own `train_step`/`compute_loss`, so the engine needs no special
case for them.
"""

from __future__ import annotations

import abc
import importlib
import importlib.metadata
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

from shared.config import Section, apply_overrides, deep_merge, read_yaml, validate
from shared.errors import UnknownNameError, UnsupportedError
from shared.registry import Registry
from shared.run_files import PermissiveState
from shared.training.phases import Phase
from shared.training.settings import NoEvaluationSettings, RunConfigBase, schema_for

if TYPE_CHECKING:  # keep `import shared.domain` free of TensorFlow
    import keras
    import pandas as pd
    import tensorflow as tf


DOMAIN_PACKAGES = ("domains",)
ENTRY_POINT_GROUP = "dlsuite.domains"


@dataclass
class DataBundle:
    """What a task's data loader hands to the engine.

    Attributes:
        train, validation, test: batched `tf.data.Dataset`s of
            `(inputs, targets)` or `(inputs, targets, sample_weights)`.
        provenance: dict. Where the data came from and how it was split;
            goes into the model card.
        class_weight: dict or None. Passed to `fit` when set.
        state: dict. Task-specific, JSON-able facts learned from the training
            split (feature columns, vocabularies) that prediction needs; saved
            in the run metadata.
        extras: dict. In-memory objects for this run only (e.g. a baseline
            model's scores); never saved.
        source_files: dict. How many files the train and validation
            datasets read (e.g. `{"train": 8, "validation": 2}`); with one
            file or more per worker, a multi-worker run splits them by file.
    """

    train: tf.data.Dataset
    validation: tf.data.Dataset
    test: tf.data.Dataset
    provenance: dict = field(default_factory=dict)
    class_weight: dict | None = None
    state: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)
    source_files: dict = field(default_factory=dict)


@dataclass
class ModelSpec:
    """A model builder and the schema of its config section."""

    config: type[Section]
    build: Callable[..., keras.Model]
    summary: str = ""


@dataclass
class Explanation:
    """Per-input explanation: named attributions plus an optional picture."""

    names: list[str]
    values: list[float]
    score: float
    baseline_score: float
    method: str
    details: dict = field(default_factory=dict)


class Task(abc.ABC):
    """One trainable task of a domain (e.g. fraud `classifier`).

    Subclasses set the class attributes and implement `load_data`,
    `evaluate` and either `loss` or `compile`; `predict`, `evaluate_file`,
    `explain` and `pack` are optional capabilities. `models` is a registry of
    `ModelSpec`s selected by the config's `model.type`.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    data_config: ClassVar[type[Section]]
    evaluation_config: ClassVar[type[Section]] = NoEvaluationSettings
    models: ClassVar[Registry[ModelSpec]]
    preset: ClassVar[Path]
    intended_use: ClassVar[str] = ""
    limitations: ClassVar[str] = ""
    state_schema: ClassVar[type[BaseModel]] = PermissiveState
    """The schema of `DataBundle.state` as saved in a run's `metadata.json` (`task_state`).

    A pydantic model of the keys that `predict`, `evaluate_file` and
    `explain` read back; they read the state through
    `run.task_state(self.state_schema)`, so a malformed run is one
    `RunError` line naming the key. Defaults to any JSON object.
    """

    def __init__(self, domain: Domain):
        self.domain = domain

    # --- config ------------------------------------------------------------
    def config_schema(self) -> type[RunConfigBase]:
        models = [spec.config for _, spec in self.models.items()]
        return schema_for(self.name, self.data_config, models, self.evaluation_config)

    def preset_data(self) -> dict:
        data = read_yaml(self.preset)
        data.setdefault("domain", self.domain.name)
        data.setdefault("task", self.name)
        return data

    def resolve_config(self, files: list = (), overrides: list[str] = (), extra: dict | None = None) -> Any:
        """Preset <- each YAML file <- `extra` <- `--set` overrides, validated.

        Choosing another `model.type` than the preset's starts the `model`
        section from that type's own defaults instead of the preset's keys.
        """
        preset = self.preset_data()
        user: dict = {}
        for path in files:
            user = deep_merge(user, read_yaml(path))
        user = apply_overrides(deep_merge(user, extra or {}), list(overrides))
        data = deep_merge(preset, user)
        chosen = (user.get("model") or {}).get("type")
        if chosen is not None and chosen != (preset.get("model") or {}).get("type"):
            data["model"] = user["model"]
        data["domain"], data["task"] = self.domain.name, self.name
        return validate(self.config_schema(), data)

    def summarize(self, metrics: dict) -> str:
        """One line of the headline metrics, printed after training."""
        flat = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
        return ", ".join(f"{k} {v:.4g}" for k, v in list(flat.items())[:6])

    # --- training ----------------------------------------------------------
    @abc.abstractmethod
    def load_data(self, cfg: Any, workdir: Path) -> DataBundle:
        """Read, validate and split the data; return batched datasets."""

    def pack(self, cfg: Any, source: Path, out_dir: Path) -> dict:
        """Convert `source` into a packed data set in `out_dir`, for data larger than memory.

        Streams the input into train/validation/test TFRecord shards with
        `shared.data.packs` and returns the content of `pack.json`;
        `load_data` then trains from `out_dir` without loading it into memory.
        """
        raise UnsupportedError(f"{self.domain.name} task {self.name!r} cannot pack its data into shards")

    def build_model(self, cfg: Any, data: DataBundle) -> keras.Model:
        spec = self.models.get(cfg.model.type)
        return spec.build(cfg.model, data)

    def compile(self, model: keras.Model, cfg: Any, make_optimizer: Callable[[], Any]) -> None:
        """Compile with the task's loss and metrics; override for custom steps."""
        model.compile(
            optimizer=make_optimizer(),
            loss=self.loss(cfg),
            metrics=self.metrics(cfg),
            jit_compile=cfg.trainer.jit_compile,
            steps_per_execution=cfg.trainer.steps_per_execution,
        )

    def loss(self, cfg: Any) -> Any:
        """The loss for the default `compile`; tasks with custom steps override `compile`."""
        raise TypeError(f"{type(self).__name__} must define loss() or override compile()")

    def metrics(self, cfg: Any) -> list:
        return []

    def phases(self, cfg: Any) -> list[Phase]:
        """Training phases; one by default. Transfer-learning tasks return two."""
        return [Phase("train", cfg.trainer.epochs)]

    def fit_data(self, data: DataBundle) -> tuple[tf.data.Dataset, tf.data.Dataset]:
        """The (train, validation) datasets `fit` sees; autoencoders override."""
        return data.train, data.validation

    # --- after training ----------------------------------------------------
    @abc.abstractmethod
    def evaluate(self, model: keras.Model, data: DataBundle, cfg: Any, out_dir: Path) -> dict:
        """Return JSON-able metrics; may write plots into `out_dir`."""

    def evaluate_file(self, run: Any, path: Path) -> dict:
        """Score a labelled file with a trained run and return metrics."""
        raise UnsupportedError(f"{self.domain.name} task {self.name!r} cannot evaluate files")

    def predict(self, run: Any, inputs: list[Path]) -> pd.DataFrame:
        """Score raw inputs (files) with a trained run."""
        raise UnsupportedError(f"{self.domain.name} task {self.name!r} cannot predict")

    def explain(self, run: Any, example: Any) -> Explanation:
        raise UnsupportedError(f"{self.domain.name} task {self.name!r} cannot explain its outputs")

    def input_spec(self, data: DataBundle) -> dict:
        """Describe the model's inputs and outputs for the run metadata."""
        return {}


@dataclass
class Domain:
    """A domain package: a name, a description and its tasks."""

    name: str
    title: str
    description: str
    task_classes: list[type[Task]]
    default_task: str
    package_dir: Path | None = None
    # Tasks built into data/demo_models by `dlsuite demo --build`, with the
    # overrides that keep them small and quick.
    demo_tasks: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self):
        self.tasks: Registry[Task] = Registry(f"task of {self.name}")
        for cls in self.task_classes:
            self.tasks.register(cls.name, cls(self))
        if self.default_task not in self.tasks:
            raise ValueError(f"default_task {self.default_task!r} is not one of {self.tasks.names()}")

    def task(self, name: str | None = None) -> Task:
        return self.tasks.get(name or self.default_task)


_DOMAINS: Registry[Domain] | None = None


def discover() -> Registry[Domain]:
    """Find every installed domain, once.

    Domains are found as sub-packages of `DOMAIN_PACKAGES` that have a
    `task.py` exposing `DOMAIN`, and through the `dlsuite.domains` entry-point
    group for domains installed from other distributions.
    """
    global _DOMAINS
    if _DOMAINS is not None:
        return _DOMAINS
    registry: Registry[Domain] = Registry("domain")
    for package_name in DOMAIN_PACKAGES:
        try:
            package = importlib.import_module(package_name)
        except ModuleNotFoundError:
            continue
        for info in pkgutil.iter_modules(package.__path__):
            if not info.ispkg:
                continue
            module_name = f"{package_name}.{info.name}.task"
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name == module_name:
                    continue
                raise
            domain = getattr(module, "DOMAIN", None)
            if isinstance(domain, Domain):
                registry.register(domain.name, domain)
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        domain = entry.load()
        if domain.name not in registry:
            registry.register(domain.name, domain)
    _DOMAINS = registry
    return registry


def get_domain(name: str) -> Domain:
    return discover().get(name)


def get_task(domain: str, task: str | None = None) -> Task:
    return get_domain(domain).task(task)


__all__ = [
    "DataBundle",
    "Domain",
    "Explanation",
    "ModelSpec",
    "Task",
    "UnknownNameError",
    "discover",
    "get_domain",
    "get_task",
]
