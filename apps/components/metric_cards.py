"""A row of `st.metric` cards from a dict of name -> value."""

from __future__ import annotations

import math
from typing import Any

import streamlit as st


def format_value(value: Any, float_format: str = "{:.3f}") -> str:
    """Text for one card: ints get thousands separators, missing values say so.

    Example: `format_value(1234)` -> "1,234"; `format_value(float("nan"))` -> "n/a".
    """
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    value = float(value)
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "flag nothing" if value > 0 else "-inf"
    return float_format.format(value)


def metric_cards(values: dict[str, Any], *, helps: dict[str, str] | None = None, float_format: str = "{:.3f}") -> None:
    """One `st.metric` per entry, side by side; strings are shown as given."""
    if not values:
        return
    helps = helps or {}
    for column, (name, value) in zip(st.columns(len(values)), values.items()):
        column.metric(name, format_value(value, float_format), help=helps.get(name), border=True)
