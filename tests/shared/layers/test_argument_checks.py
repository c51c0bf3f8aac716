import re

import keras
import pytest

from shared.layers.argument_checks import (
    check_activation,
    check_choice,
    check_non_negative,
    check_non_negative_int,
    check_positive_int,
    check_rate,
)


def test_valid_values_pass_through():
    assert check_positive_int("units", 3) == 3
    assert check_non_negative_int("n", 0) == 0
    assert check_non_negative("l2", 0) == 0.0
    assert check_rate("dropout", 0.5) == 0.5
    assert check_activation("activation", "gelu") == "gelu"
    assert check_activation("activation", None) is None


def test_choice_returns_the_mapped_value_or_the_value():
    assert check_choice("cell", "gru", {"gru": int}) is int
    assert check_choice("padding", "same", ("same", "valid")) == "same"


@pytest.mark.parametrize("value", ["x", ["lstm"]])
def test_choice_lists_the_valid_keys(value):
    message = f"Received: cell={value!r}; expected one of ['gru','lstm']"
    with pytest.raises(ValueError, match=re.escape(message)):
        check_choice("cell", value, {"lstm": 1, "gru": 2})


@pytest.mark.parametrize(
    "check, value",
    [
        (check_positive_int, True),
        (check_positive_int, 2.0),
        (check_non_negative_int, -1),
        (check_non_negative, "1"),
        (check_rate, 1.0),
        (check_activation, keras.activations.relu),
        (check_activation, "no_such_activation"),
    ],
)
def test_bad_values_are_repeated_in_the_error(check, value):
    with pytest.raises(ValueError, match=re.escape(f"Received: arg={value!r}")):
        check("arg", value)
