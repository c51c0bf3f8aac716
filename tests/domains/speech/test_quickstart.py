import subprocess
import sys
from pathlib import Path

import pytest

from shared.data import espeak

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
@pytest.mark.skipif(not espeak.available(), reason="espeak-ng is not installed (apt-get install espeak-ng); CI installs it")
def test_quickstart_runs():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "domains/speech/quickstart.py"), "--epochs", "1", "--speakers", "6"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "held-out accuracy" in proc.stdout and "run directory:" in proc.stdout
    assert "tflite: " in proc.stdout and "integrated gradients" in proc.stdout
