"""Train / validation / test splits, chosen by name.

- `random`: stratified by label when labels are given.
- `group`: whole groups (patients, cards) go to one split, so no group leaks.
- `time`: the oldest rows train, the newest test, as in production.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from shared.config import Section
from shared.errors import DataError
from shared.registry import Registry


class SplitConfig(Section):
    type: Literal["random", "group", "time"] = "random"
    validation: float = Field(0.15, gt=0, lt=1)
    test: float = Field(0.15, gt=0, lt=1)
    column: str | None = None  # group id or timestamp column for group/time splits

    @model_validator(mode="after")
    def _fractions(self):
        if self.validation + self.test >= 0.9:
            raise ValueError(f"validation + test must leave at least 10% to train. Received: {self.validation} + {self.test}")
        if self.type in ("group", "time") and not self.column:
            raise ValueError(f"a {self.type} split needs `column`. Received: column={self.column!r}")
        return self


SPLITTERS: Registry = Registry("split type")


@SPLITTERS.register("random")
def _random(n: int, cfg: SplitConfig, seed: int, labels=None, key=None) -> np.ndarray:
    from sklearn.model_selection import train_test_split

    idx = np.arange(n)
    strat = labels if labels is not None and np.bincount(labels).min() >= 3 else None
    rest, test = train_test_split(idx, test_size=cfg.test, random_state=seed, stratify=strat)
    strat_rest = strat[rest] if strat is not None else None
    train, val = train_test_split(rest, test_size=cfg.validation / (1 - cfg.test), random_state=seed, stratify=strat_rest)
    return _assign(n, train, val, test)


@SPLITTERS.register("group")
def _group(n: int, cfg: SplitConfig, seed: int, labels=None, key=None) -> np.ndarray:
    from sklearn.model_selection import GroupShuffleSplit

    idx = np.arange(n)
    outer = GroupShuffleSplit(n_splits=1, test_size=cfg.test, random_state=seed)
    rest, test = next(outer.split(idx, groups=key))
    inner = GroupShuffleSplit(n_splits=1, test_size=cfg.validation / (1 - cfg.test), random_state=seed)
    tr, va = next(inner.split(rest, groups=key[rest]))
    return _assign(n, rest[tr], rest[va], test)


@SPLITTERS.register("time")
def _time(n: int, cfg: SplitConfig, seed: int, labels=None, key=None) -> np.ndarray:
    order = np.argsort(key, kind="stable")
    n_test = int(round(n * cfg.test))
    n_val = int(round(n * cfg.validation))
    train, val, test = order[: n - n_test - n_val], order[n - n_test - n_val : n - n_test], order[n - n_test :]
    return _assign(n, train, val, test)


def _assign(n, train, val, test) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out[train], out[val], out[test] = "train", "validation", "test"
    return out


def split(n: int, cfg: SplitConfig, seed: int, labels: np.ndarray | None = None, key: np.ndarray | None = None) -> np.ndarray:
    """Return an array of 'train' / 'validation' / 'test', one per row."""
    if n < 10:
        raise DataError(f"need at least 10 rows to split into train/validation/test, got {n}")
    out = SPLITTERS.get(cfg.type)(n, cfg, seed, labels=labels, key=key)
    for name in ("train", "validation", "test"):
        if not (out == name).any():
            raise DataError(f"the {name} split is empty; add data or change the split fractions")
    return out
