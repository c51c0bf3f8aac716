import numpy as np
import pytest

from shared.data.splits import SplitConfig, split
from shared.errors import ConfigError, DataError


def test_random_split_is_stratified_and_seeded():
    labels = np.array([0] * 900 + [1] * 100)
    cfg = SplitConfig(type="random", validation=0.2, test=0.2)
    a = split(1000, cfg, seed=1, labels=labels)
    assert (a == split(1000, cfg, seed=1, labels=labels)).all()
    for name in ("train", "validation", "test"):
        assert labels[a == name].mean() == pytest.approx(0.1, abs=0.01)
    assert (a == "test").sum() == 200


def test_group_split_keeps_groups_together():
    groups = np.repeat(np.arange(100), 5)
    a = split(500, SplitConfig(type="group", column="g"), seed=0, key=groups)
    for g in range(100):
        assert len(set(a[groups == g])) == 1


def test_time_split_puts_newest_in_test():
    t = np.random.default_rng(0).permutation(1000)
    a = split(1000, SplitConfig(type="time", column="t", validation=0.1, test=0.2), seed=0, key=t)
    assert t[a == "train"].max() < t[a == "validation"].min()
    assert t[a == "validation"].max() < t[a == "test"].min()
    assert (a == "test").sum() == 200


def test_split_config_bounds():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="must leave at least 10%"):
        SplitConfig(validation=0.5, test=0.45)
    with pytest.raises(ValidationError, match="needs `column`"):
        SplitConfig(type="time")


def test_too_few_rows():
    with pytest.raises(DataError, match="need at least 10 rows"):
        split(5, SplitConfig(), seed=0)
