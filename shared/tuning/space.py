"""A task's hyperparameter search space: the `tune:` section of its preset, checked against its config schema.

Each key is a dotted config path; each value says how to draw it:

```yaml
tune:
  model.units: [64, 128, 256]                     # a choice
  optimizer.learning_rate: {log_uniform: [1e-4, 1e-2]}
  model.dropout: {uniform: [0.0, 0.5]}
  trainer.batch_size: {int: [16, 64, 16]}          # low, high[, step]
```

Keys are checked against the task's resolved config (a typo is one line
naming the key and the valid ones) and every choice and bound is validated
through the config schema, so a value of the wrong type is refused before
the first trial.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass

from shared.errors import ConfigError

KINDS = ("choice", "uniform", "log_uniform", "int")


@dataclass(frozen=True)
class Param:
    """One searched config key: `kind` and its `values` (choices) or `low`, `high` and `step`."""

    key: str
    kind: str
    values: tuple = ()
    low: float | None = None
    high: float | None = None
    step: int | None = None

    def describe(self) -> str:
        if self.kind == "choice":
            return f"{self.key} in {list(self.values)}"
        step = f" step {self.step}" if self.step else ""
        return f"{self.key} {self.kind} [{self.low:g}, {self.high:g}]{step}"


def _flat(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(_flat(value, path + "."))
        else:
            out[path] = value
    return out


def _number(key: str, value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"tune.{key}: {what} must be a finite number, received {value!r}")
    return float(value)


def _param(key: str, spec) -> Param:
    if isinstance(spec, list):
        if not spec:
            raise ConfigError(f"tune.{key}: the choice list is empty")
        if any(isinstance(v, dict | list) or v is None for v in spec):
            raise ConfigError(f"tune.{key}: choices must be numbers, strings or booleans, received {spec!r}")
        if len(set(map(repr, spec))) != len(spec):
            raise ConfigError(f"tune.{key}: the choice list repeats a value: {spec!r}")
        return Param(key, "choice", tuple(spec))
    if not isinstance(spec, dict) or len(spec) != 1:
        raise ConfigError(f"tune.{key}: give a list of choices or one of {{uniform: [low, high]}}, {{log_uniform: [low, high]}}, {{int: [low, high, step]}}; received {spec!r}")
    (kind, bounds), = spec.items()
    if kind not in KINDS[1:]:
        close = difflib.get_close_matches(str(kind), KINDS[1:], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"tune.{key}: unknown range kind {kind!r}{hint}; choose uniform, log_uniform or int")
    sizes = (2, 3) if kind == "int" else (2,)
    if not isinstance(bounds, list) or len(bounds) not in sizes:
        raise ConfigError(f"tune.{key}: {kind} takes [low, high{', step' if kind == 'int' else ''}], received {bounds!r}")
    low, high = _number(key, bounds[0], "low"), _number(key, bounds[1], "high")
    if not low < high:
        raise ConfigError(f"tune.{key}: the range [{bounds[0]}, {bounds[1]}] is empty (low must be below high)")
    if kind == "log_uniform" and low <= 0:
        raise ConfigError(f"tune.{key}: log_uniform needs low > 0, received {bounds[0]}")
    step = None
    if kind == "int":
        if any(isinstance(b, bool) or not isinstance(b, int) for b in bounds):
            raise ConfigError(f"tune.{key}: int bounds and step must be integers, received {bounds!r}")
        step = bounds[2] if len(bounds) == 3 else 1
        if step < 1:
            raise ConfigError(f"tune.{key}: the int step must be at least 1, received {step}")
    return Param(key, kind, low=low, high=high, step=step)


def parse_space(task, raw) -> list[Param]:
    """The `tune:` mapping -> checked `Param`s, in the order given.

    Raises:
        ConfigError: not a mapping, empty, an unknown key, a malformed or
            empty range, or a value the config schema refuses.
    """
    if raw is None or raw == {}:
        raise ConfigError(f"{task.domain.name} task {task.name!r} has no search space: add a tune: section to its preset or to a --config file (see `dlsuite tune --help`)")
    if not isinstance(raw, dict):
        raise ConfigError(f"tune: must be a mapping of config keys to ranges, received {type(raw).__name__}")
    known = _flat(task.resolve_config().model_dump(mode="json"))
    params = []
    for key, spec in raw.items():
        key = str(key)
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; valid keys include {', '.join(list(known)[:12])}, ..."
            raise ConfigError(f"tune: unknown config key {key!r} for {task.domain.name}/{task.name}{hint}")
        if key in ("domain", "task") or key.startswith("run."):
            raise ConfigError(f"tune: {key!r} cannot be searched")
        params.append(_param(key, spec))
    for param in params:
        samples = param.values if param.kind == "choice" else (int(param.low), int(param.high)) if param.kind == "int" else (param.low, param.high)
        for value in samples:
            try:
                task.resolve_config(overrides=[f"{param.key}={_yaml(value)}"])
            except ConfigError as exc:
                raise ConfigError(f"tune.{param.key}: the value {value!r} is not valid there ({exc})") from None
    return params


def _yaml(value) -> str:
    import yaml

    if hasattr(value, "item"):  # numpy scalars from the Bayesian oracle
        value = value.item()
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def hyperparameters(params: list[Param]):
    """A `keras_tuner.HyperParameters` with one entry per param, named by its config key."""
    import keras_tuner as kt

    hp = kt.HyperParameters()
    for p in params:
        if p.kind == "choice":
            hp.Choice(p.key, list(p.values))
        elif p.kind == "int":
            hp.Int(p.key, int(p.low), int(p.high), step=p.step)
        else:
            hp.Float(p.key, p.low, p.high, sampling="log" if p.kind == "log_uniform" else "linear")
    return hp


def overrides(params: list[Param], values: dict) -> list[str]:
    """`--set`-style overrides of one trial's values."""
    return [f"{p.key}={_yaml(values[p.key])}" for p in params if p.key in values]
