"""Helpers for tests that run the real `dlsuite` command in a subprocess."""

import sys


def dlsuite_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "shared.cli.main", *args]
