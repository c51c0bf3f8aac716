import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_quickstart_runs():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "domains/driving/quickstart.py"), "--quick"],
        capture_output=True, text=True, timeout=900, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    for fragment in ("held-out mIoU", "held-out mAP@[.5:.95]", "segmented.mp4: 100 frames", "detected.mp4: 100 frames", "run directories:"):
        assert fragment in proc.stdout, proc.stdout
