"""Random and damaged input files end in a result or one `DlsuiteError` line, never a traceback.

Tables (CSV, Parquet) go through `read_table` and on through the fraud
domain's validation and feature preparation, as `predict` runs them; TFRecord
shards, their manifests and `pack.json` go through the shard readers. Every
test starts from a valid file and damages its bytes (flips, inserts,
deletions, truncation), or writes well-framed records of random content.
"""

import io
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domains.fraud_detection import sources
from shared.data import packs, records
from shared.data.tables import read_table, require_columns
from shared.errors import DlsuiteError
from tests.tests_support import fuzz_settings

FRAME = pd.DataFrame(
    {
        "amount": [12.5, 3.0, 99.99, 0.5, 41.0, 7.25],
        "hour": [1, 13, 23, 8, 19, 0],
        "category": ["gas", "atm", "gas", "online_retail", "grocery", "atm"],
        "is_fraud": [0, 1, 0, 0, 1, 0],
    }
)
COLUMNS = sources.FeatureColumns(target="is_fraud", numeric=["amount", "hour"], categorical=["category"])
SPEC = {
    "amount": {"dtype": "float", "shape": []},
    "category": {"dtype": "string", "shape": []},
    "history": {"dtype": "float", "shape": [2, 3]},
    "label": {"dtype": "int", "shape": []},
}


@st.composite
def damaged(draw, base: bytes) -> bytes:
    """`base` after a few random byte flips, inserts, deletions or a truncation."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=12))
        elif op == "delete" and data:
            del data[at : at + draw(st.integers(1, 16))]
        elif op == "truncate":
            del data[at:]
    return bytes(data)


def result_or_one_line(fn):
    """`fn()`, or None when it raised a `DlsuiteError` of one non-empty line."""
    try:
        return fn()
    except DlsuiteError as exc:
        message = str(exc)
        assert message and "\n" not in message, repr(message)
        return None


def csv_bytes() -> bytes:
    return FRAME.to_csv(index=False).encode()


def parquet_bytes() -> bytes:
    buffer = io.BytesIO()
    FRAME.to_parquet(buffer)
    return buffer.getvalue()


def prepare_for_predict(path):
    """What `predict` does with a table before the model sees it."""
    frame = read_table(path)
    require_columns(frame, COLUMNS.numeric + COLUMNS.categorical, str(path))
    arrays = sources.feature_arrays(frame, COLUMNS, str(path), with_target=False)
    inputs = sources.grouped_arrays(arrays, COLUMNS.to_dict())
    assert inputs["numeric"].shape == (len(frame), 2) and inputs["numeric"].dtype == np.float32
    return inputs


@fuzz_settings()
@given(content=st.binary(max_size=300))
def test_random_bytes_as_csv(tmp_path, content):
    path = tmp_path / "random.csv"
    path.write_bytes(content)
    result_or_one_line(lambda: prepare_for_predict(path))


@fuzz_settings()
@given(content=damaged(csv_bytes()))
def test_damaged_csv(tmp_path, content):
    path = tmp_path / "damaged.csv"
    path.write_bytes(content)
    result_or_one_line(lambda: prepare_for_predict(path))


@fuzz_settings()
@given(content=st.one_of(st.binary(max_size=300), damaged(parquet_bytes())))
def test_random_and_damaged_parquet(tmp_path, content):
    path = tmp_path / "damaged.parquet"
    path.write_bytes(content)
    result_or_one_line(lambda: prepare_for_predict(path))


@pytest.fixture(scope="module")
def shard_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    rng = np.random.default_rng(0)
    columns = {
        "amount": rng.normal(size=12).astype("float32"),
        "category": np.array([f"c{i % 3}" for i in range(12)]),
        "history": rng.normal(size=(12, 2, 3)).astype("float32"),
        "label": (np.arange(12) % 2).astype("int32"),
    }
    records.write_shards(columns, SPEC, root, rows_per_shard=6)
    return root


def copy_of(shard_set, tmp_path):
    target = tmp_path / "copy"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(shard_set, target)
    return target


def read_every_way(root):
    """Stream a shard set with each reader, inside `shard_errors` as the CLI does."""
    with records.shard_errors(root):
        rows = list(records.read_shards(root).as_numpy_iterator())
        spec = records.read_manifest(root)["spec"]
        floats = [name for name, column in spec.items() if column["dtype"] == "float" and not column.get("shape")]
        parse = records.batch_parser(spec, {"numeric": floats})
        batches = list(records.read_records(root).batch(5).map(parse).as_numpy_iterator())
    return rows, batches


@fuzz_settings()
@given(data=st.data())
def test_damaged_shards(shard_set, tmp_path, data):
    root = copy_of(shard_set, tmp_path)
    shard = root / "part-00000.tfrecord"
    shard.write_bytes(data.draw(damaged(shard.read_bytes())))
    result_or_one_line(lambda: read_every_way(root))
    result_or_one_line(lambda: records.verify_shards(root))


@fuzz_settings()
@given(payloads=st.lists(st.binary(max_size=64), min_size=1, max_size=4))
def test_well_framed_records_of_random_content(shard_set, tmp_path, payloads):
    import tensorflow as tf

    root = copy_of(shard_set, tmp_path)
    with tf.io.TFRecordWriter(str(root / "part-00000.tfrecord")) as writer:
        for payload in payloads:
            writer.write(payload)
    result_or_one_line(lambda: read_every_way(root))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10**12) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def changed_json(draw, document):
    """`document` with one value somewhere inside replaced by a random JSON value."""
    document = json.loads(json.dumps(document))
    node = document
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            return document
        key = draw(st.sampled_from(keys))
        if isinstance(node[key], (dict, list)) and node[key] and draw(st.booleans()):
            node = node[key]
            continue
        if isinstance(node, dict) and draw(st.integers(0, 4)) == 0:
            del node[key]
        else:
            node[key] = draw(JSON_VALUES)
        return document


@fuzz_settings()
@given(data=st.data())
def test_damaged_manifests(shard_set, tmp_path, data):
    root = copy_of(shard_set, tmp_path)
    manifest = root / records.MANIFEST
    original = json.loads(manifest.read_text())
    if data.draw(st.booleans()):
        manifest.write_text(json.dumps(data.draw(changed_json(original))))
    else:
        manifest.write_bytes(data.draw(damaged(manifest.read_bytes())))
    result_or_one_line(lambda: records.verify_shards(root))
    result_or_one_line(lambda: records.shard_counts(root, ("",)))
    result_or_one_line(lambda: read_every_way(root))


@pytest.fixture(scope="module")
def pack_dir(tmp_path_factory, shard_set):
    root = tmp_path_factory.mktemp("pack")
    splits = {}
    for name in packs.SPLIT_NAMES:
        shutil.copytree(shard_set, root / name)
        splits[name] = {"rows": 12, "positives": 6, "shards": 2}
    info = {"domain": "fraud_detection", "task": "classifier", "source": {}, "split": {}, "spec": SPEC, "state": {}, "splits": splits}
    packs.write_pack_file(root, info)
    return root


@fuzz_settings()
@given(data=st.data())
def test_damaged_pack_descriptions(pack_dir, tmp_path, data):
    root = tmp_path / "pack"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(pack_dir, root)
    file = root / packs.PACK_FILE
    if data.draw(st.booleans()):
        file.write_text(json.dumps(data.draw(changed_json(json.loads(file.read_text())))))
    else:
        file.write_bytes(data.draw(damaged(file.read_bytes())))
    result_or_one_line(lambda: packs.read_pack(root, "fraud_detection", verify=True))
