import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_quickstart_runs():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "domains/language/quickstart.py"), "--epochs", "1", "--quick"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "TF-IDF + logistic regression" in proc.stdout and "word by word BLEU" in proc.stdout
    assert "nrefs:1" in proc.stdout and "attention shape" in proc.stdout and "held-out file:" in proc.stdout
