"""Training under MirroredStrategy over two logical CPU devices."""

import json
import os
import subprocess

import pytest
from tests_support import PROCESSES, dlsuite_cmd


@pytest.mark.slow
@PROCESSES
def test_fraud_trains_under_mirrored_strategy_on_two_devices(tmp_path):
    run_dir = tmp_path / "run"
    env = {**os.environ, "DLSUITE_VIRTUAL_CPUS": "2", "TF_CPP_MIN_LOG_LEVEL": "3"}
    overrides = ["data.synthetic_rows=3000", "trainer.epochs=2", "trainer.strategy=mirrored", "trainer.tensorboard=false", "model.hidden_units=[16]"]
    cmd = dlsuite_cmd("train", "fraud_detection", "--run-dir", str(run_dir), *sum((["--set", o] for o in overrides), []))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    meta = json.loads((run_dir / "metadata.json").read_text())
    assert meta["training"]["strategy"] == "MirroredStrategy"
    assert meta["training"]["replicas"] == 2
    metrics = json.loads((run_dir / "metrics.json").read_text())
    # A random ranking scores the positive rate; two epochs on 3,000 rows must beat it clearly.
    assert metrics["auprc"] > 3 * meta["data"]["positive_rate"], (metrics["auprc"], meta["data"]["positive_rate"])
