import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_quickstart_runs(tmp_path):
    from domains.medical_imaging.synthetic import write_synthetic_folder

    data = write_synthetic_folder(tmp_path / "images", n=240, seed=4).parent
    proc = subprocess.run(
        [sys.executable, str(ROOT / "domains/medical_imaging/quickstart.py"), "--data", str(data), "--epochs", "1"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "held-out accuracy" in proc.stdout and "run directory:" in proc.stdout
    assert ".dcm: " in proc.stdout  # the DICOM explanation line
