import numpy as np
import pandas as pd
import pytest
from PIL import Image

from domains.medical_imaging.config import CLASSES, MEDMNIST_LABELS, MedicalDataConfig
from domains.medical_imaging.pipeline import make_dataset
from domains.medical_imaging.sources import load_images, resolve_source
from domains.medical_imaging.splits import assign_splits, split_summary
from domains.medical_imaging.synthetic import build_dicom, write_synthetic_folder
from shared.data.splits import SplitConfig
from shared.errors import DataError


def assert_one_line(excinfo, *fragments):
    message = str(excinfo.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message


@pytest.fixture(scope="module")
def png_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("png")
    write_synthetic_folder(root, 90, seed=4)
    return root


@pytest.fixture(scope="module")
def dcm_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("dcm")
    write_synthetic_folder(root, 90, seed=5, fmt="dcm")
    return root


def no_patient_in_two_splits(frame, assign):
    owners = pd.Series(assign).groupby(frame["patient_id"].to_numpy()).nunique()
    return bool((owners == 1).all())


# --- source inference ---


def test_source_inferred_from_path(png_tree, dcm_tree, tmp_path):
    assert resolve_source(MedicalDataConfig()) == "synthetic"
    assert resolve_source(MedicalDataConfig(path=str(png_tree))) == "folder"
    assert resolve_source(MedicalDataConfig(path=str(dcm_tree))) == "dicom"
    assert resolve_source(MedicalDataConfig(path=str(png_tree / "manifest.csv"))) == "manifest"
    (tmp_path / "x.npz").write_bytes(b"")
    assert resolve_source(MedicalDataConfig(path=str(tmp_path / "x.npz"))) == "medmnist"
    assert resolve_source(MedicalDataConfig(source="folder", path=str(dcm_tree))) == "folder"
    (tmp_path / "x.h5").write_bytes(b"")
    with pytest.raises(DataError) as excinfo:
        resolve_source(MedicalDataConfig(path=str(tmp_path / "x.h5")))
    assert_one_line(excinfo, "x.h5", "data.source")
    with pytest.raises(DataError) as excinfo:
        load_images(MedicalDataConfig(path=str(tmp_path / "nowhere")))
    assert_one_line(excinfo, "data path not found")
    with pytest.raises(DataError) as excinfo:
        load_images(MedicalDataConfig(source="folder"))
    assert_one_line(excinfo, "needs data.path")


# --- image folders ---


def test_folder_loader_mixed_formats_ignores_hidden_files(png_tree, tmp_path):
    root = tmp_path / "tree"
    for name in ("normal", "pneumonia"):
        (root / name / "sub").mkdir(parents=True)
    Image.fromarray(np.full((40, 30), 100, np.uint8)).save(root / "normal" / "a.png")
    Image.fromarray(np.full((30, 30), 60000, np.uint16)).save(root / "normal" / "sub" / "b16.PNG")
    Image.fromarray(np.full((30, 30, 3), 200, np.uint8)).save(root / "pneumonia" / "c.jpg")
    build_dicom(np.full((30, 30), 500, np.uint16), "P1").save_as(root / "pneumonia" / "d.dcm", enforce_file_format=True)
    (root / "normal" / ".DS_Store").write_bytes(b"junk")
    (root / "normal" / "._a.png").write_bytes(b"junk")
    (root / "normal" / "notes.txt").write_text("ignored")
    (root / ".cache").mkdir()
    (root / "pneumonia" / ".thumbs").mkdir()
    (root / "pneumonia" / ".thumbs" / "t.png").write_bytes(b"junk")
    images = load_images(MedicalDataConfig(path=str(root), image_size=32))
    assert images.classes == ["normal", "pneumonia"]
    assert sorted(p.rsplit("/", 1)[-1] for p in images.frame["path"]) == ["a.png", "b16.PNG", "c.jpg", "d.dcm"]
    assert images.frame["patient_id"].isna().all() and not images.has_patients
    assert images.images is None and images.provenance["format"] == "image folders"
    b16 = images.image(int(np.flatnonzero(images.frame["path"].str.endswith("b16.PNG"))[0]))
    assert b16.shape == (32, 32, 1) and np.isclose(b16.max(), 60000 / 65535, atol=1e-3)


def test_folder_split_is_stratified_random_without_patient_ids(png_tree):
    images = load_images(MedicalDataConfig(path=str(png_tree)))
    assert images.classes == sorted(CLASSES) and len(images) == 90
    assign = assign_splits(images, seed=0)
    assert set(assign) == {"train", "validation", "test"}
    for name in ("validation", "test"):
        assert set(images.frame["label"][assign == name]) == {0, 1, 2}
    assert split_summary(images, assign)["train_patients"] is None


def test_class_folder_without_images(tmp_path):
    for name in ("normal", "nodule"):
        (tmp_path / name).mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "normal" / "a.png")
    (tmp_path / "nodule" / "readme.txt").write_text("no images yet")
    with pytest.raises(DataError) as excinfo:
        load_images(MedicalDataConfig(path=str(tmp_path), source="folder"))
    assert_one_line(excinfo, str(tmp_path / "nodule"), "has no images")
    # Leaving the empty class out with data.classes loads the rest... which is one class.
    with pytest.raises(DataError) as excinfo:
        load_images(MedicalDataConfig(path=str(tmp_path), source="folder", classes=["normal"]))
    assert_one_line(excinfo, "only one class")


def test_folder_without_class_folders(tmp_path):
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "a.png")
    with pytest.raises(DataError) as excinfo:
        load_images(MedicalDataConfig(path=str(tmp_path), source="folder"))
    assert_one_line(excinfo, str(tmp_path), "no class sub-folders")


def test_classes_select_and_order(png_tree):
    images = load_images(MedicalDataConfig(path=str(png_tree), classes=["opacity", "normal"]))
    assert images.classes == ["opacity", "normal"]
    assert set(images.frame["label_name"]) == {"opacity", "normal"}
    assert (images.frame["label"] == images.frame["label_name"].map({"opacity": 0, "normal": 1})).all()
    with pytest.raises(DataError) as excinfo:
        load_images(MedicalDataConfig(path=str(png_tree / "manifest.csv"), classes=["normal", "effusion"]))
    assert_one_line(excinfo, "'effusion'", "found: nodule, normal, opacity")


def test_verify_decode_finds_files_corrupt_inside(png_tree, tmp_path):
    import shutil

    root = tmp_path / "tree"
    shutil.copytree(png_tree, root)
    victim = sorted((root / "normal").glob("*.png"))[0]
    data = bytearray(victim.read_bytes())
    for i in range(60, len(data) - 40, 5):  # corrupt the image data, keep the end chunk
        data[i] ^= 0x5A
    victim.write_bytes(bytes(data))
    for verify in ("header", "decode"):  # the header check reads every PNG chunk's CRC
        with pytest.raises(DataError) as excinfo:
            load_images(MedicalDataConfig(path=str(root), verify=verify))
        assert_one_line(excinfo, str(victim), "corrupt")

    # Chunks intact (lengths, CRCs, end chunk) but the image data stops halfway:
    # the header check passes, the default full decode finds it.
    import struct
    import zlib

    png = (png_tree / "normal" / victim.name).read_bytes()
    start = png.index(b"IDAT") - 4
    half = png[start + 8 : start + 8 + struct.unpack(">I", png[start : start + 4])[0] // 2]
    victim.write_bytes(png[:start] + struct.pack(">I", len(half)) + b"IDAT" + half + struct.pack(">I", zlib.crc32(b"IDAT" + half)) + png[-12:])
    assert len(load_images(MedicalDataConfig(path=str(root), verify="header"))) == 90
    with pytest.raises(DataError) as excinfo:
        load_images(MedicalDataConfig(path=str(root)))
    assert_one_line(excinfo, str(victim), "truncated or corrupt")


def test_truncated_file_found_when_loading(png_tree, tmp_path):
    import shutil

    root = tmp_path / "tree"
    shutil.copytree(png_tree, root)
    victim = sorted((root / "opacity").glob("*.png"))[1]
    victim.write_bytes(victim.read_bytes()[:-30])
    with pytest.raises(DataError) as excinfo:
        load_images(MedicalDataConfig(path=str(root)))
    assert_one_line(excinfo, str(victim), "truncated")


# --- DICOM folders ---


def test_dicom_folder_patient_ids_and_patient_split(dcm_tree):
    images = load_images(MedicalDataConfig(path=str(dcm_tree)))
    manifest = pd.read_csv(dcm_tree / "manifest.csv")
    by_path = dict(zip(manifest["path"], manifest["patient_id"]))
    for path, patient in zip(images.frame["path"], images.frame["patient_id"]):
        assert by_path[str(path)[len(str(dcm_tree)) + 1 :]] == patient
    assert images.has_patients and images.frame["patient_id"].value_counts().max() > 1
    assign = assign_splits(images, seed=1)
    assert set(assign) == {"train", "validation", "test"}
    assert no_patient_in_two_splits(images.frame, assign)
    summary = split_summary(images, assign)
    assert sum(summary[f"{s}_patients"] for s in ("train", "validation", "test")) == images.frame["patient_id"].nunique()
    # A random split by image is still possible on request, and leaks patients.
    leaky = assign_splits(load_images(MedicalDataConfig(path=str(dcm_tree), split=SplitConfig(type="random"))), seed=1)
    assert not no_patient_in_two_splits(images.frame, leaky)


def test_dicom_files_missing_patient_id(dcm_tree, tmp_path):
    import shutil

    import pydicom

    root = tmp_path / "tree"
    shutil.copytree(dcm_tree, root)
    victim = sorted((root / "nodule").glob("*.dcm"))[0]
    ds = pydicom.dcmread(victim)
    del ds.PatientID
    ds.save_as(victim, enforce_file_format=True)
    images = load_images(MedicalDataConfig(path=str(root)))
    assert images.frame["patient_id"].isna().sum() == 1
    with pytest.raises(DataError) as excinfo:
        assign_splits(images, seed=0)
    assert_one_line(excinfo, "1 of 90 images have no patient id", str(victim), "data.split.type")
    images = load_images(MedicalDataConfig(path=str(root), split=SplitConfig(type="random")))
    assert len(assign_splits(images, seed=0)) == 90


def test_dicom_folder_rejects_dicom_without_pixels(dcm_tree, tmp_path):
    import shutil

    import pydicom

    root = tmp_path / "tree"
    shutil.copytree(dcm_tree, root)
    victim = sorted((root / "normal").glob("*.dcm"))[0]
    ds = pydicom.dcmread(victim)
    del ds.PixelData
    ds.save_as(victim, enforce_file_format=True)
    with pytest.raises(DataError) as excinfo:
        load_images(MedicalDataConfig(path=str(root)))
    assert_one_line(excinfo, str(victim), "has no pixel data")


# --- manifests ---


def test_manifest_relative_paths_and_patient_split(png_tree):
    images = load_images(MedicalDataConfig(path=str(png_tree / "manifest.csv")))
    assert len(images) == 90 and images.has_patients
    assert all(p.startswith(str(png_tree)) for p in images.frame["path"])
    assign = assign_splits(images, seed=2)
    assert no_patient_in_two_splits(images.frame, assign)
    assert images.provenance["patients"] == images.frame["patient_id"].nunique()


def test_manifest_columns_absolute_paths_and_no_patients(png_tree, tmp_path):
    table = pd.read_csv(png_tree / "manifest.csv")
    table = pd.DataFrame({"file": [str(png_tree / p) for p in table["path"]], "finding": table["label"]})
    table.to_parquet(tmp_path / "m.parquet")
    images = load_images(MedicalDataConfig(path=str(tmp_path / "m.parquet"), path_column="file", label_column="finding"))
    assert len(images) == 90 and not images.has_patients
    assert set(assign_splits(images, seed=0)) == {"train", "validation", "test"}
    with pytest.raises(DataError) as excinfo:
        load_images(MedicalDataConfig(path=str(tmp_path / "m.parquet")))
    assert_one_line(excinfo, "missing column(s) 'path', 'label'")


def test_manifest_missing_files(png_tree, tmp_path):
    table = pd.read_csv(png_tree / "manifest.csv")
    table["path"] = [str(png_tree / p) for p in table["path"]]
    table.loc[[3, 10, 20, 30, 40], "path"] = [f"gone/{i}.png" for i in range(5)]
    table.to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(DataError) as excinfo:
        load_images(MedicalDataConfig(path=str(tmp_path / "m.csv")))
    assert_one_line(excinfo, "lists 5 missing image file(s)", str(tmp_path / "gone" / "0.png"), "2.png, ...")
    assert "3.png" not in str(excinfo.value)


def test_manifest_time_split_and_bad_split_column(png_tree, tmp_path):
    table = pd.read_csv(png_tree / "manifest.csv")
    table["study_date"] = pd.date_range("2024-01-01", periods=len(table), freq="D").astype(str)
    table.to_csv(png_tree / "dated.csv", index=False)
    cfg = MedicalDataConfig(path=str(png_tree / "dated.csv"), split=SplitConfig(type="time", column="study_date"))
    images = load_images(cfg)
    assign = assign_splits(images, seed=0)
    dates = pd.to_datetime(images.frame["study_date"])
    assert dates[assign == "train"].max() < dates[assign == "test"].min()
    bad = cfg.model_copy(update={"split": SplitConfig(type="group", column="hospital")})
    with pytest.raises(DataError) as excinfo:
        assign_splits(load_images(bad), seed=0)
    assert_one_line(excinfo, "'hospital'", "data.split.column")
    # Numeric times work too; text that is no date and gaps are reported.
    table["study_date"] = np.arange(len(table))[::-1]
    table.to_csv(png_tree / "dated.csv", index=False)
    assign = assign_splits(load_images(cfg), seed=0)
    assert (images.frame.index[assign == "test"] < 20).all()
    for values, fragment in ((["soon"] * len(table), "neither a number nor a date at row 1"), ([None] + [1] * (len(table) - 1), "missing values")):
        table["study_date"] = values
        table.to_csv(png_tree / "dated.csv", index=False)
        with pytest.raises(DataError) as excinfo:
            assign_splits(load_images(cfg), seed=0)
        assert_one_line(excinfo, "'study_date'", fragment)


# --- MedMNIST ---


def medmnist_npz(path, rgb=False, sizes=(60, 20, 20), side=28, **overrides):
    rng = np.random.default_rng(0)
    arrays = {}
    for prefix, n in zip(("train", "val", "test"), sizes):
        shape = (n, side, side, 3) if rgb else (n, side, side)
        arrays[f"{prefix}_images"] = rng.integers(0, 256, shape, dtype=np.uint8)
        arrays[f"{prefix}_labels"] = (np.arange(n) % 2).reshape(n, 1).astype(np.uint8)
    arrays.update(overrides)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez(path, **arrays)
    return path


def test_medmnist_keeps_official_splits_and_label_names(tmp_path):
    path = medmnist_npz(tmp_path / "pneumoniamnist.npz")
    images = load_images(MedicalDataConfig(path=str(path)))
    assert images.classes == list(MEDMNIST_LABELS["pneumoniamnist"])
    assert images.images.shape == (100, 28, 28, 1) and images.frame["label"].dtype == np.int32
    np.testing.assert_array_equal(images.frame["label"], np.r_[np.arange(60) % 2, np.arange(20) % 2, np.arange(20) % 2])
    assign = assign_splits(images, seed=0)
    assert list(pd.Series(assign).value_counts().sort_index().items()) == [("test", 20), ("train", 60), ("validation", 20)]
    assert (assign[:60] == "train").all() and (assign[60:80] == "validation").all()
    first = images.image(0)
    assert first.shape == (64, 64, 1) and first.dtype == np.float32
    np.testing.assert_allclose(load_images(MedicalDataConfig(path=str(path), image_size=28)).image(0)[..., 0], images.images[0, ..., 0] / 255, atol=1e-6)
    # An explicit split re-splits the pool.
    resplit = assign_splits(load_images(MedicalDataConfig(path=str(path), split=SplitConfig())), seed=0)
    assert not np.array_equal(resplit, assign)


def test_medmnist_rgb_becomes_grey_and_unknown_flags_get_numbers(tmp_path):
    path = medmnist_npz(tmp_path / "bloodmnist.npz", rgb=True)
    images = load_images(MedicalDataConfig(path=str(path), image_size=28))
    assert images.classes == ["0", "1"]
    rgb = images.images[0].astype(np.float32) / 255
    expected = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    np.testing.assert_allclose(images.image(0)[..., 0], expected, atol=1e-5)


def test_medmnist_folder_flag_and_size_specific_file(tmp_path):
    medmnist_npz(tmp_path / "pneumoniamnist.npz")
    medmnist_npz(tmp_path / "pneumoniamnist_64.npz", side=64)
    sized = load_images(MedicalDataConfig(source="medmnist", path=str(tmp_path), image_size=64))
    assert sized.images.shape[1:3] == (64, 64) and sized.provenance["flag"] == "pneumoniamnist"
    plain = load_images(MedicalDataConfig(source="medmnist", path=str(tmp_path), image_size=32))
    assert plain.images.shape[1:3] == (28, 28)
    with pytest.raises(DataError) as excinfo:
        load_images(MedicalDataConfig(source="medmnist", path=str(tmp_path), medmnist_flag="breastmnist"))
    assert_one_line(excinfo, "MedMNIST file not found", "breastmnist.npz", "https://zenodo.org/records/10519652/files/breastmnist.npz")


def test_medmnist_default_folder(tmp_path, monkeypatch):
    from domains.medical_imaging import sources

    monkeypatch.setattr(sources, "MEDMNIST_ROOT", tmp_path)
    medmnist_npz(tmp_path / "pneumoniamnist.npz")
    images = load_images(MedicalDataConfig(source="medmnist"))
    assert images.provenance["source"] == str(tmp_path / "pneumoniamnist.npz")


@pytest.mark.parametrize(
    "overrides, fragments",
    [
        ({"val_labels": None}, ["not in MedMNIST layout", "missing val_labels"]),
        ({"train_images": np.zeros((60, 28, 28, 28), np.uint8)}, ["train_images has shape (60, 28, 28, 28)"]),
        ({"test_images": np.zeros((20,), np.uint8)}, ["test_images has shape (20,)"]),
        ({"train_labels": np.zeros((60, 14), np.uint8)}, ["(60, 14)", "multi-label"]),
        ({"val_labels": np.zeros((19, 1), np.uint8)}, ["val_labels has shape (19, 1) for 20 images"]),
        ({"test_labels": np.full((20, 1), 2, np.uint8)}, ["label 2 is out of range", "2 classes"]),
        ({"val_images": np.zeros((20, 32, 32), np.uint8)}, ["images of different shapes"]),
    ],
)
def test_medmnist_bad_layouts(tmp_path, overrides, fragments):
    path = medmnist_npz(tmp_path / "pneumoniamnist.npz", **overrides)
    with pytest.raises(DataError) as excinfo:
        load_images(MedicalDataConfig(path=str(path)))
    assert_one_line(excinfo, str(path), *fragments)


def test_medmnist_unreadable_file(tmp_path):
    path = tmp_path / "pneumoniamnist.npz"
    path.write_bytes(b"PK\x03\x04 broken zip")
    with pytest.raises(DataError) as excinfo:
        load_images(MedicalDataConfig(path=str(path)))
    assert_one_line(excinfo, f"could not read {path} as .npz")


# --- synthetic source, limit, tf.data ---


def test_synthetic_source_patient_split_and_limit():
    cfg = MedicalDataConfig(synthetic_images=300, synthetic_seed=3, image_size=32)
    images = load_images(cfg)
    assert images.images.shape == (300, 32, 32, 1) and images.masks.shape == (300, 32, 32, 1)
    assert images.classes == list(CLASSES) and images.provenance["synthetic"]
    assign = assign_splits(images, seed=0)
    assert no_patient_in_two_splits(images.frame, assign)
    limited = assign_splits(load_images(cfg.model_copy(update={"limit": 12})), seed=0)
    assert (limited == "train").sum() == 12
    np.testing.assert_array_equal(limited == "unlabelled", (assign == "train") & (limited != "train"))
    np.testing.assert_array_equal(limited[assign != "train"], assign[assign != "train"])
    assert set(np.bincount(images.frame["label"][limited == "train"], minlength=3)) == {4}
    assert split_summary(images, limited)["unlabelled_images"] == (assign == "train").sum() - 12


def test_make_dataset_streams_images_and_labels(png_tree):
    import tensorflow as tf

    for cfg in (
        MedicalDataConfig(path=str(png_tree), image_size=32),
        MedicalDataConfig(synthetic_images=60, image_size=32, channels=3),
    ):
        images = load_images(cfg)
        rows = np.zeros(len(images), bool)
        rows[[0, 5, 7, 20]] = True
        ds = make_dataset(images, rows)
        assert ds.element_spec[0].shape == (32, 32, cfg.channels) and ds.element_spec[0].dtype == tf.float32
        assert ds.element_spec[1].dtype == tf.int32 and int(ds.cardinality()) == 4
        got = list(ds.as_numpy_iterator())
        for (image, label), row in zip(got, [0, 5, 7, 20]):
            assert label == images.frame["label"][row]
            np.testing.assert_allclose(image, images.image(row), atol=1e-6)
    batch = next(iter(make_dataset(images).batch(16)))
    assert batch[0].shape == (16, 32, 32, 3)
