"""Kill a training process mid-run, then `--resume` it from its checkpoint."""

import json
import os
import signal
import subprocess
import time

import pytest
from tests_support import PROCESSES, dlsuite_cmd

from shared.errors import RunError
from shared.runs import Run
from shared.training.runner import read_history

EPOCHS = 6
OVERRIDES = [
    "data.synthetic_rows=20000",
    f"trainer.epochs={EPOCHS}",
    "trainer.batch_size=128",
    "trainer.early_stopping.enabled=false",
    "trainer.tensorboard=false",
]


def saved_epoch(run_dir) -> int:
    meta = run_dir / "checkpoints" / "backup-train" / "training_metadata.json"
    try:
        return json.loads(meta.read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


@pytest.mark.slow
@PROCESSES
def test_killed_run_resumes_from_last_checkpoint(tmp_path):
    run_dir = tmp_path / "run"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    cmd = dlsuite_cmd("train", "fraud_detection", "--run-dir", str(run_dir), *sum((["--set", o] for o in OVERRIDES), []))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    try:
        while saved_epoch(run_dir) < 2:
            assert proc.poll() is None, "training ended before it could be interrupted"
            assert time.monotonic() < deadline, "no checkpoint within 240 s"
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed_at = saved_epoch(run_dir)
    assert 2 <= killed_at < EPOCHS

    # The interrupted run is recognisably incomplete, and says how to go on.
    with pytest.raises(RunError, match="resume it with `dlsuite train --resume"):
        Run.open(run_dir)

    done = subprocess.run(dlsuite_cmd("train", "--resume", str(run_dir)), env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"resuming from checkpoint: epoch {killed_at} of {EPOCHS} already done" in done.stderr
    history = read_history(run_dir / "history.csv")
    assert len(history["loss"]) == EPOCHS
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "complete"
    Run.open(run_dir)
