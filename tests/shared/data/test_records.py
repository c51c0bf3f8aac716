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


def test_serialize_matches_examples_built_row_by_row():
    """Scalar columns of one dtype share a feature (in spec order); array columns are features of their own."""
    import tensorflow as tf

    spec = {**SPEC, "z": {"dtype": "float", "shape": []}}
    cols = {**columns(3), "z": np.array([7.0, 8.0, 9.0], "float32")}
    serialized = records.serialize(cols, spec)
    row = 1
    expected = tf.train.Example(
        features=tf.train.Features(
            feature={
                "scalars:float": tf.train.Feature(float_list=tf.train.FloatList(value=[cols["x"][row], cols["z"][row]])),
                "scalars:string": tf.train.Feature(bytes_list=tf.train.BytesList(value=[cols["s"][row].encode()])),
                "scalars:int": tf.train.Feature(int64_list=tf.train.Int64List(value=[cols["y"][row]])),
                "h": tf.train.Feature(float_list=tf.train.FloatList(value=cols["h"][row].reshape(-1))),
            }
        )
    )
    assert tf.train.Example.FromString(serialized[row]) == expected
    parsed = records.batch_parser(spec)(tf.constant(serialized))
    assert list(parsed) == list(spec)
    for name in spec:
        want = cols[name].astype(bytes) if name == "s" else cols[name]
        np.testing.assert_array_equal(parsed[name].numpy(), want)


def test_reserved_names_and_unknown_dtypes_are_refused():
    with pytest.raises(DataError, match="reserved"):
        records.storage({"scalars:float": {"dtype": "float", "shape": []}})
    with pytest.raises(ValueError, match="dtype 'double'"):
        records.storage({"x": {"dtype": "double", "shape": []}})


def test_shards_of_another_layout_are_refused_and_written_again(tmp_path):
    import json

    manifest = records.write_shards(columns(), SPEC, tmp_path, rows_per_shard=10, fingerprint="f")
    old = {k: v for k, v in manifest.items() if k != "layout"}  # as written before layouts were recorded
    (tmp_path / records.MANIFEST).write_text(json.dumps(old))
    with pytest.raises(DataError, match="record layout 1, from another version of dlsuite; this version reads layout 2"):
        records.read_shards(tmp_path)
    rewritten = records.write_shards(columns(), SPEC, tmp_path, rows_per_shard=10, fingerprint="f")
    assert rewritten["layout"] == records.LAYOUT
    assert len(list(records.read_shards(tmp_path, verify=True))) == 25


def test_shard_writer_rotates_across_chunks(tmp_path):
    cols = columns()
    with records.ShardWriter(tmp_path, SPEC, rows_per_shard=10) as writer:
        for start, stop in ((0, 7), (7, 14), (14, 14), (14, 25)):
            writer.write({k: v[start:stop] for k, v in cols.items()})
    manifest = records.verify_shards(tmp_path)
    assert [s["rows"] for s in manifest["shards"]] == [10, 10, 5] and manifest["rows"] == 25
    # Batch parsing gives every row back; shards are interleaved, so match rows by `x`.
    parse = records.batch_parser(manifest["spec"])
    back = next(iter(records.read_records(tmp_path).batch(25).map(parse)))
    got, want = np.argsort(back["x"].numpy()), np.argsort(cols["x"])
    np.testing.assert_allclose(back["h"].numpy()[got], cols["h"][want])
    assert [s.decode() for s in back["s"].numpy()[got]] == cols["s"][want].tolist()


def test_failed_writer_leaves_no_manifest_and_rewrite_removes_stale_shards(tmp_path):
    records.write_shards(columns(), SPEC, tmp_path, rows_per_shard=5, fingerprint="f1")
    assert len(list(tmp_path.glob("part-*.tfrecord"))) == 5
    with pytest.raises(RuntimeError):
        with records.ShardWriter(tmp_path, SPEC, rows_per_shard=10) as writer:
            writer.write(columns(12))
            raise RuntimeError("interrupted")
    assert records.read_manifest(tmp_path, missing_ok=True) is None
    manifest = records.write_shards(columns(), SPEC, tmp_path, rows_per_shard=10, fingerprint="f2")
    assert sorted(p.name for p in tmp_path.glob("part-*.tfrecord")) == [s["file"] for s in manifest["shards"]]


def test_corrupt_shard_read_without_verification_is_a_data_error(tmp_path):
    records.write_shards(columns(), SPEC, tmp_path, rows_per_shard=10, fingerprint="f1")
    shard = tmp_path / "part-00001.tfrecord"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"part-00001.tfrecord does not match its manifest checksum.*corrupted record"):
        with records.shard_errors(tmp_path):
            list(records.read_shards(tmp_path))


def test_unreadable_manifest(tmp_path):
    (tmp_path / records.MANIFEST).write_text('["not", "a manifest"]')
    with pytest.raises(DataError, match="is unreadable"):
        records.read_shards(tmp_path)


def test_batch_parser_returns_groups_of_scalar_columns_stacked():
    import tensorflow as tf

    spec = {**SPEC, "z": {"dtype": "float", "shape": []}}
    cols = {**columns(3), "z": np.array([7.0, 8.0, 9.0], "float32")}
    serialized = tf.constant(records.serialize(cols, spec))
    # The whole on-disk group, a reordered subset of it, and the columns left over.
    parsed = records.batch_parser(spec, {"numeric": ["x", "z"], "text": ["s"]})(serialized)
    assert sorted(parsed) == ["h", "numeric", "text", "y"]
    np.testing.assert_array_equal(parsed["numeric"].numpy(), np.stack([cols["x"], cols["z"]], axis=1))
    np.testing.assert_array_equal(parsed["text"].numpy()[:, 0], cols["s"].astype(bytes))
    np.testing.assert_array_equal(parsed["y"].numpy(), cols["y"])
    reordered = records.batch_parser(spec, {"numeric": ["z"], "empty": []})(serialized)
    assert "empty" not in reordered
    np.testing.assert_array_equal(reordered["numeric"].numpy()[:, 0], cols["z"])
    np.testing.assert_array_equal(reordered["x"].numpy(), cols["x"])


@pytest.mark.parametrize(
    "groups, message",
    [
        ({"g": ["h"]}, r"only scalar columns of the spec. Received: columns \['h'\]"),
        ({"g": ["nope"]}, r"Received: columns \['nope'\]"),
        ({"g": ["x", "s"]}, r"mixes dtypes. Received: dtypes \['float', 'string'\]"),
        ({"y": ["x"]}, "also a column of the spec"),
    ],
)
def test_bad_groups_are_refused(groups, message):
    with pytest.raises(ValueError, match=message):
        records.batch_parser(SPEC, groups)
