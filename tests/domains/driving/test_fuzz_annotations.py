"""Mutated annotation files through every driving reader.

Each reader must return a data set or raise one `DlsuiteError` line; any
other exception (a KeyError from a COCO field, a ValueError from a KITTI
number, an XML parser error) fails the test.
"""

import json
import shutil
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from tests_support import fuzz_settings

from domains.driving import sources
from domains.driving.synthetic import write_coco
from shared.errors import DlsuiteError

SIZE = (24, 32)


def _image(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((*SIZE, 3), 90, np.uint8)).save(path)


def _mutate(data: bytes, flips: list[tuple[int, int]], cut: int | None) -> bytes:
    out = bytearray(data)
    for position, value in flips:
        if out:
            out[position % len(out)] = value
    return bytes(out[:cut] if cut is not None else out)


MUTATIONS = st.tuples(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6), st.none() | st.integers(0, 4000))


def _only_one_line_errors(read) -> None:
    try:
        read()
    except DlsuiteError as exc:
        assert "\n" not in str(exc), str(exc)


@fuzz_settings()
@given(MUTATIONS, st.sampled_from(["bbox", "category_id", "image_id", "file_name", "width", "images", "categories"]), st.sampled_from([None, -5, 0, 1e9, "x", [], {}]))
def test_coco_json(tmp_path_factory, mutation, field, value):
    root = tmp_path_factory.mktemp("coco")
    path = write_coco(root, n=2, seed=1, height=32, width=48)
    data = json.loads(path.read_text())
    if data["annotations"] and field in data["annotations"][0]:
        data["annotations"][0][field] = value
    elif field in data["images"][0]:
        data["images"][0][field] = value
    else:
        data[field] = value
    path.write_bytes(_mutate(json.dumps(data).encode(), *mutation))
    _only_one_line_errors(lambda: sources.read_coco(path))


KITTI_LINE = b"Car 0.00 0 -1.57 2.0 3.0 20.0 18.0 1.5 1.6 3.9 1.0 1.5 10.0 0.0\nDontCare -1 -1 -10 5 5 9 9 -1 -1 -1 -1000 -1000 -1000 -10\n"


@fuzz_settings()
@given(MUTATIONS)
def test_kitti_labels(tmp_path_factory, mutation):
    root = tmp_path_factory.mktemp("kitti")
    _image(root / "image_2" / "000000.png")
    (root / "label_2").mkdir()
    (root / "label_2" / "000000.txt").write_bytes(_mutate(KITTI_LINE, *mutation))
    _only_one_line_errors(lambda: sources.read_kitti(root))


VOC = (
    b"<annotation><filename>a.jpg</filename><size><width>32</width><height>24</height><depth>3</depth></size>"
    b"<object><name>car</name><difficult>0</difficult><bndbox><xmin>2</xmin><ymin>3</ymin><xmax>20</xmax><ymax>18</ymax></bndbox></object>"
    b"</annotation>"
)


@fuzz_settings()
@given(MUTATIONS)
def test_voc_xml(tmp_path_factory, mutation):
    root = tmp_path_factory.mktemp("voc")
    _image(root / "JPEGImages" / "a.jpg")
    (root / "Annotations").mkdir()
    (root / "Annotations" / "a.xml").write_bytes(_mutate(VOC, *mutation))
    _only_one_line_errors(lambda: sources.read_voc(root))


@fuzz_settings()
@given(MUTATIONS)
def test_gtsrb_csv(tmp_path_factory, mutation):
    root = tmp_path_factory.mktemp("gtsrb")
    for label in (0, 1):
        folder = root / f"{label:05d}"
        _image(folder / f"{label:05d}_00000.png")
        csv = f"Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n{label:05d}_00000.png;32;24;1;1;20;20;{label}\n".encode()
        (folder / f"GT-{label:05d}.csv").write_bytes(_mutate(csv, *mutation) if label == 1 else csv)
    _only_one_line_errors(lambda: sources.read_gtsrb(root))


@fuzz_settings()
@given(MUTATIONS, st.sampled_from(["ids", "palette", "auto"]))
def test_label_png(tmp_path_factory, mutation, label_format):
    root = tmp_path_factory.mktemp("seg")
    _image(root / "images" / "a.png")
    (root / "labels").mkdir()
    label = root / "labels" / "a.png"
    ids = np.random.default_rng(0).integers(0, 10, SIZE, dtype=np.uint8)
    Image.fromarray(ids).save(label)
    label.write_bytes(_mutate(label.read_bytes(), *mutation))

    def read():
        found = sources.read_segmentation(root, label_format)
        for item in found.items:
            sources.decode_label(item.label, found.label_format)

    _only_one_line_errors(read)
    shutil.rmtree(root)
