"""The tune: section is checked against the task's config schema before any trial runs."""

import pytest
import yaml

from shared.domain import get_task
from shared.errors import ConfigError
from shared.tuning.space import hyperparameters, overrides, parse_space

TASK = get_task("fraud_detection", "classifier")


def test_the_preset_space_parses_into_keras_tuner_hyperparameters():
    params = parse_space(TASK, TASK.search_space())
    hp = hyperparameters(params)
    assert [p.key for p in params] == list(hp.values)
    kinds = {p.key: p.kind for p in params}
    assert kinds["optimizer.learning_rate"] == "log_uniform" and kinds["model.embedding_dim"] == "choice"
    sets = overrides(params, hp.values)
    cfg = TASK.resolve_config(overrides=sets)  # every drawn value is a valid config
    assert cfg.model.embedding_dim == hp.values["model.embedding_dim"]


@pytest.mark.parametrize(
    "space, fragment",
    [
        ({"model.dropoutt": {"uniform": [0, 0.5]}}, "unknown config key 'model.dropoutt' for fraud_detection/classifier; did you mean model.dropout"),
        ({"model.dropout": {"uniform": [0.5, 0.5]}}, "the range [0.5, 0.5] is empty"),
        ({"model.dropout": []}, "the choice list is empty"),
        ({"model.dropout": {"uniform": [0.0, 1.5]}}, "tune.model.dropout: the value 1.5 is not valid there"),
        ({"model.embedding_dim": ["eight", 16]}, "tune.model.embedding_dim: the value 'eight' is not valid there"),
        ({"optimizer.learning_rate": {"log_uniform": [0, 0.1]}}, "log_uniform needs low > 0"),
        ({"model.embedding_dim": {"int": [4, 16.5]}}, "int bounds and step must be integers"),
        ({"model.dropout": {"normal": [0, 1]}}, "unknown range kind 'normal'"),
        ({"model.dropout": {"uniform": [0, "x"]}}, "high must be a finite number"),
        ({"model.dropout": [0.1, 0.1]}, "repeats a value"),
        ({"run.seed": [1, 2]}, "'run.seed' cannot be searched"),
        ({"model.dropout": 0.3}, "give a list of choices or one of"),
        (["model.dropout"], "tune: must be a mapping"),
        ({}, "has no search space"),
    ],
)
def test_bad_spaces_are_one_clear_line(space, fragment):
    with pytest.raises(ConfigError) as info:
        parse_space(TASK, space)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_a_config_file_tune_section_replaces_the_presets_and_train_ignores_it(tmp_path):
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump({"trainer": {"epochs": 3}, "tune": {"model.dropout": {"uniform": [0.0, 0.2]}}}))
    assert TASK.search_space([path]) == {"model.dropout": {"uniform": [0.0, 0.2]}}
    assert TASK.resolve_config([path]).trainer.epochs == 3  # the tune: section is not part of a run's config
    assert "tune" not in TASK.resolve_config([path]).model_dump()
