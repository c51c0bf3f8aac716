"""`dlsuite --help` and `dlsuite list` answer without importing TensorFlow."""

import subprocess
import sys

import pytest

from shared.domain import discover

PROBE = """
import sys, time
start = time.perf_counter()
from shared.cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
heavy = sorted(m for m in ("tensorflow", "keras", "tensorflow_hub") if m in sys.modules)
print("HEAVY", ",".join(heavy) or "-", "SECONDS", round(time.perf_counter() - start, 2), "CODE", code)
"""


@pytest.mark.parametrize("argv", [["--help"], ["list"], ["train", "--help"], ["new", "--help"]])
def test_command_does_not_import_tensorflow(argv):
    result = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=120)
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("HEAVY - "), f"{argv} imported {last}; keep TensorFlow imports inside functions"
    assert last.endswith("CODE 0"), result.stderr[-1500:]


def test_list_names_every_domain_and_task():
    result = subprocess.run([sys.executable, "-m", "shared.cli.main", "list"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for name, domain in discover().items():
        assert f"{name}: {domain.description}" in result.stdout
        for task in domain.tasks.names():
            assert f"--task {task}" in result.stdout
