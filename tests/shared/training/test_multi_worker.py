"""Two real worker processes on localhost under MultiWorkerMirroredStrategy.

Each test starts `dlsuite train` twice with a `TF_CONFIG` naming both, on
free ports, with a time limit; the workers stop by themselves.
"""

import csv
import json
import math
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests_support import PROCESSES, dlsuite_cmd

pytestmark = [pytest.mark.slow, PROCESSES]

TINY = [
    "--set", "data.synthetic_rows=3000",
    "--set", "trainer.batch_size=128",
    "--set", "trainer.tensorboard=false",
    "--set", "trainer.early_stopping.enabled=false",
    "--set", "model.hidden_units=[16]",
]  # fmt: skip
LIMIT = 240  # seconds any worker may run


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def start_workers(args: list[str], n: int = 2, tmp: Path | None = None, command=dlsuite_cmd) -> list[subprocess.Popen]:
    addresses = [f"localhost:{p}" for p in free_ports(n)]
    procs = []
    for index in range(n):
        env = {
            **os.environ,
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "TF_CONFIG": json.dumps({"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}}),
        }
        log = open(tmp / f"worker{index}-{time.monotonic_ns()}.log", "w+")
        procs.append(subprocess.Popen(command(*args), env=env, stdout=log, stderr=subprocess.STDOUT, text=True))
        procs[-1].log = log
    return procs


def finish(procs, timeout=LIMIT) -> list[tuple[int, str]]:
    out = []
    deadline = time.monotonic() + timeout
    for p in procs:
        try:
            p.wait(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail("a worker hung past the time limit")
        p.log.seek(0)
        out.append((p.returncode, p.log.read()))
    return out


def fingerprint(log: str) -> str:
    found = re.findall(r"weights fingerprint: (\w+)", log)
    assert found, log[-2000:]
    return found[-1]


def history(run: Path) -> list[dict]:
    with (run / "history.csv").open() as fh:
        return list(csv.DictReader(fh))


def test_two_workers_train_to_identical_weights_and_the_chief_writes_the_run(tmp_path, fraud_csv):
    # Packed into several shards per split: the workers split the files between them.
    packed = tmp_path / "packed"
    subprocess.run(
        dlsuite_cmd("data", "pack", "fraud_detection", "--data", str(fraud_csv), "--out", str(packed), "--set", "data.rows_per_shard=250"),
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    assert len(json.loads((packed / "train" / "manifest.json").read_text())["shards"]) >= 2
    run = tmp_path / "run"
    procs = start_workers(["train", "fraud_detection", "--data", str(packed), "--run-dir", str(run), "--set", "trainer.epochs=3", *TINY], tmp=tmp_path)
    (rc0, log0), (rc1, log1) = finish(procs)
    assert rc0 == 0, log0[-3000:]
    assert rc1 == 0, log1[-3000:]
    assert fingerprint(log0) == fingerprint(log1)

    losses = [float(row["loss"]) for row in history(run)]
    assert len(losses) == 3 and all(math.isfinite(x) for x in losses)
    assert losses[-1] < losses[0]

    for name in ("config.yaml", "model.keras", "saved_model/saved_model.pb", "metrics.json", "metadata.json", "model_card.md", "curves.png"):
        assert (run / name).exists(), name
    assert json.loads((run / "status.json").read_text())["state"] == "complete"
    training = json.loads((run / "metadata.json").read_text())["training"]
    assert training["strategy"] == "MultiWorkerMirroredStrategy" and training["workers"] == 2 and training["replicas"] == 2
    # The non-chief wrote nothing into the run directory: one history row per epoch.
    assert [row["epoch"] for row in history(run)] == ["0", "1", "2"]


def test_a_killed_worker_is_detected_and_a_restart_resumes(tmp_path):
    run = tmp_path / "run"
    epochs = 8  # the kill comes after epoch 2; the survivor cannot finish an epoch without its peer
    args = ["train", "fraud_detection", "--run-dir", str(run), "--set", f"trainer.epochs={epochs}", *TINY]
    procs = start_workers(args, tmp=tmp_path)
    deadline = time.monotonic() + LIMIT
    while not ((run / "history.csv").exists() and len(history(run)) >= 2):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "workers ended before two epochs"
        time.sleep(0.2)
    procs[1].kill()
    killed_at = time.monotonic()
    (rc0, log0), _ = finish(procs, timeout=90)
    assert time.monotonic() - killed_at < 90
    assert rc0 == 2, log0[-3000:]
    last = log0.strip().splitlines()[-1]
    assert last.startswith("dlsuite: error: lost contact with another worker"), last
    assert "--resume" in last
    assert json.loads((run / "status.json").read_text())["state"] == "failed"
    done_before = len(history(run))
    assert done_before < epochs

    procs = start_workers(["train", "--resume", str(run)], tmp=tmp_path)
    (rc0, log0), (rc1, log1) = finish(procs)
    assert rc0 == 0 and rc1 == 0, log0[-3000:] + log1[-3000:]
    assert re.search(rf"resuming from checkpoint: epoch (\d+) of {epochs}", log0)
    resumed_from = int(re.search(r"resuming from checkpoint: epoch (\d+)", log0).group(1))
    assert resumed_from >= 2
    assert fingerprint(log0) == fingerprint(log1)
    assert sorted({int(row["epoch"]) for row in history(run)}) == list(range(epochs))
    assert json.loads((run / "status.json").read_text())["state"] == "complete"


def test_a_worker_that_never_answers_is_a_clear_error_not_a_hang(tmp_path):
    port, silent = free_ports(2)
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "TF_CONFIG": json.dumps({"cluster": {"worker": [f"localhost:{port}", f"localhost:{silent}"]}, "task": {"type": "worker", "index": 0}}),
    }
    started = time.monotonic()
    result = subprocess.run(
        dlsuite_cmd("train", "fraud_detection", "--run-dir", str(tmp_path / "run"), "--set", "trainer.worker_timeout=3", *TINY),
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"dlsuite: error: worker(s) localhost:{silent} did not answer within 3 s; start `dlsuite train` on every "
        "machine in TF_CONFIG with the same arguments, and check the addresses and firewalls"
    )
    assert time.monotonic() - started < 60


def test_multi_worker_needs_a_shared_run_dir(tmp_path):
    env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": {"worker": ["localhost:1", "localhost:2"]}, "task": {"type": "worker", "index": 0}})}
    result = subprocess.run(dlsuite_cmd("train", "fraud_detection", *TINY), env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 2
    assert "needs --run-dir" in result.stderr.strip().splitlines()[-1]


def test_two_workers_train_a_two_phase_transfer_model(tmp_path):
    run = tmp_path / "run"
    args = [
        "train", "medical_imaging", "--run-dir", str(run),
        "--set", "data.synthetic_images=240", "--set", "trainer.batch_size=32", "--set", "trainer.tensorboard=false",
        "--set", "model.head_epochs=1", "--set", "model.fine_tune_epochs=1", "--set", "evaluation.gradcam_examples=2",
    ]  # fmt: skip
    (rc0, log0), (rc1, log1) = finish(start_workers(args, tmp=tmp_path))
    assert rc0 == 0 and rc1 == 0, log0[-3000:] + log1[-3000:]
    assert fingerprint(log0) == fingerprint(log1)
    assert json.loads((run / "status.json").read_text())["phases_done"] == ["fine_tune", "head"]
    assert (run / "model.keras").is_file() and (run / "gradcam.png").is_file()


TOY_WORKER = """
import json, sys
import tensorflow as tf
strategy = tf.distribute.MultiWorkerMirroredStrategy()
import keras, numpy as np
from shared.training.engine import Trainer
with strategy.scope():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), keras.layers.BatchNormalization(), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
x = np.random.RandomState(0).rand(1001, 4).astype("float32")
data = tf.data.Dataset.from_tensor_slices((x, x.sum(1, keepdims=True))).batch(100)
print(json.dumps(Trainer(strategy, epochs=2, verbose=0, loop="distributed").fit(model, data)))
"""


def test_a_last_batch_smaller_than_the_replica_count_does_not_poison_training(tmp_path):
    """1001 rows in batches of 100 leave one example for two replicas: one would get none (NaN batch norm)."""
    procs = start_workers(["-c", TOY_WORKER], tmp=tmp_path, command=lambda *args: [sys.executable, *args])
    for rc, log in finish(procs):
        assert rc == 0, log[-2000:]
        losses = json.loads(log.strip().splitlines()[-1])["loss"]
        assert all(math.isfinite(v) for v in losses)


@pytest.mark.parametrize(
    "domain, task, overrides",
    [
        ("fraud_detection", "anomaly", ["data.synthetic_rows=3000"]),
        ("fraud_detection", "sequence", ["data.synthetic_rows=3000"]),
        ("medical_imaging", "segmentation", ["data.synthetic_images=120", "trainer.batch_size=16"]),
    ],
)
def test_every_other_task_trains_on_two_workers(tmp_path, domain, task, overrides):
    run = tmp_path / "run"
    sets = [arg for o in [*overrides, "trainer.epochs=2", "trainer.tensorboard=false"] for arg in ("--set", o)]
    (rc0, log0), (rc1, log1) = finish(start_workers(["train", domain, "--task", task, "--run-dir", str(run), *sets], tmp=tmp_path))
    assert rc0 == 0 and rc1 == 0, log0[-3000:] + log1[-3000:]
    assert fingerprint(log0) == fingerprint(log1)
    assert json.loads((run / "status.json").read_text())["state"] == "complete"
