import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_quickstart_runs(tmp_path):
    from domains.fraud_detection.synthetic import generate_transactions

    data = tmp_path / "tx.csv"
    generate_transactions(3000, seed=4).to_csv(data, index=False)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "domains/fraud_detection/quickstart.py"), "--data", str(data), "--epochs", "1"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "logistic-regression baseline" in proc.stdout and "run directory:" in proc.stdout
