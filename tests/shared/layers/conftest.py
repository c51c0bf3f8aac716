"""Fixtures shared by the layer tests."""

import keras
import pytest


@pytest.fixture(autouse=True)
def fixed_seed():
    keras.utils.set_random_seed(0)


@pytest.fixture
def keras_mask():
    """Returns a function reading the padding mask Keras attached to a tensor."""
    return lambda tensor: getattr(tensor, "_keras_mask", None)


@pytest.fixture
def mixed_precision():
    """Runs the test under the mixed_float16 policy, then restores the old one."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    yield
    keras.config.set_dtype_policy(previous)
