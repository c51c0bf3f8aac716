"""Train / validation / test splits of an `ImageSet`, and what each split holds.

`choose_split` resolves `data.split` against the images:

- not set (`None`): MedMNIST keeps its official splits; any other source is
  split as `auto`;
- `auto`: by patient (a group split, so that no patient's images are in two
  splits) when every image has a patient id, a label-stratified random split
  when none has one, and one `DataError` line when only some have one; with
  `data.split.column` naming a column the data has, a time split on it;
- `random`, `group`, `time`: as configured (`shared.data.splits`).

The reason for the choice goes into the run's output and model card.
`data.limit` then keeps only N training images (class-balanced, round-robin
over classes) and marks the other training rows `"unlabelled"`, for
few-label experiments.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from domains.medical_imaging.sources import ImageSet
from shared.data.splits import SplitChoice, SplitConfig, resolve_split, split, time_values
from shared.errors import DataError


def choose_split(images: ImageSet) -> SplitChoice:
    """The split `images.config.split` resolves to, with the reason (see the module docstring)."""
    cfg = images.config.split
    frame = images.frame
    if cfg is None and "official_split" in frame.columns:
        official = SplitConfig(type="group", column="official_split")
        return SplitChoice(official, "MedMNIST's official train/validation/test splits (data.split not set)")
    cfg = cfg or SplitConfig()
    if cfg.type != "auto":
        return resolve_split(cfg.model_copy(update={"column": _column(images, cfg.column)}), frame.columns)
    if cfg.column is not None and cfg.column in frame.columns:
        return resolve_split(cfg, frame.columns)
    ids = frame["patient_id"]
    if ids.notna().all():
        chosen = cfg.model_copy(update={"type": "group", "column": "patient_id"})
        return SplitChoice(chosen, "group split by patient: every image has a patient id, so no patient is in two splits (data.split.type=auto)")
    if ids.isna().all():
        chosen = cfg.model_copy(update={"type": "random", "column": None})
        return SplitChoice(chosen, "random split by image, stratified by label: no image has a patient id (data.split.type=auto)")
    raise _partial_ids(images)


def default_split(images: ImageSet) -> SplitConfig:
    """The concrete `SplitConfig` of `choose_split` (for streaming splits and packs)."""
    return choose_split(images).config


def _column(images: ImageSet, column: str | None) -> str | None:
    """`data.patient_column` names the frame's `patient_id` column."""
    return "patient_id" if column in ("patient_id", images.config.patient_column) else column


def _partial_ids(images: ImageSet) -> DataError:
    ids = images.frame["patient_id"]
    first = images.frame["path"][ids.isna()].iloc[0]
    return DataError(
        f"{int(ids.isna().sum())} of {len(ids)} images have no patient id (first: {first}); "
        "add them, or set data.split.type to random to split by image"
    )


def split_key(images: ImageSet, cfg: SplitConfig) -> np.ndarray | None:
    """The per-image key of a concrete split: None (random), group ids, or sortable times."""
    if cfg.type == "random":
        return None
    frame = images.frame
    column = _column(images, cfg.column)
    if column not in frame.columns:
        raise DataError(
            f"split column {cfg.column!r} (data.split.column) is not in the data; found: {', '.join(map(str, frame.columns[:12]))}"
        )
    values = frame[column]
    if values.isna().any():
        if column == "patient_id":
            raise _partial_ids(images)
        raise DataError(f"split column {column!r} has missing values, first at row {int(np.flatnonzero(values.isna())[0]) + 1}")
    if cfg.type == "group":
        return values.astype(str).to_numpy()
    return time_values(values, column)


def _limit_training(assign: np.ndarray, labels: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    """Keep `limit` training rows, round-robin over classes; the rest become "unlabelled"."""
    train = np.flatnonzero(assign == "train")
    if limit is None or limit >= len(train):
        return assign
    shuffled = np.random.default_rng(seed).permutation(train)
    rank = pd.Series(labels[shuffled]).groupby(labels[shuffled]).cumcount().to_numpy()
    keep = shuffled[np.argsort(rank, kind="stable")[:limit]]
    out = assign.copy()
    out[train] = "unlabelled"
    out[keep] = "train"
    return out


def assign_splits(images: ImageSet, seed: int, choice: SplitChoice | None = None) -> np.ndarray:
    """One of "train", "validation", "test" or "unlabelled" per row of `images.frame`.

    Args:
        images: ImageSet. From `sources.load_images`.
        seed: int. Split seed.
        choice: SplitChoice or None. From `choose_split`; defaults to it.
    """
    frame = images.frame
    labels = frame["label"].to_numpy()
    choice = choice or choose_split(images)
    if choice.config.column == "official_split" and "official_split" in frame.columns and images.config.split is None:
        assign = frame["official_split"].to_numpy(dtype=object)
    else:
        assign = split(len(frame), choice.config, seed, labels=labels, key=split_key(images, choice.config))
    return _limit_training(assign, labels, images.config.limit, seed)


def split_summary(images: ImageSet, assign: np.ndarray) -> dict:
    """Images, patients and class counts per split, for provenance."""
    out = {}
    for name in ("train", "validation", "test", "unlabelled"):
        rows = images.frame[assign == name]
        if name == "unlabelled" and rows.empty:
            continue
        out[f"{name}_images"] = int(len(rows))
        out[f"{name}_patients"] = int(rows["patient_id"].nunique()) if images.has_patients else None
        out[f"{name}_class_counts"] = [int(n) for n in np.bincount(rows["label"], minlength=len(images.classes))]
    return out
