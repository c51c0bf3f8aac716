"""Medical images larger than memory: pack a folder or manifest image by image, then train from the shards."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from domains.medical_imaging.config import MedicalDataConfig
from domains.medical_imaging.decoding import decode_path
from domains.medical_imaging.synthetic import write_synthetic_folder
from shared.cli.main import main
from shared.data import packs, records
from shared.domain import get_task
from shared.errors import UnsupportedError
from shared.training.runner import prepare_run, train

SMALL = ["data.image_size=32", "data.rows_per_shard=16"]
TINY = ["trainer.batch_size=16", "trainer.tensorboard=false", "model.head_epochs=1", "model.fine_tune_epochs=1", "evaluation.gradcam_examples=2"]


def pack(source, out, *overrides, task="classifier"):
    t = get_task("medical_imaging", task)
    return t.pack(t.resolve_config(overrides=[*SMALL, *overrides]), source, out)


def split_examples(root, name, spec):
    parse = records.batch_parser(spec)
    batches = [{k: v.numpy() for k, v in parse(b).items()} for b in records.read_records(root / name).batch(64)]
    return {k: np.concatenate([b[k] for b in batches]) for k in spec}


def one_error_line(err: str) -> bool:
    """Progress lines aside, stderr holds exactly one error line and no traceback."""
    return "Traceback" not in err and sum(line.startswith("dlsuite: error:") for line in err.splitlines()) == 1


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    """Synthetic PNGs in class folders, plus manifest.csv with patient ids."""
    return write_synthetic_folder(tmp_path_factory.mktemp("medpack") / "images", n=90, seed=5, image_size=32)


@pytest.fixture(scope="module")
def med_pack(image_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("medpack_out") / "pack"
    pack(image_folder, out)
    return out


def test_pack_counts_and_patient_split(med_pack, image_folder):
    info = json.loads((med_pack / "pack.json").read_text())
    assert info["domain"] == "medical_imaging" and info["task"] == "classifier"
    assert info["split"]["key"] == "patient_id" and info["split"]["stratified"] is False and info["split"]["seed"] == 42
    assert info["state"]["classes"] == ["nodule", "normal", "opacity"] and info["state"]["image_size"] == 32
    splits = info["splits"]
    assert sum(s["rows"] for s in splits.values()) == 90
    assert splits["train"]["shards"] == -(-splits["train"]["rows"] // 16) > 1
    labels = pd.read_csv(image_folder)["label"].value_counts().to_dict()
    assert {c: sum(s["class_counts"][c] for s in splits.values()) for c in labels} == labels
    assert info["source"]["format"] == "manifest" and info["source"]["manifest"]["sha256"] == records.sha256(image_folder)

    patients, paths = {}, {}
    for name in ("train", "validation", "test"):
        ex = split_examples(med_pack, name, info["spec"])
        assert len(ex["label"]) == splits[name]["rows"]
        patients[name] = {p.decode() for p in ex["patient_id"]}
        assert len(patients[name]) == splits[name]["patients"]
        paths[name] = ex["path"]
        if name == "test":  # stored pixels are the decoded image's grey levels
            cfg = MedicalDataConfig(image_size=32)
            expected = np.round(decode_path(image_folder.parent / ex["path"][0].decode(), cfg) * 255)
            np.testing.assert_array_equal(ex["image"][0], expected)
    assert not (patients["train"] & patients["validation"] or patients["train"] & patients["test"] or patients["validation"] & patients["test"])
    # Written in a shuffled order, not class by class.
    assert len({p.split(b"/")[0] for p in paths["train"][:12]}) > 1


def test_folder_without_patient_ids_splits_by_path(tmp_path, image_folder):
    a = pack(image_folder.parent, tmp_path / "a")
    pack(image_folder.parent, tmp_path / "b")
    assert a["source"]["format"] == "folder" and a["split"]["key"] == "path" and a["splits"]["train"]["patients"] is None
    assert sum(s["rows"] for s in a["splits"].values()) == 90
    for name in ("train", "validation", "test"):  # the same input and seed give the same shards
        shards = [records.read_manifest(tmp_path / p / name)["shards"] for p in ("a", "b")]
        assert [s["sha256"] for s in shards[0]] == [s["sha256"] for s in shards[1]]


def _chain(ds) -> list[str]:
    return [type(ds).__name__.lstrip("_")] + [name for parent in ds._inputs() for name in _chain(parent)]


def test_train_both_phases_from_a_pack(tmp_path, med_pack):
    task = get_task("medical_imaging")
    cfg = task.resolve_config(overrides=[*TINY, f"data.path={med_pack}", "trainer.cache=true"])
    data = task.load_data(cfg, tmp_path)
    for ds in (data.train, data.validation, data.test):
        chain = _chain(ds)
        assert "CacheDataset" not in chain and chain[-2:] == ["ParallelInterleaveDataset", "TensorSliceDataset"]
    x, y = next(iter(data.train))
    assert x.shape[1:] == (32, 32, 1) and x.dtype.name == "float32" and 0 <= float(x.numpy().min()) and float(x.numpy().max()) <= 1
    assert data.source_files == records.shard_counts(med_pack)

    result = train(task, cfg, prepare_run(task, cfg, tmp_path / "run"))
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert {"accuracy", "macro_roc_auc", "ece", "from_scratch"} <= set(metrics)
    assert json.loads((result.run_dir / "status.json").read_text())["phases_done"] == ["fine_tune", "head"]
    provenance = json.loads((result.run_dir / "metadata.json").read_text())["data"]
    info = packs.read_pack(med_pack, "medical_imaging")
    assert provenance["packed_data"] == str(med_pack) and provenance["split_stratified"] is False
    assert provenance["train_images"] == info["splits"]["train"]["rows"]


def test_bad_packs_and_images_are_one_line_errors(capsys, tmp_path, med_pack, image_folder):
    broken = tmp_path / "broken"
    shutil.copytree(med_pack, broken)
    (broken / "train" / "part-00001.tfrecord").unlink()
    code, _, err = cli(capsys, "train", "medical_imaging", "--data", str(broken), "--run-dir", str(tmp_path / "r1"))
    assert code == 2 and "part-00001.tfrecord listed in the manifest is missing" in err and one_error_line(err)

    corrupt = tmp_path / "corrupt"
    shutil.copytree(med_pack, corrupt)
    shard = corrupt / "validation" / "part-00000.tfrecord"
    raw = bytearray(shard.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    shard.write_bytes(bytes(raw))
    code, _, err = cli(capsys, "train", "medical_imaging", "--data", str(corrupt), "--run-dir", str(tmp_path / "r2"))
    assert code == 2 and "does not match its manifest checksum" in err and one_error_line(err)

    # A PNG damaged in the middle passes the header checks and fails when it is decoded.
    images = tmp_path / "images"
    shutil.copytree(image_folder.parent, images)
    bad = sorted((images / "normal").glob("*.png"))[0]
    raw = bytearray(bad.read_bytes())
    raw[60:80] = b"\x00" * 20
    bad.write_bytes(bytes(raw))
    code, _, err = cli(capsys, "data", "pack", "medical_imaging", "--data", str(images / "manifest.csv"), "--out", str(tmp_path / "p"), "--set", "data.image_size=32")
    assert code == 2 and str(bad) in err and one_error_line(err)
    assert not (tmp_path / "p").exists()


def test_segmentation_and_in_memory_sources_cannot_pack(tmp_path, med_pack):
    seg = get_task("medical_imaging", "segmentation")
    with pytest.raises(UnsupportedError):
        seg.pack(seg.resolve_config(), med_pack, tmp_path / "s")
    with pytest.raises(UnsupportedError, match="cannot train from a pack"):
        seg.load_data(seg.resolve_config(overrides=[f"data.path={med_pack}"]), tmp_path)
    npz = tmp_path / "m.npz"
    np.savez(npz, train_images=np.zeros((4, 8, 8)), train_labels=np.zeros(4))
    with pytest.raises(UnsupportedError, match="medmnist source"):
        pack(npz, tmp_path / "n")
