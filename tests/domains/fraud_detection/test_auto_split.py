"""`data.split.type=auto`: a time split when the time column exists, else a stratified random split, said why."""

import json

import pytest
from tests_support import one_error_line, run_cli

from domains.fraud_detection import pipeline
from domains.fraud_detection.synthetic import generate_transactions
from shared.domain import get_task

TINY = ["trainer.epochs=1", "trainer.batch_size=256", "trainer.tensorboard=false", "model.hidden_units=[8]"]
SETS = [arg for o in TINY for arg in ("--set", o)]
RANDOM_REASON = "random split, stratified by label: the data has no time column ('timestamp') (data.split.type=auto)"
TIME_REASON = "time split on column 'timestamp': the oldest rows train, the newest test (data.split.type=auto)"


@pytest.fixture(scope="module")
def own_csvs(tmp_path_factory):
    """The demo transactions as someone's own data: target `default`, with and without the time column."""
    folder = tmp_path_factory.mktemp("own")
    frame = generate_transactions(1500, seed=11).rename(columns={"is_fraud": "default"})
    frame.drop(columns=["timestamp"]).to_csv(folder / "no_time.csv", index=False)
    frame.to_csv(folder / "with_time.csv", index=False)
    return folder


def _train(capsys, tmp_path, csv, *extra):
    run_dir = tmp_path / "run"
    code, out, err = run_cli(capsys, "train", "fraud_detection", "--data", csv, "--set", "data.target=default", "--run-dir", run_dir, *SETS, *extra)
    return code, err, run_dir


def test_a_table_without_the_time_column_trains_with_a_stratified_random_split(tmp_path, capsys, own_csvs):
    code, err, run_dir = _train(capsys, tmp_path, own_csvs / "no_time.csv")
    assert code == 0, err[-2000:]
    assert f"data split: {RANDOM_REASON}" in err
    metadata = json.loads((run_dir / "metadata.json").read_text())
    assert metadata["split"] == {"type": "random", "column": None, "reason": RANDOM_REASON}
    assert metadata["data"]["split"] == "random"
    # Stratified: every split holds its share of the 15 frauds.
    assert [metadata["data"][f"{n}_positives"] for n in ("train", "validation", "test")] == [11, 2, 2]
    assert f"- Split: {RANDOM_REASON}" in (run_dir / "model_card.md").read_text()
    assert not (run_dir / "data").exists()  # fed from memory: no shards written


def test_a_table_with_the_time_column_uses_the_time_split(tmp_path, capsys, own_csvs):
    code, err, run_dir = _train(capsys, tmp_path, own_csvs / "with_time.csv")
    assert code == 0, err[-2000:]
    assert f"data split: {TIME_REASON}" in err
    metadata = json.loads((run_dir / "metadata.json").read_text())
    assert metadata["split"] == {"type": "time", "column": "timestamp", "reason": TIME_REASON}
    assert f"- Split: {TIME_REASON}" in (run_dir / "model_card.md").read_text()


def test_an_explicit_time_split_on_a_missing_column_is_one_line_with_the_fallback(tmp_path, capsys, own_csvs):
    code, err, run_dir = _train(capsys, tmp_path, own_csvs / "no_time.csv", "--set", "data.split.type=time", "--set", "data.split.column=nope")
    assert code != 0
    one_error_line(err, "split column 'nope' (data.split.column) is not in the data", "set data.split.type=auto to split at random")
    assert not (run_dir / "model.keras").exists()


def test_packing_resolves_auto_too(tmp_path, own_csvs):
    task = get_task("fraud_detection")
    cfg = task.resolve_config(overrides=["data.target=default", "data.chunk_rows=500"])
    random = task.pack(cfg, own_csvs / "no_time.csv", tmp_path / "random")
    assert random["split"]["type"] == "random" and random["split"]["column"] is None
    assert random["split"]["reason"] == RANDOM_REASON
    timed = task.pack(cfg, own_csvs / "with_time.csv", tmp_path / "timed")
    assert (timed["split"]["type"], timed["split"]["column"], timed["split"]["reason"]) == ("time", "timestamp", TIME_REASON)
    assert timed["splits"]["test"]["rows"] == 225  # the newest 15% of 1,500 distinct times


def test_a_multi_worker_run_trains_from_shards_and_a_single_machine_from_memory(tmp_path, monkeypatch):
    task = get_task("fraud_detection")
    cfg = task.resolve_config(overrides=["data.synthetic_rows=1000", "data.rows_per_shard=200", *TINY])
    assert not pipeline.needs_shards(cfg)
    data = task.load_data(cfg, tmp_path / "memory")
    assert data.source_files == {} and not (tmp_path / "memory").exists()
    assert data.train_rows == 700 and data.split.config.type == "time"

    cluster = {"cluster": {"worker": ["localhost:12345", "localhost:12346"]}, "task": {"type": "worker", "index": 0}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(cluster))
    assert pipeline.needs_shards(cfg)
    assert not pipeline.needs_shards(task.resolve_config(overrides=["trainer.strategy=default"]))
    sharded = task.load_data(cfg, tmp_path / "shards")
    assert sharded.source_files == {"train": 4, "validation": 1}  # 700 and 150 rows, 200 per shard
    # Both feeds give the same validation rows in the same order.
    import numpy as np

    labels = [np.concatenate([y.numpy() for _, y in d.validation]) for d in (data, sharded)]
    np.testing.assert_array_equal(*labels)
