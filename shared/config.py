"""Typed configuration machinery: YAML files, `--set` overrides, validation.

Schemas are pydantic models built from `Section`s that reject unknown keys
and carry their own bounds. The run config's sections are declared in
`shared.training.settings`; the `model` section picks its builder with a
`type:` field, and each builder brings its own schema, so every key is checked
against the part it configures.

Errors name the key path, the value received and the valid choices:

    config error at trainer.epochs: Input should be greater than or equal to 1 (received 0)
    config error at trainer.epoch: unknown key; valid keys: batch_size, cache, ...
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from shared.errors import ConfigError

if TYPE_CHECKING:
    from shared.training.settings import RunConfigBase


class Section(BaseModel):
    """Base for every config section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())


# --- loading -----------------------------------------------------------------


def read_yaml(path: str | Path) -> dict:
    """Read one YAML mapping, with a one-line error on failure."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"config file {path} is not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping, got {type(data).__name__}")
    return data


def deep_merge(base: dict, override: dict) -> dict:
    """Return `base` updated by `override`, merging nested mappings."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_override(text: str) -> tuple[list[str], Any]:
    """Parse `a.b.c=value`; the value is read as a YAML scalar or list."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set expects KEY=VALUE, received {text!r}")
    parts = key.strip().split(".")
    if any(not p for p in parts):
        raise ConfigError(f"--set key {key!r} has an empty part")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return parts, value


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    out = copy.deepcopy(data)
    for text in overrides:
        parts, value = parse_override(text)
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = value
    return out


def validate(schema: type[RunConfigBase], data: dict) -> RunConfigBase:
    """Validate raw config data against `schema`; raise ConfigError on failure."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        lines = [_describe(schema, data, err) for err in exc.errors()]
        raise ConfigError("; ".join(dict.fromkeys(lines))) from None


def dump(config: BaseModel) -> str:
    """Serialize a validated config as YAML, keys in declaration order."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


# --- error messages ----------------------------------------------------------


def _describe(schema: type[BaseModel], data: dict, err: dict) -> str:
    path, fields = _resolve(schema, data, err["loc"])
    where = ".".join(path) or "(top level)"
    if err["type"] == "extra_forbidden":
        valid = ", ".join(sorted(fields)) if fields else "none"
        return f"config error at {where}: unknown key; valid keys: {valid}"
    if err["type"] == "missing":
        return f"config error at {where}: required key is missing"
    if err["type"] == "union_tag_invalid":
        tags = err.get("ctx", {}).get("expected_tags", "")
        return f"config error at {where}.type: unknown type {err['ctx'].get('tag')!r}; choose one of: {tags}"
    if err["type"] == "value_error":
        return f"config error at {where}: {err['msg'].removeprefix('Value error, ')}"
    received = err.get("input")
    return f"config error at {where}: {err['msg']} (received {received!r})"


def _resolve(schema: type[BaseModel], data: Any, loc: tuple) -> tuple[list[str], list[str]]:
    """Turn a pydantic error location into the user's key path.

    Drops the union tags pydantic inserts for discriminated unions and returns
    the field names valid at the parent of the failing key.
    """
    path: list[str] = []
    model: Any = schema
    node = data
    fields: list[str] = list(getattr(model, "model_fields", {}))
    for part in loc:
        if isinstance(node, dict) and part not in node and node.get("type") == part:
            continue  # a discriminated-union tag, not a user key
        path.append(str(part))
        fields = list(getattr(model, "model_fields", {})) if model is not None else []
        model = _field_model(model, part, node)
        node = node.get(part) if isinstance(node, dict) else None
    return path, fields


def _field_model(model: Any, name: Any, node: Any) -> Any:
    info = getattr(model, "model_fields", {}).get(name)
    if info is None:
        return None
    annotation = info.annotation
    candidates = getattr(annotation, "__args__", None) or (annotation,)
    child = node.get(name) if isinstance(node, dict) else None
    for cand in candidates:
        if isinstance(cand, type) and issubclass(cand, BaseModel):
            tag = getattr(cand.model_fields.get("type"), "annotation", None)
            tags = getattr(tag, "__args__", ())
            if not tags or not isinstance(child, dict) or child.get("type") in tags:
                return cand
    return None
