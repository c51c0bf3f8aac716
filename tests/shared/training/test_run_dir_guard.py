"""One writer per run directory: reuse is refused, --overwrite replaces, --resume locks and cleans up."""

import csv
import json
import os
import subprocess
import sys
import time

import pytest
from tests_support import PROCESSES, dlsuite_cmd

from shared.cli.main import main
from shared.run_lock import LOCK_NAME, LockHolder, RunLock
from shared.training.runner import read_history, start_run

TINY = [
    "data.synthetic_rows=2000",
    "trainer.batch_size=256",
    "trainer.tensorboard=false",
    "trainer.early_stopping.enabled=false",
    "model.hidden_units=[8]",
]
SETS = [arg for o in TINY for arg in ("--set", o)]
KEPT = ("config.yaml", "status.json", "model.keras", "history.csv")


def train(capsys, run_dir, *extra):
    code = main(["train", "fraud_detection", "--run-dir", str(run_dir), *SETS, *extra])
    out, err = capsys.readouterr()
    return code, out, err


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("dlsuite: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def snapshot(run_dir) -> dict:
    return {p.relative_to(run_dir).as_posix(): p.read_bytes() if p.is_file() else None for p in sorted(run_dir.rglob("*"))}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished one-epoch run, trained once for the module; tests work on copies."""
    import shutil

    run_dir = tmp_path_factory.mktemp("guard") / "run"
    assert main(["train", "fraud_detection", "--run-dir", str(run_dir), *SETS, "--set", "trainer.epochs=1"]) == 0

    def copy(tmp_path):
        shutil.copytree(run_dir, tmp_path / "run")
        return tmp_path / "run"

    return copy


def test_another_config_into_a_finished_run_is_refused_and_changes_nothing(capsys, tmp_path, finished_run):
    run_dir = finished_run(tmp_path)
    before = snapshot(run_dir)
    code, _, err = train(capsys, run_dir, "--set", "trainer.epochs=3", "--set", "optimizer.learning_rate=0.01")
    assert code == 2
    line = error_line(err)
    assert f"--run-dir {run_dir} already holds a run with another config (trainer.epochs: 1 -> 3; optimizer.learning_rate: 0.001 -> 0.01)" in line
    assert "--overwrite" in line
    assert snapshot(run_dir) == before


def test_other_data_into_a_finished_run_is_refused_before_reading_it(capsys, tmp_path, finished_run, fraud_csv):
    run_dir = finished_run(tmp_path)
    before = snapshot(run_dir)
    code, _, err = train(capsys, run_dir, "--set", "trainer.epochs=1", "--data", str(fraud_csv))
    assert code == 2 and f"data.path: null -> '{fraud_csv}'" in error_line(err)
    assert snapshot(run_dir) == before


def test_the_same_config_again_points_to_resume(capsys, tmp_path, finished_run):
    run_dir = finished_run(tmp_path)
    before = snapshot(run_dir)
    code, _, err = train(capsys, run_dir, "--set", "trainer.epochs=1")
    assert code == 2
    assert error_line(err).endswith(
        f"--run-dir {run_dir} already holds a run with this config (status: complete); "
        f"continue it with `dlsuite train --resume {run_dir}`, or pass --overwrite to train it again from scratch"
    )
    assert snapshot(run_dir) == before


def test_a_run_that_failed_before_training_is_replaced_without_overwrite(capsys, tmp_path, fraud_csv):
    # A newcomer's first try stops on a data error; the fixed command may use the same --run-dir.
    run_dir = tmp_path / "run"
    code, _, err = train(capsys, run_dir, "--set", "trainer.epochs=1", "--set", "data.target=no_such_column")
    assert code == 2 and "no_such_column" in error_line(err)
    assert json.loads((run_dir / "status.json").read_text())["state"] == "failed"
    code, _, err = train(capsys, run_dir, "--set", "trainer.epochs=1")
    assert code == 0, err
    assert f"replacing the run in {run_dir} (it failed before training anything)" in err
    assert "no_such_column" not in (run_dir / "config.yaml").read_text()
    assert json.loads((run_dir / "status.json").read_text())["state"] == "complete"


def test_a_failed_run_that_trained_is_kept(capsys, tmp_path, finished_run):
    run_dir = finished_run(tmp_path)
    status = json.loads((run_dir / "status.json").read_text())
    (run_dir / "status.json").write_text(json.dumps({**status, "state": "failed"}))
    before = snapshot(run_dir)
    code, _, err = train(capsys, run_dir, "--set", "trainer.epochs=2")
    assert code == 2 and "already holds a run with another config" in error_line(err)
    assert snapshot(run_dir) == before


def test_overwrite_trains_anew(capsys, tmp_path, finished_run):
    run_dir = finished_run(tmp_path)
    (run_dir / "checkpoints" / "stray.txt").write_text("from the old run")
    code, _, err = train(capsys, run_dir, "--set", "trainer.epochs=2", "--set", "optimizer.learning_rate=0.01", "--overwrite")
    assert code == 0, err
    assert f"replacing the run in {run_dir} (--overwrite)" in err and "already finished" not in err
    config = (run_dir / "config.yaml").read_text()
    assert "epochs: 2" in config and "learning_rate: 0.01" in config
    assert len(read_history(run_dir / "history.csv")["loss"]) == 2
    with (run_dir / "history.csv").open() as fh:
        assert [row[0] for row in csv.reader(fh)] == ["epoch", "0", "1"]
    assert not (run_dir / "checkpoints" / "stray.txt").exists()
    assert json.loads((run_dir / "status.json").read_text())["state"] == "complete"
    assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith(".") or p.name == LOCK_NAME) == []


def test_resume_cleans_interrupted_saves_and_releases_the_lock(capsys, tmp_path, finished_run):
    run_dir = finished_run(tmp_path)
    leftovers = [run_dir / ".model.keras.abc123.tmp", run_dir / "checkpoints" / ".best.weights.h5.x1y2.tmp", run_dir / ".saved_model.old"]
    for path in leftovers:
        path.mkdir()
        (path / "partial").write_text("half")
    assert main(["train", "--resume", str(run_dir)]) == 0
    err = capsys.readouterr().err
    assert f"removed 3 leftover(s) of interrupted saves from {run_dir}" in err
    assert not any(p.exists() for p in leftovers)
    assert not (run_dir / LOCK_NAME).exists()


def test_resume_with_options_checks_them_against_the_saved_config(capsys, tmp_path, finished_run):
    run_dir = finished_run(tmp_path)
    before = snapshot(run_dir)
    code = main(["train", "fraud_detection", *SETS, "--set", "trainer.epochs=4", "--resume", str(run_dir)])
    line = error_line(capsys.readouterr().err)
    assert code == 2 and f"cannot resume {run_dir} with another config (trainer.epochs: 1 -> 4)" in line
    assert snapshot(run_dir) == before
    assert main(["train", "fraud_detection", *SETS, "--set", "trainer.epochs=1", "--resume", str(run_dir)]) == 0
    assert "resuming" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--resume", "RUN", "--overwrite"], "give only one of them"),
        (["--resume", "RUN", "--run-dir", "elsewhere"], "name different directories"),
        (["--resume", "RUN", "--set", "trainer.epochs=2"], "need the DOMAIN too"),
    ],
)
def test_conflicting_resume_options(capsys, tmp_path, argv, message):
    argv = [str(tmp_path / a) if a in ("RUN", "elsewhere") else a for a in argv]
    assert main(["train", *argv]) == 2
    assert message in error_line(capsys.readouterr().err)


def test_a_directory_that_is_not_a_run_is_refused_even_with_overwrite(capsys, tmp_path):
    notes = tmp_path / "mine" / "notes.txt"
    notes.parent.mkdir()
    notes.write_text("keep me")
    for extra in ([], ["--overwrite"]):
        code, _, err = train(capsys, notes.parent, *extra)
        assert code == 2 and "is not empty and holds no dlsuite run (notes.txt)" in error_line(err)
    assert sorted(p.name for p in notes.parent.iterdir()) == ["notes.txt"]


def test_an_empty_directory_and_a_stale_lock_are_fine(capsys, tmp_path):
    run_dir = tmp_path / "empty"
    run_dir.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (run_dir / LOCK_NAME).write_text(json.dumps({**json.loads(LockHolder.this_process().to_json()), "pid": dead.pid}))
    code, _, err = train(capsys, run_dir, "--set", "trainer.epochs=1")
    assert code == 0, err
    assert f"taking over the stale lock of {run_dir}: pid {dead.pid} on host" in err
    assert not (run_dir / LOCK_NAME).exists()


def test_a_run_dir_in_use_is_refused(capsys, tmp_path):
    run_dir = tmp_path / "busy"
    run_dir.mkdir()
    with RunLock(run_dir):
        code, _, err = train(capsys, run_dir, "--set", "trainer.epochs=1")
        assert code == 2 and f"run directory {run_dir} is in use by pid {os.getpid()} on host" in error_line(err)
        assert sorted(p.name for p in run_dir.iterdir()) == [LOCK_NAME]
        assert main(["train", "--resume", str(run_dir)]) == 2  # not a run yet: refused before the lock
        capsys.readouterr()


def cluster(monkeypatch, index):
    tf_config = {"cluster": {"worker": ["localhost:1", "localhost:2"]}, "task": {"type": "worker", "index": index}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(tf_config))


def test_only_the_chief_locks_and_checks_the_run_dir(monkeypatch, tmp_path):
    from shared.domain import get_task

    task = get_task("fraud_detection")
    cfg = task.resolve_config(overrides=TINY)
    run_dir = tmp_path / "shared"
    cluster(monkeypatch, 0)
    with start_run(task, cfg, run_dir) as chief_dir:
        assert (chief_dir / LOCK_NAME).is_file() and (chief_dir / "config.yaml").is_file()
        cluster(monkeypatch, 1)  # a non-chief worker finds the chief's lock and config, and only reads
        before = snapshot(run_dir)
        with start_run(task, cfg, run_dir) as worker_dir:
            assert worker_dir == run_dir and snapshot(run_dir) == before


@pytest.mark.slow
@PROCESSES
def test_two_concurrent_trainings_on_one_run_dir_one_wins(tmp_path):
    run_dir = tmp_path / "run"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    cmd = dlsuite_cmd("train", "fraud_detection", "--run-dir", str(run_dir), *SETS, "--set", "trainer.epochs=3")
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    deadline = time.monotonic() + 240
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=max(1, deadline - time.monotonic()))
        results.append((proc.returncode, err))
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    (winner,) = [p for p, (code, _) in zip(procs, results) if code == 0]
    (loser_err,) = [err for code, err in results if code == 2]
    # Both start at once, so the loser reaches the lock while the winner trains.
    assert f"dlsuite: error: run directory {run_dir} is in use by pid {winner.pid} on host " in error_line(loser_err)
    with (run_dir / "history.csv").open() as fh:
        assert [row[0] for row in csv.reader(fh)] == ["epoch", "0", "1", "2"]
    assert json.loads((run_dir / "status.json").read_text())["state"] == "complete"
    assert not (run_dir / LOCK_NAME).exists()


def test_a_run_whose_config_yaml_holds_an_impossible_date_is_one_line(capsys, tmp_path, finished_run):
    run_dir = finished_run(tmp_path)
    (run_dir / "config.yaml").write_text("domain: fraud_detection\nwhen: 2023-02-30\n")
    before = snapshot(run_dir)
    code, _, err = train(capsys, run_dir)
    assert code == 2
    assert "config.yaml is missing or unreadable" in error_line(err)
    assert snapshot(run_dir) == before
