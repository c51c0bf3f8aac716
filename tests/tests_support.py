"""Helpers for tests that run the real `dlsuite` command in a subprocess."""

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
