"""Driving data sets in the layouts the field publishes them: file paths plus numpy annotations, or one error line.

Readers:

- `read_segmentation`: `images/` + `labels/` folder pairs or the Cityscapes
  tree (`leftImg8bit/` + `gtFine/`); labels hold our class ids, the
  SEGMENTATION_CLASSES colours, or Cityscapes labelIds or colours, and
  `decode_label` turns any of them into class ids;
- `read_coco`: a COCO detection JSON;
- `read_kitti`: the KITTI object layout (`image_2/` + `label_2/`);
- `read_voc`: Pascal VOC XML (`Annotations/` + `JPEGImages/`);
- `read_gtsrb`: the GTSRB training layout (`<ClassId>/GT-<ClassId>.csv`)
  or plain class folders of sign crops.

`detect_format` names the layout of a path.

Everything that can be checked without decoding pixels is checked when a set
is read: every pairing, every image header (size and the pixel limit, through
`shared.inputs.image.open_image`), and every box against its image. A bad file
then stops the run before training rather than halfway through it. Label
pixel values are checked when `decode_label` decodes them.

Object names map onto DETECTION_CLASSES through DETECTION_ALIASES; objects
of other names (KITTI's DontCare and Misc, COCO's crowd regions) are dropped
and counted in the set's provenance, so a model card can say what the model
never saw. Files are read as data only: JSON through `json`, XML through
ElementTree with DOCTYPE and ENTITY declarations refused, CSV through `csv`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from domains.driving.classes import (
    CITYSCAPES_LABEL_IDS,
    DETECTION_ALIASES,
    DETECTION_CLASSES,
    IGNORE_ID,
    PALETTE,
    SEGMENTATION_CLASSES,
    SEGMENTATION_NAMES,
)
from shared.errors import DataError, first_line
from shared.inputs.image import MAX_PIXELS, PILLOW_ERRORS, open_image

FORMATS = ("cityscapes", "segmentation_folder", "coco", "kitti", "voc", "gtsrb", "class_folders")
LABEL_FORMATS = ("ids", "palette", "cityscapes")

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
SIGN_SUFFIXES = (".png", ".ppm", ".jpg", ".jpeg", ".bmp")

# How far a box may overhang its image: annotation tools round to the pixel grid.
BOX_TOLERANCE = 1.0

MAX_JSON_BYTES = 1 << 30  # COCO train2017's instances file is about 450 MB
MAX_XML_BYTES = 1 << 20  # a VOC annotation is a few kB
MAX_TEXT_BYTES = 16 << 20  # KITTI label files, GTSRB CSVs, classes.csv

FOLDER_LAYOUT = "root/images/<name>.png|jpg with root/labels/<name>.png"
CITYSCAPES_LAYOUT = (
    "root/leftImg8bit/<split>/<city>/<name>_leftImg8bit.png with root/gtFine/<split>/<city>/<name>_gtFine_labelIds.png"
)
KITTI_LAYOUT = "root/image_2/<name>.png with root/label_2/<name>.txt"
VOC_LAYOUT = "root/Annotations/<name>.xml with root/JPEGImages/ (or root/images/)"
GTSRB_LAYOUT = "root/<ClassId>/GT-<ClassId>.csv with the images it lists"
LAYOUTS = (
    "cityscapes (leftImg8bit/ + gtFine/), segmentation_folder (images/ + labels/), coco (a .json file), "
    "kitti (image_2/ + label_2/), voc (Annotations/ + JPEGImages/), gtsrb (<ClassId>/GT-<ClassId>.csv), "
    "class_folders (one folder of images per class)"
)

KITTI_FIELDS = ("type", "truncated", "occluded", "alpha", "x1", "y1", "x2", "y2", "h", "w", "l", "x", "y", "z", "ry")
GTSRB_COLUMNS = ("Filename", "Width", "Height", "Roi.X1", "Roi.Y1", "Roi.X2", "Roi.Y2", "ClassId")

# Cityscapes labelId -> colour of its `*_gtFine_color.png` files (cityscapesScripts helpers/labels.py).
_CITYSCAPES_COLOURS: tuple[tuple[int, tuple[int, int, int]], ...] = (
    (0, (0, 0, 0)), (1, (0, 0, 0)), (2, (0, 0, 0)), (3, (0, 0, 0)), (4, (0, 0, 0)),
    (5, (111, 74, 0)), (6, (81, 0, 81)), (7, (128, 64, 128)), (8, (244, 35, 232)), (9, (250, 170, 160)),
    (10, (230, 150, 140)), (11, (70, 70, 70)), (12, (102, 102, 156)), (13, (190, 153, 153)), (14, (180, 165, 180)),
    (15, (150, 100, 100)), (16, (150, 120, 90)), (17, (153, 153, 153)), (18, (153, 153, 153)), (19, (250, 170, 30)),
    (20, (220, 220, 0)), (21, (107, 142, 35)), (22, (152, 251, 152)), (23, (70, 130, 180)), (24, (220, 20, 60)),
    (25, (255, 0, 0)), (26, (0, 0, 142)), (27, (0, 0, 70)), (28, (0, 60, 100)), (29, (0, 0, 90)),
    (30, (0, 0, 110)), (31, (0, 80, 100)), (32, (0, 0, 230)), (33, (119, 11, 32)),
)
# Colour -> our class id; labelIds sharing a colour (the void ones, pole and polegroup) map alike.
CITYSCAPES_COLOUR_IDS: dict[tuple[int, int, int], int] = {
    colour: CITYSCAPES_LABEL_IDS.get(label_id, IGNORE_ID) for label_id, colour in reversed(_CITYSCAPES_COLOURS)
}
PALETTE_IDS: dict[tuple[int, int, int], int] = {**PALETTE, (0, 0, 0): IGNORE_ID}

_INDEX_MODES = {"L", "P", "I", "I;16", "I;16L", "I;16B", "I;16N"}
_COLOUR_MODES = {"RGB", "RGBA"}


@dataclass
class SegmentationItem:
    """One image and its label PNG; `split` is the first sub-folder (Cityscapes' train/val/test), if any."""

    image: Path
    label: Path
    split: str | None = None


@dataclass
class SegmentationSet:
    """Image/label pairs whose labels `decode_label(item.label, label_format)` turns into class ids."""

    items: list[SegmentationItem]
    classes: tuple[str, ...]
    label_format: str  # "ids" | "palette" | "cityscapes"
    provenance: dict = field(default_factory=dict)


@dataclass
class DetectionItem:
    """One image and its boxes: float32 [N, 4] x_min, y_min, x_max, y_max in pixels; int32 [N] labels."""

    image: Path
    width: int
    height: int
    boxes: np.ndarray
    labels: np.ndarray  # index into DETECTION_CLASSES


@dataclass
class DetectionSet:
    """Images with boxes; provenance counts images, boxes per class and dropped objects per source name."""

    items: list[DetectionItem]
    classes: tuple[str, ...]
    provenance: dict = field(default_factory=dict)


@dataclass
class SignSet:
    """Sign crops with labels (int32 [N] into `classes`) and, for GTSRB, ROIs (int32 [N, 4] x1, y1, x2, y2)."""

    paths: list[Path]
    labels: np.ndarray
    rois: np.ndarray | None
    classes: tuple[str, ...]
    provenance: dict = field(default_factory=dict)


# --- files ----------------------------------------------------------------------


def _require_dir(path: Path, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{what} not found: {path}")
    if not path.is_dir():
        raise DataError(f"expected a folder of {what}, got a file: {path}")
    return path


def _visible(path: Path, root: Path) -> bool:
    return not any(part.startswith(".") for part in path.relative_to(root).parts)


def _files(folder: Path, suffixes: tuple[str, ...], recursive: bool = False) -> list[Path]:
    """Sorted files under `folder` with one of `suffixes`; hidden files and folders skipped."""
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in found if p.suffix.lower() in suffixes and _visible(p, folder) and p.is_file())


def _subfolders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _read_bytes(path: Path, limit: int, allow_empty: bool = False) -> bytes:
    """The bytes of a regular file no larger than `limit`."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"file not found: {path}")
    if not path.is_file():
        raise DataError(f"expected a file, got a directory: {path}")
    size = path.stat().st_size
    if size > limit:
        raise DataError(f"{path} is {size:,} bytes, over the {limit:,}-byte limit for this kind of file; is it the right file?")
    if size == 0 and not allow_empty:
        raise DataError(f"{path} is empty")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(f"could not read {path}: {exc.strerror or first_line(exc)}") from None


def _read_text(path: Path, limit: int, allow_empty: bool = False) -> str:
    raw = _read_bytes(path, limit, allow_empty)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text (undecodable byte at offset {exc.start}); save it as UTF-8") from None


def _header(path: Path, max_pixels: int) -> tuple[int, int, str, str]:
    """(width, height, mode, format) from the image's header; over `max_pixels` is refused."""
    with open_image(path, max_pixels) as im:
        return im.size[0], im.size[1], im.mode, im.format


def _by_stem(files: list[Path], folder: Path) -> dict[Path, Path]:
    """Relative path without suffix -> file; two files with one name (a.png, a.jpg) are ambiguous."""
    out: dict[Path, Path] = {}
    for f in files:
        key = f.relative_to(folder).with_suffix("")
        if key in out:
            raise DataError(f"{out[key]} and {f} have the same name; keep one file per name")
        out[key] = f
    return out


# --- segmentation ---------------------------------------------------------------


def read_segmentation(root: Path, label_format: str = "auto", max_pixels: int = MAX_PIXELS) -> SegmentationSet:
    """Pair every image with its label PNG and check the pairs' sizes from their headers.

    Args:
        root: a folder in the `images/` + `labels/` layout or the Cityscapes layout.
        label_format: "ids", "palette", "cityscapes" or "auto" (Cityscapes layout:
            "cityscapes"; colour label PNGs: "palette"; else "ids").
        max_pixels: images and labels over this many pixels are refused.
    """
    root = _require_dir(root, "segmentation data")
    if label_format not in ("auto", *LABEL_FORMATS):
        raise DataError(f"unknown label format {label_format!r}; choose auto, {', '.join(LABEL_FORMATS)}")
    if (root / "leftImg8bit").is_dir() or (root / "gtFine").is_dir():
        layout, pairs = "cityscapes", _cityscapes_pairs(root)
    elif (root / "images").is_dir() or (root / "labels").is_dir():
        layout, pairs = "segmentation_folder", _folder_pairs(root)
    else:
        raise DataError(f"{root} holds no segmentation data; expected {FOLDER_LAYOUT}, or Cityscapes: {CITYSCAPES_LAYOUT}")
    items, modes = [], {}
    for image, label, split in pairs:
        iw, ih, _, _ = _header(image, max_pixels)
        lw, lh, mode, fmt = _header(label, max_pixels)
        if fmt != "PNG":
            raise DataError(f"{label} is a {fmt} file under a .png name; labels must be PNG (lossy formats change label values)")
        if (lw, lh) != (iw, ih):
            raise DataError(f"{label}: mask is {lw}x{lh} but its image {image} is {iw}x{ih}")
        modes[label] = mode
        items.append(SegmentationItem(image, label, split))
    resolved = _resolve_label_format(label_format, layout, modes)
    splits = Counter(item.split for item in items if item.split is not None)
    provenance = {
        "source": str(root),
        "format": layout,
        "label_format": resolved,
        "images": len(items),
        "splits": dict(sorted(splits.items())),
        "ignore_id": IGNORE_ID,
    }
    return SegmentationSet(items=items, classes=SEGMENTATION_NAMES, label_format=resolved, provenance=provenance)


def _folder_pairs(root: Path) -> list[tuple[Path, Path, str | None]]:
    image_dir, label_dir = root / "images", root / "labels"
    for folder in (image_dir, label_dir):
        if not folder.is_dir():
            raise DataError(f"{root} has no {folder.name}/ folder; expected {FOLDER_LAYOUT}")
    images = _by_stem(_files(image_dir, IMAGE_SUFFIXES, recursive=True), image_dir)
    label_files = _files(label_dir, IMAGE_SUFFIXES, recursive=True)
    lossy = next((f for f in label_files if f.suffix.lower() != ".png"), None)
    if lossy is not None:
        raise DataError(f"{lossy}: labels must be PNG files (JPEG compression changes label values)")
    labels = _by_stem(label_files, label_dir)
    if not images and not labels:
        raise DataError(f"{root} has no images or labels; expected {FOLDER_LAYOUT}")
    return _pair(images, labels, label_dir, ".png", image_dir)


def _cityscapes_pairs(root: Path) -> list[tuple[Path, Path, str | None]]:
    image_dir, label_dir = root / "leftImg8bit", root / "gtFine"
    for folder in (image_dir, label_dir):
        if not folder.is_dir():
            raise DataError(f"{root} has no {folder.name}/ folder; expected the Cityscapes layout {CITYSCAPES_LAYOUT}")

    def named(folder: Path, suffix: str) -> dict[Path, Path]:
        files = [f for f in _files(folder, (".png",), recursive=True) if f.name.endswith(suffix)]
        return {f.relative_to(folder).parent / f.name[: -len(suffix)]: f for f in files}

    images = named(image_dir, "_leftImg8bit.png")
    label_suffix = "_gtFine_labelIds.png"
    labels = named(label_dir, label_suffix)
    if not labels:  # colour labels only
        label_suffix = "_gtFine_color.png"
        labels = named(label_dir, label_suffix)
    if not images:
        raise DataError(f"{image_dir} has no *_leftImg8bit.png images; expected the Cityscapes layout {CITYSCAPES_LAYOUT}")
    if not labels:
        raise DataError(f"{label_dir} has no *_gtFine_labelIds.png (or *_gtFine_color.png) labels; expected {CITYSCAPES_LAYOUT}")
    return _pair(images, labels, label_dir, label_suffix, image_dir, "_leftImg8bit.png")


def _pair(images, labels, label_dir: Path, label_suffix: str, image_dir: Path, image_suffix: str = ".png|.jpg"):
    """(image, label, split) for every key, sorted; an image or label without its partner is an error."""
    for key, image in images.items():
        if key not in labels:
            raise DataError(f"{image} has no label: expected {label_dir / key.parent / (key.name + label_suffix)}")
    for key, label in labels.items():
        if key not in images:
            raise DataError(f"{label} has no image: expected {image_dir / key.parent / (key.name + image_suffix)}")
    return [(images[key], labels[key], key.parts[0] if len(key.parts) > 1 else None) for key in sorted(images)]


def _resolve_label_format(label_format: str, layout: str, modes: dict[Path, str]) -> str:
    """The label format to decode with, checked against every label's PNG mode."""
    for label, mode in modes.items():
        if mode not in _INDEX_MODES | _COLOUR_MODES:
            raise DataError(f"{label} is a {mode} PNG; labels are single-channel PNGs of class ids (L or P) or RGB PNGs of class colours")
    colour = [label for label, mode in modes.items() if mode in _COLOUR_MODES]
    index = [label for label, mode in modes.items() if mode in _INDEX_MODES]
    if label_format == "auto":
        if layout == "cityscapes":
            return "cityscapes"
        if colour and index:
            raise DataError(
                f"labels mix colour and single-channel PNGs ({colour[0]} is {modes[colour[0]]}, {index[0]} is {modes[index[0]]}); "
                "convert them to one kind or give label_format"
            )
        return "palette" if colour else "ids"
    if label_format == "ids" and colour:
        raise DataError(
            f"{colour[0]} is an {modes[colour[0]]} PNG, but label_format=ids reads single-channel class ids; "
            "give label_format=palette for colour labels"
        )
    if label_format == "palette":
        grey = next((label for label in index if modes[label] != "P"), None)
        if grey is not None:
            raise DataError(
                f"{grey} is a single-channel ({modes[grey]}) PNG, but label_format=palette reads class colours; give label_format=ids"
            )
    return label_format


def decode_label(path: Path, label_format: str, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode a label PNG into our class ids: uint8 [H, W] of 0..9 or IGNORE_ID.

    Args:
        path: the label PNG.
        label_format: "ids" (values are our class ids or 255), "palette" (the
            SEGMENTATION_CLASSES colours, black for ignore), "cityscapes"
            (labelIds, or the colours of `*_gtFine_color.png`; classes we do not
            have become IGNORE_ID) or "auto" (colour PNG: palette; else ids).
        max_pixels: larger labels are refused before decoding.
    """
    from PIL import Image

    path = Path(path)
    if label_format not in ("auto", *LABEL_FORMATS):
        raise DataError(f"unknown label format {label_format!r}; choose auto, {', '.join(LABEL_FORMATS)}")
    with open_image(path, max_pixels) as im:
        if im.format != "PNG":
            raise DataError(f"{path} is a {im.format} file; labels must be PNG (lossy formats change label values)")
        mode = im.mode
        if mode not in _INDEX_MODES | _COLOUR_MODES:
            raise DataError(f"{path} is a {mode} PNG; labels are single-channel PNGs of class ids (L or P) or RGB PNGs of class colours")
        if label_format == "auto":
            label_format = "palette" if mode in _COLOUR_MODES else "ids"
        as_colour = mode in _COLOUR_MODES or (label_format == "palette" and mode == "P")
        try:
            im.load()
            pixels = np.asarray(im.convert("RGB") if as_colour else im)
        except (*PILLOW_ERRORS, Image.DecompressionBombError) as exc:
            raise DataError(f"{path} is truncated or corrupt: {first_line(exc)}") from None
    if label_format == "ids":
        if as_colour:
            raise DataError(f"{path} is an {mode} PNG, but label_format=ids reads single-channel class ids; give label_format=palette for colour labels")
        return _class_ids(pixels, path)
    if label_format == "palette":
        if not as_colour:
            raise DataError(f"{path} is a single-channel ({mode}) PNG, but label_format=palette reads class colours; give label_format=ids")
        return _map_colours(pixels, PALETTE_IDS, path, "a SEGMENTATION_CLASSES colour or black (ignore)", "; give label_format=cityscapes for Cityscapes colour labels")
    if as_colour:
        return _map_colours(pixels, CITYSCAPES_COLOUR_IDS, path, "a Cityscapes class colour", "")
    lookup = np.full(257, IGNORE_ID, np.uint8)  # values above 255 (16-bit PNGs) land on the last entry
    for label_id, class_id in CITYSCAPES_LABEL_IDS.items():
        lookup[label_id] = class_id
    return lookup[np.clip(pixels, 0, 256)]


def _class_ids(values: np.ndarray, path: Path) -> np.ndarray:
    n = len(SEGMENTATION_CLASSES)
    valid = ((values >= 0) & (values < n)) | (values == IGNORE_ID)
    if not valid.all():
        first = values[~valid][0]
        count = int((values == first).sum())
        raise DataError(
            f"{path}: label value {int(first)} ({count:,} pixels) is not a class id (0..{n - 1}) or {IGNORE_ID} (ignore); "
            "give label_format=cityscapes for Cityscapes labelIds"
        )
    return values.astype(np.uint8)


def _map_colours(rgb: np.ndarray, table: dict[tuple[int, int, int], int], path: Path, expected: str, hint: str) -> np.ndarray:
    """RGB [H, W, 3] -> class ids [H, W] through `table`; an unknown colour names its first pixel and its count."""
    height, width = rgb.shape[:2]
    rgb = rgb.astype(np.int32)
    codes = ((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]).ravel()
    uniques, inverse = np.unique(codes, return_inverse=True)
    by_code = {(r << 16) | (g << 8) | b: class_id for (r, g, b), class_id in table.items()}
    mapped = np.array([by_code.get(int(code), -1) for code in uniques], np.int16)
    if (mapped < 0).any():
        first = int(np.flatnonzero(mapped[inverse] < 0)[0])
        code = int(codes[first])
        colour = (code >> 16, (code >> 8) & 255, code & 255)
        count = int((codes == code).sum())
        unknown = int((mapped < 0).sum())
        others = f"; {unknown} unknown colours in all" if unknown > 1 else ""
        y, x = divmod(first, width)
        raise DataError(f"{path}: colour {colour} ({count:,} pixels, first at x={x}, y={y}) is not {expected}{others}{hint}")
    return mapped[inverse].astype(np.uint8).reshape(height, width)


# --- detection ------------------------------------------------------------------


def _class_index(name: str) -> int | None:
    alias = DETECTION_ALIASES.get(name.strip().lower())
    return None if alias is None else DETECTION_CLASSES.index(alias)


def _shown(values) -> str:
    return "[" + ", ".join(f"{float(v):g}" for v in values) + "]"


def _box_problem(box: tuple[float, ...], width: int, height: int) -> str | None:
    """None for a usable corner box, else "non-finite", "zero-area" or "outside" (beyond BOX_TOLERANCE)."""
    x0, y0, x1, y1 = box
    if not all(math.isfinite(v) for v in box):
        return "non-finite"
    if x1 <= x0 or y1 <= y0:
        return "zero-area"
    t = BOX_TOLERANCE
    if x0 < -t or y0 < -t or x1 > width + t or y1 > height + t:
        return "outside"
    if min(x1, width) <= max(x0, 0) or min(y1, height) <= max(y0, 0):  # only the overhang is inside the tolerance
        return "outside"
    return None


def _clipped(box: tuple[float, ...], width: int, height: int) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box
    return max(x0, 0.0), max(y0, 0.0), min(x1, float(width)), min(y1, float(height))


def _item(image: Path, width: int, height: int, boxes: list, labels: list) -> DetectionItem:
    return DetectionItem(
        image=image,
        width=width,
        height=height,
        boxes=np.asarray(boxes, np.float32).reshape(-1, 4),
        labels=np.asarray(labels, np.int32).reshape(-1),
    )


def _detection_set(items: list[DetectionItem], source: Path, fmt: str, dropped: Counter, **extra) -> DetectionSet:
    labels = np.concatenate([item.labels for item in items]) if items else np.zeros(0, np.int32)
    counts = np.bincount(labels, minlength=len(DETECTION_CLASSES))
    provenance = {
        "source": str(source),
        "format": fmt,
        "images": len(items),
        "boxes": {name: int(n) for name, n in zip(DETECTION_CLASSES, counts)},
        "dropped": dict(sorted(dropped.items())),
        **extra,
    }
    return DetectionSet(items=items, classes=DETECTION_CLASSES, provenance=provenance)


def _json_type(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    kinds = {dict: "object", list: "array", str: "string", int: "number", float: "number", type(None): "null"}
    return kinds.get(type(value), type(value).__name__)


def _is_id(value) -> bool:
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def _describe_ids(ids) -> str:
    if not ids:
        return "there are none"
    numbers = sorted(v for v in ids if isinstance(v, int))
    if len(numbers) == len(ids) and numbers[-1] - numbers[0] == len(numbers) - 1:
        return f"{numbers[0]}..{numbers[-1]}"
    shown = sorted(map(str, ids))
    return ", ".join(shown[:10]) + (", ..." if len(shown) > 10 else "")


def read_coco(json_path: Path, image_dir: Path | None = None, max_pixels: int = MAX_PIXELS) -> DetectionSet:
    """A COCO detection JSON and its images; crowd regions and unmapped categories are dropped and counted.

    Args:
        json_path: the annotations file (`images`, `annotations`, `categories`).
        image_dir: where `file_name`s are found; default the JSON's folder's
            `images/` when it exists, else the JSON's folder.
        max_pixels: larger images are refused.
    """
    json_path = Path(json_path)
    text = _read_text(json_path, MAX_JSON_BYTES)

    def refuse_constant(name: str):
        raise DataError(f"{json_path} holds {name}, which is not a JSON number; write finite numbers")

    try:
        data = json.loads(text, parse_constant=refuse_constant)
    except json.JSONDecodeError as exc:
        raise DataError(f"{json_path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise DataError(f"{json_path} is not a COCO file: its JSON is nested too deeply") from None
    if not isinstance(data, dict):
        raise DataError(f"{json_path}: expected a COCO JSON object with images, annotations and categories, got a JSON {_json_type(data)}")
    missing = [key for key in ("images", "annotations", "categories") if key not in data]
    if missing:
        raise DataError(
            f"{json_path}: missing key(s) {', '.join(map(repr, missing))}; a COCO detection file has 'images', 'annotations' and 'categories'"
        )
    for key in ("images", "annotations", "categories"):
        if not isinstance(data[key], list):
            raise DataError(f"{json_path}: {key!r} must be a JSON array, got a JSON {_json_type(data[key])}")
    if image_dir is None:
        image_dir = json_path.parent / "images" if (json_path.parent / "images").is_dir() else json_path.parent
    else:
        image_dir = _require_dir(image_dir, "images")

    categories: dict = {}  # id -> (name, class index or None)
    for i, cat in enumerate(data["categories"], 1):
        if not isinstance(cat, dict) or not _is_id(cat.get("id")):
            raise DataError(f"{json_path}: category #{i} needs an integer 'id' (and a 'name')")
        name = cat.get("name")
        if not isinstance(name, str) or not name.strip():
            raise DataError(f"{json_path}: category {cat['id']} has no 'name'")
        if cat["id"] in categories:
            raise DataError(f"{json_path}: category id {cat['id']} appears twice ({categories[cat['id']][0]!r} and {name!r})")
        categories[cat["id"]] = (name, _class_index(name))

    images: dict = {}  # id -> (path, file_name, width, height, boxes, labels)
    for i, img in enumerate(data["images"], 1):
        if not isinstance(img, dict) or not _is_id(img.get("id")):
            raise DataError(f"{json_path}: image #{i} needs an integer 'id' (and a 'file_name')")
        image_id, name = img["id"], img.get("file_name")
        if not isinstance(name, str) or not name.strip():
            raise DataError(f"{json_path}: image {image_id} has no 'file_name'")
        if image_id in images:
            raise DataError(f"{json_path}: image id {image_id} appears twice ({images[image_id][1]!r} and {name!r})")
        path = image_dir / name
        if not path.is_file():
            raise DataError(f"{json_path}: image {image_id} {name!r} not found in {image_dir}")
        width, height, _, _ = _header(path, max_pixels)
        declared = (img.get("width", width), img.get("height", height))
        if declared != (width, height):
            raise DataError(
                f"{json_path}: image {image_id} {name!r} is {width}x{height}, but the JSON gives width {declared[0]} and height {declared[1]}"
            )
        images[image_id] = (path, name, width, height, [], [])

    dropped: Counter = Counter()
    crowd = 0
    for i, ann in enumerate(data["annotations"], 1):
        if not isinstance(ann, dict):
            raise DataError(f"{json_path}: annotation #{i} is a JSON {_json_type(ann)}, not an object")
        ann_id = ann.get("id", f"#{i}")
        absent = [key for key in ("image_id", "category_id", "bbox") if key not in ann]
        if absent:
            raise DataError(f"{json_path}: annotation {ann_id} has no {', '.join(map(repr, absent))}")
        image_id, cat_id = ann["image_id"], ann["category_id"]
        if not _is_id(image_id) or image_id not in images:
            raise DataError(f"{json_path}: annotation {ann_id} refers to image id {image_id!r}, which is not in 'images'")
        if not _is_id(cat_id) or cat_id not in categories:
            raise DataError(f"{json_path}: unknown class id {cat_id!r} in annotation {ann_id}; categories are {_describe_ids(list(categories))}")
        if ann.get("iscrowd", 0) in (1, True):
            crowd += 1
            continue
        cat_name, index = categories[cat_id]
        if index is None:
            dropped[cat_name] += 1
            continue
        path, name, width, height, boxes, labels = images[image_id]
        bbox = ann["bbox"]
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox)):
            raise DataError(f"{json_path}: annotation {ann_id} (image {name!r}) has bbox {json.dumps(bbox)[:80]}; expected [x, y, width, height]")
        x, y, w, h = map(float, bbox)
        corners = (x, y, x + w, y + h)
        problem = "zero-area" if (w <= 0 or h <= 0) and all(map(math.isfinite, bbox)) else _box_problem(corners, width, height)
        if problem == "non-finite":
            raise DataError(f"{json_path}: annotation {ann_id} (image {name!r}) has a non-finite box {_shown(bbox)}")
        if problem == "zero-area":
            raise DataError(f"{json_path}: annotation {ann_id} (image {name!r}) has a zero-area box {_shown(bbox)}")
        if problem == "outside":
            raise DataError(f"{json_path}: annotation {ann_id} box {_shown(bbox)} lies outside image {name!r} ({width}x{height})")
        boxes.append(_clipped(corners, width, height))
        labels.append(index)

    items = [_item(path, w, h, boxes, labels) for path, _, w, h, boxes, labels in images.values()]
    return _detection_set(items, json_path, "coco", dropped, crowd=crowd, image_dir=str(image_dir))


def read_kitti(root: Path, max_pixels: int = MAX_PIXELS) -> DetectionSet:
    """The KITTI object layout; DontCare, Misc and other unmapped types are dropped and counted."""
    root = _require_dir(root, "KITTI data")
    image_dir, label_dir = root / "image_2", root / "label_2"
    for folder in (image_dir, label_dir):
        if not folder.is_dir():
            hint = f" (give {root / 'training'})" if (root / "training" / folder.name).is_dir() else ""
            raise DataError(f"{root} has no {folder.name}/ folder{hint}; expected the KITTI object layout {KITTI_LAYOUT}")
    images = _by_stem(_files(image_dir, IMAGE_SUFFIXES), image_dir)
    labels = _by_stem(_files(label_dir, (".txt",)), label_dir)
    if not images and not labels:
        raise DataError(f"{root} has no images or labels; expected the KITTI object layout {KITTI_LAYOUT}")
    dropped: Counter = Counter()
    items = []
    for image, label, _ in _pair(images, labels, label_dir, ".txt", image_dir):
        width, height, _, _ = _header(image, max_pixels)
        boxes, classes = [], []
        for n, line in enumerate(_read_text(label, MAX_TEXT_BYTES, allow_empty=True).splitlines(), 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != len(KITTI_FIELDS):
                raise DataError(f"{label} line {n}: expected {len(KITTI_FIELDS)} fields, got {len(fields)}")
            numbers = []
            for k, value in enumerate(fields[1:], 1):
                try:
                    numbers.append(float(value))
                except ValueError:
                    raise DataError(f"{label} line {n}: field {k + 1} ({KITTI_FIELDS[k]}) is {value!r}, not a number") from None
            index = _class_index(fields[0])
            if index is None:
                dropped[fields[0]] += 1
                continue
            box = tuple(numbers[3:7])
            problem = _box_problem(box, width, height)
            if problem == "outside":
                raise DataError(f"{label} line {n}: box {_shown(box)} lies outside image {image.name!r} ({width}x{height})")
            if problem is not None:
                raise DataError(f"{label} line {n} has a {problem} box {_shown(box)} (x1 y1 x2 y2)")
            boxes.append(_clipped(box, width, height))
            classes.append(index)
        items.append(_item(image, width, height, boxes, classes))
    return _detection_set(items, root, "kitti", dropped)


def _parse_xml(path: Path) -> ET.Element:
    """Parse a small XML file as data: DOCTYPE and ENTITY declarations (entity expansion) are refused."""
    raw = _read_bytes(path, MAX_XML_BYTES)
    if b"\x00" in raw:
        raise DataError(f"{path} is not UTF-8 XML (it holds NUL bytes, as UTF-16 does); save it as UTF-8")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 XML (undecodable byte at offset {exc.start}); save it as UTF-8") from None
    upper = text.upper()
    for marker in ("<!DOCTYPE", "<!ENTITY"):
        if marker in upper:
            raise DataError(f"{path} has a {marker} declaration; DOCTYPE and ENTITY declarations are refused (entity expansion), and VOC annotations need neither")
    try:
        return ET.fromstring(text)  # a str is parsed as UTF-8 whatever encoding its XML declaration names
    except ET.ParseError as exc:
        raise DataError(f"{path} is not well-formed XML: {first_line(exc)}") from None


def _xml_number(element: ET.Element | None, tag: str, path: Path, where: str) -> float:
    text = None if element is None else element.findtext(tag)
    try:
        value = float((text or "").strip())
    except ValueError:
        raise DataError(f"{path}: {where} has <{tag}> {text!r}, not a number") from None
    if not math.isfinite(value):
        raise DataError(f"{path}: {where} has <{tag}> {text!r}, not a finite number")
    return value


def read_voc(root: Path, max_pixels: int = MAX_PIXELS) -> DetectionSet:
    """Pascal VOC XML; 1-based inclusive boxes become 0-based corners (x_min = xmin - 1, x_max = xmax).

    Objects marked difficult are kept (and counted in the provenance).
    """
    root = _require_dir(root, "Pascal VOC data")
    ann_dir = root / "Annotations"
    if not ann_dir.is_dir():
        raise DataError(f"{root} has no Annotations/ folder; expected {VOC_LAYOUT}")
    image_dir = next((root / name for name in ("JPEGImages", "images") if (root / name).is_dir()), None)
    if image_dir is None:
        raise DataError(f"{root} has no JPEGImages/ (or images/) folder; expected {VOC_LAYOUT}")
    xml_files = _files(ann_dir, (".xml",))
    if not xml_files:
        raise DataError(f"{ann_dir} has no .xml annotations; expected {VOC_LAYOUT}")
    dropped: Counter = Counter()
    difficult = 0
    items = []
    for xml_path in xml_files:
        tree = _parse_xml(xml_path)
        if tree.tag != "annotation":
            raise DataError(f"{xml_path}: the root element is <{tree.tag}>, not a VOC <annotation>")
        name = (tree.findtext("filename") or "").strip()
        if not name:
            raise DataError(f"{xml_path} has no <filename>")
        image = image_dir / name
        if not image.is_file():
            raise DataError(f"{xml_path}: image {name!r} not found in {image_dir}")
        width, height, _, _ = _header(image, max_pixels)
        size = tree.find("size")
        if size is not None and size.findtext("width") is not None:
            declared = (_xml_number(size, "width", xml_path, "<size>"), _xml_number(size, "height", xml_path, "<size>"))
            if all(declared) and declared != (width, height):  # some tools write 0 x 0
                raise DataError(f"{xml_path}: <size> is {declared[0]:g}x{declared[1]:g} but image {name!r} is {width}x{height}")
        boxes, classes = [], []
        for k, obj in enumerate(tree.findall("object"), 1):
            object_name = (obj.findtext("name") or "").strip()
            if not object_name:
                raise DataError(f"{xml_path}: object {k} has no <name>")
            index = _class_index(object_name)
            if index is None:
                dropped[object_name] += 1
                continue
            where = f"object {k} ({object_name})"
            bndbox = obj.find("bndbox")
            if bndbox is None:
                raise DataError(f"{xml_path}: {where} has no <bndbox>")
            coords = [_xml_number(bndbox, tag, xml_path, where) for tag in ("xmin", "ymin", "xmax", "ymax")]
            box = (coords[0] - 1, coords[1] - 1, coords[2], coords[3])
            problem = _box_problem(box, width, height)
            if problem == "zero-area":
                raise DataError(f"{xml_path}: {where} in image {name!r} has a zero-area box {_shown(coords)} (xmin ymin xmax ymax, 1-based)")
            if problem is not None:
                raise DataError(f"{xml_path}: {where} box {_shown(coords)} lies outside image {name!r} ({width}x{height})")
            boxes.append(_clipped(box, width, height))
            classes.append(index)
            difficult += (obj.findtext("difficult") or "0").strip() == "1"
        items.append(_item(image, width, height, boxes, classes))
    return _detection_set(items, root, "voc", dropped, difficult=difficult, image_dir=str(image_dir))


# --- traffic signs --------------------------------------------------------------


def read_gtsrb(root: Path, classes_csv: Path | None = None, max_pixels: int = MAX_PIXELS) -> SignSet:
    """GTSRB's training layout (ROIs from `GT-<id>.csv`) or plain class folders (no ROIs).

    Args:
        root: the folder of class folders.
        classes_csv: `ClassId,name` rows naming the GTSRB classes; default
            `root/classes.csv` when it exists, else the classes are `class_<id>`.
            Plain class folders are named by their folder.
        max_pixels: larger images are refused.
    """
    root = _require_dir(root, "sign data")
    folders = _subfolders(root)
    if not folders:
        raise DataError(f"{root} has no class folders; expected GTSRB ({GTSRB_LAYOUT}) or one folder of images per class, e.g. {root / 'stop' / '0001.png'}")
    with_csv = [f for f in folders if (f / f"GT-{f.name}.csv").is_file()]
    if with_csv and len(with_csv) != len(folders):
        bare = next(f for f in folders if f not in with_csv)
        raise DataError(f"{bare} has no GT-{bare.name}.csv but {with_csv[0]} has one; every GTSRB class folder needs its CSV")
    if len(folders) < 2:
        raise DataError(f"{root} has only one class ({folders[0].name!r}); a classifier needs at least two")
    if with_csv:
        return _read_gtsrb_csvs(root, folders, classes_csv, max_pixels)
    return _read_class_folders(root, folders, max_pixels)


def _read_class_folders(root: Path, folders: list[Path], max_pixels: int) -> SignSet:
    paths, labels = [], []
    for label, folder in enumerate(folders):
        files = _files(folder, SIGN_SUFFIXES)
        if not files:
            raise DataError(f"class folder {folder} has no images ({', '.join(SIGN_SUFFIXES)}); add images or remove the folder")
        for f in files:
            _header(f, max_pixels)
        paths += files
        labels += [label] * len(files)
    classes = tuple(f.name for f in folders)
    return _sign_set(paths, labels, None, classes, root, "class_folders")


def _class_names(path: Path) -> dict[int, str]:
    """ClassId -> name from a `ClassId,name` CSV (a header row is skipped)."""
    reader = csv.reader(io.StringIO(_read_text(path, MAX_TEXT_BYTES)))
    names: dict[int, str] = {}
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        key = row[0].strip()
        try:
            class_id = int(key)
        except ValueError:
            if reader.line_num == 1:
                continue  # header
            raise DataError(f"{path} line {reader.line_num}: ClassId {key!r} is not an integer") from None
        name = ",".join(row[1:]).strip()
        if not name:
            raise DataError(f"{path} line {reader.line_num}: ClassId {class_id} has no name; expected ClassId,name")
        if class_id in names:
            raise DataError(f"{path} line {reader.line_num}: ClassId {class_id} is named twice ({names[class_id]!r} and {name!r})")
        if name in names.values():
            raise DataError(f"{path} line {reader.line_num}: the name {name!r} is given to two ClassIds")
        names[class_id] = name
    if not names:
        raise DataError(f"{path} names no classes; expected ClassId,name rows")
    return names


def _gtsrb_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) for every data row of a `GT-<id>.csv`."""
    reader = csv.reader(io.StringIO(_read_text(path, MAX_TEXT_BYTES)), delimiter=";")
    header = [cell.strip() for cell in next(reader, [])]
    missing = [c for c in GTSRB_COLUMNS if c not in header]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; a GTSRB CSV has {';'.join(GTSRB_COLUMNS)}")
    rows = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise DataError(f"{path} line {reader.line_num}: expected {len(header)} fields, got {len(row)}")
        rows.append((reader.line_num, dict(zip(header, (cell.strip() for cell in row)))))
    if not rows:
        raise DataError(f"{path} lists no images")
    return rows


def _read_gtsrb_csvs(root: Path, folders: list[Path], classes_csv: Path | None, max_pixels: int) -> SignSet:
    by_id: dict[int, Path] = {}
    for folder in folders:
        if not folder.name.isdigit():
            raise DataError(f"{folder}: GTSRB class folders are named by ClassId, e.g. 00014")
        class_id = int(folder.name)
        if class_id in by_id:
            raise DataError(f"{by_id[class_id]} and {folder} are both ClassId {class_id}")
        by_id[class_id] = folder
    names_path = Path(classes_csv) if classes_csv is not None else (root / "classes.csv" if (root / "classes.csv").is_file() else None)
    names = _class_names(names_path) if names_path is not None else None
    class_ids = sorted(by_id)
    if names is not None:
        unnamed = [i for i in class_ids if i not in names]
        if unnamed:
            raise DataError(f"{names_path} has no name for ClassId {unnamed[0]} (folder {by_id[unnamed[0]]})")
    classes = tuple(names[i] if names is not None else f"class_{i}" for i in class_ids)
    paths, labels, rois = [], [], []
    for label, class_id in enumerate(class_ids):
        folder = by_id[class_id]
        csv_path = folder / f"GT-{folder.name}.csv"
        images = _files(folder, SIGN_SUFFIXES)
        if not images:
            raise DataError(f"class folder {folder} has no images ({', '.join(SIGN_SUFFIXES)})")
        listed: set[str] = set()
        for line, row in _gtsrb_rows(csv_path):
            where = f"{csv_path} line {line}"
            name = row["Filename"]
            if not name or Path(name).name != name:
                raise DataError(f"{where}: Filename {name!r} must name a file in {folder}")
            if name in listed:
                raise DataError(f"{where}: {name!r} is listed twice")
            path = folder / name
            if not path.is_file():
                raise DataError(f"{where}: image {name!r} not found in {folder}")
            values = {}
            for column in GTSRB_COLUMNS[1:]:
                try:
                    values[column] = int(row[column])
                except ValueError:
                    raise DataError(f"{where}: {column} is {row[column]!r}, not an integer") from None
            if values["ClassId"] != class_id:
                raise DataError(f"{where}: ClassId {values['ClassId']} does not match its folder {folder.name} (ClassId {class_id})")
            width, height, _, _ = _header(path, max_pixels)
            if (values["Width"], values["Height"]) != (width, height):
                raise DataError(f"{where}: {name!r} is {width}x{height}, but the CSV gives {values['Width']}x{values['Height']}")
            roi = [values[c] for c in ("Roi.X1", "Roi.Y1", "Roi.X2", "Roi.Y2")]
            if roi[2] <= roi[0] or roi[3] <= roi[1]:
                raise DataError(f"{where}: {name!r} has a zero-area ROI {_shown(roi)}")
            if roi[0] < 0 or roi[1] < 0 or roi[2] > width or roi[3] > height:
                raise DataError(f"{where}: ROI {_shown(roi)} lies outside image {name!r} ({width}x{height})")
            listed.add(name)
            paths.append(path)
            labels.append(label)
            rois.append(roi)
        unlisted = [p for p in images if p.name not in listed]
        if unlisted:
            raise DataError(f"{unlisted[0]} is not listed in {csv_path} ({len(unlisted)} unlisted image(s)); add its row or remove the file")
    provenance = {"class_ids": class_ids, "class_names": str(names_path) if names_path is not None else "class_<ClassId>"}
    return _sign_set(paths, labels, np.asarray(rois, np.int32).reshape(-1, 4), classes, root, "gtsrb", **provenance)


def _sign_set(paths, labels, rois, classes, root: Path, fmt: str, **extra) -> SignSet:
    labels = np.asarray(labels, np.int32)
    counts = np.bincount(labels, minlength=len(classes))
    provenance = {
        "source": str(root),
        "format": fmt,
        "images": len(paths),
        "classes": list(classes),
        "class_counts": {name: int(n) for name, n in zip(classes, counts)},
        **extra,
    }
    return SignSet(paths=paths, labels=labels, rois=rois, classes=classes, provenance=provenance)


# --- layouts --------------------------------------------------------------------


def detect_format(path: Path) -> str:
    """The layout at `path`, one of FORMATS, from its folder names (a .json file is COCO)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"data path not found: {path}")
    if path.is_file():
        if path.suffix.lower() == ".json":
            return "coco"
        raise DataError(f"cannot tell the format of {path}: the only single-file format is a COCO .json; folder layouts: {LAYOUTS}")
    if (path / "leftImg8bit").is_dir() or (path / "gtFine").is_dir():
        return "cityscapes"
    if (path / "image_2").is_dir() or (path / "label_2").is_dir():
        return "kitti"
    if (path / "Annotations").is_dir():
        return "voc"
    if (path / "images").is_dir() or (path / "labels").is_dir():
        return "segmentation_folder"
    folders = _subfolders(path)
    if any((f / f"GT-{f.name}.csv").is_file() for f in folders):
        return "gtsrb"
    if any(_files(f, SIGN_SUFFIXES) for f in folders):
        return "class_folders"
    raise DataError(f"cannot tell the layout of {path}; expected one of: {LAYOUTS}")
