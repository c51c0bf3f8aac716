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


CARDS_PER_ROW = 4  # wider rows cut values short ("0.6…") on a laptop-width page


def metric_cards(values: dict[str, Any], *, helps: dict[str, str] | None = None, float_format: str = "{:.3f}", per_row: int = CARDS_PER_ROW) -> None:
    """`st.metric` cards, at most `per_row` side by side (more wrap onto further rows); strings are shown as given.

    Every row has `per_row` equal columns, so cards keep one width across rows
    and a value such as "1,234 of 5,678" fits its card.
    """
    if not values:
        return
    if per_row < 1:
        raise ValueError(f"per_row must be >= 1. Received: per_row={per_row}")
    helps = helps or {}
    items = list(values.items())
    width = min(per_row, len(items))
    for start in range(0, len(items), width):
        for column, (name, value) in zip(st.columns(width), items[start : start + width]):
            column.metric(name, format_value(value, float_format), help=helps.get(name), border=True)
