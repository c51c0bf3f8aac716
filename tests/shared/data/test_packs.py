"""Packed data sets: atomic writing, refusal to overwrite, and the checks on reading."""

import json

import numpy as np
import pytest

from shared.data import packs
from shared.errors import DataError

SPEC = {"x": {"dtype": "float", "shape": []}, "y": {"dtype": "int", "shape": []}}


def write_pack(out_dir, rows=30, domain="d"):
    with packs.writing_pack(out_dir) as root:
        shards = packs.SplitShards(root, SPEC, rows_per_shard=4)
        assign = np.array(["train", "validation", "test"] * (rows // 3), dtype=object)
        shards.write(assign, {"x": np.arange(rows, dtype="float32"), "y": np.arange(rows) % 2})
        manifests = shards.close()
        splits = {name: {"rows": m["rows"]} for name, m in manifests.items()}
        info = {"domain": domain, "task": "t", "source": {}, "split": {}, "spec": SPEC, "state": {}, "splits": splits}
        return packs.write_pack_file(root, info)


def test_pack_is_written_whole_and_can_be_replaced(tmp_path, capsys):
    out = tmp_path / "pack"
    info = write_pack(out)
    assert info["format"] == packs.FORMAT_VERSION and info["splits"]["train"]["rows"] == 10
    assert packs.is_pack(out) and sorted(p.name for p in out.iterdir()) == ["pack.json", "test", "train", "validation"]
    assert [p.name for p in tmp_path.iterdir()] == ["pack"]  # no temporary sibling left
    assert "packed 30 rows (train 10, validation 10, test 10)" in capsys.readouterr().err
    assert packs.read_pack(out, "d")["splits"] == info["splits"]
    write_pack(out, rows=60)
    assert packs.read_pack(out, "d")["splits"]["test"]["rows"] == 20


def test_failed_pack_leaves_nothing(tmp_path):
    out = tmp_path / "pack"
    with pytest.raises(RuntimeError, match="disk full"):
        with packs.writing_pack(out) as root:
            (root / "train").mkdir()
            raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DataError, match="the validation split is empty"):
        with packs.writing_pack(out) as root:
            shards = packs.SplitShards(root, SPEC, rows_per_shard=4)
            shards.write(np.array(["train", "test"], dtype=object), {"x": np.zeros(2, "float32"), "y": np.zeros(2, int)})
            shards.close()
    assert list(tmp_path.iterdir()) == []


def test_other_directories_and_files_are_not_overwritten(tmp_path):
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "notes.txt").write_text("mine")
    (tmp_path / "file").write_text("mine")
    for target in ("keep", "file"):
        with pytest.raises(DataError, match="not a packed data set"):
            write_pack(tmp_path / target)
    assert (tmp_path / "keep" / "notes.txt").read_text() == "mine" and (tmp_path / "file").read_text() == "mine"
    (tmp_path / "empty").mkdir()
    write_pack(tmp_path / "empty")  # an empty directory holds nothing to lose


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda out: (out / "pack.json").write_text("{oops"), "pack.json is unreadable"),
        (lambda out: (out / "pack.json").write_text("[]"), "pack.json is unreadable: it is not a pack description"),
        (lambda out: (out / "test" / "manifest.json").write_text("{oops"), "test/manifest.json is unreadable"),
        (lambda out: (out / "train" / "part-00001.tfrecord").unlink(), "part-00001.tfrecord listed in the manifest is missing"),
        (lambda out: (out / "validation" / "part-00000.tfrecord").write_bytes(b"x"), "does not match its manifest checksum"),
    ],
)
def test_damaged_packs_are_refused(tmp_path, damage, message):
    out = tmp_path / "pack"
    write_pack(out)
    damage(out)
    with pytest.raises(DataError, match=message):
        packs.read_pack(out, "d")


def test_pack_of_another_domain_or_version(tmp_path):
    out = tmp_path / "pack"
    write_pack(out, domain="other")
    with pytest.raises(DataError, match="holds data packed for 'other', not 'd'"):
        packs.read_pack(out, "d")
    info = json.loads((out / "pack.json").read_text())
    (out / "pack.json").write_text(json.dumps({**info, "domain": "d", "format": 99}))
    with pytest.raises(DataError, match="has pack format 99"):
        packs.read_pack(out, "d")
    (out / "pack.json").write_text(json.dumps({**info, "domain": "d", "splits": {**info["splits"], "test": {"rows": 3}}}))
    with pytest.raises(DataError, match="lists 3 rows for the test split but its manifest has 10"):
        packs.read_pack(out, "d")
