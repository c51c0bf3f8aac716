import json

import numpy as np
import pytest
from PIL import Image

from domains.driving.classes import DETECTION_CLASSES, IGNORE_ID, SEGMENTATION_CLASSES, SEGMENTATION_NAMES
from domains.driving.sources import (
    decode_label,
    detect_format,
    read_coco,
    read_gtsrb,
    read_kitti,
    read_segmentation,
    read_voc,
)
from shared.errors import DataError

W, H = 32, 24
VEHICLE, PEDESTRIAN, SIGN, LIGHT = (DETECTION_CLASSES.index(c) for c in ("vehicle", "pedestrian", "traffic_sign", "traffic_light"))
COLOUR = {c.name: c.color for c in SEGMENTATION_CLASSES}


def raises_one_line(call, *fragments):
    with pytest.raises(DataError) as excinfo:
        call()
    message = str(excinfo.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert str(fragment) in message, message
    return message


def write_image(path, size=(W, H), mode="RGB", fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, 90 if mode in ("L", "P") else (90, 120, 30)).save(path, format=fmt)
    return path


def write_array(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode).save(path)
    return path


def id_label(values=(0, 5, 9, IGNORE_ID), size=(W, H)):
    """A uint8 label whose columns cycle through `values`."""
    cols = np.resize(np.asarray(values, np.uint8), size[0])
    return np.tile(cols, (size[1], 1))


# --- segmentation ---------------------------------------------------------------


@pytest.fixture
def ids_folder(tmp_path):
    root = tmp_path / "seg"
    for stem in ("a", "b"):
        write_image(root / "images" / f"{stem}.png")
        write_array(root / "labels" / f"{stem}.png", id_label())
    write_image(root / "images" / "c.jpg")
    write_array(root / "labels" / "c.png", id_label((3, 4)))
    (root / "images" / ".DS_Store").write_bytes(b"junk")
    return root


def test_segmentation_folder_with_id_labels_round_trips(ids_folder):
    data = read_segmentation(ids_folder)
    assert data.label_format == "ids"
    assert data.classes == SEGMENTATION_NAMES
    assert [(i.image.name, i.label.name) for i in data.items] == [("a.png", "a.png"), ("b.png", "b.png"), ("c.jpg", "c.png")]
    assert data.provenance["images"] == 3 and data.provenance["format"] == "segmentation_folder"
    np.testing.assert_array_equal(decode_label(data.items[0].label, data.label_format), id_label())
    decoded = decode_label(data.items[2].label, "ids")
    assert decoded.dtype == np.uint8 and decoded.shape == (H, W)
    np.testing.assert_array_equal(decoded, id_label((3, 4)))


def test_palette_labels_map_colours_and_black_to_ignore(tmp_path):
    root = tmp_path / "seg"
    write_image(root / "images" / "a.png")
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[:, :8] = COLOUR["road"]
    rgb[:, 8:16] = COLOUR["vehicle"]
    rgb[:, 16:24] = COLOUR["lane_marking"]  # black stays in the last columns
    write_array(root / "labels" / "a.png", rgb)
    data = read_segmentation(root)
    assert data.label_format == "palette"
    ids = decode_label(data.items[0].label, data.label_format)
    assert ids[0, 0] == 0 and ids[0, 8] == 6 and ids[0, 16] == 5 and ids[0, 24] == IGNORE_ID
    assert set(np.unique(ids)) == {0, 5, 6, IGNORE_ID}


def cityscapes_tree(root, label_kind="labelIds", label=None):
    stem = "aachen_000000_000019"
    write_image(root / "leftImg8bit" / "train" / "aachen" / f"{stem}_leftImg8bit.png")
    write_image(root / "leftImg8bit" / "val" / "bonn" / "bonn_000001_000019_leftImg8bit.png")
    ids = id_label((7, 26, 24, 17, 0, 33, 23, 3)) if label is None else label
    write_array(root / "gtFine" / "train" / "aachen" / f"{stem}_gtFine_{label_kind}.png", ids)
    write_array(root / "gtFine" / "val" / "bonn" / f"bonn_000001_000019_gtFine_{label_kind}.png", ids)
    # Instance files sit beside the labels in real Cityscapes and must not count as labels.
    write_array(root / "gtFine" / "train" / "aachen" / f"{stem}_gtFine_instanceIds.png", id_label((1,)))
    return root


def test_cityscapes_label_ids_map_onto_our_classes(tmp_path):
    root = cityscapes_tree(tmp_path / "cs")
    assert detect_format(root) == "cityscapes"
    data = read_segmentation(root)
    assert data.label_format == "cityscapes"
    assert [i.split for i in data.items] == ["train", "val"]
    assert data.provenance["splits"] == {"train": 1, "val": 1}
    assert data.items[0].label.name.endswith("_gtFine_labelIds.png")
    ids = decode_label(data.items[0].label, "cityscapes")
    # road, car, person, pole (not ours), unlabeled, bicycle, sky, out of roi
    np.testing.assert_array_equal(ids[0, :8], [0, 6, 7, IGNORE_ID, IGNORE_ID, 6, 4, IGNORE_ID])


def test_cityscapes_colour_labels_when_no_label_ids(tmp_path):
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[:, :8] = (128, 64, 128)  # road
    rgb[:, 8:16] = (0, 0, 70)  # truck -> vehicle
    rgb[:, 16:24] = (153, 153, 153)  # pole -> ignore
    root = cityscapes_tree(tmp_path / "cs", "color", np.dstack([rgb, np.full((H, W), 255, np.uint8)]))
    data = read_segmentation(root)
    assert data.items[0].label.name.endswith("_gtFine_color.png")
    ids = decode_label(data.items[0].label, data.label_format)
    np.testing.assert_array_equal(ids[0, [0, 8, 16, 24]], [0, 6, IGNORE_ID, IGNORE_ID])


def test_unknown_cityscapes_colour_is_refused(tmp_path):
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[2, 3] = (1, 2, 3)
    path = write_array(tmp_path / "x_gtFine_color.png", rgb)
    raises_one_line(lambda: decode_label(path, "cityscapes"), path, "(1, 2, 3)", "1 pixels", "x=3, y=2", "Cityscapes class colour")


def test_id_label_value_outside_classes_names_value_and_hint(tmp_path):
    path = write_array(tmp_path / "labels" / "a.png", id_label((0, 17)))
    raises_one_line(lambda: decode_label(path, "ids"), path, "label value 17", "not a class id (0..9) or 255", "label_format=cityscapes")


def test_palette_label_with_unknown_colour_names_colour_and_count(tmp_path):
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[:, :] = COLOUR["road"]
    rgb[0, 5:9] = (12, 34, 56)
    path = write_array(tmp_path / "a.png", rgb)
    raises_one_line(lambda: decode_label(path, "palette"), path, "(12, 34, 56)", "4 pixels", "x=5, y=0")


def test_mask_size_must_match_its_image(tmp_path):
    root = tmp_path / "seg"
    image = write_image(root / "images" / "a.png", (160, 96))
    label = write_array(root / "labels" / "a.png", id_label(size=(80, 40)))
    raises_one_line(lambda: read_segmentation(root), f"{label}: mask is 80x40 but its image {image} is 160x96")


def test_image_without_label_and_label_without_image(tmp_path):
    root = tmp_path / "seg"
    write_image(root / "images" / "a.png")
    write_array(root / "labels" / "a.png", id_label())
    write_image(root / "images" / "lonely.png")
    raises_one_line(lambda: read_segmentation(root), "lonely.png has no label", root / "labels" / "lonely.png")
    (root / "images" / "lonely.png").unlink()
    write_array(root / "labels" / "orphan.png", id_label())
    raises_one_line(lambda: read_segmentation(root), "orphan.png has no image")


def test_empty_segmentation_folders_say_which_layout_is_expected(tmp_path):
    raises_one_line(lambda: read_segmentation(tmp_path), tmp_path, "images/", "leftImg8bit")
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    raises_one_line(lambda: read_segmentation(tmp_path), "has no images or labels", "root/labels/<name>.png")
    cs = tmp_path / "cs"
    (cs / "leftImg8bit").mkdir(parents=True)
    (cs / "gtFine").mkdir()
    raises_one_line(lambda: read_segmentation(cs), "no *_leftImg8bit.png images", "Cityscapes layout")


def test_label_mode_must_fit_the_label_format(ids_folder, tmp_path):
    raises_one_line(lambda: read_segmentation(ids_folder, "palette"), "label_format=palette reads class colours", "label_format=ids")
    rgb_label = write_array(tmp_path / "rgb.png", np.zeros((H, W, 3), np.uint8))
    raises_one_line(lambda: decode_label(rgb_label, "ids"), rgb_label, "label_format=palette")
    write_array(ids_folder / "labels" / "b.png", np.zeros((H, W, 3), np.uint8))
    raises_one_line(lambda: read_segmentation(ids_folder), "labels mix colour and single-channel PNGs")


def test_jpeg_labels_are_refused(tmp_path):
    root = tmp_path / "seg"
    write_image(root / "images" / "a.png")
    write_image(root / "labels" / "a.jpg", mode="L")
    raises_one_line(lambda: read_segmentation(root), "a.jpg", "labels must be PNG")


def test_images_over_the_pixel_limit_are_refused(ids_folder):
    raises_one_line(lambda: read_segmentation(ids_folder, max_pixels=W * H - 1), "a.png", "over the limit", f"{W * H - 1:,}")
    assert len(read_segmentation(ids_folder, max_pixels=W * H).items) == 3


# --- COCO -----------------------------------------------------------------------


def coco_file(tmp_path, annotations=None, images=None, categories=None):
    folder = tmp_path / "coco"
    write_image(folder / "images" / "a.png")
    write_image(folder / "images" / "b.png")
    data = {
        "images": images or [{"id": 1, "file_name": "a.png", "width": W, "height": H}, {"id": 2, "file_name": "b.png", "width": W, "height": H}],
        "categories": categories
        or [{"id": 1, "name": "car"}, {"id": 2, "name": "person"}, {"id": 3, "name": "traffic light"}, {"id": 4, "name": "tree"}],
        "annotations": annotations
        if annotations is not None
        else [
            {"id": 10, "image_id": 1, "category_id": 1, "bbox": [2, 3, 10, 5], "iscrowd": 0},
            {"id": 11, "image_id": 1, "category_id": 3, "bbox": [20.5, 1, 4, 8]},
            {"id": 12, "image_id": 1, "category_id": 4, "bbox": [0, 0, 5, 5]},
            {"id": 13, "image_id": 1, "category_id": 2, "bbox": [0, 0, 32, 24], "iscrowd": 1},
            {"id": 14, "image_id": 1, "category_id": 2, "bbox": [-0.5, 0, 6, 24.5]},
        ],
    }
    path = folder / "annotations.json"
    path.write_text(json.dumps(data))
    return path


def test_coco_boxes_labels_and_provenance(tmp_path):
    path = coco_file(tmp_path)
    assert detect_format(path) == "coco"
    data = read_coco(path)
    assert data.classes == DETECTION_CLASSES
    a, b = data.items
    assert a.image.name == "a.png" and (a.width, a.height) == (W, H)
    assert a.boxes.dtype == np.float32 and a.labels.dtype == np.int32
    np.testing.assert_allclose(a.boxes, [[2, 3, 12, 8], [20.5, 1, 24.5, 9], [0, 0, 5.5, 24]])  # last box clipped within tolerance
    np.testing.assert_array_equal(a.labels, [VEHICLE, LIGHT, PEDESTRIAN])
    assert b.boxes.shape == (0, 4) and b.labels.shape == (0,)  # an image without annotations is kept
    assert data.provenance["images"] == 2
    assert data.provenance["boxes"] == {"vehicle": 1, "pedestrian": 1, "traffic_sign": 0, "traffic_light": 1}
    assert data.provenance["dropped"] == {"tree": 1}
    assert data.provenance["crowd"] == 1


def test_coco_missing_image_file(tmp_path):
    images = [{"id": 17, "file_name": "x.png", "width": W, "height": H}]
    path = coco_file(tmp_path, annotations=[], images=images)
    raises_one_line(lambda: read_coco(path), f"{path}: image 17 'x.png' not found in {path.parent / 'images'}")


def test_coco_zero_area_box(tmp_path):
    path = coco_file(tmp_path, annotations=[{"id": 5, "image_id": 1, "category_id": 1, "bbox": [3, 4, 0, 6]}])
    raises_one_line(lambda: read_coco(path), f"{path}: annotation 5 (image 'a.png') has a zero-area box [3, 4, 0, 6]")


def test_coco_box_outside_the_image(tmp_path):
    path = coco_file(tmp_path, annotations=[{"id": 5, "image_id": 1, "category_id": 1, "bbox": [20, 4, 14, 6]}])
    raises_one_line(lambda: read_coco(path), f"{path}: annotation 5 box [20, 4, 14, 6] lies outside image 'a.png' ({W}x{H})")


def test_coco_unknown_category_id(tmp_path):
    path = coco_file(tmp_path, annotations=[{"id": 5, "image_id": 1, "category_id": 9, "bbox": [1, 1, 4, 4]}])
    raises_one_line(lambda: read_coco(path), path, "unknown class id 9 in annotation 5; categories are 1..4")


def test_coco_unknown_image_id(tmp_path):
    path = coco_file(tmp_path, annotations=[{"id": 5, "image_id": 99, "category_id": 1, "bbox": [1, 1, 4, 4]}])
    raises_one_line(lambda: read_coco(path), path, "annotation 5 refers to image id 99")


def test_coco_malformed_json_missing_keys_and_constants(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"images": [1, 2,}')
    raises_one_line(lambda: read_coco(bad), bad, "is not valid JSON", "line 1")
    bad.write_text('{"images": [], "categories": []}')
    raises_one_line(lambda: read_coco(bad), bad, "missing key(s) 'annotations'")
    bad.write_text('{"images": [], "categories": [], "annotations": [{"image_id": NaN}]}')
    raises_one_line(lambda: read_coco(bad), bad, "NaN")
    raises_one_line(lambda: read_coco(tmp_path / "absent.json"), "not found", "absent.json")


def test_coco_size_must_match_the_image_header(tmp_path):
    images = [{"id": 1, "file_name": "a.png", "width": 64, "height": H}]
    path = coco_file(tmp_path, annotations=[], images=images)
    raises_one_line(lambda: read_coco(path), path, f"image 1 'a.png' is {W}x{H}, but the JSON gives width 64")


# --- KITTI ----------------------------------------------------------------------

KITTI_LINES = [
    "Car 0.00 0 -1.58 2.00 3.00 12.50 8.00 1.5 1.6 3.9 1.8 1.5 8.4 0.01",
    "DontCare -1 -1 -10 20.00 1.00 30.00 5.00 -1 -1 -1 -1000 -1000 -1000 -10",
    "Pedestrian 0.00 0 0.2 25.00 4.00 31.50 23.00 1.7 0.6 0.8 2.1 1.6 9.9 0.3",
    "DontCare -1 -1 -10 0.00 0.00 3.00 3.00 -1 -1 -1 -1000 -1000 -1000 -10",
    "Misc 0.00 0 0.0 1.00 1.00 2.00 2.00 1 1 1 1 1 1 0",
]


def kitti_tree(tmp_path, lines=None):
    root = tmp_path / "kitti"
    write_image(root / "image_2" / "000000.png")
    write_image(root / "image_2" / "000001.png")
    (root / "label_2").mkdir(parents=True)
    (root / "label_2" / "000000.txt").write_text("\n".join(lines or KITTI_LINES) + "\n")
    (root / "label_2" / "000001.txt").write_text("")  # no objects
    return root


def test_kitti_boxes_and_dropped_dontcare(tmp_path):
    root = kitti_tree(tmp_path)
    assert detect_format(root) == "kitti"
    data = read_kitti(root)
    first, second = data.items
    np.testing.assert_allclose(first.boxes, [[2, 3, 12.5, 8], [25, 4, 31.5, 23]])
    np.testing.assert_array_equal(first.labels, [VEHICLE, PEDESTRIAN])
    assert second.boxes.shape == (0, 4)
    assert data.provenance["dropped"] == {"DontCare": 2, "Misc": 1}
    assert data.provenance["boxes"]["vehicle"] == 1 and data.provenance["boxes"]["pedestrian"] == 1


def test_kitti_malformed_line(tmp_path):
    root = kitti_tree(tmp_path, KITTI_LINES[:2] + ["Car 0 0 0 1 2 3"])
    raises_one_line(lambda: read_kitti(root), f"{root / 'label_2' / '000000.txt'} line 3: expected 15 fields, got 7")


def test_kitti_bad_numbers_and_boxes(tmp_path):
    label = tmp_path / "kitti" / "label_2" / "000000.txt"
    root = kitti_tree(tmp_path, ["Car 0.00 0 -1.58 2.00 x 12.50 8.00 1.5 1.6 3.9 1.8 1.5 8.4 0.01"])
    raises_one_line(lambda: read_kitti(root), label, "line 1: field 6 (y1) is 'x', not a number")
    label.write_text("Car 0.00 0 -1.58 2.00 3.00 40.00 8.00 1.5 1.6 3.9 1.8 1.5 8.4 0.01\n")
    raises_one_line(lambda: read_kitti(root), label, "line 1: box [2, 3, 40, 8] lies outside image '000000.png' (32x24)")
    label.write_text("Van 0.00 0 -1.58 5.00 3.00 5.00 8.00 1.5 1.6 3.9 1.8 1.5 8.4 0.01\n")
    raises_one_line(lambda: read_kitti(root), label, "line 1 has a zero-area box [5, 3, 5, 8]")


def test_kitti_missing_label_and_empty_layout(tmp_path):
    root = kitti_tree(tmp_path)
    write_image(root / "image_2" / "000002.png")
    raises_one_line(lambda: read_kitti(root), "000002.png has no label", "000002.txt")
    empty = tmp_path / "empty"
    (empty / "image_2").mkdir(parents=True)
    raises_one_line(lambda: read_kitti(empty), empty, "no label_2/ folder", "KITTI object layout")
    (empty / "label_2").mkdir()
    raises_one_line(lambda: read_kitti(empty), empty, "no images or labels")


# --- Pascal VOC -----------------------------------------------------------------


def voc_object(name, box, difficult=0):
    xmin, ymin, xmax, ymax = box
    return (
        f"<object><name>{name}</name><difficult>{difficult}</difficult>"
        f"<bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin><xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox></object>"
    )


def voc_xml(objects, filename="a.jpg", size=(W, H), prolog=""):
    return (
        f'<?xml version="1.0"?>{prolog}<annotation><folder>VOC2012</folder><filename>{filename}</filename>'
        f"<size><width>{size[0]}</width><height>{size[1]}</height><depth>3</depth></size>{''.join(objects)}</annotation>"
    )


def voc_tree(tmp_path, objects=None, **kwargs):
    root = tmp_path / "voc"
    write_image(root / "JPEGImages" / "a.jpg", fmt="JPEG")
    (root / "Annotations").mkdir(parents=True)
    objects = objects if objects is not None else [voc_object("car", (1, 1, 10, 8), difficult=1), voc_object("person", (5, 2, 32, 24)), voc_object("dog", (1, 1, 4, 4))]
    (root / "Annotations" / "a.xml").write_text(voc_xml(objects, **kwargs))
    return root


def test_voc_boxes_convert_from_one_based_inclusive(tmp_path):
    root = voc_tree(tmp_path)
    assert detect_format(root) == "voc"
    data = read_voc(root)
    (item,) = data.items
    assert item.image.name == "a.jpg" and (item.width, item.height) == (W, H)
    np.testing.assert_allclose(item.boxes, [[0, 0, 10, 8], [4, 1, 32, 24]])
    np.testing.assert_array_equal(item.labels, [VEHICLE, PEDESTRIAN])
    assert data.provenance["dropped"] == {"dog": 1}
    assert data.provenance["difficult"] == 1


@pytest.mark.parametrize(
    "prolog, marker",
    [
        ('<!DOCTYPE lol [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>', "<!DOCTYPE"),
        ('<!ENTITY a SYSTEM "file:///etc/passwd">', "<!ENTITY"),
    ],
)
def test_voc_refuses_doctype_and_entity_declarations(tmp_path, prolog, marker):
    root = voc_tree(tmp_path, prolog=prolog)
    raises_one_line(lambda: read_voc(root), root / "Annotations" / "a.xml", marker, "refused")


def test_voc_refuses_utf16_and_oversized_files(tmp_path):
    root = voc_tree(tmp_path)
    xml = root / "Annotations" / "a.xml"
    xml.write_bytes(voc_xml([], prolog="<!DOCTYPE x>").encode("utf-16"))
    raises_one_line(lambda: read_voc(root), xml, "not UTF-8 XML")
    xml.write_bytes(b"<annotation>" + b" " * (1 << 20) + b"</annotation>")
    raises_one_line(lambda: read_voc(root), xml, "over the 1,048,576-byte limit")


def test_voc_box_checks_and_missing_image(tmp_path):
    root = voc_tree(tmp_path, [voc_object("car", (1, 1, 40, 8))])
    xml = root / "Annotations" / "a.xml"
    raises_one_line(lambda: read_voc(root), xml, "object 1 (car) box [1, 1, 40, 8] lies outside image 'a.jpg' (32x24)")
    xml.write_text(voc_xml([voc_object("bus", (9, 1, 8, 8))]))
    raises_one_line(lambda: read_voc(root), xml, "object 1 (bus) in image 'a.jpg' has a zero-area box [9, 1, 8, 8]")
    xml.write_text(voc_xml([], filename="missing.jpg"))
    raises_one_line(lambda: read_voc(root), xml, "image 'missing.jpg' not found in", root / "JPEGImages")
    xml.write_text("<annotation><filename>a.jpg</filename>")
    raises_one_line(lambda: read_voc(root), xml, "not well-formed XML")


def test_voc_empty_annotations_folder(tmp_path):
    root = tmp_path / "voc"
    (root / "Annotations").mkdir(parents=True)
    (root / "JPEGImages").mkdir()
    raises_one_line(lambda: read_voc(root), root / "Annotations", "no .xml annotations")


# --- GTSRB ----------------------------------------------------------------------


def gtsrb_tree(tmp_path, class_ids=(0, 1), names=True):
    root = tmp_path / "gtsrb"
    for cid in class_ids:
        folder = root / f"{cid:05d}"
        rows = ["Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId"]
        for k in range(2):
            name = f"00000_{k:05d}.ppm"
            write_image(folder / name, (30 + k, 28), fmt="PPM")
            rows.append(f"{name};{30 + k};28;{2 + k};3;{25 + k};24;{cid}")
        (folder / f"GT-{cid:05d}.csv").write_text("\n".join(rows) + "\n")
    if names:
        (root / "classes.csv").write_text("ClassId,name\n" + "".join(f"{cid},sign {cid}\n" for cid in class_ids))
    return root


def test_gtsrb_rois_labels_and_class_names(tmp_path):
    root = gtsrb_tree(tmp_path, (0, 14))
    assert detect_format(root) == "gtsrb"
    data = read_gtsrb(root)
    assert data.classes == ("sign 0", "sign 14")
    assert [p.name for p in data.paths] == ["00000_00000.ppm", "00000_00001.ppm"] * 2
    np.testing.assert_array_equal(data.labels, [0, 0, 1, 1])
    assert data.rois.dtype == np.int32
    np.testing.assert_array_equal(data.rois, [[2, 3, 25, 24], [3, 3, 26, 24]] * 2)
    assert data.provenance["class_ids"] == [0, 14]
    assert data.provenance["class_counts"] == {"sign 0": 2, "sign 14": 2}


def test_gtsrb_without_class_names(tmp_path):
    data = read_gtsrb(gtsrb_tree(tmp_path, names=False))
    assert data.classes == ("class_0", "class_1")


def test_gtsrb_classid_must_match_its_folder(tmp_path):
    root = gtsrb_tree(tmp_path)
    csv_path = root / "00001" / "GT-00001.csv"
    csv_path.write_text(csv_path.read_text().replace("24;1\n", "24;3\n", 1))
    raises_one_line(lambda: read_gtsrb(root), f"{csv_path} line 2: ClassId 3 does not match its folder 00001")


def test_gtsrb_roi_checks_and_missing_files(tmp_path):
    root = gtsrb_tree(tmp_path)
    csv_path = root / "00000" / "GT-00000.csv"
    good = csv_path.read_text()
    csv_path.write_text(good.replace("30;28;2;3;25;24", "30;28;2;3;35;24"))
    raises_one_line(lambda: read_gtsrb(root), csv_path, "line 2: ROI [2, 3, 35, 24] lies outside image '00000_00000.ppm' (30x28)")
    csv_path.write_text(good.replace("30;28;2;3;25;24", "30;28;9;3;9;24"))
    raises_one_line(lambda: read_gtsrb(root), csv_path, "line 2", "zero-area ROI [9, 3, 9, 24]")
    csv_path.write_text(good + "gone.ppm;30;28;1;1;5;5;0\n")
    raises_one_line(lambda: read_gtsrb(root), csv_path, "line 4: image 'gone.ppm' not found in")


def test_gtsrb_empty_folder_and_single_class(tmp_path):
    root = gtsrb_tree(tmp_path, (0,))
    raises_one_line(lambda: read_gtsrb(root), root, "only one class")
    (root / "00003").mkdir()
    raises_one_line(lambda: read_gtsrb(root), root / "00003", "has no GT-00003.csv")
    empty = tmp_path / "nothing"
    empty.mkdir()
    raises_one_line(lambda: read_gtsrb(empty), empty, "has no class folders")


def test_plain_class_folders(tmp_path):
    root = tmp_path / "signs"
    for name in ("stop", "yield"):
        for k in range(3):
            write_image(root / name / f"{k}.png")
    (root / "stop" / ".hidden.png").write_bytes(b"not an image")
    assert detect_format(root) == "class_folders"
    data = read_gtsrb(root)
    assert data.classes == ("stop", "yield") and data.rois is None
    np.testing.assert_array_equal(data.labels, [0, 0, 0, 1, 1, 1])
    (root / "keep_left").mkdir()
    raises_one_line(lambda: read_gtsrb(root), root / "keep_left", "has no images")
    (root / "keep_left").rmdir()
    raises_one_line(lambda: read_gtsrb(root, max_pixels=10), "0.png", "over the limit")


# --- layouts --------------------------------------------------------------------


def test_detect_format_of_folder_layouts(tmp_path, ids_folder):
    assert detect_format(ids_folder) == "segmentation_folder"
    raises_one_line(lambda: detect_format(tmp_path / "none"), "data path not found")
    unknown = tmp_path / "unknown"
    unknown.mkdir()
    raises_one_line(lambda: detect_format(unknown), unknown, "cityscapes", "coco", "kitti", "voc", "gtsrb", "class_folders")
    text = tmp_path / "notes.txt"
    text.write_text("x")
    raises_one_line(lambda: detect_format(text), text, "COCO .json")
