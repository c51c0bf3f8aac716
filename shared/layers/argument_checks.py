"""Constructor argument checks shared by the layers in `shared.layers`.

Keeping them in one place makes every layer word its errors the same way:
what was expected, then `Received: name=value`.
"""

from __future__ import annotations

import numbers
from collections.abc import Collection, Mapping
from typing import Any

import keras


def check_positive_int(name: str, value: Any) -> int:
    """Return `value` as an int, or raise if it is not an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(
            f"`{name}` must be a positive integer. Received: {name}={value!r}"
        )
    return int(value)


def check_non_negative_int(name: str, value: Any) -> int:
    """Return `value` as an int, or raise if it is not an integer >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(
            f"`{name}` must be an integer >= 0. Received: {name}={value!r}"
        )
    return int(value)


def check_non_negative(name: str, value: Any) -> float:
    """Return `value` as a float, or raise if it is negative or not a number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0:
        raise ValueError(f"`{name}` must be a number >= 0. Received: {name}={value!r}")
    return float(value)


def check_momentum(value: Any, name: str = "norm_momentum") -> float:
    """Return `value` as a float, or raise if it is outside `(0, 1)` (a moving-average momentum)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise ValueError(f"`{name}` must be in (0, 1). Received: {name}={value!r}")
    return float(value)


def check_rate(name: str, value: Any) -> float:
    """Return `value` as a float, or raise if it is outside `[0, 1)`."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not 0 <= value < 1
    ):
        raise ValueError(
            f"`{name}` must be a rate in [0, 1). Received: {name}={value!r}"
        )
    return float(value)


def check_choice(name: str, value: Any, choices: Collection[Any]) -> Any:
    """Return `choices[value]` (or `value` for a non-mapping), else raise."""
    try:
        if value in choices:
            return choices[value] if isinstance(choices, Mapping) else value
    except TypeError:  # unhashable values cannot be keys of `choices`
        pass
    valid = ",".join(repr(choice) for choice in sorted(choices))
    raise ValueError(f"Received: {name}={value!r}; expected one of [{valid}]")


def check_activation(name: str, value: Any) -> str | None:
    """Return `value` if it names a Keras activation, else raise.

    Only names (or `None`) are accepted: a function object would not survive
    `get_config()` and a `safe_mode=True` reload.
    """
    if value is not None and not isinstance(value, str):
        raise ValueError(
            f"`{name}` must be the name of a Keras activation (a string) so the "
            f"layer can be saved. Received: {name}={value!r}"
        )
    try:
        keras.activations.get(value)
    except ValueError:
        raise ValueError(
            f"`{name}` is not a Keras activation name. Received: {name}={value!r}"
        ) from None
    return value
