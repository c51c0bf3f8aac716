"""TensorFlow's C++ start-up lines stay off a `dlsuite` command's stderr."""

import os
import subprocess
from pathlib import Path

from tests_support import dlsuite_cmd

from shared.cli.native_logs import is_native_log_line

REPO = Path(__file__).resolve().parents[3]


def test_native_log_lines_are_recognised():
    assert is_native_log_line(b"I0000 00:00:1796236457.586059   26430 port.cc:153] oneDNN custom operations are on.")
    assert is_native_log_line(b"E0000 00:00:1796236464.212905   26430 cuda_platform.cc:52] failed call to cuInit")
    assert is_native_log_line(b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR")
    assert not is_native_log_line(b"dlsuite: error: data file not found: x.csv")
    assert not is_native_log_line(b"I0000 is not how a sentence starts")
    assert not is_native_log_line(b"[1/5] loading and splitting data")


def _predict(tmp_path, **env):
    """A command that starts TensorFlow and then fails on the user's input: a TPU run on a machine without one.

    (Most input errors are caught before TensorFlow starts, which would make
    the control below vacuous.)
    """
    environ = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"} | env
    run_dir = tmp_path / f"run-{len(env)}"
    cmd = dlsuite_cmd("train", "fraud_detection", "--set", "trainer.strategy=tpu", "--run-dir", str(run_dir))
    return subprocess.run(cmd, capture_output=True, cwd=REPO, env=environ, timeout=240)


def test_a_failed_command_prints_only_its_error_line(tmp_path):
    quiet = _predict(tmp_path)
    assert quiet.returncode == 2
    lines = quiet.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dlsuite: error:"), lines
    # The same command with the user's own log level keeps TensorFlow's lines:
    # the filter, not a quiet TensorFlow, made the difference above.
    loud = _predict(tmp_path, TF_CPP_MIN_LOG_LEVEL="0")
    assert loud.returncode == 2
    assert any(is_native_log_line(line) for line in loud.stderr.splitlines()), loud.stderr
    assert loud.stderr.decode().splitlines()[-1] == lines[0]
