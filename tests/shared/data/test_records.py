import numpy as np
import pytest

from shared.data import records
from shared.errors import DataError

SPEC = {"x": {"dtype": "float", "shape": []}, "s": {"dtype": "string", "shape": []}, "h": {"dtype": "float", "shape": [2, 3]}, "y": {"dtype": "int", "shape": []}}


def columns(n=25):
    rng = np.random.default_rng(0)
    return {
        "x": rng.normal(size=n).astype("float32"),
        "s": np.array([f"c{i % 3}" for i in range(n)]),
        "h": rng.normal(size=(n, 2, 3)).astype("float32"),
        "y": (np.arange(n) % 2).astype("int32"),
    }


def test_round_trip_across_shards(tmp_path):
    cols = columns()
    manifest = records.write_shards(cols, SPEC, tmp_path, rows_per_shard=10, fingerprint="f1")
    assert [s["rows"] for s in manifest["shards"]] == [10, 10, 5]
    rows = list(records.read_shards(tmp_path, verify=True).as_numpy_iterator())
    assert len(rows) == 25
    # Shards are interleaved, so match rows by their unique `x` value.
    order = np.argsort(cols["x"])
    rows = sorted(rows, key=lambda r: r["x"])
    np.testing.assert_allclose(np.stack([r["h"] for r in rows]), cols["h"][order])
    assert [r["s"].decode() for r in rows] == cols["s"][order].tolist()
    assert [int(r["y"]) for r in rows] == cols["y"][order].tolist()
    assert records.read_shards(tmp_path).cardinality().numpy() == 25


def test_matching_fingerprint_reuses_shards(tmp_path):
    records.write_shards(columns(), SPEC, tmp_path, rows_per_shard=10, fingerprint="f1")
    stamp = (tmp_path / "part-00000.tfrecord").stat().st_mtime_ns
    records.write_shards(columns(), SPEC, tmp_path, rows_per_shard=10, fingerprint="f1")
    assert (tmp_path / "part-00000.tfrecord").stat().st_mtime_ns == stamp


def test_corrupt_and_missing_shards_are_detected(tmp_path):
    records.write_shards(columns(), SPEC, tmp_path, rows_per_shard=10, fingerprint="f1")
    shard = tmp_path / "part-00001.tfrecord"
    shard.write_bytes(shard.read_bytes()[:-7] + b"garbage")
    with pytest.raises(DataError, match="does not match its manifest checksum"):
        records.verify_shards(tmp_path)
    shard.unlink()
    with pytest.raises(DataError, match="is missing"):
        records.verify_shards(tmp_path)


def test_absent_manifest(tmp_path):
    with pytest.raises(DataError, match="no manifest.json"):
        records.read_shards(tmp_path)
