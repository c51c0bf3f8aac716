"""keras-tuner's chief/worker mode: one chief oracle and two workers on localhost share one search."""

import os
import socket
import subprocess
import time

import pandas as pd
import pytest
from tests_support import PROCESSES, dlsuite_cmd

pytestmark = [pytest.mark.slow, PROCESSES]
LIMIT = 300  # seconds the whole search may take


def test_a_chief_and_two_workers_share_one_search(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = ["tune", "fraud_detection", "--trials", "4", "--dir", str(tmp_path / "search"),
            "--set", "data.synthetic_rows=6000", "--set", "trainer.epochs=1", "--set", "trainer.batch_size=256",
            "--set", "trainer.tensorboard=false", "--set", "trainer.verbose=0"]
    procs = []
    for tuner_id in ("chief", "tuner0", "tuner1"):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERASTUNER_TUNER_ID": tuner_id,
               "KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(port)}
        log = open(tmp_path / f"{tuner_id}.log", "w+")
        procs.append((tuner_id, subprocess.Popen(dlsuite_cmd(*args), env=env, stdout=log, stderr=subprocess.STDOUT, text=True), log))
        if tuner_id == "chief":
            time.sleep(3)  # the oracle server listens before the workers ask it for trials
    deadline = time.monotonic() + LIMIT
    logs = {}
    for tuner_id, proc, log in procs:
        try:
            proc.wait(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for _, other, _ in procs:
                other.kill()
            pytest.fail(f"{tuner_id} hung past {LIMIT} s")
        log.seek(0)
        logs[tuner_id] = log.read()
        assert proc.returncode == 0, f"{tuner_id}: {logs[tuner_id][-2000:]}"
    table = pd.read_csv(tmp_path / "search" / "trials.csv")
    assert len(table) == 4 and set(table["status"]) == {"completed"} and table["auprc"].notna().all()
    ran = {w: logs[w].count("validation auprc") for w in ("tuner0", "tuner1")}
    assert sum(ran.values()) == 4 and all(n >= 1 for n in ran.values()), ran  # both workers trained trials
    assert "best: trial" in logs["chief"] and "no trials left" in logs["tuner0"]
