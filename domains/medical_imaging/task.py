"""Medical imaging: registration, metrics, predict, evaluate and explain.

Two tasks share one data path (`sources` -> `splits` -> `pipeline`):

- `classifier`: finding classification, by transfer learning from a TF Hub
  backbone (`transfer`, trained in two phases) or from scratch (`cnn`), with
  per-class ROC AUC, a screening operating point, calibration and Grad-CAM;
- `segmentation`: a U-Net that outlines lesions, trained with a Dice loss,
  explained by integrated gradients of its mean lesion probability.

Image sets larger than memory are packed first (`dlsuite data pack
medical_imaging`, `ClassifierTask.pack`): every image is decoded once into
train/validation/test TFRecord shards, and training streams them.

This module imports no TensorFlow or Keras: the model builders are
registered with `lazy(...)` and every TensorFlow import is inside a method.

NOT A MEDICAL DEVICE: the demo models learned synthetic images.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from domains.medical_imaging.config import (
    DECODING_KEYS,
    IMAGE_SUFFIXES,
    ClassifierEvaluationConfig,
    ClassifierMetrics,
    CNNConfig,
    MedicalDataConfig,
    MedicalState,
    SegmentationEvaluationConfig,
    TransferConfig,
    UNetConfig,
)
from domains.medical_imaging.decoding import decode_path
from domains.medical_imaging.pipeline import make_dataset, segmentation_dataset
from domains.medical_imaging.sources import SOURCES, ImageSet, load_images, resolve_source
from domains.medical_imaging.splits import assign_splits, choose_split, default_split, split_key, split_summary
from domains.medical_imaging.synthetic import write_mask_manifest, write_synthetic_folder
from shared import runs
from shared.data.packs import SplitShards, is_pack, read_pack, source_fingerprint, write_pack_file, writing_pack
from shared.data.pipeline import batched, split_datasets
from shared.data.records import batch_parser, read_records, shard_counts
from shared.data.splits import SPLIT_NAMES, SplitConfig, StreamingSplit, time_cutoffs
from shared.domain import DataBundle, Domain, ExampleFiles, Explanation, InputKind, ModelSpec, Task, lazy
from shared.errors import DataError, RunError, UnsupportedError
from shared.evaluation.predictions import predict_dataset
from shared.inputs.image import expand_image_inputs, run_pixel_limit
from shared.progress import RunningCount
from shared.registry import Registry
from shared.run_files import RESTORE_HINT
from shared.training.class_weights import balanced_class_weights
from shared.training.phases import backbone_phases

HERE = Path(__file__).resolve().parent
DEMO_SEED = 90_210  # held out: no preset trains on it
NOT_A_DEVICE = "Not a medical device: for research and teaching only, never for diagnosis or treatment decisions."
EVALUATE_BATCH = 32
IG_STEPS = 64

INTENDED_USE = (
    "Teaching and prototyping image classification and segmentation pipelines on medical images. "
    + NOT_A_DEVICE
)
LIMITATIONS = (
    "The demo models learned synthetic radiograph-like images; they say nothing about real findings. "
    "A model trained on your data is only as good as its labels and its validation on patients it never saw; "
    "calibration and the operating point must be re-checked on the target population."
)


class MedicalTask(Task):
    """Shared data path for the medical tasks."""

    input_kind = InputKind.IMAGE
    data_config = MedicalDataConfig
    state_schema = MedicalState
    intended_use = INTENDED_USE
    limitations = LIMITATIONS

    def extra_suffixes(self) -> tuple[str, ...]:
        return (".dcm",)

    def _images(self, cfg) -> tuple[ImageSet, np.ndarray, Any]:
        if cfg.data.path and is_pack(cfg.data.path):
            raise UnsupportedError(
                f"{cfg.data.path} is packed data; the {self.name} task cannot train from a pack "
                "(only the classifier can); train it from the image folder or manifest"
            )
        images = load_images(cfg.data)
        choice = choose_split(images)
        assign = assign_splits(images, cfg.run.seed, choice)
        for name in ("train", "validation", "test"):
            if not (assign == name).any():
                raise DataError(f"the {name} split is empty; add images or change data.split")
        return images, assign, choice

    def _state(self, images: ImageSet) -> dict:
        return {
            "classes": list(images.classes),
            "image_size": images.config.image_size,
            "channels": images.config.channels,
            "decoding": images.config.model_dump(mode="json", include=DECODING_KEYS),
        }

    def _provenance(self, images: ImageSet, assign: np.ndarray) -> dict:
        return {**images.provenance, **{k: v for k, v in split_summary(images, assign).items() if not isinstance(v, list)}}

    def input_spec(self, data: DataBundle) -> dict:
        s, c = data.state["image_size"], data.state.get("channels", 1)
        what = "grey levels" if c == 1 else "grey levels repeated over 3 channels"
        return {"inputs": {"image": f"float32 [{s}, {s}, {c}], {what} in [0, 1]"}, "outputs": self.output_spec(data)}

    def _run_data(self, run, **update) -> MedicalDataConfig:
        """The run's decoding (size, channels, resize, window) and pixel limit as a data config."""
        decoding = run.task_state(self.state_schema).decoding.model_dump()
        return MedicalDataConfig(**{**decoding, "max_pixels": run_pixel_limit(run), **update})

    def decode_inputs(self, run, inputs: list[Path]) -> tuple[list[str], np.ndarray]:
        """Decode image files (or folders of them) the way the run was trained."""
        cfg = self._run_data(run)
        paths = expand_image_inputs(inputs, IMAGE_SUFFIXES)
        arrays = np.stack([decode_path(p, cfg) for p in paths]).astype("float32")
        return [str(p) for p in paths], arrays

    def _held_out(self, run, path: Path) -> ImageSet:
        """A labelled folder or manifest decoded as the run was trained, labelled with the run's classes."""
        path = Path(path)
        if not path.exists():
            raise DataError(f"data path not found: {path}")
        data = run.config_data.get("data") if isinstance(run.config_data.get("data"), dict) else {}
        columns = {k: data[k] for k in ("path_column", "label_column", "patient_column", "mask_column") if isinstance(data.get(k), str)}
        cfg = self._run_data(run, path=str(path), **columns)
        kind = resolve_source(cfg)
        if kind == "synthetic":
            raise DataError(f"{path}: give a folder with one sub-folder per class, or a CSV/Parquet manifest")
        images = load_images(cfg)
        known = run.task_state(self.state_schema).classes
        unknown = [c for c in images.classes if c not in known]
        if unknown:
            raise DataError(
                f"{path} has class(es) {', '.join(map(repr, unknown))} that the run was not trained on; "
                f"its classes are {', '.join(map(repr, known))}"
            )
        images.frame["label"] = images.frame["label_name"].map({c: i for i, c in enumerate(known)}).astype(np.int32)
        images.classes = list(known)
        return images


class ClassifierTask(MedicalTask):
    name = "classifier"
    objective = ("accuracy", "max")
    title = "Finding classifier"
    description = "Normal / nodule / opacity from a radiograph: transfer learning from a TF Hub backbone, or a CNN from scratch."
    score_meaning = "probability of each finding class (p_<class>, softmax over the run's classes, summing to 1)"
    quick_overrides = (
        "data.synthetic_images=240", "trainer.batch_size=32", "trainer.tensorboard=false",
        "model.head_epochs=1", "model.fine_tune_epochs=1", "evaluation.compare_from_scratch=false",
    )
    preset = HERE / "configs" / "classifier.yaml"
    evaluation_config = ClassifierEvaluationConfig
    models = Registry("model type")
    models.register(
        "transfer",
        ModelSpec(
            TransferConfig,
            lazy("domains.medical_imaging.models:build_transfer"),
            "TF Hub backbone + head, two-phase fine-tuning",
            phases=backbone_phases,
            pretrained=True,
        ),
    )
    models.register("cnn", ModelSpec(CNNConfig, lazy("domains.medical_imaging.models:build_cnn"), "residual CNN from scratch"))

    def output_spec(self, data: DataBundle) -> dict:
        return {"probabilities": f"softmax over {data.state['classes']}"}

    def load_data(self, cfg, workdir: Path) -> DataBundle:
        if cfg.data.path and is_pack(cfg.data.path):
            return self._load_pack(cfg, Path(cfg.data.path))
        images, assign, choice = self._images(cfg)
        t = cfg.trainer
        splits = split_datasets(lambda name: make_dataset(images, assign == name), t.batch_size, shuffle_buffer=t.shuffle_buffer, seed=cfg.run.seed, cache=t.cache)
        labels = images.frame["label"].to_numpy()[assign == "train"]
        counts = np.bincount(labels, minlength=len(images.classes))
        return DataBundle(
            train=splits["train"],
            validation=splits["validation"],
            test=splits["test"],
            provenance=self._provenance(images, assign),
            class_weight=balanced_class_weights(counts, images.classes, source=str(images.provenance.get("source", "the images"))),
            state=self._state(images),
            train_rows=int((assign == "train").sum()),
            split=choice,
        )

    # --- packed data ---------------------------------------------------------------
    def pack(self, cfg, source: Path, out_dir: Path) -> dict:
        """Pack an image folder (class sub-folders, PNG/JPEG/DICOM) or a manifest into `out_dir`.

        Only the listing (path, label, patient id per image) is held in
        memory. Each image is then read, decoded and resized on its own with
        `decode_path` (same window, resize mode and size as in-memory
        training) and written as grey levels: `image` holds
        `round(255 * pixel)` as integers of shape [S, S, 1], so training only
        casts and divides by 255, with no decoder in the input pipeline. A 16-bit
        PNG or DICOM is therefore stored at 8 bits after its window is applied.

        The split streams too (`StreamingSplit`): by a stable hash of the
        patient id and `run.seed` when every image has one, else of the
        image's path relative to the source (`data.split` may name another
        group or time column of a manifest). It is not stratified by label;
        `pack.json` records the images, patients and classes per split.
        Images are written in an order shuffled by `run.seed`, so that the
        training shuffle buffer does not see one class after another.
        A file that cannot be decoded stops packing with one line naming it,
        and nothing is left in `out_dir`.

        Returns:
            dict: the content of `out_dir/pack.json`.
        """
        images, kind, base = _pack_listing(cfg, Path(source))
        frame = images.frame
        rel = np.array([os.path.relpath(p, base) for p in frame["path"]], dtype=object)
        assign, split_info = _pack_assign(images, rel, cfg.run.seed)
        single = images.config.model_copy(update={"channels": 1})
        size = single.image_size
        spec = {
            "image": {"dtype": "int", "shape": [size, size, 1]},
            "label": {"dtype": "int", "shape": []},
            "patient_id": {"dtype": "string", "shape": []},
            "path": {"dtype": "string", "shape": []},
        }
        labels = frame["label"].to_numpy(np.int64)
        patients = frame["patient_id"].fillna("").astype(str).to_numpy(dtype=object)
        paths = frame["path"].to_numpy(dtype=object)
        order = np.random.default_rng(cfg.run.seed).permutation(len(frame))
        chunk = max(1, min(64, cfg.data.rows_per_shard))
        with writing_pack(out_dir) as root:
            shards = SplitShards(root, spec, cfg.data.rows_per_shard)
            shards.progress = RunningCount("packed {:,} images")
            for start in range(0, len(order), chunk):
                rows = order[start : start + chunk]
                pixels = np.stack([_grey_levels(decode_path(paths[r], single)) for r in rows])
                shards.write(assign[rows], {"image": pixels, "label": labels[rows], "patient_id": patients[rows], "path": rel[rows]})
            manifests = shards.close()
            splits = {}
            for name, m in manifests.items():
                part = frame[assign == name]
                counts = np.bincount(part["label"], minlength=len(images.classes))
                splits[name] = {
                    "rows": m["rows"],
                    "shards": len(m["shards"]),
                    "patients": int(part["patient_id"].nunique()) if images.has_patients else None,
                    "class_counts": {c: int(n) for c, n in zip(images.classes, counts)},
                }
            info = {
                "domain": self.domain.name,
                "task": self.name,
                "created": runs.now(),
                "source": _listing_fingerprint(Path(source), kind, frame, rel),
                "split": split_info,
                "spec": spec,
                "pixels": "image holds grey levels 0..255 (the decoded [0, 1] image times 255, rounded); one channel",
                "state": self._state(images),
                "splits": splits,
                "provenance": images.provenance,
                "data_config": cfg.data.model_dump(mode="json"),
            }
            info = write_pack_file(root, info)
        return info

    def _load_pack(self, cfg, root: Path) -> DataBundle:
        """Stream a packed image set (`dlsuite data pack`); it is never loaded into memory.

        Shards are checksummed first (`data.verify_shards`), then read file
        by file, shuffled as serialized records, batched and parsed a batch
        at a time, with no `cache()`. Augmentation and preprocessing are
        layers of the model, as for in-memory data. The classes, image size,
        decoding and split are the ones fixed when the data was packed.
        """
        import tensorflow as tf

        pack = read_pack(root, self.domain.name, verify=cfg.data.verify_shards)
        if pack["task"] != self.name:
            raise DataError(f"{root} was packed for the {pack['task']!r} task, not {self.name!r}; pack the data again with --task {self.name}")
        state, counts = pack["state"], pack["splits"]
        parse = batch_parser(pack["spec"])
        channels = int(state["channels"])

        def as_pair(serialized):
            example = parse(serialized)
            image = tf.cast(example["image"], tf.float32) / 255.0
            if channels != 1:
                image = tf.repeat(image, channels, axis=-1)
            return image, tf.cast(example["label"], tf.int32)

        t = cfg.trainer
        # No cache: an in-memory cache would hold every image.
        splits = split_datasets(lambda name: read_records(root / name), t.batch_size, shuffle_buffer=t.shuffle_buffer, seed=cfg.run.seed, batch_map_fn=as_pair)
        classes = state["classes"]
        train_counts = np.array([counts["train"]["class_counts"][c] for c in classes])
        total = {c: sum(counts[n]["class_counts"][c] for n in SPLIT_NAMES) for c in classes}
        provenance = {
            **pack.get("provenance", {}),
            "source": pack["source"]["path"],
            "packed_data": str(root),
            "packed_at": pack.get("created"),
            "images": sum(counts[n]["rows"] for n in SPLIT_NAMES),
            "class_counts": total,
            "split": pack["split"]["type"],
            "split_key": pack["split"]["key"],
            "split_stratified": False,
            **{f"{n}_images": counts[n]["rows"] for n in SPLIT_NAMES},
            **{f"{n}_patients": counts[n]["patients"] for n in SPLIT_NAMES},
        }
        return DataBundle(
            train=splits["train"],
            validation=splits["validation"],
            test=splits["test"],
            provenance=provenance,
            class_weight=balanced_class_weights(train_counts, classes, source=str(root)),
            state=state,
            train_rows=counts["train"]["rows"],
            source_files=shard_counts(root),
        )

    def loss(self, cfg):
        import keras

        return keras.losses.SparseCategoricalCrossentropy()

    def metrics(self, cfg) -> list:
        import keras

        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    # --- evaluation --------------------------------------------------------------
    def evaluate(self, model, data: DataBundle, cfg, out_dir: Path) -> dict:
        from shared.evaluation import calibration, multiclass, plots
        from shared.layers.names import FEATURE_MAP

        classes = data.state["classes"]
        ev = cfg.evaluation
        y_val, p_val = predict_dataset(model, data.validation)
        y_test, p_test = predict_dataset(model, data.test)
        report = multiclass.multiclass_report(y_test, p_test, classes)
        normal = classes.index(ev.normal_class) if ev.normal_class in classes else None
        if normal is not None:
            point = multiclass.choose_operating_point(y_val, p_val, normal_class=normal, target_sensitivity=ev.target_sensitivity)
            report["screening"] = {
                **multiclass.abnormal_report(y_test, p_test, normal_class=normal, threshold=point["threshold"]),
                "threshold": point["threshold"],
                "reason": point["reason"],
            }
        rel = calibration.reliability(y_test, p_test, n_bins=ev.calibration_bins)
        report["ece"] = calibration.expected_calibration_error(y_test, p_test, n_bins=ev.calibration_bins)
        plots.save_figure(plots.confusion_matrix_multiclass(report["confusion_matrix"], classes), out_dir / "confusion_matrix.png")
        plots.save_figure(plots.roc_curves_multiclass(y_test, p_test, classes), out_dir / "roc_curves.png")
        plots.save_figure(plots.reliability_diagram(rel, report["ece"]), out_dir / "reliability.png")
        if ev.gradcam_examples and FEATURE_MAP in {layer.name for layer in model.layers}:
            images = np.concatenate([x.numpy() for x, _ in data.test.take(1)])[: ev.gradcam_examples]
            heat = gradcam_heatmaps(model, images)
            titles = [classes[int(i)] for i in model.predict(images, verbose=0).argmax(-1)]
            plots.save_figure(plots.image_grid(images, titles=titles, overlays=heat), out_dir / "gradcam.png")
        if ev.compare_from_scratch and self.model_spec(cfg).pretrained:
            report["from_scratch"] = train_from_scratch_twin(cfg, data, y_test)
            if "macro_roc_auc" in report["from_scratch"]:
                report["transfer_beats_scratch"] = bool(report["macro_roc_auc"] > report["from_scratch"]["macro_roc_auc"])
        return report

    def summarize(self, metrics: dict) -> str:
        line = f"test accuracy {metrics['accuracy']:.3f}, macro ROC AUC {metrics['macro_roc_auc']:.3f}, ECE {metrics['ece']:.3f}"
        if "screening" in metrics:
            s = metrics["screening"]
            line += f"; abnormal-vs-normal sensitivity {s['sensitivity']:.3f}, specificity {s['specificity']:.3f}"
        if "accuracy" in metrics.get("from_scratch", {}):
            fs = metrics["from_scratch"]
            line += f"; same architecture from scratch: accuracy {fs['accuracy']:.3f}, macro ROC AUC {fs['macro_roc_auc']:.3f}"
        return line

    def evaluate_file(self, run, path: Path) -> dict:
        """Score a labelled folder (one sub-folder per class) or manifest (path, label) with the run.

        Returns accuracy, balanced accuracy, macro ROC AUC, per-class
        figures and the confusion counts (rows true, columns predicted, in
        the run's class order). A class the run was not trained on is one
        `DataError` line.
        """
        from shared.evaluation import multiclass

        images = self._held_out(run, path)
        ds = batched(make_dataset(images), EVALUATE_BATCH)
        y, probs = predict_dataset(run.model, ds)
        classes = class_names(run, probs)
        report = multiclass.multiclass_report(y, probs, classes)
        return {"source": str(path), "images": int(len(y)), **report}

    # --- serving -------------------------------------------------------------------
    def predict(self, run, inputs: list[Path]) -> pd.DataFrame:
        paths, arrays = self.decode_inputs(run, inputs)
        screening = run.metrics_as(ClassifierMetrics).screening
        probs = run.model.predict(arrays, batch_size=64, verbose=0)
        classes = class_names(run, probs)
        out = pd.DataFrame({"path": paths, "prediction": [classes[i] for i in probs.argmax(-1)]})
        for i, c in enumerate(classes):
            out[f"p_{c}"] = probs[:, i]
        if screening and "normal" in classes:
            abnormal = 1.0 - probs[:, classes.index("normal")]
            out["abnormal"] = np.where(abnormal >= screening.threshold, "flag", "pass")
        return out

    def explain(self, run, example: Any) -> Explanation:
        """Grad-CAM for one image (a path or a decoded [S, S, channels] array)."""
        image = self.decode_inputs(run, [example])[1][0] if isinstance(example, (str, Path)) else np.asarray(example, "float32")
        probs = run.model.predict(image[None], verbose=0)[0]
        heat = gradcam_heatmaps(run.model, image[None])[0]
        classes = class_names(run, probs[None])
        top = int(probs.argmax())
        return Explanation(
            names=list(classes),
            values=[float(p) for p in probs],
            score=float(probs[top]),
            baseline_score=float(1.0 / len(classes)),
            method=f"Grad-CAM for class {classes[top]!r} on the last convolutional feature map",
            details={"heatmap": heat, "image": image[..., 0], "predicted": classes[top]},
        )

    def write_examples(self, out_dir: Path) -> ExampleFiles:
        """Held-out synthetic radiographs: a labelled PNG folder (+ manifest.csv), and a DICOM to explain."""
        out_dir = Path(out_dir)
        manifest = write_synthetic_folder(out_dir / "labelled", n=30, seed=DEMO_SEED)
        dicom = write_synthetic_folder(out_dir / "dicom", n=10, seed=DEMO_SEED + 1, fmt="dcm")
        explain = sorted((dicom.parent).rglob("*.dcm"))[0]
        predict = sorted(manifest.parent.rglob("*.png"))[:3]
        return ExampleFiles(predict=predict, evaluate=manifest.parent, explain=explain)


class SegmentationTask(MedicalTask):
    name = "segmentation"
    objective = ("dice", "max")
    title = "Lesion segmentation (U-Net)"
    description = "Outlines nodules and opacities pixel by pixel; trained with a Dice + cross-entropy loss."
    score_meaning = "lesion probability per pixel in [0, 1]; predict reports the pixels at 0.5 or above"
    quick_overrides = ("data.synthetic_images=240", "trainer.batch_size=32", "trainer.tensorboard=false", "model.filters=[16,32]")
    preset = HERE / "configs" / "segmentation.yaml"
    evaluation_config = SegmentationEvaluationConfig
    models = Registry("model type")
    models.register("unet", ModelSpec(UNetConfig, lazy("domains.medical_imaging.models:build_unet"), "U-Net with skip connections"))

    def output_spec(self, data: DataBundle) -> dict:
        s = data.state["image_size"]
        return {"mask": f"float32 [{s}, {s}, 1], lesion probability per pixel"}

    def load_data(self, cfg, workdir: Path) -> DataBundle:
        images, assign, choice = self._images(cfg)
        _require_masks(images, cfg.data.mask_column)
        t = cfg.trainer
        splits = split_datasets(lambda name: segmentation_dataset(images, assign == name), t.batch_size, shuffle_buffer=t.shuffle_buffer, seed=cfg.run.seed, cache=t.cache)
        return DataBundle(
            train=splits["train"],
            validation=splits["validation"],
            test=splits["test"],
            provenance=self._provenance(images, assign),
            state=self._state(images),
            train_rows=int((assign == "train").sum()),
            split=choice,
        )

    def loss(self, cfg):
        from shared.training.losses import BceDiceLoss

        return BceDiceLoss(dice_weight=cfg.model.dice_weight)

    def metrics(self, cfg) -> list:
        import keras

        return [keras.metrics.BinaryIoU(target_class_ids=[1], threshold=0.5, name="iou")]

    def evaluate(self, model, data: DataBundle, cfg, out_dir: Path) -> dict:
        from shared.evaluation import plots, segmentation

        images = np.concatenate([x.numpy() for x, _ in data.test])
        masks, probs = predict_dataset(model, data.test, target_dtype="float32")
        report = segmentation.segmentation_report(masks, probs, threshold=cfg.evaluation.threshold)
        n = cfg.evaluation.overlay_examples
        if n:
            lesions = np.flatnonzero(masks.reshape(len(masks), -1).max(axis=1) > 0)[:n]
            plots.save_figure(plots.image_grid(images[lesions], overlays=probs[lesions, ..., 0]), out_dir / "segmentation.png")
        return report

    def summarize(self, metrics: dict) -> str:
        return f"test Dice {metrics['dice']:.3f} (lesion images {metrics['dice_lesion_images_only']:.3f}), IoU {metrics['iou']:.3f}"

    def evaluate_file(self, run, path: Path) -> dict:
        """Dice and IoU on a manifest with a mask column (`data.mask_column`, default `mask_path`)."""
        from shared.evaluation import segmentation

        images = self._held_out(run, path)
        _require_masks(images, images.config.mask_column)
        threshold = _run_threshold(run)
        masks, probs = predict_dataset(run.model, batched(segmentation_dataset(images), EVALUATE_BATCH), target_dtype="float32")
        return {"source": str(path), "images": int(len(masks)), **segmentation.segmentation_report(masks, probs, threshold=threshold)}

    def predict(self, run, inputs: list[Path]) -> pd.DataFrame:
        paths, arrays = self.decode_inputs(run, inputs)
        probs = run.model.predict(arrays, batch_size=32, verbose=0)
        masks = probs[..., 0] >= 0.5
        return pd.DataFrame({"path": paths, "lesion_pixels": masks.reshape(len(masks), -1).sum(1), "lesion_fraction": masks.reshape(len(masks), -1).mean(1)})

    def segment(self, run, image: np.ndarray) -> np.ndarray:
        """Lesion probability map [S, S] for one decoded image."""
        return run.model.predict(np.asarray(image, "float32")[None], verbose=0)[0, ..., 0]

    def explain(self, run, example: Any) -> Explanation:
        """Integrated gradients of the mean lesion probability, from a blurred copy of the image.

        The U-Net standardises each image (z-score), so it gives the same
        output for every image on a straight path from a flat one: a black
        or grey baseline would attribute nothing. A heavily blurred copy
        keeps the exposure and removes the detail a lesion is made of.

        `values` are the summed attributions inside and outside the
        predicted lesion; `details["heatmap"]` is the absolute attribution per
        pixel scaled to [0, 1].
        """
        import keras

        from shared.explain.integrated_gradients import integrated_gradients

        image = self.decode_inputs(run, [example])[1][0] if isinstance(example, (str, Path)) else np.asarray(example, "float32")
        model = run.model

        def mean_lesion(x):
            return keras.ops.mean(model(x, training=False), axis=(1, 2, 3))

        from scipy.ndimage import gaussian_filter

        sigma = image.shape[0] / 8
        baseline = gaussian_filter(image, sigma=(sigma, sigma, 0), mode="nearest").astype("float32")
        attributions = integrated_gradients(mean_lesion, image[None], baseline[None], steps=IG_STEPS)[0].sum(-1)
        probs = model.predict(np.stack([image, baseline]), verbose=0)[..., 0]
        lesion = probs[0] >= 0.5
        peak = float(np.abs(attributions).max())
        return Explanation(
            names=["pixels inside the predicted lesion", "pixels outside it"],
            values=[float(attributions[lesion].sum()), float(attributions[~lesion].sum())],
            score=float(probs[0].mean()),
            baseline_score=float(probs[1].mean()),
            method=f"integrated gradients of the mean lesion probability, from a blurred copy of the image ({IG_STEPS} steps)",
            details={"heatmap": np.abs(attributions) / peak if peak > 0 else np.zeros_like(attributions), "image": image[..., 0], "mask": probs[0], "lesion_pixels": int(lesion.sum())},
        )

    def write_examples(self, out_dir: Path) -> ExampleFiles:
        """Held-out synthetic radiographs with lesion masks: a manifest to evaluate, PNGs to predict and explain."""
        manifest = write_mask_manifest(Path(out_dir) / "with_masks", n=30, seed=DEMO_SEED)
        images = sorted((manifest.parent / "images").glob("*.png"))
        return ExampleFiles(predict=images[:3], evaluate=manifest, explain=images[0])


def _require_masks(images: ImageSet, column: str) -> None:
    if not images.has_masks:
        raise DataError(
            "segmentation needs lesion masks: use the synthetic demo data, or a manifest with a "
            f"{column!r} column of mask images (data.mask_column)"
        )


def _run_threshold(run) -> float:
    evaluation = run.config_data.get("evaluation")
    threshold = evaluation.get("threshold", 0.5) if isinstance(evaluation, dict) else 0.5
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
        raise RunError(f"run directory {run.path}: config.yaml at evaluation.threshold must be a number in (0, 1). Received: {threshold!r}")
    return float(threshold)


def class_names(run, probs: np.ndarray) -> list[str]:
    """The run's class names, checked against the number of classes its model scores."""
    classes = run.task_state(ClassifierTask.state_schema).classes
    if probs.shape[-1] != len(classes):
        raise RunError(
            f"run directory {run.path}: metadata.json at task_state.classes lists {len(classes)} classes but model.keras "
            f"scores {probs.shape[-1]}; {RESTORE_HINT}"
        )
    return classes


PACKABLE_SOURCES = ("folder", "dicom", "manifest")


def _pack_listing(cfg, source: Path) -> tuple[ImageSet, str, Path]:
    """The images to pack (no pixels), their source kind and the folder paths are relative to."""
    data = cfg.data.model_copy(update={"path": str(source)})
    kind = resolve_source(data)
    if kind not in PACKABLE_SOURCES:
        raise UnsupportedError(
            f"{source} is a {kind} source, which is read into memory; packing reads an image folder "
            "(one sub-folder per class) or a CSV/Parquet manifest of image files"
        )
    if data.limit is not None:
        raise UnsupportedError("data.limit (few-label training) is not applied when packing; unset it, or train from the images directly")
    # Files are decoded one by one while packing, so only the cheap header checks run up front.
    images = SOURCES.get(kind)(data.model_copy(update={"verify": "header"}))
    images.config = data
    return images, kind, source if source.is_dir() else source.parent


def _pack_assign(images: ImageSet, rel: np.ndarray, seed: int) -> tuple[np.ndarray, dict]:
    """Split names per image (by a stable hash of its key), and the split settings for pack.json."""
    chosen = default_split(images)
    if chosen.type == "random":  # no patient ids: each image is its own group, keyed by its path
        streaming = SplitConfig(type="group", column="path", validation=chosen.validation, test=chosen.test)
        key, key_name = rel, "path"
    else:
        streaming, key = chosen, split_key(images, chosen)
        key_name = "patient_id" if chosen.column in ("patient_id", images.config.patient_column) else chosen.column
    cutoffs = time_cutoffs([key], chosen) if chosen.type == "time" else None
    assign = StreamingSplit(streaming, seed, cutoffs).assign(0, len(rel), key)
    info = {**chosen.model_dump(mode="json"), "key": key_name, "seed": seed, "stratified": False}
    return assign, info


def _grey_levels(image: np.ndarray) -> np.ndarray:
    """A decoded [S, S, 1] image in [0, 1] as integer grey levels 0..255."""
    return np.round(image * 255.0).astype(np.uint8)


def _listing_fingerprint(source: Path, kind: str, frame: pd.DataFrame, rel: np.ndarray) -> dict:
    """Identify the packed input: the source, and a SHA-256 of its listing (path, size, mtime, label, patient)."""
    digest = hashlib.sha256()
    for path, name, label, patient in zip(frame["path"], rel, frame["label_name"], frame["patient_id"]):
        stat = os.stat(path)
        digest.update(f"{name}\t{stat.st_size}\t{stat.st_mtime_ns}\t{label}\t{patient}\n".encode())
    out = {"path": str(source.resolve()), "format": kind, "images": int(len(frame)), "listing_sha256": digest.hexdigest()}
    if source.is_file():
        out["manifest"] = source_fingerprint(source)
    return out



def gradcam_heatmaps(model, images: np.ndarray) -> np.ndarray:
    from shared.explain import grad_cam
    from shared.layers.names import FEATURE_MAP

    if FEATURE_MAP not in {layer.name for layer in model.layers}:
        raise UnsupportedError(
            "this classifier has no spatial feature map (a feature-vector backbone), so Grad-CAM cannot explain it"
        )
    return grad_cam(model, images, layer_name=FEATURE_MAP)


def train_from_scratch_twin(cfg, data: DataBundle, y_test: np.ndarray) -> dict:
    """The backbone's own architecture from random weights, same data and epochs (`shared.training.scratch_twin`)."""
    from domains.medical_imaging.models import build_scratch_twin
    from shared.evaluation import multiclass
    from shared.training.scratch_twin import train_scratch_twin

    trained = train_scratch_twin(cfg, data, lambda extractor: build_scratch_twin(cfg.model, data, extractor))
    if trained.model is None:
        return {"skipped": trained.skipped}
    _, probs = predict_dataset(trained.model, data.test)
    report = multiclass.multiclass_report(y_test, probs, data.state["classes"])
    return {"model": "same architecture, random init", "epochs": trained.epochs, "accuracy": report["accuracy"], "macro_roc_auc": report["macro_roc_auc"]}


DOMAIN = Domain(
    name="medical_imaging",
    title="Medical imaging",
    description="Classify findings on radiographs with transfer learning from TF Hub, and outline lesions with a U-Net. Not a medical device.",
    task_classes=[ClassifierTask, SegmentationTask],
    default_task="classifier",
    package_dir=HERE,
    demo_tasks={"classifier": [], "segmentation": []},
    icon=":material/radiology:",
)
