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


def run_cli(capsys, *argv):
    """Run `dlsuite ARGV...` in this process; return (exit code, stdout, stderr)."""
    from shared.cli.main import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str, *fragments: str) -> str:
    """Progress lines aside, stderr holds one `dlsuite: error:` line with `fragments`, and no traceback."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("dlsuite: error:")]
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]
