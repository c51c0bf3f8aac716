"""A threshold slider over the scores that matter, defaulting to the run's choice."""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from shared.evaluation.binary import pr_curve_table

MAX_POINTS = 200


def threshold_options(scores: np.ndarray, saved: float, y_true: np.ndarray | None = None) -> list[float]:
    """Candidate thresholds, ascending, always including `saved`.

    With both classes labelled these are the points of `pr_curve_table`
    (dense where recall changes); otherwise evenly spaced score quantiles.
    Candidates that would show the same label are merged (the slider tells
    options apart by label), and `saved` wins its label.
    """
    if y_true is not None and 0 < int(np.sum(y_true)) < len(y_true):
        candidates = pr_curve_table(y_true, scores, max_points=MAX_POINTS)["threshold"].to_numpy()
    else:
        candidates = np.quantile(scores, np.linspace(0.0, 1.0, MAX_POINTS))
    by_label = {format_threshold(float(t)): float(t) for t in candidates}
    by_label[format_threshold(float(saved))] = float(saved)
    return sorted(by_label.values())


def format_threshold(value: float) -> str:
    return "flag nothing" if math.isinf(value) else f"{value:.4g}"


def threshold_slider(scores: np.ndarray, saved: float, y_true: np.ndarray | None = None) -> float:
    """Slider whose default is the run's saved threshold; returns the choice.

    Rows scoring at or above the threshold are flagged.
    """
    return st.select_slider(
        "Alert threshold (flag rows scoring at or above it)",
        options=threshold_options(scores, saved, y_true),
        value=float(saved),
        format_func=format_threshold,
        help=f"Defaults to the run's saved threshold, {format_threshold(saved)}.",
    )
