"""Helpers for tests that run the real `dlsuite` command in a subprocess."""

import os
import sys

import pytest

# Tests that start TensorFlow processes of their own and hold them to
# deadlines (two workers on localhost, a killed and resumed run, memory
# sampling) carry this mark: under pytest-xdist (`make test`) they run one
# after another on one worker (`--dist loadgroup`), while the other workers
# take the rest.
PROCESSES = pytest.mark.xdist_group("processes")


def dlsuite_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "shared.cli.main", *args]


# Property tests feed random and mutated bytes to every reader. CI keeps the
# count small (FUZZ_EXAMPLES per test, no deadline: the first call of a
# TensorFlow reader traces a graph); DLSUITE_FUZZ_EXAMPLES raises it locally.
FUZZ_EXAMPLES = int(os.environ.get("DLSUITE_FUZZ_EXAMPLES", "40"))


def fuzz_settings(**overrides):
    """hypothesis settings shared by the reader fuzz tests."""
    from hypothesis import HealthCheck, settings

    return settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        **overrides,
    )
