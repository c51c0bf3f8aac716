"""The synthetic demo data: chest-radiograph-like images with labelled findings and lesion masks.

- `generate_radiographs`: seeded arrays (images, labels, masks, patient ids);
- `build_dicom`: a single-frame greyscale DICOM dataset from stored values;
- `write_synthetic_folder`: a folder per class of PNG or DICOM files plus a
  manifest, to try the file sources and the CLI on;
- `write_mask_manifest`: PNG images, PNG lesion masks and a manifest with a
  `mask_path` column, the layout segmentation trains and evaluates on.

Nothing is downloaded; the same seed gives the same images on every machine.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from domains.medical_imaging.config import CLASSES

# Coordinates are x (left-right) and y (top-down) in [-1, 1]. Brightness
# stands for attenuation: air is dark, soft tissue grey, lesions bright.

# Share of synthetic patients per entry of CLASSES: "normal" a little more
# common, as in screening data; images per patient vary, so image counts wobble.
_CLASS_SHARES = np.array([0.4, 0.3, 0.3])
_IMAGES_PER_PATIENT = (1, 4)
_CHUNK = 256  # images rendered at once; bounds memory for large n
_COARSE = 6  # grid of the low-frequency texture and opacity patchiness


def _sigmoid(z):
    return 0.5 + 0.5 * np.tanh(0.5 * z)


def _upsample_matrix(coarse: int, size: int) -> np.ndarray:
    """(size, coarse) bilinear interpolation weights; `M @ grid @ M.T` upsamples a grid."""
    pos = np.linspace(0, coarse - 1, size)
    low = np.minimum(np.floor(pos).astype(int), coarse - 2)
    frac = (pos - low).astype(np.float32)
    out = np.zeros((size, coarse), np.float32)
    out[np.arange(size), low] = 1 - frac
    out[np.arange(size), low + 1] = frac
    return out


def _draw(rng: np.random.Generator, n: int, **ranges) -> dict:
    """Uniform float32 draws, one array of `n` per named (low, high) range, in keyword order."""
    return {name: rng.uniform(lo, hi, n).astype(np.float32) for name, (lo, hi) in ranges.items()}


def _render(p: dict, img_p: dict, patient: np.ndarray, cls: np.ndarray, noise: np.random.Generator, size: int):
    """Render one chunk; `p` holds per-patient, `img_p` per-image parameters (already sliced)."""
    col = lambda a: a[:, None, None]  # noqa: E731
    pat = {k: col(v[patient]) for k, v in p.items()}
    im = {k: col(v) for k, v in img_p.items() if v.ndim == 1}
    grid = np.linspace(-1, 1, size, dtype=np.float32)
    yy = (grid[None, :, None] - im["dy"]) / im["scale"]
    xx = (grid[None, None, :] - im["dx"]) / im["scale"]
    edge = np.float32(3.0 / size)

    # Torso with shoulders and neck, the spine, two lung fields, the heart, ribs.
    half_width = pat["body_w"] * (0.55 + 0.45 * _sigmoid((yy + 0.7) / 0.06))
    body = _sigmoid((half_width - np.abs(xx)) / edge)
    img = 0.06 + (pat["tissue"] - 0.06) * body + 0.10 * np.exp(-((xx / 0.08) ** 2)) * body
    lungs = np.zeros_like(img)
    for side in (-1.0, 1.0):
        u = (xx - side * pat["lung_cx"]) / pat["lung_ax"]
        v = (yy - pat["lung_cy"]) / pat["lung_ay"]
        rounded = np.sqrt(u * u + v * v * np.where(v > 0, np.float32(1.0), np.float32(0.8)))
        lungs = np.maximum(lungs, _sigmoid((1 - rounded) / 0.08))
    img = img - 0.33 * lungs
    hu = (xx - pat["heart_x"]) / (1.15 * pat["heart_r"])
    hv = (yy - 0.32) / pat["heart_r"]
    img = img + 0.22 * _sigmoid((1 - np.sqrt(hu * hu + hv * hv)) / 0.12) * lungs
    band = yy + pat["rib_curve"] * (np.abs(xx) - 0.15) ** 2
    ribs = (0.5 + 0.5 * np.cos(2 * np.pi * band / pat["rib_period"] + pat["rib_phase"])) ** 6
    img = img + 0.09 * ribs * lungs

    # Findings: nodules are small sharp bright discs, opacities large patchy haze.
    def lesion_centre(which: str):
        x = pat["side"] * pat["lung_cx"] + pat[f"{which}_u"] * pat["lung_ax"]
        y = pat["lung_cy"] + pat[f"{which}_v"] * pat["lung_ay"]
        return np.sqrt((xx - x) ** 2 + (yy - y) ** 2)

    is_nodule, is_opacity = col(cls == 1), col(cls == 2)
    dist = lesion_centre("les")
    radius = pat["nod_r"] * im["size_jitter"]
    nodules = np.maximum(
        _sigmoid((radius - dist) / (0.25 * radius)),
        _sigmoid((radius - lesion_centre("les2")) / (0.25 * radius)) * pat["second"],
    ) * is_nodule
    spread = 0.5 * pat["op_r"] * im["size_jitter"]
    upsample = _upsample_matrix(_COARSE, size)
    patches = np.einsum("sa,nab,tb->nst", upsample, img_p["patch"], upsample)
    opacity = np.exp(-0.5 * (dist / spread) ** 2) * np.clip(1 + 0.5 * patches, 0.2, None) * lungs * is_opacity
    img = img + pat["amp_nod"] * nodules + pat["amp_op"] * opacity
    # Relative thresholds keep every lesion's mask non-empty, even at small sizes.
    peak_n = nodules.max(axis=(1, 2), keepdims=True)
    peak_o = opacity.max(axis=(1, 2), keepdims=True)
    masks = ((nodules >= 0.5 * peak_n) & (peak_n > 0)) | ((opacity >= 0.35 * peak_o) & (peak_o > 0))

    # Acquisition: texture, a smooth exposure gradient, noise, brightness and contrast.
    texture = np.einsum("sa,nab,tb->nst", upsample, img_p["texture"], upsample)
    img = img + 0.025 * texture * body
    img = img + im["grad"] * (np.cos(im["theta"]) * xx + np.sin(im["theta"]) * yy)
    img = img + im["noise"] * noise.standard_normal(img.shape, dtype=np.float32)
    img = im["gain"] * (img - 0.35) + 0.35 + im["offset"]
    return np.clip(img, 0.0, 1.0).astype(np.float32), masks.astype(np.uint8)


def generate_radiographs(n: int, seed: int = 0, image_size: int = 64):
    """Synthetic chest-radiograph-like images with labelled findings.

    Each synthetic patient has their own anatomy (torso width, lung fields
    darker than the mediastinum, heart, faint curved ribs) and one finding,
    seen in 1-4 images with small changes in positioning and lesion size:

    - `normal`: no finding (40% of patients);
    - `nodule`: one or two small, sharp, bright round blobs inside a lung
      field (30%);
    - `opacity`: a large diffuse patchy brightening inside a lung (30%).

    Every image gets its own brightness, contrast, exposure gradient,
    texture and noise, so mean intensity alone does not give the class away
    (it stays at chance, while logistic regression on 16x16 downsampled
    pixels reaches about 62% on held-out patients against 44% for the
    majority class, and a three-layer CNN about 90% after 15 epochs).
    Lesion masks mark each finding. 2,400 images at 64 px take under two
    seconds on one CPU core.

    Args:
        n: int >= 10. Images to generate.
        seed: int. Seed of the `numpy.random.Generator`. Defaults to `0`.
        image_size: int >= 16. Height and width in pixels. Defaults to `64`.

    Returns:
        Tuple `(images, labels, masks, patient_ids)`: float32
        (n, S, S, 1) in [0, 1]; int32 (n,) indices into `CLASSES`; uint8
        (n, S, S, 1) with 1 on lesion pixels (all 0 for `normal`); str (n,)
        such as `"SYN00012"`. Rows are shuffled, so one patient's images are
        not adjacent.

    Example:

    >>> images, labels, masks, patients = generate_radiographs(100, seed=1)
    >>> images.shape, masks.shape
    ((100, 64, 64, 1), (100, 64, 64, 1))
    """
    if int(n) != n or n < 10:
        raise ValueError(f"`n` must be an integer >= 10. Received: n={n}")
    if int(image_size) != image_size or image_size < 16:
        raise ValueError(f"`image_size` must be an integer >= 16. Received: image_size={image_size}")
    n, size = int(n), int(image_size)
    rng = np.random.default_rng(seed)
    per_patient = rng.integers(_IMAGES_PER_PATIENT[0], _IMAGES_PER_PATIENT[1] + 1, size=n)
    ends = np.cumsum(per_patient)
    n_patients = int(np.searchsorted(ends, n)) + 1
    per_patient = per_patient[:n_patients]
    per_patient[-1] -= ends[n_patients - 1] - n
    patient = np.repeat(np.arange(n_patients), per_patient)
    patient_class = rng.choice(len(CLASSES), n_patients, p=_CLASS_SHARES)

    p = _draw(
        rng, n_patients,
        body_w=(0.80, 0.92), tissue=(0.50, 0.60),
        lung_cx=(0.34, 0.40), lung_cy=(-0.08, 0.02), lung_ax=(0.24, 0.30), lung_ay=(0.52, 0.62),
        heart_r=(0.24, 0.32), heart_x=(0.08, 0.18),
        rib_period=(0.15, 0.21), rib_phase=(0, 2 * np.pi), rib_curve=(0.6, 1.2),
        nod_r=(0.06, 0.10), op_r=(0.22, 0.36), amp_nod=(0.16, 0.28), amp_op=(0.20, 0.32),
    )
    p["side"] = rng.choice(np.array([-1.0, 1.0], np.float32), n_patients)
    # Lesion centres in lung coordinates, within 65% of the lung's radius.
    for which in ("les", "les2"):
        angle = rng.uniform(0, 2 * np.pi, n_patients)
        radius = 0.65 * np.sqrt(rng.random(n_patients))
        p[f"{which}_u"] = (radius * np.cos(angle)).astype(np.float32)
        p[f"{which}_v"] = (radius * np.sin(angle)).astype(np.float32)
    p["second"] = (rng.random(n_patients) < 0.3).astype(np.float32)

    img_p = _draw(
        rng, n,
        dx=(-0.04, 0.04), dy=(-0.04, 0.04), scale=(0.96, 1.04), size_jitter=(0.85, 1.15),
        gain=(0.65, 1.35), offset=(-0.15, 0.15), grad=(0.0, 0.12), theta=(0, 2 * np.pi), noise=(0.012, 0.035),
    )
    img_p["texture"] = rng.standard_normal((n, _COARSE, _COARSE), dtype=np.float32)
    img_p["patch"] = rng.standard_normal((n, _COARSE, _COARSE), dtype=np.float32)
    order = rng.permutation(n)

    images = np.empty((n, size, size), np.float32)
    masks = np.empty((n, size, size), np.uint8)
    for start in range(0, n, _CHUNK):
        rows = slice(start, min(n, start + _CHUNK))
        chunk = {k: v[rows] for k, v in img_p.items()}
        noise = np.random.default_rng([seed, start])
        images[rows], masks[rows] = _render(p, chunk, patient[rows], patient_class[patient[rows]], noise, size)
    labels = patient_class[patient].astype(np.int32)
    ids = np.array([f"SYN{i:05d}" for i in patient])
    return images[order, ..., None], labels[order], masks[order, ..., None], ids[order]


# --- writing demo files ------------------------------------------------------------


def build_dicom(
    pixels: np.ndarray,
    patient_id: str,
    *,
    photometric: str = "MONOCHROME2",
    bits_stored: int = 12,
    slope: float = 1.0,
    intercept: float = 0.0,
    window: tuple[float, float] | None = None,
    modality: str = "DX",
    uid_seed: str = "",
):
    """A single-frame greyscale DICOM dataset, ready for `save_as(path, enforce_file_format=True)`.

    Args:
        pixels: uint16 array (rows, columns). Stored values.
        patient_id: str. PatientID (and PatientName).
        photometric: str. `"MONOCHROME2"` (high = bright) or `"MONOCHROME1"`
            (high = dark). Defaults to `"MONOCHROME2"`.
        bits_stored: int. Defaults to `12`.
        slope, intercept: float. RescaleSlope and RescaleIntercept.
        window: (center, width) or None. WindowCenter/WindowWidth to write.
        modality: str. Defaults to `"DX"` (digital radiography).
        uid_seed: str. Makes the UIDs reproducible.

    Returns:
        `pydicom.Dataset` with file meta (explicit VR little endian).
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    sop_class = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage - For Presentation
    uid = lambda part: generate_uid(entropy_srcs=[uid_seed, patient_id, part])  # noqa: E731
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = uid("instance")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uid("study"), uid("series")
    ds.PatientID, ds.PatientName, ds.Modality = patient_id, patient_id, modality
    ds.set_pixel_data(np.asarray(pixels, dtype=np.uint16), photometric, bits_stored, generate_instance_uid=False)
    ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = f"{slope:g}", f"{intercept:g}", "US"
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = f"{window[0]:g}", f"{window[1]:g}"
    return ds


# Stored values of written demo DICOMs: 12 bits, shifted into a CT-like range.
_DCM_MAX, _DCM_INTERCEPT = 4095, -1024.0


def _write_png(image: np.ndarray, path: Path, patient_id: str) -> Path:
    from PIL import Image

    path = path.with_suffix(".png")
    Image.fromarray(np.round(image[..., 0] * 255).astype(np.uint8)).save(path)
    return path


def _write_dcm(image: np.ndarray, path: Path, patient_id: str) -> Path:
    path = path.with_suffix(".dcm")
    stored = np.round(image[..., 0] * _DCM_MAX).astype(np.uint16)
    # The written window maps the stored range back onto [0, 1] when decoded.
    window = (_DCM_INTERCEPT + (_DCM_MAX + 1) / 2, _DCM_MAX + 1)
    ds = build_dicom(stored, patient_id, intercept=_DCM_INTERCEPT, window=window, uid_seed=path.name)
    ds.save_as(path, enforce_file_format=True)
    return path


_WRITERS: dict[str, Callable] = {"png": _write_png, "dcm": _write_dcm}


def write_synthetic_folder(out_dir: str | Path, n: int = 120, seed: int = 0, fmt: str = "png", image_size: int = 64) -> Path:
    """Write synthetic radiographs as a folder-per-class tree plus a manifest.

    Layout: `out_dir/<class>/<patient>_<k>.png` (8-bit) or `.dcm` (12-bit
    stored values, RescaleIntercept -1024, a window covering them, the
    patient in PatientID), and `out_dir/manifest.csv` with `path` (relative),
    `label` and `patient_id`. `out_dir` is then valid as a `folder`/`dicom`
    source and its manifest as a `manifest` source.

    Args:
        out_dir: str or Path. Created if needed.
        n: int >= 10. Images. Defaults to `120`.
        seed: int. Generator seed. Defaults to `0`.
        fmt: str. `"png"` or `"dcm"`. Defaults to `"png"`.
        image_size: int. Defaults to `64`.

    Returns:
        Path of the manifest CSV.
    """
    if fmt not in _WRITERS:
        raise ValueError(f"`fmt` must be one of {', '.join(_WRITERS)}. Received: fmt={fmt!r}")
    out_dir = Path(out_dir)
    images, labels, _, patients = generate_radiographs(n, seed, image_size)
    rows, seen = [], {}
    for image, label, patient in zip(images, labels, patients):
        folder = out_dir / CLASSES[label]
        folder.mkdir(parents=True, exist_ok=True)
        seen[patient] = seen.get(patient, 0) + 1
        path = _WRITERS[fmt](image, folder / f"{patient}_{seen[patient]}", str(patient))
        rows.append((path.relative_to(out_dir).as_posix(), CLASSES[label], patient))
    manifest = out_dir / "manifest.csv"
    pd.DataFrame(rows, columns=["path", "label", "patient_id"]).to_csv(manifest, index=False)
    return manifest


def write_mask_manifest(out_dir: str | Path, n: int = 40, seed: int = 0, image_size: int = 64) -> Path:
    """Write synthetic radiographs and their lesion masks as PNGs plus `manifest.csv`.

    Layout: `out_dir/images/<patient>_<k>.png`, `out_dir/masks/<patient>_<k>.png`
    (255 on lesion pixels) and `out_dir/manifest.csv` with `path`,
    `mask_path` (relative), `label` and `patient_id`: a `manifest` source
    with masks, for training or evaluating segmentation.

    Returns:
        Path of the manifest CSV.
    """
    from PIL import Image

    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    (out_dir / "masks").mkdir(parents=True, exist_ok=True)
    images, labels, masks, patients = generate_radiographs(n, seed, image_size)
    rows, seen = [], {}
    for image, mask, label, patient in zip(images, masks, labels, patients):
        seen[patient] = seen.get(patient, 0) + 1
        name = f"{patient}_{seen[patient]}.png"
        Image.fromarray(np.round(image[..., 0] * 255).astype(np.uint8)).save(out_dir / "images" / name)
        Image.fromarray((mask[..., 0] * 255).astype(np.uint8)).save(out_dir / "masks" / name)
        rows.append((f"images/{name}", f"masks/{name}", CLASSES[label], patient))
    manifest = out_dir / "manifest.csv"
    pd.DataFrame(rows, columns=["path", "mask_path", "label", "patient_id"]).to_csv(manifest, index=False)
    return manifest
