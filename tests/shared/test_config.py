from typing import Literal

import pytest

from shared.config import (
    Section,
    apply_overrides,
    deep_merge,
    dump,
    parse_override,
    read_yaml,
    validate,
)
from shared.errors import ConfigError
from shared.training.settings import schema_for


class Data(Section):
    path: str | None = None


class Mlp(Section):
    type: Literal["mlp"] = "mlp"
    units: list[int] = [64]


class Ae(Section):
    type: Literal["ae"] = "ae"
    latent: int = 8


SCHEMA = schema_for("toy", Data, [Mlp, Ae])
BASE = {"domain": "d", "task": "toy", "data": {}, "model": {"type": "mlp"}}


def check(overrides):
    return validate(SCHEMA, apply_overrides(BASE, overrides))


def test_defaults_and_overrides_are_typed():
    cfg = check(["trainer.epochs=3", "optimizer.learning_rate=1e-4", "model.units=[8, 4]"])
    assert cfg.trainer.epochs == 3
    assert cfg.optimizer.learning_rate == pytest.approx(1e-4)
    assert cfg.model.units == [8, 4]


def test_model_type_selects_its_own_schema():
    cfg = check(["model.type=ae", "model.latent=3"])
    assert type(cfg.model).__name__ == "Ae" and cfg.model.latent == 3


def test_single_model_schema_needs_no_union():
    schema = schema_for("one", Data, [Mlp])
    assert validate(schema, BASE).model.units == [64]


@pytest.mark.parametrize(
    "overrides, expected",
    [
        (["trainer.epoch=3"], "config error at trainer.epoch: unknown key; valid keys: batch_size"),
        (["trainer.epochs=zero"], "config error at trainer.epochs: Input should be a valid integer"),
        (["trainer.epochs=0"], "config error at trainer.epochs: Input should be greater than or equal to 1 (received 0)"),
        (["model.latent=3"], "config error at model.latent: unknown key; valid keys: type, units"),
        (["model.type=xx"], "config error at model.type: unknown type 'xx'; choose one of: 'mlp', 'ae'"),
        (["optimizer.type=adamm"], "unknown optimizer 'adamm'; choose one of: adam, adamw, rmsprop, sgd. Did you mean 'adam'?"),
        (["trainer.strategy=tpu9"], "config error at trainer.strategy: unknown distribution strategy 'tpu9'"),
        (["data.foo=1"], "config error at data.foo: unknown key; valid keys: path"),
        (["trainer.mixed_precision=maybe"], "config error at trainer.mixed_precision"),
    ],
)
def test_bad_values_name_the_key(overrides, expected):
    with pytest.raises(ConfigError) as info:
        check(overrides)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_required_key():
    with pytest.raises(ConfigError, match="config error at data: required key is missing"):
        validate(SCHEMA, {"domain": "d", "task": "toy", "model": {"type": "mlp"}})


@pytest.mark.parametrize("text", ["noequals", "=3", "a..b=1"])
def test_bad_override_syntax(text):
    with pytest.raises(ConfigError):
        parse_override(text)


def test_override_values_parse_as_yaml():
    assert parse_override("a.b=[1, 2]") == (["a", "b"], [1, 2])
    assert parse_override("a=true") == (["a"], True)
    assert parse_override("a=null") == (["a"], None)
    assert parse_override("a=x: [") == (["a"], "x: [")


def test_deep_merge_keeps_siblings():
    assert deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}}) == {"a": {"b": 1, "c": 3}}


def test_read_yaml_errors(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        read_yaml(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        read_yaml(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        read_yaml(listy)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert read_yaml(empty) == {}
    latin = tmp_path / "latin1.yaml"
    latin.write_bytes("tune:\n  model.dropout: [0.1]  # d\xe9faut\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1.yaml is not UTF-8 text \(byte 33: invalid continuation byte\)"):
        read_yaml(latin)


def test_dump_round_trips():
    import yaml

    cfg = check(["model.type=ae"])
    assert validate(SCHEMA, yaml.safe_load(dump(cfg))) == cfg
