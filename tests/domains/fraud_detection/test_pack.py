"""Fraud data larger than memory: pack a table chunk by chunk, then train from the shards."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from domains.fraud_detection.synthetic import generate_transactions
from shared.data import packs, records
from shared.domain import get_task
from shared.errors import DataError, UnsupportedError
from shared.training.runner import prepare_run, train

TINY = ["trainer.epochs=1", "trainer.batch_size=256", "trainer.tensorboard=false"]


def pack(tmp_path, source, *overrides, task="classifier", name="pack"):
    t = get_task("fraud_detection", task)
    return t.pack(t.resolve_config(overrides=["data.chunk_rows=700", *overrides]), source, tmp_path / name)


def split_rows(out, name, spec):
    """All rows of one packed split, as a DataFrame (string columns decoded)."""
    parse = records.batch_parser(spec)
    batches = [{k: v.numpy() for k, v in parse(b).items()} for b in records.read_records(out / name).batch(4096)]
    frame = pd.DataFrame({k: np.concatenate([b[k] for b in batches]) for k in spec})
    return frame.apply(lambda c: c.str.decode("utf-8") if c.dtype == object else c)


def test_pack_describes_the_data(tmp_path):
    frame = generate_transactions(3000, seed=7)
    frame.to_csv(tmp_path / "t.csv", index=False)
    info = pack(tmp_path, tmp_path / "t.csv")
    assert json.loads((tmp_path / "pack" / "pack.json").read_text()) == info
    assert info["domain"] == "fraud_detection" and info["task"] == "classifier"
    assert info["split"] == {
        "type": "time",
        "column": "timestamp",
        "validation": 0.15,
        "test": 0.15,
        "seed": 42,
        "stratified": False,
        "reason": "time split on column 'timestamp': the oldest rows train, the newest test (data.split.type=auto)",
    }
    splits = info["splits"]
    assert sum(s["rows"] for s in splits.values()) == 3000
    assert sum(s["positives"] for s in splits.values()) == frame["is_fraud"].sum()
    assert splits["test"]["rows"] == 450  # distinct timestamps: the cutoffs are exact
    assert info["source"]["sha256"] == records.sha256(tmp_path / "t.csv")
    assert info["state"]["columns"]["numeric"][:2] == ["amount", "hour"]
    train_channels = split_rows(tmp_path / "pack", "train", info["spec"])["channel"]
    assert info["state"]["vocabularies"]["channel"] == train_channels.value_counts().index.tolist()
    # The newest rows are the test split.
    test_amounts = split_rows(tmp_path / "pack", "test", info["spec"])["amount"]
    np.testing.assert_allclose(np.sort(test_amounts), np.sort(frame["amount"].iloc[-450:].astype("float32")))


def test_random_and_group_splits_do_not_depend_on_chunking(tmp_path):
    frame = generate_transactions(3000, seed=8)
    frame.to_parquet(tmp_path / "t.parquet")
    random = ["data.split.type=random", "data.split.column=null"]
    a = pack(tmp_path, tmp_path / "t.parquet", *random, "data.chunk_rows=500", name="a")
    pack(tmp_path, tmp_path / "t.parquet", *random, "data.chunk_rows=1300", name="b")
    for name in ("train", "validation", "test"):
        shards = [records.read_manifest(tmp_path / p / name)["shards"] for p in ("a", "b")]
        assert [s["sha256"] for s in shards[0]] == [s["sha256"] for s in shards[1]]
    assert a["splits"]["test"]["rows"] == pytest.approx(450, abs=60)
    # Group split by card: card_id becomes a feature here, so each split's cards can be read back.
    g = pack(tmp_path, tmp_path / "t.parquet", "data.split.type=group", "data.split.column=card_id", "data.card_column=null", name="g")
    cards = [set(split_rows(tmp_path / "g", name, g["spec"])["card_id"]) for name in ("train", "validation", "test")]
    assert not (cards[0] & cards[1] or cards[0] & cards[2] or cards[1] & cards[2])


def test_a_chunk_breaking_the_schema_names_its_rows(tmp_path):
    frame = generate_transactions(3000, seed=9)
    frame["amount"] = frame["amount"].astype(object)
    frame.loc[2344, "amount"] = "12,50"
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match=r"t.csv rows 2101-2800: column 'amount' has non-numeric value '12,50' at row 2345"):
        pack(tmp_path, tmp_path / "t.csv")
    assert not (tmp_path / "pack").exists()
    with pytest.raises(DataError, match=r"split column 'booked' \(data.split.column\) is not in the data"):
        pack(tmp_path, tmp_path / "t.csv", "data.split.type=time", "data.split.column=booked")


@pytest.mark.parametrize(
    "task_name, model", [("classifier", ["model.hidden_units=[16]"]), ("anomaly", ["model.encoder_units=[8]", "model.latent_dim=3"])]
)
def test_train_from_a_pack(tmp_path, fraud_pack, task_name, model):
    task = get_task("fraud_detection", task_name)
    cfg = task.resolve_config(overrides=[*TINY, *model, f"data.path={fraud_pack}", "data.baseline_max_rows=1000"])
    result = train(task, cfg, prepare_run(task, cfg, tmp_path / "run"))
    provenance = json.loads((result.run_dir / "metadata.json").read_text())["data"]
    info = packs.read_pack(fraud_pack, "fraud_detection")
    assert provenance["packed_data"] == str(fraud_pack) and provenance["split_stratified"] is False
    assert provenance["train_rows"] == info["splits"]["train"]["rows"] == 1050
    sample = re.fullmatch(r"a random sample of ([\d,]+) of the 1,050 training rows, streamed from the shards", provenance["baseline_fitted_on"])
    assert sample and 900 < int(sample[1].replace(",", "")) <= 1000
    # Evaluated on exactly the packed test split.
    test = info["splits"]["test"]
    assert result.metrics["rows"] == test["rows"] and result.metrics["positive_rate"] == pytest.approx(test["positives"] / test["rows"])
    assert result.metrics["beats_baseline"] is (result.metrics["auprc"] > result.metrics["baseline"]["auprc"])
    assert not (result.run_dir / "data").exists()  # nothing copied into the run


def _chain(ds) -> list[str]:
    """Class names of the dataset and of every dataset it was built from."""
    return [type(ds).__name__.lstrip("_")] + [name for parent in ds._inputs() for name in _chain(parent)]


def test_packed_training_streams_files_without_cache(tmp_path, fraud_pack):
    task = get_task("fraud_detection")
    data = task.load_data(task.resolve_config(overrides=[f"data.path={fraud_pack}", "trainer.cache=true"]), tmp_path)
    for ds in (data.train, data.validation, data.test):
        chain = _chain(ds)
        assert "CacheDataset" not in chain
        # A file-name source interleaved into TFRecord readers: tf.distribute can shard it by file.
        assert chain[-2:] == ["ParallelInterleaveDataset", "TensorSliceDataset"]
    info = packs.read_pack(fraud_pack, "fraud_detection")
    train, positives = info["splits"]["train"]["rows"], info["splits"]["train"]["positives"]
    assert data.class_weight[1] == pytest.approx(train / (2 * positives))


def test_sequence_task_cannot_use_packed_data(tmp_path, fraud_csv, fraud_pack):
    with pytest.raises(UnsupportedError, match="whole transaction history"):
        pack(tmp_path, fraud_csv, task="sequence")
    task = get_task("fraud_detection", "sequence")
    with pytest.raises(UnsupportedError, match="whole transaction history"):
        task.load_data(task.resolve_config(overrides=[f"data.path={fraud_pack}"]), tmp_path)
