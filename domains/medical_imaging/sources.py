"""Where labelled images come from: one `ImageSet` per source, chosen by name from `SOURCES`.

Every source becomes one `ImageSet`: a light table with one row per image
(`path`, `label`, `label_name`, `patient_id`) plus, for sources that arrive as
arrays (MedMNIST `.npz`, the synthetic generator), the raw arrays. Files are
listed and checked here, and decoded later by `pipeline.make_dataset`, so a
folder of full-size radiographs never sits in memory.

Sources (`MedicalDataConfig.source`):

- `synthetic`: `synthetic.generate_radiographs`, chest-like images with
  labelled findings; nothing to download.
- `folder`: one sub-folder per class holding `.png`, `.jpg`, `.jpeg` or
  `.dcm` files (searched recursively; hidden files and folders skipped).
- `dicom`: the same layout with `.dcm` files only; the patient id comes from
  each file's PatientID tag.
- `manifest`: a CSV or Parquet table with `path`, `label` and optional
  `patient_id` and `mask_path` columns (names configurable); relative paths
  are relative to the manifest's folder.
- `medmnist`: a MedMNIST `.npz` file (`train_images`, `train_labels`,
  `val_*`, `test_*`); the official splits are kept. The files are published
  on Zenodo: https://zenodo.org/records/10519652/files/pneumoniamnist.npz
  (28 px) and `pneumoniamnist_64.npz`, `_128`, `_224` (MedMNIST+), one per
  flag. The `medmnist` package stores them in `~/.medmnist`, the default
  folder searched here. Nothing is downloaded by this module.

`source: auto` (the default) infers the source from `path`: no path means
`synthetic`; a `.csv`/`.parquet` file a `manifest`; a `.npz` file `medmnist`;
a folder `dicom` when every image in it is a `.dcm` file, else `folder`.

Files are checked when the set is loaded: `verify: decode` (the default)
decodes every file once up front, so that a file corrupt in the middle
cannot stop a training run halfway; `verify: header` only runs
`decoding.check_file`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from domains.medical_imaging.config import CLASSES, IMAGE_SUFFIXES, MEDMNIST_LABELS, MEDMNIST_SPLITS, MedicalDataConfig
from domains.medical_imaging.decoding import check_file, decode_path, prepare_array
from domains.medical_imaging.dicom import read_dicom, reading_dicom
from domains.medical_imaging.synthetic import generate_radiographs
from shared.data.tables import SUFFIXES as TABLE_SUFFIXES
from shared.data.tables import categorical_column, read_table, require_columns
from shared.errors import DataError, first_line
from shared.registry import Registry

MEDMNIST_URL = "https://zenodo.org/records/10519652/files/{name}?download=1"
MEDMNIST_ROOT = Path("~/.medmnist")


@dataclass
class ImageSet:
    """Labelled images from one source.

    Attributes:
        frame: `pandas.DataFrame`, one row per image: `path` (str; a file, or
            a name such as `synthetic[12]` for in-memory rows), `label`
            (int32 index into `classes`), `label_name`, `patient_id` (str, or
            None when unknown) and, for MedMNIST, `official_split`. Manifest
            columns are kept as well (e.g. a date for a time split).
        classes: list of class names.
        config: the `MedicalDataConfig` the set was loaded with.
        provenance: dict. Where the images came from, for the model card.
        images: array (N, H, W[, C]) or None. In-memory images (MedMNIST,
            synthetic), row-aligned with `frame`; None for file sources.
        masks: uint8 array (N, S, S, 1) or None. Lesion masks (synthetic only).
    """

    frame: pd.DataFrame
    classes: list[str]
    config: MedicalDataConfig
    provenance: dict = field(default_factory=dict)
    images: np.ndarray | None = None
    masks: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.frame)

    def image(self, row: int) -> np.ndarray:
        """Row `row` as float32 (image_size, image_size, channels) in [0, 1]."""
        path = self.frame["path"].iat[row]
        if self.images is not None:
            return prepare_array(self.images[row], self.config, path)
        return decode_path(path, self.config)

    def mask(self, row: int) -> np.ndarray:
        """Row `row`'s lesion mask as float32 (image_size, image_size, 1) of 0/1."""
        single = self.config.model_copy(update={"channels": 1})
        if self.masks is not None:
            grey = prepare_array(self.masks[row].astype("float32"), single, "mask")
        elif "mask_path" in self.frame.columns:
            grey = decode_path(self.frame["mask_path"].iat[row], single)
        else:
            raise DataError("these images have no lesion masks; give the manifest a mask column (data.mask_column)")
        # Resizing blurs mask edges; threshold back to 0/1.
        return (grey >= 0.5).astype("float32")

    @property
    def has_masks(self) -> bool:
        return self.masks is not None or "mask_path" in self.frame.columns

    @property
    def has_patients(self) -> bool:
        return bool(self.frame["patient_id"].notna().all())


SOURCES: Registry[Callable[[MedicalDataConfig], ImageSet]] = Registry("image source")


def resolve_source(cfg: MedicalDataConfig) -> str:
    """The source name `cfg` selects; `auto` is inferred from `cfg.path` (see the module docstring)."""
    if cfg.source != "auto":
        return cfg.source
    if cfg.path is None:
        return "synthetic"
    path = Path(cfg.path).expanduser()
    if not path.exists():
        raise DataError(f"data path not found: {path}")
    if path.is_dir():
        files = [f for files in _scan_class_folders(path, IMAGE_SUFFIXES, cfg.classes).values() for f in files]
        return "dicom" if all(f.suffix.lower() == ".dcm" for f in files) else "folder"
    if path.suffix.lower() in TABLE_SUFFIXES:
        return "manifest"
    if path.suffix.lower() == ".npz":
        return "medmnist"
    raise DataError(
        f"cannot tell the kind of data in {path} from its name; set data.source to one of: "
        f"{', '.join(SOURCES.names())}"
    )


def load_images(cfg: MedicalDataConfig) -> ImageSet:
    """Load the labelled image table (and in-memory arrays) `cfg` describes.

    Returns:
        `ImageSet`. File images are checked (`cfg.verify`) but not kept.
    """
    return SOURCES.get(resolve_source(cfg))(cfg)


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _scan_class_folders(root: Path, suffixes, wanted: list[str] | None) -> dict[str, list[Path]]:
    """Class name -> sorted image files under `root/<class>/` (recursive)."""
    if not root.is_dir():
        raise DataError(f"expected a folder with one sub-folder per class, got: {root}")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise DataError(f"{root} has no class sub-folders; expected one sub-folder per class, e.g. {root / 'normal' / 'image001.png'}")
    out = {}
    for folder in folders:
        if wanted is not None and folder.name not in wanted:
            continue
        files = sorted(
            f for f in folder.rglob("*") if f.suffix.lower() in suffixes and f.is_file() and not _hidden(f, folder)
        )
        if not files:
            raise DataError(
                f"class folder {folder} has no images ({', '.join(suffixes)}); add images or remove the folder"
            )
        out[folder.name] = files
    return out


def _sorted_classes(names) -> list[str]:
    names = sorted(set(map(str, names)))
    try:
        return sorted(names, key=int)
    except ValueError:
        return names


def _finish(frame: pd.DataFrame, found: list[str], cfg: MedicalDataConfig, source: str) -> tuple[pd.DataFrame, list[str], np.ndarray]:
    """Keep the requested classes, number the labels; returns (frame, classes, kept row mask)."""
    classes = list(found) if cfg.classes is None else list(cfg.classes)
    missing = [c for c in classes if c not in found]
    if missing:
        raise DataError(
            f"class(es) {', '.join(map(repr, missing))} (data.classes) not found in {source}; found: {', '.join(found)}"
        )
    if len(classes) < 2:
        raise DataError(f"{source} has only one class ({classes[0]!r}); a classifier needs at least two")
    keep = frame["label_name"].isin(classes).to_numpy()
    frame = frame[keep].reset_index(drop=True)
    frame["label"] = frame["label_name"].map({c: i for i, c in enumerate(classes)}).astype(np.int32)
    return frame, classes, keep


def _counts(frame: pd.DataFrame, classes: list[str]) -> dict:
    counts = np.bincount(frame["label"], minlength=len(classes))
    patients = frame["patient_id"].dropna().nunique()
    return {
        "images": int(len(frame)),
        "classes": list(classes),
        "class_counts": {c: int(n) for c, n in zip(classes, counts)},
        "patients": int(patients) if patients else None,
    }


def _decoding(cfg: MedicalDataConfig) -> dict:
    window = (
        f"center {cfg.window_center:g}, width {cfg.window_width:g}"
        if cfg.window_center is not None
        else "file WindowCenter/WindowWidth, else min-max"
    )
    return {"image_size": cfg.image_size, "channels": cfg.channels, "resize": cfg.resize, "dicom_window": window}


_VERIFY_CHUNK = 256  # files in flight at once: a bad file stops verification within one chunk


def _decodes(path: str, cfg: MedicalDataConfig) -> None:
    decode_path(path, cfg)  # the image itself is dropped at once


def _verify_files(paths: list[str], cfg: MedicalDataConfig, checked: bool = False) -> None:
    """`header`: cheap per-file checks (skipped when the loader already read each file); `decode`: decode all.

    Decoding runs in threads (Pillow and NumPy release the GIL); the first
    bad file in listing order is the one reported.
    """
    if cfg.verify == "header":
        if not checked:
            for path in paths:
                check_file(path, cfg)
        return
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        for start in range(0, len(paths), _VERIFY_CHUNK):
            for _ in pool.map(_decodes, paths[start : start + _VERIFY_CHUNK], [cfg] * _VERIFY_CHUNK):
                pass


@SOURCES.register("folder")
def load_folder(cfg: MedicalDataConfig, suffixes: tuple[str, ...] = IMAGE_SUFFIXES) -> ImageSet:
    """One sub-folder per class; labels are the folder names."""
    root = _require_path(cfg)
    by_class = _scan_class_folders(root, suffixes, cfg.classes)
    rows = [(str(f), name) for name, files in by_class.items() for f in files]
    frame = pd.DataFrame(rows, columns=["path", "label_name"])
    frame["patient_id"] = None
    frame, classes, _ = _finish(frame, _sorted_classes(by_class), cfg, str(root))
    _verify_files(frame["path"].tolist(), cfg)
    provenance = {"source": str(root), "format": "image folders", **_counts(frame, classes), **_decoding(cfg)}
    return ImageSet(frame=frame, classes=classes, config=cfg, provenance=provenance)


@SOURCES.register("dicom")
def load_dicom_folder(cfg: MedicalDataConfig) -> ImageSet:
    """One sub-folder per class of `.dcm` files; patient ids from the PatientID tag."""
    root = _require_path(cfg)
    by_class = _scan_class_folders(root, (".dcm",), cfg.classes)
    rows = []
    for name, files in by_class.items():
        for f in files:
            ds = read_dicom(f, cfg.max_pixels)
            with reading_dicom(f):
                patient = str(ds.get("PatientID", "") or "").strip()
            rows.append((str(f), name, patient or None))
    frame = pd.DataFrame(rows, columns=["path", "label_name", "patient_id"])
    frame, classes, _ = _finish(frame, _sorted_classes(by_class), cfg, str(root))
    _verify_files(frame["path"].tolist(), cfg, checked=True)
    provenance = {"source": str(root), "format": "DICOM folders", **_counts(frame, classes), **_decoding(cfg)}
    return ImageSet(frame=frame, classes=classes, config=cfg, provenance=provenance)


@SOURCES.register("manifest")
def load_manifest(cfg: MedicalDataConfig) -> ImageSet:
    """A CSV/Parquet table of image paths, labels and optional patient ids."""
    manifest = _require_path(cfg)
    table = read_table(manifest)
    source = f"manifest {manifest}"
    require_columns(table, [cfg.path_column, cfg.label_column], source)
    raw_paths = categorical_column(table, cfg.path_column, source)
    labels = categorical_column(table, cfg.label_column, source)
    base = manifest.parent
    paths = [str(p if p.is_absolute() else base / p) for p in map(Path, raw_paths)]
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        raise DataError(
            f"{source} lists {len(missing)} missing image file(s): {shown} (relative paths are relative to the manifest's folder)"
        )
    frame = table.copy()
    frame["path"], frame["label_name"] = paths, labels
    if cfg.mask_column in table.columns:
        raw_masks = categorical_column(table, cfg.mask_column, source)
        masks = [str(p if p.is_absolute() else base / p) for p in map(Path, raw_masks)]
        absent = [p for p in masks if not Path(p).is_file()]
        if absent:
            shown = ", ".join(absent[:3]) + (", ..." if len(absent) > 3 else "")
            raise DataError(f"{source} lists {len(absent)} missing mask file(s) in {cfg.mask_column!r}: {shown}")
        frame["mask_path"] = masks
    if cfg.patient_column in table.columns:
        ids = table[cfg.patient_column]
        frame["patient_id"] = [None if pd.isna(v) or not str(v).strip() else str(v).strip() for v in ids]
    else:
        frame["patient_id"] = None
    frame, classes, _ = _finish(frame, _sorted_classes(labels), cfg, source)
    _verify_files(frame["path"].tolist(), cfg)
    provenance = {"source": str(manifest), "format": "manifest", **_counts(frame, classes), **_decoding(cfg)}
    return ImageSet(frame=frame, classes=classes, config=cfg, provenance=provenance)


def medmnist_file(cfg: MedicalDataConfig) -> Path:
    """The MedMNIST `.npz` to read: `cfg.path` if it is a file, else `<folder>/<flag>_<size>.npz` or `<flag>.npz`.

    The folder is `cfg.path` or `~/.medmnist`; the size-specific MedMNIST+
    file is preferred when it exists for `image_size`.
    """
    if cfg.path is not None and Path(cfg.path).expanduser().is_file():
        return Path(cfg.path).expanduser()
    folder = Path(cfg.path or MEDMNIST_ROOT).expanduser()
    names = (f"{cfg.medmnist_flag}_{cfg.image_size}.npz", f"{cfg.medmnist_flag}.npz")
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise DataError(
        f"MedMNIST file not found: {folder / names[1]}; download it from "
        f"{MEDMNIST_URL.format(name=names[1])} into {folder}, or set data.path"
    )


@SOURCES.register("medmnist")
def load_medmnist(cfg: MedicalDataConfig) -> ImageSet:
    """A MedMNIST `.npz` (2-D, single-label); official splits kept in `official_split`."""
    import zipfile

    path = medmnist_file(cfg)
    try:
        archive = np.load(path, allow_pickle=False)
        contents = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"could not read {path} as .npz: {first_line(exc)}") from None
    needed = [f"{s}_{kind}" for s in MEDMNIST_SPLITS for kind in ("images", "labels")]
    absent = [k for k in needed if k not in contents]
    if absent:
        raise DataError(f"{path} is not in MedMNIST layout: missing {', '.join(absent)} (found: {', '.join(sorted(contents)) or 'nothing'})")
    images, labels, splits = [], [], []
    for prefix, name in MEDMNIST_SPLITS.items():
        x, y = contents[f"{prefix}_images"], contents[f"{prefix}_labels"]
        if not (x.ndim == 3 or (x.ndim == 4 and x.shape[-1] in (1, 3))):
            raise DataError(f"{path}: {prefix}_images has shape {tuple(x.shape)}; expected (N, H, W) or (N, H, W, 1|3) 2-D images")
        if y.ndim == 2 and y.shape[1] > 1:
            raise DataError(f"{path}: {prefix}_labels has shape {tuple(y.shape)} (multi-label); only single-label MedMNIST sets are supported")
        if y.ndim > 2 or len(y) != len(x):
            raise DataError(f"{path}: {prefix}_labels has shape {tuple(y.shape)} for {len(x)} images; expected ({len(x)},) or ({len(x)}, 1)")
        images.append(x if x.ndim == 4 else x[..., None])
        labels.append(y.reshape(-1).astype(np.int64))
        splits += [name] * len(x)
    shapes = {tuple(x.shape[1:]) for x in images}
    if len(shapes) > 1:
        raise DataError(f"{path}: the splits hold images of different shapes {sorted(shapes)}")
    label = np.concatenate(labels)
    if label.min() < 0:
        raise DataError(f"{path}: labels must be >= 0, found {int(label.min())}")
    flag = path.stem.rsplit("_", 1)[0] if path.stem.rsplit("_", 1)[-1].isdigit() else path.stem
    names = MEDMNIST_LABELS.get(flag) or tuple(str(i) for i in range(int(label.max()) + 1))
    if label.max() >= len(names):
        raise DataError(f"{path}: label {int(label.max())} is out of range for {flag}'s {len(names)} classes")
    frame = pd.DataFrame(
        {
            "path": [f"{path.name}:{s}[{i}]" for s, n in zip(MEDMNIST_SPLITS, map(len, labels)) for i in range(n)],
            "label_name": np.asarray(names, dtype=object)[label],
            "patient_id": None,
            "official_split": splits,
        }
    )
    frame, classes, keep = _finish(frame, list(names), cfg, str(path))
    provenance = {
        "source": str(path),
        "format": "MedMNIST npz",
        "flag": flag,
        "download": MEDMNIST_URL.format(name=path.name),
        "license": "CC BY 4.0 (MedMNIST); cite Yang et al., Scientific Data 10:41 (2023)",
        "official_splits": True,
        **_counts(frame, classes),
        **_decoding(cfg),
    }
    return ImageSet(frame=frame, classes=classes, config=cfg, provenance=provenance, images=np.concatenate(images)[keep])


@SOURCES.register("synthetic")
def load_synthetic(cfg: MedicalDataConfig) -> ImageSet:
    """`generate_radiographs` at `cfg.image_size`."""
    images, labels, masks, patients = generate_radiographs(cfg.synthetic_images, cfg.synthetic_seed, cfg.image_size)
    frame = pd.DataFrame(
        {
            "path": [f"synthetic[{i}]" for i in range(len(labels))],
            "label_name": np.asarray(CLASSES, dtype=object)[labels],
            "patient_id": patients.astype(object),
        }
    )
    frame, classes, keep = _finish(frame, list(CLASSES), cfg, "the synthetic radiographs")
    provenance = {
        "source": "synthetic radiographs (dlsuite generator)",
        "synthetic": True,
        "seed": cfg.synthetic_seed,
        **_counts(frame, classes),
        **_decoding(cfg),
    }
    return ImageSet(frame=frame, classes=classes, config=cfg, provenance=provenance, images=images[keep], masks=masks[keep])


def _require_path(cfg: MedicalDataConfig) -> Path:
    if cfg.path is None:
        raise DataError(f"data.source {cfg.source!r} needs data.path")
    path = Path(cfg.path).expanduser()
    if not path.exists():
        raise DataError(f"data path not found: {path}")
    return path
