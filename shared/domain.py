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
import enum
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
    import numpy as np
    import pandas as pd
    import tensorflow as tf

    from shared.data.splits import SplitChoice


DOMAIN_PACKAGES = ("domains",)
ENTRY_POINT_GROUP = "dlsuite.domains"


class InputKind(str, enum.Enum):
    """What a task's raw inputs are; each kind has one shared reader in `shared.inputs`.

    The CLI and the generic app page read a user's file with the reader of
    the task's kind (`Task.read_example`), so a file of the wrong kind is one
    line naming the file and the kinds it may be.
    """

    TABLE = "table"  # CSV or Parquet rows: `shared.data.tables.read_table`
    IMAGE = "image"  # PNG, JPEG, ... (a domain may add formats, e.g. DICOM)
    AUDIO = "audio"  # WAV, FLAC, OGG: `shared.inputs.audio`
    TEXT = "text"  # UTF-8 text: `shared.inputs.text`
    VIDEO = "video"  # MP4, MKV, ...: `shared.inputs.video`


def lazy(target: str) -> Callable[..., Any]:
    """A callable that imports `"package.module:function"` on its first call.

    Model builders live in modules that import Keras; a task registers them
    as `ModelSpec(Config, lazy("domains.x.models:build_y"))` so that listing
    domains and reading configs never imports TensorFlow.
    """
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"lazy() needs 'package.module:function'. Received: {target!r}")

    def call(*args, **kwargs):
        return getattr(importlib.import_module(module_name), attribute)(*args, **kwargs)

    call.__name__ = attribute
    call.__qualname__ = attribute
    call.__doc__ = f"Imports and calls {target}."
    call.module = module_name  # `Task.import_model_modules` imports it before a saved model loads
    return call


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
        source_files: dict. How many files the train and validation
            datasets read (e.g. `{"train": 8, "validation": 2}`); with one
            file or more per worker, a multi-worker run splits them by file.
        train_rows: int or None. Examples in the training split, when known
            without reading it (progress bars, steps per epoch).
        adapt: tf.data.Dataset or None. Batched training inputs (no
            targets) that the model builder `adapt`s its preprocessing
            layers to (normalization, vocabularies).
        baseline: any. A reference model fitted on the same split, for
            `evaluate` to report beside the network (e.g. fraud's logistic
            regression scores); never saved.
        split: `shared.data.splits.SplitChoice` or None. The split used and
            why (an `auto` split resolved); printed and put in the model card.
        loaded: any. The task's own in-memory data, for an `evaluate` that
            needs more than the three datasets (e.g. the speech task's
            decoded clips, from which it builds long test recordings);
            never saved.
    """

    train: tf.data.Dataset
    validation: tf.data.Dataset
    test: tf.data.Dataset
    provenance: dict = field(default_factory=dict)
    class_weight: dict | None = None
    state: dict = field(default_factory=dict)
    source_files: dict = field(default_factory=dict)
    train_rows: int | None = None
    adapt: tf.data.Dataset | None = None
    baseline: Any = None
    split: SplitChoice | None = None
    loaded: Any = None


@dataclass
class ModelSpec:
    """One model type of a task: its builder, its config and what training it needs.

    Attributes:
        config: the pydantic `Section` of the `model` config for this type.
        build: `build(model_cfg, data: DataBundle) -> keras.Model`; register
            it with `lazy("package.module:function")` so that the task
            module imports no Keras.
        summary: one line for `dlsuite list` and the app.
        phases: `phases(cfg) -> list[Phase]` or None (one phase of
            `trainer.epochs`). Transfer learning returns two: the head on a
            frozen backbone, then the top of the backbone.
        loss: `loss(cfg)` or None (the task's `loss`). A model whose loss
            depends on its own options (e.g. focal loss) declares it here.
        pretrained: bool. Starts from pretrained weights (a TF Hub
            backbone); evaluation may compare it with the same network
            trained from scratch.
    """

    config: type[Section]
    build: Callable[..., keras.Model]
    summary: str = ""
    phases: Callable[[Any], list[Phase]] | None = None
    loss: Callable[[Any], Any] | None = None
    pretrained: bool = False


@dataclass(frozen=True)
class ExampleFiles:
    """Input files a task writes for trying it (`Task.write_examples`).

    Attributes:
        predict: files `predict` scores (unlabelled inputs).
        evaluate: a labelled file, folder or manifest for `evaluate_file`.
        explain: one input for `explain` (with `row` for a table).
        row: 1-based row of a table `explain` input.
    """

    predict: list[Path]
    evaluate: Path
    explain: Path
    row: int = 1


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
    `evaluate` and either `loss` or `compile`. `models` is a registry of
    `ModelSpec`s selected by the config's `model.type`.

    Everything the CLI and the app call is declared here. The capabilities
    after training (`predict`, `evaluate_file`, `explain`, `write_examples`)
    are expected of every task; the kind-specific ones (`score_frame` and
    `demo_frame` for tables, `decode_inputs` for images and audio, `segment`
    for pixel masks) raise `UnsupportedError` unless a task has them, and a
    page asks `supports(...)` before offering them.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    input_kind: ClassVar[InputKind] = InputKind.TABLE
    """What `predict`, `evaluate_file` and `explain` read (`read_example`)."""
    score_meaning: ClassVar[str] = "model output"
    """What the score column of `predict` means, e.g. "fraud probability in [0, 1]"."""
    quick_overrides: ClassVar[tuple[str, ...]] = ()
    """`--set` overrides, on top of the domain's demo ones, that make a run take seconds (tests, `dlsuite new` checks)."""
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
        preset.pop("tune", None)  # the search space is read by `search_space`, not part of a run's config
        user: dict = {}
        for path in files:
            user = deep_merge(user, read_yaml(path))
        user.pop("tune", None)
        user = apply_overrides(deep_merge(user, extra or {}), list(overrides))
        data = deep_merge(preset, user)
        chosen = (user.get("model") or {}).get("type")
        if chosen is not None and chosen != (preset.get("model") or {}).get("type"):
            data["model"] = user["model"]
        data["domain"], data["task"] = self.domain.name, self.name
        return validate(self.config_schema(), data)

    # The headline metric `dlsuite tune` optimizes: a key of `evaluate`'s report
    # and its direction, e.g. ("auprc", "max") or ("wer", "min").
    objective: tuple[str, str] | None = None

    def tuning_data(self, data: DataBundle) -> DataBundle:
        """The bundle a tuning trial evaluates: the validation split in the test split's place.

        A search must never see the test split. Override this where
        `evaluate` reads more than `data.test` (e.g. the test split's raw
        labels in `data.loaded`) so that it reads the validation split's.
        """
        import dataclasses

        return dataclasses.replace(data, test=data.validation)

    def search_space(self, files: list = ()) -> dict | None:
        """The raw `tune:` section: the last config file's that has one, else the preset's."""
        raw = self.preset_data().get("tune")
        for path in files:
            data = read_yaml(path)
            if "tune" in data:
                raw = data["tune"]
        return raw

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

    def import_model_modules(self) -> None:
        """Import the modules of this task's model builders and losses (registering their custom layers).

        `Run.model` calls it before loading a `model.keras`; builders
        registered with `lazy(...)` name their module.
        """
        for _, spec in self.models.items():
            for part in (spec.build, spec.loss):
                module = getattr(part, "module", None)
                if module:
                    importlib.import_module(module)

    def build_model(self, cfg: Any, data: DataBundle) -> keras.Model:
        return self.model_spec(cfg).build(cfg.model, data)

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
        """The loss for the default `compile`: the model spec's, else the task's.

        Tasks override this (or `compile`, for custom steps); a model type
        whose loss depends on its options sets `ModelSpec.loss`.
        """
        spec = self.model_spec(cfg)
        if spec.loss is not None:
            return spec.loss(cfg)
        raise TypeError(f"{type(self).__name__} must define loss() or override compile()")

    def metrics(self, cfg: Any) -> list:
        return []

    def model_spec(self, cfg: Any) -> ModelSpec:
        """The `ModelSpec` of the configured `model.type`."""
        return self.models.get(cfg.model.type)

    def phases(self, cfg: Any) -> list[Phase]:
        """Training phases: the model spec's, else one phase of `trainer.epochs`."""
        spec = self.model_spec(cfg)
        if spec.phases is not None:
            return spec.phases(cfg)
        return [Phase("train", cfg.trainer.epochs)]

    def fit_data(self, data: DataBundle, cfg: Any) -> tuple[tf.data.Dataset, tf.data.Dataset]:
        """The (train, validation) datasets `fit` sees; autoencoders override."""
        return data.train, data.validation

    # --- after training ----------------------------------------------------
    @abc.abstractmethod
    def evaluate(self, model: keras.Model, data: DataBundle, cfg: Any, out_dir: Path) -> dict:
        """Return JSON-able metrics; may write plots into `out_dir`."""

    def evaluate_file(self, run: Any, path: Path) -> dict:
        """Score a labelled file, folder or manifest with a trained run and return metrics (`dlsuite evaluate`)."""
        raise UnsupportedError(f"{self.domain.name} task {self.name!r} cannot evaluate files")

    def predict(self, run: Any, inputs: list[Path]) -> pd.DataFrame:
        """Score raw input files with a trained run: one row per input (`dlsuite predict`)."""
        raise UnsupportedError(f"{self.domain.name} task {self.name!r} cannot predict")

    def read_example(self, run: Any, path: Path, row: int = 1) -> Any:
        """Read one input file into what `explain` takes, with the shared reader of `input_kind`.

        A table gives `(frame, row - 1)`; an image or audio file the decoded
        array of `decode_inputs`. A file of another kind, or a row out of
        range, is one `DataError` line.
        """
        from shared import inputs

        if self.input_kind is InputKind.TABLE:
            return inputs.table_row(path, row)
        inputs.require_kind(path, self.input_kind, self.extra_suffixes())
        return self.decode_inputs(run, [path])[1][0]

    def extra_suffixes(self) -> tuple[str, ...]:
        """File suffixes this task reads beyond its input kind's (e.g. `(".dcm",)` for DICOM images)."""
        return ()

    def explain(self, run: Any, example: Any) -> Explanation:
        """Explain one input's score (`dlsuite explain`); `example` comes from `read_example`."""
        raise UnsupportedError(f"{self.domain.name} task {self.name!r} cannot explain its outputs")

    def write_examples(self, out_dir: Path) -> ExampleFiles:
        """Write a few synthetic input files for trying the task into `out_dir`.

        Used by the app's generic page ("try an example"), by the README's
        own-data walk-through and by the test that runs train, predict,
        evaluate and explain for every task of every domain.
        """
        raise UnsupportedError(f"{self.domain.name} task {self.name!r} writes no example inputs")

    def serving_endpoints(self, model: keras.Model, config: dict) -> dict:
        """Endpoints the SavedModel export adds beside `serve`: name -> (tf function, input signature).

        `config` is the run's config as plain data. A detector adds its box
        decoding and NMS here, so a served model returns boxes; the default
        adds none.
        """
        return {}

    def input_spec(self, data: DataBundle) -> dict:
        """Describe the model's inputs and outputs for the run metadata."""
        return {}

    # --- kind-specific capabilities (the domain pages use them) -----------
    def supports(self, capability: str) -> bool:
        """Whether this task implements the optional method `capability` (one of `CAPABILITIES`)."""
        if capability not in CAPABILITIES:
            raise ValueError(f"unknown capability {capability!r}; one of {sorted(CAPABILITIES)}")
        return getattr(type(self), capability) is not getattr(Task, capability)

    def score_frame(self, run: Any, frame: pd.DataFrame, source: str) -> pd.DataFrame:
        """Table tasks: score the rows of `frame` (read from `source`); the frame plus score columns."""
        raise UnsupportedError(f"{self.domain.name} task {self.name!r} does not score tables")

    def demo_frame(self, rows: int = 5000) -> pd.DataFrame:
        """Table tasks: a synthetic table of `rows` rows, held out from training, for the demo."""
        raise UnsupportedError(f"{self.domain.name} task {self.name!r} has no demo table")

    def decode_inputs(self, run: Any, inputs: list[Path]) -> tuple[list[str], np.ndarray]:
        """Image and audio tasks: decode files the way the run was trained; (names, batch array)."""
        raise UnsupportedError(f"{self.domain.name} task {self.name!r} does not decode files")

    def segment(self, run: Any, image: np.ndarray) -> np.ndarray:
        """Segmentation tasks: the per-pixel probability map of one decoded image."""
        raise UnsupportedError(f"{self.domain.name} task {self.name!r} does not segment")

    def annotate_video(self, run: Any, source: Path, destination: Path, progress: Callable | None = None, **options) -> dict:
        """Video tasks: run the model on every frame of `source`, draw its output and write `destination` (MP4).

        Returns the frame count and timings (`frames_per_second`,
        `latency_ms_per_frame`); `progress(done, total)` reports as it goes
        (`dlsuite predict RUN clip.mp4 -o annotated.mp4`, the app's video tab).
        """
        raise UnsupportedError(f"{self.domain.name} task {self.name!r} does not annotate videos")


CAPABILITIES = frozenset({"predict", "evaluate_file", "explain", "write_examples", "pack", "score_frame", "demo_frame", "decode_inputs", "segment", "annotate_video"})


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
    # The app's navigation icon (a Material Symbols name or an emoji).
    icon: str = ":material/extension:"

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
    "CAPABILITIES",
    "DataBundle",
    "Domain",
    "ExampleFiles",
    "Explanation",
    "InputKind",
    "ModelSpec",
    "Task",
    "UnknownNameError",
    "discover",
    "get_domain",
    "get_task",
    "lazy",
]
