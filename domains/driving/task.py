"""Autonomous-driving perception: registration, metrics, predict, evaluate, explain and video.

Three tasks read road-scene images through one data path (`sources` for the
formats the field uses, `pipeline` for tf.data) and build their models from
`shared/` (`models`):

- `segmentation`: per-pixel road-scene classes, DeepLabV3+ with ASPP on a
  TF Hub backbone (`deeplab`, two-phase transfer learning) or a U-Net from
  scratch (`unet`); class-weighted cross-entropy + Dice; mIoU and IoU per class;
- `detection`: vehicles, pedestrians, signs and lights boxed by a CenterNet
  on the same backbone; targets encoded in tf.data, decoding and NMS in the
  serving path; COCO mAP@[.5:.95], mAP@.5 and AP per class (pycocotools);
- `signs`: traffic-sign classification (GTSRB layout), transfer or CNN, with
  augmentation that never flips (left/right signs); accuracy and confusion.

Each transfer model is compared, in the same run, with the backbone's own
architecture trained from random weights for the same epochs.
Segmentation and detection runs also annotate videos (`annotate_video`:
`dlsuite predict RUN clip.mp4 -o annotated.mp4`).

This module imports no TensorFlow or Keras at import time.
The demo data is synthetic: a procedural renderer (`synthetic`), not camera images.
"""

from __future__ import annotations

import abc
import json
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import domains.driving.backbone  # noqa: F401  (registers dlsuite/road-scenes-cnn)
from domains.driving.classes import DETECTION_CLASSES, IGNORE_ID, SEGMENTATION_CLASSES, SEGMENTATION_NAMES, SIGN_CLASSES
from domains.driving.config import (
    CenterNetConfig,
    DeepLabConfig,
    DetectionEvaluationConfig,
    DrivingDataConfig,
    DrivingState,
    SegmentationEvaluationConfig,
    SignCNNConfig,
    SignEvaluationConfig,
    SignTransferConfig,
    UNetConfig,
)
from shared.data.pipeline import batched, split_datasets
from shared.data.splits import SplitChoice, split
from shared.domain import DataBundle, Domain, ExampleFiles, Explanation, InputKind, ModelSpec, Task, lazy
from shared.errors import DataError, RunError
from shared.inputs.image import expand_image_inputs, run_pixel_limit
from shared.registry import Registry
from shared.training.phases import backbone_phases

HERE = Path(__file__).resolve().parent
DEMO_SEED = 31_337  # held out: no preset trains on it
OUTPUT_STRIDE = 4
EVALUATE_BATCH = 16
IG_STEPS = 32
LATENCY_FRAMES = 20
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> {settings: tf.function}


def compiled(model, key: tuple, build):
    """One traced `tf.function` per model and settings: `model.predict` rebuilds a dataset on every call, which costs more than the network on a batch of frames."""
    functions = _COMPILED.setdefault(model, {})
    if key not in functions:
        functions[key] = build()
    return functions[key]


def image_spec(model):
    import tensorflow as tf

    return tf.TensorSpec((None, *model.input_shape[1:]), tf.float32, name="image")
SYNTHETIC_SOURCE = "synthetic road scenes from the suite's procedural renderer (domains/driving/synthetic.py), not camera images"

INTENDED_USE = (
    "Teaching and prototyping camera perception (segmentation, detection, sign recognition) and its evaluation "
    "with the field's metrics. Not for controlling a vehicle."
)
LIMITATIONS = (
    "The demo models learned synthetic, low-resolution renderings; they have not seen real roads, real weather or real "
    "sensors. A model trained on your data must be validated on the cities, cameras, seasons and times of day it will "
    "meet; per-class IoU and AP show where it is weak (small, rare classes first)."
)
PALETTE = [c.color for c in SEGMENTATION_CLASSES]
OBJECT_CLASSES = ("vehicle", "pedestrian", "traffic_sign", "traffic_light", "lane_marking")  # what segmentation explains first


def _split_choice(cfg) -> SplitChoice:
    chosen = cfg.data.split.model_copy(update={"type": "random"})
    return SplitChoice(chosen, f"random split ({chosen.validation:.0%} validation, {chosen.test:.0%} test, seed {cfg.run.seed}): the images are independent frames")


def _assign(n: int, cfg) -> tuple[np.ndarray, SplitChoice]:
    choice = _split_choice(cfg)
    assign = split(n, choice.config, cfg.run.seed)
    if cfg.data.limit is not None:
        train = np.flatnonzero(assign == "train")
        assign[train[cfg.data.limit :]] = "unused"
    return assign, choice


def _counts(assign: np.ndarray) -> dict:
    return {f"{name}_images": int((assign == name).sum()) for name in ("train", "validation", "test")}


def _twin_record(trained) -> dict:
    """What the from-scratch twin was and how long it trained (the transfer run's own time is in metadata.json, training.seconds)."""
    return {"model": "same architecture, random init", "epochs": trained.epochs, "epochs_run": trained.epochs_run, "train_seconds": trained.seconds}


def _transfer_verdict(ours: float, theirs: float, statistic, n_images: int, cfg, metric: str) -> dict:
    """The point comparison, and a paired bootstrap of the difference over test images (`evaluation.bootstrap_resamples`)."""
    from shared.evaluation.comparison import paired_bootstrap, verdict

    out = {"transfer_beats_scratch": bool(ours > theirs)}
    resamples = cfg.evaluation.bootstrap_resamples
    if resamples and n_images >= 2:
        report = paired_bootstrap(statistic, n_images, n_resamples=resamples, seed=cfg.run.seed)
        out["transfer_vs_scratch"] = {"metric": metric, **report, "verdict": verdict(report, "transfer", "scratch", metric)}
    return out


def _verdict_line(metrics: dict) -> str:
    comparison = metrics.get("transfer_vs_scratch")
    return f"\n{comparison['verdict']}" if comparison else ""


def _synthetic_provenance(cfg, kind: str) -> dict:
    return {
        "source": SYNTHETIC_SOURCE,
        "synthetic": True,
        "kind": kind,
        "images": cfg.data.synthetic_images,
        "seed": cfg.data.synthetic_seed,
    }


def _resize_frames(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """uint8 [N, h, w, 3] -> float32 [N, height, width, 3] in [0, 1], as the training pipeline resizes."""
    import tensorflow as tf

    from domains.driving.pipeline import to_model_image

    return to_model_image(tf.constant(np.asarray(frames, np.uint8)), height, width).numpy().astype("float32")


class DrivingTask(Task):
    """The data path and serving shared by the driving tasks."""

    input_kind = InputKind.IMAGE
    data_config = DrivingDataConfig
    state_schema = DrivingState
    intended_use = INTENDED_USE
    limitations = LIMITATIONS
    classes: tuple[str, ...] = ()

    def _state(self, cfg, **extra) -> dict:
        return {"classes": list(self.classes), "image_height": cfg.data.image_height, "image_width": cfg.data.image_width, **extra}

    def input_spec(self, data: DataBundle) -> dict:
        h, w = data.state["image_height"], data.state["image_width"]
        return {"inputs": {"image": f"float32 [{h}, {w}, 3], RGB in [0, 1]"}, "outputs": self.output_spec(data)}

    def output_spec(self, data: DataBundle) -> dict:
        return {}

    def _size(self, run) -> tuple[int, int]:
        state = run.task_state(self.state_schema)
        return state.image_height, state.image_width

    def _classes(self, run, channels: int) -> list[str]:
        classes = run.task_state(self.state_schema).classes
        if channels != len(classes):
            raise RunError(f"run directory {run.path}: metadata.json lists {len(classes)} classes but model.keras predicts {channels}; restore the run from a backup or train it again")
        return classes

    def decode_inputs(self, run, inputs: list[Path]) -> tuple[list[str], np.ndarray]:
        """Decode image files (or folders of them) to the run's input size: (paths, float32 [N, H, W, 3])."""
        from shared.inputs import SUFFIXES, require_kind
        from shared.inputs.image import open_image

        height, width = self._size(run)
        limit = run_pixel_limit(run)
        paths = expand_image_inputs(inputs, SUFFIXES["image"])
        frames = []
        for path in paths:
            require_kind(path, self.input_kind)
            with open_image(path, max_pixels=limit) as im:
                try:
                    frames.append(np.asarray(im.convert("RGB").resize((width, height), resample=3), np.float32) / 255.0)
                except OSError as exc:
                    raise DataError(f"could not decode {path} as an image: {exc}") from None
        return [str(p) for p in paths], np.stack(frames).astype("float32")

    def _latency(self, model, images: np.ndarray) -> dict:
        """Per-frame latency of the model alone, one frame per call (the video path's cost)."""
        import tensorflow as tf

        call = tf.function(lambda x: model(x, training=False))
        frames = images[:LATENCY_FRAMES]
        call(frames[:1])
        start = time.perf_counter()
        for frame in frames:
            call(frame[None])
        return {"latency_ms_per_frame": round(1000 * (time.perf_counter() - start) / len(frames), 2), "latency_frames": int(len(frames))}

# --- segmentation ------------------------------------------------------------------------------


class VideoAnnotation:
    """Segmentation and detection runs annotate videos: each frame through the model, its output drawn on it."""

    @abc.abstractmethod
    def annotate_frames(self, run, frames: np.ndarray, **options) -> np.ndarray:
        """uint8 frames [B, h, w, 3] -> annotated uint8 frames at the run's input size."""

    def annotate_video(self, run, source: Path, destination: Path, progress=None, **options) -> dict:
        """Decode `source` (a video or a frame folder), annotate every frame, and encode `destination` (MP4)."""
        from shared.inputs.video import process_video

        stats = process_video(Path(source), Path(destination), lambda batch: self.annotate_frames(run, batch, **options), batch_size=8, progress=progress)
        stats["model_ms_per_frame"] = round(1000 * stats["seconds_in_fn"] / max(1, stats["frames"]), 2)
        return {"source": str(source), "output": str(destination), **stats}


class SegmentationTask(VideoAnnotation, DrivingTask):
    name = "segmentation"
    objective = ("miou", "max")
    title = "Road-scene segmentation"
    description = "Per-pixel road, lane, vehicle, pedestrian, sign and light classes: DeepLabV3+ on a TF Hub backbone, or a U-Net."
    score_meaning = "fraction of the image's pixels predicted as each class (frac_<class>)"
    quick_overrides = ("data.synthetic_images=60", "trainer.batch_size=16", "trainer.tensorboard=false", "model.head_epochs=1", "model.fine_tune_epochs=0", "evaluation.compare_from_scratch=false")
    preset = HERE / "configs" / "segmentation.yaml"
    evaluation_config = SegmentationEvaluationConfig
    classes = SEGMENTATION_NAMES
    models = Registry("model type")
    models.register("deeplab", ModelSpec(DeepLabConfig, lazy("domains.driving.models:build_deeplab"), "DeepLabV3+ (ASPP) on a TF Hub backbone, two-phase fine-tuning", phases=backbone_phases, pretrained=True))
    models.register("unet", ModelSpec(UNetConfig, lazy("domains.driving.models:build_unet"), "U-Net from scratch"))

    class_weights: list[float] | None = None  # set by load_data from the training split's pixel counts; compile reads it

    def output_spec(self, data: DataBundle) -> dict:
        return {"mask": f"float32 [{data.state['image_height']}, {data.state['image_width']}, {len(self.classes)}], softmax over {list(self.classes)}"}

    def load_data(self, cfg, workdir: Path) -> DataBundle:
        from domains.driving.pipeline import segmentation_dataset

        h, w = cfg.data.image_height, cfg.data.image_width
        if cfg.data.path is None:
            from domains.driving.synthetic import scene_set

            scenes = scene_set(cfg.data.synthetic_images, cfg.data.synthetic_seed, h, w)
            images = np.stack([s.image for s in scenes])
            masks = np.stack([s.mask for s in scenes])
            assign, choice = _assign(len(images), cfg)
            provenance = _synthetic_provenance(cfg, "segmentation")

            def unbatched(name):
                keep = assign == name
                return segmentation_dataset(h, w, masks[keep], images=images[keep])
        else:
            found, masks = read_labelled_scenes(Path(cfg.data.path), cfg.data.label_format, cfg.data.max_pixels, h, w)
            image_paths = np.array([str(i.image) for i in found.items], dtype=object)
            assign, choice = _assign(len(found.items), cfg)
            provenance = {**found.provenance, "source": str(cfg.data.path), "label_format": found.label_format}

            def unbatched(name):
                keep = assign == name
                return segmentation_dataset(h, w, masks[keep], image_paths=image_paths[keep])

        counts = np.bincount(masks[assign == "train"].ravel(), minlength=256)[: len(self.classes)]
        self.class_weights = class_weights(counts, cfg.model.class_weighting)
        t = cfg.trainer
        splits = split_datasets(unbatched, t.batch_size, shuffle_buffer=t.shuffle_buffer, seed=cfg.run.seed, cache=t.cache)
        if cfg.data.mirror_scenes:
            from domains.driving.pipeline import mirror_segmentation

            splits["train"] = _augmented(splits["train"], lambda x, y: mirror_segmentation(x, y, cfg.run.seed))
        provenance = {**provenance, **_counts(assign), "pixel_share": {c: round(float(n) / max(1, counts.sum()), 5) for c, n in zip(self.classes, counts)}}
        return DataBundle(
            train=splits["train"], validation=splits["validation"], test=splits["test"],
            provenance=provenance, state=self._state(cfg, class_weights=self.class_weights),
            train_rows=int((assign == "train").sum()), split=choice,
        )

    def loss(self, cfg):
        from shared.training.losses import ClassWeightedDiceCrossEntropy

        return ClassWeightedDiceCrossEntropy(len(self.classes), class_weights=self.class_weights, dice_weight=cfg.model.dice_weight, ignore_index=IGNORE_ID)

    def metrics(self, cfg) -> list:
        import keras

        return [keras.metrics.MeanIoU(len(self.classes), sparse_y_true=True, sparse_y_pred=False, ignore_class=IGNORE_ID, name="miou")]

    def _report(self, model, ds) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The split's IoU report, its first images, true and predicted masks, and one confusion matrix per image."""
        from shared.evaluation.semantic import confusion_from_labels, iou_report

        k = len(self.classes)
        per_image, images, truths, preds = [], [], [], []
        for x, y in ds:
            pred = model.predict(x, verbose=0).argmax(-1)
            truth = y.numpy()
            per_image.extend(confusion_from_labels(t, p, k, ignore_index=IGNORE_ID) for t, p in zip(truth, pred))
            if len(images) < 4:
                images.append(x.numpy())
                truths.append(truth)
                preds.append(pred)
        confusions = np.stack(per_image)
        return iou_report(confusions.sum(0), list(self.classes)), np.concatenate(images), np.concatenate(truths), np.concatenate(preds), confusions

    def evaluate(self, model, data: DataBundle, cfg, out_dir: Path) -> dict:
        from shared.evaluation import plots
        from shared.vision.overlays import colorize

        report, images, truths, preds, confusions = self._report(model, data.test)
        report.update(self._latency(model, images))
        n = cfg.evaluation.overlay_examples
        if n:
            tiles = [*images[:n], *[colorize(m, PALETTE) / 255.0 for m in truths[:n]], *[colorize(m, PALETTE) / 255.0 for m in preds[:n]]]
            titles = ["image"] * min(n, len(images)) + ["true classes"] * min(n, len(truths)) + ["predicted"] * min(n, len(preds))
            plots.save_figure(plots.image_grid(tiles, titles=titles, cols=min(n, len(images))), out_dir / "segmentation.png")
        plots.save_figure(per_class_bar(report["iou_per_class"], "IoU per class (test split)", "IoU"), out_dir / "iou_per_class.png")
        if cfg.evaluation.compare_from_scratch and self.model_spec(cfg).pretrained:
            report["from_scratch"], twin_confusions = self._scratch(cfg, data)
            if "miou" in report["from_scratch"]:
                from shared.evaluation.comparison import miou_statistic

                statistic = miou_statistic(confusions, twin_confusions, list(self.classes))
                report.update(_transfer_verdict(report["miou"], report["from_scratch"]["miou"], statistic, len(confusions), cfg, "mIoU"))
        return report

    def _scratch(self, cfg, data) -> tuple[dict, np.ndarray | None]:
        from domains.driving.models import build_deeplab_twin
        from shared.training.scratch_twin import train_scratch_twin

        trained = train_scratch_twin(cfg, data, lambda ex: build_deeplab_twin(cfg.model, data, ex), loss=self.loss(cfg), metrics=self.metrics(cfg))
        if trained.model is None:
            return {"skipped": trained.skipped}, None
        report, *_, confusions = self._report(trained.model, data.test)
        return {**_twin_record(trained), "miou": report["miou"], "iou_per_class": report["iou_per_class"]}, confusions

    def summarize(self, metrics: dict) -> str:
        line = f"test mIoU {metrics['miou']:.3f}, pixel accuracy {metrics['pixel_accuracy']:.3f}, {metrics['latency_ms_per_frame']:.1f} ms/frame"
        if "miou" in metrics.get("from_scratch", {}):
            line += f"; same architecture from scratch: mIoU {metrics['from_scratch']['miou']:.3f}"
        return line + _verdict_line(metrics)

    def evaluate_file(self, run, path: Path) -> dict:
        """mIoU and IoU per class on a labelled folder (images/ + labels/, or the Cityscapes layout)."""
        from domains.driving.pipeline import segmentation_dataset

        h, w = self._size(run)
        found, masks = read_labelled_scenes(Path(path), "auto", run_pixel_limit(run), h, w)
        ds = segmentation_dataset(h, w, masks, image_paths=[str(i.image) for i in found.items])
        report = self._report(run.model, batched(ds, EVALUATE_BATCH))[0]
        return {"source": str(path), "images": len(found.items), "label_format": found.label_format, **report}

    def _predict_ids(self, run, images: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        model = run.model
        self._classes(run, model.output_shape[-1])

        def build():
            return tf.function(lambda x: tf.cast(tf.argmax(model(x, training=False), -1), tf.uint8), input_signature=[image_spec(model)])

        classify = compiled(model, ("class_ids",), build)
        images = np.asarray(images, np.float32)
        return np.concatenate([classify(images[i : i + EVALUATE_BATCH]).numpy() for i in range(0, len(images), EVALUATE_BATCH)])

    def predict(self, run, inputs: list[Path]) -> pd.DataFrame:
        paths, images = self.decode_inputs(run, inputs)
        ids = self._predict_ids(run, images)
        out = pd.DataFrame({"path": paths})
        for i, name in enumerate(run.task_state(self.state_schema).classes):
            out[f"frac_{name}"] = (ids == i).reshape(len(ids), -1).mean(1).round(5)
        return out

    def class_map(self, run, image: np.ndarray) -> np.ndarray:
        """Predicted class ids [H, W] of one decoded image."""
        return self._predict_ids(run, np.asarray(image, "float32")[None])[0]

    def annotate_frames(self, run, frames: np.ndarray, alpha: float = 0.5, visible=None) -> np.ndarray:
        from shared.vision.overlays import blend_mask

        h, w = self._size(run)
        ids = self._predict_ids(run, _resize_frames(frames, h, w))
        return np.stack([blend_mask(_resize_uint8(f, h, w), m, PALETTE, alpha, visible) for f, m in zip(frames, ids)])

    def explain(self, run, example: Any) -> Explanation:
        """Integrated gradients of the mean probability of the largest predicted object class (else the largest class)."""
        import keras

        image = self.decode_inputs(run, [example])[1][0] if isinstance(example, (str, Path)) else np.asarray(example, "float32")
        model = run.model
        probs = model.predict(image[None], verbose=0)[0]
        classes = self._classes(run, probs.shape[-1])
        ids = probs.argmax(-1)
        share = np.array([(ids == i).mean() for i in range(len(classes))])
        objects = [i for i, c in enumerate(classes) if c in OBJECT_CLASSES]
        target = max(objects, key=lambda i: share[i]) if objects and share[objects].max() > 0 else int(share.argmax())

        def score(x):
            return keras.ops.mean(model(x, training=False)[..., target], axis=(1, 2))

        return explain_with_integrated_gradients(image, ExplainTarget(score, ids == target, f"mean probability of {classes[target]!r}", classes[target]))

    def write_examples(self, out_dir: Path) -> ExampleFiles:
        """Held-out synthetic scenes in the images/ + labels/ layout (label ids)."""
        from domains.driving.synthetic import write_cityscapes_style

        root = write_cityscapes_style(Path(out_dir) / "labelled", n=12, seed=DEMO_SEED)
        images = sorted((root / "images").glob("*.png"))
        return ExampleFiles(predict=images[:3], evaluate=root, explain=images[0])


def read_labelled_scenes(root: Path, label_format: str, max_pixels: int, height: int, width: int):
    """A segmentation set and its label maps, decoded, checked and resized to the model's size: (set, uint8 [n, H, W])."""
    from domains.driving.pipeline import resize_labels
    from domains.driving.sources import decode_label, read_segmentation
    from shared.progress import RunningCount

    found = read_segmentation(root, label_format, max_pixels)
    progress = RunningCount("read {:,} label maps")
    masks = []
    for item in found.items:
        masks.append(resize_labels(decode_label(item.label, found.label_format, max_pixels), height, width))
        progress.add(1)
    progress.done()
    return found, np.stack(masks)


def _augmented(train, fn):
    import tensorflow as tf

    return train.map(fn, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def class_weights(counts: np.ndarray, weighting: str) -> list[float] | None:
    """Inverse square-root pixel frequency, normalised to mean 1 over the classes present; absent classes get 0."""
    if weighting == "none":
        return None
    counts = np.asarray(counts, np.float64)
    present = counts > 0
    if not present.any():
        raise DataError("the training split has no labelled pixels of any class")
    weights = np.zeros_like(counts)
    weights[present] = 1.0 / np.sqrt(counts[present] / counts.sum())
    weights[present] /= weights[present].mean()
    return [round(float(v), 4) for v in weights]


def per_class_bar(values: dict, title: str, label: str):
    from shared.evaluation import plots

    names = [k for k, v in values.items() if v is not None]
    return plots.attributions_bar(names, [float(values[k]) for k in names], title=title)


def _resize_uint8(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    from PIL import Image

    if frame.shape[:2] == (height, width):
        return np.asarray(frame, np.uint8)
    return np.asarray(Image.fromarray(np.asarray(frame, np.uint8)).resize((width, height), resample=3))


@dataclass
class ExplainTarget:
    """What an explanation attributes: a score of the model's output, and the image region it is about."""

    score: Any  # keras-ops function: images -> one score per image
    region: np.ndarray  # bool [H, W]: the pixels of the explained class or object
    what: str  # for the method line, e.g. "mean probability of 'vehicle'"
    target: str  # the class explained


def explain_with_integrated_gradients(image: np.ndarray, target: ExplainTarget) -> Explanation:
    """Integrated gradients of `target.score` from a heavily blurred copy of `image`.

    The blurred copy keeps the scene's colours and exposure and removes the
    edges objects are made of, so attributions show which detail raised the
    score. `values` sum the attributions inside and outside `target.region`.
    """
    import keras
    from scipy.ndimage import gaussian_filter

    from shared.explain.integrated_gradients import integrated_gradients

    sigma = image.shape[0] / 8
    baseline = gaussian_filter(image, sigma=(sigma, sigma, 0), mode="nearest").astype("float32")
    attributions = integrated_gradients(target.score, image[None], baseline[None], steps=IG_STEPS)[0].sum(-1)
    scores = keras.ops.convert_to_numpy(target.score(np.stack([image, baseline])))
    peak = float(np.abs(attributions).max())
    return Explanation(
        names=["pixels of the explained region", "all other pixels"],
        values=[float(attributions[target.region].sum()), float(attributions[~target.region].sum())],
        score=float(scores[0]),
        baseline_score=float(scores[1]),
        method=f"integrated gradients of {target.what}, from a blurred copy of the image ({IG_STEPS} steps)",
        details={"heatmap": np.abs(attributions) / peak if peak > 0 else np.zeros_like(attributions), "image": image, "target": target.target},
    )


# --- detection -----------------------------------------------------------------------------------


class DetectionTask(VideoAnnotation, DrivingTask):
    name = "detection"
    objective = ("map", "max")
    title = "Object detection (CenterNet)"
    description = "Boxes around vehicles, pedestrians, traffic signs and lights: CenterNet heads on a TF Hub backbone, COCO mAP."
    score_meaning = "detections per class at the run's display threshold (n_<class>), with the boxes as JSON"
    quick_overrides = ("data.synthetic_images=60", "trainer.batch_size=16", "trainer.tensorboard=false", "model.head_epochs=1", "model.fine_tune_epochs=0", "evaluation.compare_from_scratch=false")
    preset = HERE / "configs" / "detection.yaml"
    evaluation_config = DetectionEvaluationConfig
    classes = DETECTION_CLASSES
    models = Registry("model type")
    models.register("centernet", ModelSpec(CenterNetConfig, lazy("domains.driving.models:build_centernet"), "CenterNet (anchor-free) on a TF Hub backbone, two-phase fine-tuning", phases=backbone_phases, pretrained=True))

    def output_spec(self, data: DataBundle) -> dict:
        h, w = data.state["image_height"] // OUTPUT_STRIDE, data.state["image_width"] // OUTPUT_STRIDE
        c = len(self.classes)
        return {"detections": f"float32 [{h}, {w}, {c + 4}]: heatmap logits for {list(self.classes)}, box size (w, h) and centre offset (x, y) in cells of {OUTPUT_STRIDE} pixels"}

    def load_data(self, cfg, workdir: Path) -> DataBundle:
        from domains.driving.pipeline import detection_dataset

        h, w = cfg.data.image_height, cfg.data.image_width
        c = len(self.classes)
        if cfg.data.path is None:
            from domains.driving.synthetic import scene_set

            scenes = scene_set(cfg.data.synthetic_images, cfg.data.synthetic_seed, h, w)
            images = np.stack([s.image for s in scenes])
            boxes = [s.boxes for s in scenes]
            labels = [s.labels for s in scenes]
            assign, choice = _assign(len(images), cfg)
            provenance = _synthetic_provenance(cfg, "detection")

            def unbatched(name):
                keep = np.flatnonzero(assign == name)
                return detection_dataset(h, w, OUTPUT_STRIDE, c, [boxes[i] for i in keep], [labels[i] for i in keep], images=images[keep])

            scaled = boxes
        else:
            found = read_detection(cfg.data)
            paths = np.array([str(i.image) for i in found.items], dtype=object)
            sizes = [(i.height, i.width) for i in found.items]
            boxes = [i.boxes for i in found.items]
            labels = [i.labels for i in found.items]
            assign, choice = _assign(len(found.items), cfg)
            provenance = {**found.provenance, "source": str(cfg.data.path)}

            def unbatched(name):
                keep = np.flatnonzero(assign == name)
                return detection_dataset(h, w, OUTPUT_STRIDE, c, [boxes[i] for i in keep], [labels[i] for i in keep],
                                         image_paths=paths[keep], source_sizes=[sizes[i] for i in keep])

            scaled = [b * np.array([w / s[1], h / s[0], w / s[1], h / s[0]], np.float32) for b, s in zip(boxes, sizes)]
        t = cfg.trainer
        splits = split_datasets(unbatched, t.batch_size, shuffle_buffer=t.shuffle_buffer, seed=cfg.run.seed, cache=t.cache)
        if cfg.data.mirror_scenes:
            from domains.driving.pipeline import mirror_detection

            splits["train"] = _augmented(splits["train"], mirror_detection(c, cfg.run.seed))
        per_class = np.bincount(np.concatenate([labels[i] for i in np.flatnonzero(assign == "train")] or [np.zeros(0, int)]), minlength=c)
        provenance = {**provenance, **_counts(assign), "train_boxes_per_class": {n: int(k) for n, k in zip(self.classes, per_class)}}
        return DataBundle(
            train=splits["train"], validation=splits["validation"], test=splits["test"],
            provenance=provenance, state=self._state(cfg, output_stride=OUTPUT_STRIDE),
            train_rows=int((assign == "train").sum()), split=choice,
            loaded={name: [(scaled[i], labels[i]) for i in np.flatnonzero(assign == name)] for name in ("validation", "test")},
        )

    def tuning_data(self, data: DataBundle) -> DataBundle:
        import dataclasses

        return dataclasses.replace(data, test=data.validation, loaded={"test": data.loaded["validation"]})

    def serving_endpoints(self, model, config: dict) -> dict:
        """`detect`: images -> boxes (xyxy pixels), scores, classes, num_detections, with the run's thresholds.

        Uses the padded NMS (`decode_detections_padded`), the path that also
        converts to TFLite builtin ops.
        """
        from shared.vision.centernet import decode_detections_padded, split_outputs

        evaluation = config.get("evaluation") if isinstance(config.get("evaluation"), dict) else {}
        ev = DetectionEvaluationConfig(**evaluation)
        spec = image_spec(model)

        def detect(images):
            heat, size, offset = split_outputs(model(images, training=False), len(self.classes))
            return decode_detections_padded(heat, size, offset, OUTPUT_STRIDE, max_detections=ev.max_detections,
                                            score_threshold=ev.display_threshold, iou_threshold=ev.iou_threshold)

        return {"detect": (detect, [spec])}

    def loss(self, cfg):
        from shared.vision.centernet import PackedCenterNetLoss

        return PackedCenterNetLoss(len(self.classes), size_weight=cfg.model.size_weight, offset_weight=cfg.model.offset_weight)

    def _detect(self, model, images: np.ndarray, ev, threshold: float | None = None) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per image (boxes xyxy in model pixels, scores, class ids) above `threshold` (default: the mAP threshold)."""
        import tensorflow as tf

        from shared.vision.centernet import decode_detections, split_outputs

        threshold = ev.score_threshold if threshold is None else float(threshold)
        k = len(self.classes)

        def build():
            def detect(x):
                heat, size, offset = split_outputs(model(x, training=False), k)
                return decode_detections(heat, size, offset, OUTPUT_STRIDE, max_detections=ev.max_detections, score_threshold=threshold, iou_threshold=ev.iou_threshold)

            return tf.function(detect, input_signature=[image_spec(model)])

        detect = compiled(model, ("detections", ev.max_detections, threshold, ev.iou_threshold), build)
        images = np.asarray(images, np.float32)
        out = []
        for start in range(0, len(images), EVALUATE_BATCH):
            found = {key: value.numpy() for key, value in detect(images[start : start + EVALUATE_BATCH]).items()}
            for i in range(len(found["num_detections"])):
                n = int(found["num_detections"][i])
                out.append((found["boxes"][i, :n], found["scores"][i, :n], found["classes"][i, :n]))
        return out

    def _map(self, truth, found) -> dict:
        from shared.evaluation.detection import coco_evaluate

        return coco_evaluate(truth, found, list(self.classes))

    def evaluate(self, model, data: DataBundle, cfg, out_dir: Path) -> dict:
        from shared.evaluation import plots
        from shared.vision.overlays import draw_boxes

        images = np.concatenate([x.numpy() for x, _ in data.test])
        ev = cfg.evaluation
        found = self._detect(model, images, ev)
        report = self._map(data.loaded["test"], found)
        report.update(self._latency(model, images))
        n = ev.overlay_examples
        if n:
            shown = self._detect(model, images[:n], ev, ev.display_threshold)
            tiles = [draw_boxes((img * 255).astype(np.uint8), b, c, s, self.classes) / 255.0 for img, (b, s, c) in zip(images[:n], shown)]
            plots.save_figure(plots.image_grid(tiles, titles=[f"{len(b)} detections" for b, _, _ in shown], cols=min(3, n)), out_dir / "detections.png")
        plots.save_figure(per_class_bar(report["ap_per_class"], "AP@[.5:.95] per class (test split)", "AP"), out_dir / "ap_per_class.png")
        if ev.compare_from_scratch and self.model_spec(cfg).pretrained:
            report["from_scratch"], twin_found = self._scratch(cfg, data, images, ev)
            if "map" in report["from_scratch"]:
                from shared.evaluation.detection import CocoResampler

                ours, theirs = CocoResampler(data.loaded["test"], found, self.classes), CocoResampler(data.loaded["test"], twin_found, self.classes)
                report.update(_transfer_verdict(report["map"], report["from_scratch"]["map"], lambda i: ours(i) - theirs(i), len(images), cfg, "mAP@[.5:.95]"))
        return report

    def _scratch(self, cfg, data, images, ev) -> tuple[dict, list | None]:
        from domains.driving.models import build_centernet_twin
        from shared.training.scratch_twin import train_scratch_twin

        trained = train_scratch_twin(cfg, data, lambda ex: build_centernet_twin(cfg.model, data, ex), loss=self.loss(cfg), metrics=[])
        if trained.model is None:
            return {"skipped": trained.skipped}, None
        found = self._detect(trained.model, images, ev)
        report = self._map(data.loaded["test"], found)
        return {**_twin_record(trained), "map": report["map"], "map_50": report["map_50"], "ap_per_class": report["ap_per_class"]}, found

    def summarize(self, metrics: dict) -> str:
        line = f"test mAP@[.5:.95] {metrics['map']:.3f}, mAP@.5 {metrics['map_50']:.3f}, {metrics['latency_ms_per_frame']:.1f} ms/frame"
        if "map" in metrics.get("from_scratch", {}):
            line += f"; same architecture from scratch: mAP {metrics['from_scratch']['map']:.3f}, mAP@.5 {metrics['from_scratch']['map_50']:.3f}"
        return line + _verdict_line(metrics)

    def _settings(self, run) -> DetectionEvaluationConfig:
        evaluation = run.config_data.get("evaluation")
        try:
            return DetectionEvaluationConfig(**(evaluation if isinstance(evaluation, dict) else {}))
        except ValueError as exc:
            raise RunError(f"run directory {run.path}: config.yaml has an invalid evaluation section: {str(exc).splitlines()[0]}") from None

    def evaluate_file(self, run, path: Path) -> dict:
        """COCO mAP on a COCO JSON, KITTI or Pascal VOC folder, with the run's decoding and NMS."""
        found = read_detection(DrivingDataConfig(path=str(path), max_pixels=run_pixel_limit(run)))
        h, w = self._size(run)
        _, images = self.decode_inputs(run, [i.image for i in found.items])
        truth = [(i.boxes * np.array([w / i.width, h / i.height, w / i.width, h / i.height], np.float32), i.labels) for i in found.items]
        return {"source": str(path), "images": len(found.items), **self._map(truth, self._detect(run.model, images, self._settings(run)))}

    def predict(self, run, inputs: list[Path]) -> pd.DataFrame:
        paths, images = self.decode_inputs(run, inputs)
        ev = self._settings(run)
        found = self._detect(run.model, images, ev, ev.display_threshold)
        rows = []
        for path, (boxes, scores, labels) in zip(paths, found):
            row = {"path": path, "detections": len(boxes)}
            row.update({f"n_{c}": int((labels == i).sum()) for i, c in enumerate(self.classes)})
            row["boxes"] = json.dumps([{"class": self.classes[int(c)], "score": round(float(s), 3), "box": [round(float(v), 1) for v in b]} for b, s, c in zip(boxes, scores, labels)])
            rows.append(row)
        return pd.DataFrame(rows)

    def detect(self, run, image: np.ndarray, threshold: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(boxes xyxy in model pixels, scores, class ids) of one decoded image."""
        ev = self._settings(run)
        return self._detect(run.model, np.asarray(image, "float32")[None], ev, ev.display_threshold if threshold is None else threshold)[0]

    def annotate_frames(self, run, frames: np.ndarray, threshold: float | None = None, visible=None) -> np.ndarray:
        from shared.vision.overlays import draw_boxes

        h, w = self._size(run)
        ev = self._settings(run)
        found = self._detect(run.model, _resize_frames(frames, h, w), ev, ev.display_threshold if threshold is None else threshold)
        out = []
        for frame, (boxes, scores, labels) in zip(frames, found):
            keep = np.isin(labels, list(visible)) if visible is not None else np.ones(len(labels), bool)
            out.append(draw_boxes(_resize_uint8(frame, h, w), boxes[keep], labels[keep], scores[keep], self.classes))
        return np.stack(out)

    def explain(self, run, example: Any) -> Explanation:
        """Integrated gradients of the strongest centre score; the region is the cells around that centre."""
        import keras

        from shared.vision.centernet import split_outputs

        image = self.decode_inputs(run, [example])[1][0] if isinstance(example, (str, Path)) else np.asarray(example, "float32")
        model = run.model
        heat = 1 / (1 + np.exp(-split_outputs(model.predict(image[None], verbose=0)[0], len(self.classes))[0]))
        row, col, target = np.unravel_index(heat.argmax(), heat.shape)

        def score(x):
            return keras.ops.max(keras.ops.sigmoid(model(x, training=False)[..., int(target)]), axis=(1, 2))

        region = np.zeros(image.shape[:2], bool)
        y, x = row * OUTPUT_STRIDE, col * OUTPUT_STRIDE
        region[max(0, y - 2 * OUTPUT_STRIDE) : y + 3 * OUTPUT_STRIDE, max(0, x - 2 * OUTPUT_STRIDE) : x + 3 * OUTPUT_STRIDE] = True
        name = self.classes[int(target)]
        return explain_with_integrated_gradients(image, ExplainTarget(score, region, f"the top {name!r} centre score", name))

    def write_examples(self, out_dir: Path) -> ExampleFiles:
        """Held-out synthetic scenes with a COCO JSON of their boxes."""
        from domains.driving.synthetic import write_coco

        annotations = write_coco(Path(out_dir) / "coco", n=12, seed=DEMO_SEED)
        images = sorted((annotations.parent / "images").glob("*.png"))
        return ExampleFiles(predict=images[:3], evaluate=annotations, explain=images[0])


def read_detection(data: DrivingDataConfig):
    """A COCO JSON, KITTI or Pascal VOC data set (`data.format`, else detected from the layout)."""
    from domains.driving import sources

    path = Path(data.path)
    fmt = data.format if data.format != "auto" else sources.detect_format(path)
    readers = {
        "coco": lambda: sources.read_coco(path, Path(data.image_dir) if data.image_dir else None, max_pixels=data.max_pixels),
        "kitti": lambda: sources.read_kitti(path, max_pixels=data.max_pixels),
        "voc": lambda: sources.read_voc(path, max_pixels=data.max_pixels),
    }
    if fmt not in readers:
        raise DataError(f"{path} is a {fmt} data set; object detection reads COCO JSON, KITTI or Pascal VOC annotations")
    found = readers[fmt]()
    if len(found.items) < 10:
        raise DataError(f"{path} has {len(found.items)} annotated images; detection needs at least 10 to split into train/validation/test")
    return found


# --- signs -------------------------------------------------------------------------------------------


class SignTask(DrivingTask):
    name = "signs"
    objective = ("accuracy", "max")
    title = "Traffic-sign classifier"
    description = "Classifies traffic-sign crops (GTSRB layout): transfer from a TF Hub backbone, or a CNN; no flips in augmentation."
    score_meaning = "probability of each sign class (p_<class>, softmax over the run's classes)"
    quick_overrides = ("data.synthetic_images=200", "trainer.batch_size=32", "trainer.tensorboard=false", "model.head_epochs=1", "model.fine_tune_epochs=0", "evaluation.compare_from_scratch=false")
    preset = HERE / "configs" / "signs.yaml"
    evaluation_config = SignEvaluationConfig
    models = Registry("model type")
    models.register("transfer", ModelSpec(SignTransferConfig, lazy("domains.driving.models:build_sign_transfer"), "TF Hub backbone + softmax head, two-phase fine-tuning", phases=backbone_phases, pretrained=True))
    models.register("cnn", ModelSpec(SignCNNConfig, lazy("domains.driving.models:build_sign_cnn"), "residual CNN from scratch"))

    def _state(self, cfg, classes=SIGN_CLASSES, **extra) -> dict:
        return {"classes": list(classes), "image_height": cfg.data.sign_size, "image_width": cfg.data.sign_size, **extra}

    def output_spec(self, data: DataBundle) -> dict:
        return {"probabilities": f"softmax over {data.state['classes']}"}

    def load_data(self, cfg, workdir: Path) -> DataBundle:
        from domains.driving.pipeline import sign_dataset
        from shared.training.class_weights import balanced_class_weights

        size = cfg.data.sign_size
        if cfg.data.path is None:
            from domains.driving.synthetic import sign_set

            crops, labels = sign_set(cfg.data.synthetic_images, cfg.data.synthetic_seed, size)
            classes = list(SIGN_CLASSES)
            assign, choice = _assign(len(labels), cfg)
            provenance = _synthetic_provenance(cfg, "signs")

            def unbatched(name):
                keep = assign == name
                return sign_dataset(size, images=crops[keep], labels=labels[keep])
        else:
            from domains.driving.sources import read_gtsrb

            found = read_gtsrb(Path(cfg.data.path), max_pixels=cfg.data.max_pixels)
            classes, labels = list(found.classes), np.asarray(found.labels, np.int32)
            paths = np.array([str(p) for p in found.paths], dtype=object)
            assign, choice = _assign(len(labels), cfg)
            provenance = {**found.provenance, "source": str(cfg.data.path)}

            def unbatched(name):
                keep = assign == name
                return sign_dataset(size, labels=labels[keep], paths=paths[keep], rois=None if found.rois is None else found.rois[keep])
        t = cfg.trainer
        splits = split_datasets(unbatched, t.batch_size, shuffle_buffer=t.shuffle_buffer, seed=cfg.run.seed, cache=t.cache)
        counts = np.bincount(labels[assign == "train"], minlength=len(classes))
        return DataBundle(
            train=splits["train"], validation=splits["validation"], test=splits["test"],
            provenance={**provenance, **_counts(assign), "class_counts": {c: int(n) for c, n in zip(classes, np.bincount(labels, minlength=len(classes)))}},
            class_weight=balanced_class_weights(counts, classes, source=str(provenance["source"])) if cfg.trainer.class_weight == "balanced" else None,
            state=self._state(cfg, classes), train_rows=int((assign == "train").sum()), split=choice,
        )

    def loss(self, cfg):
        import keras

        return keras.losses.SparseCategoricalCrossentropy()

    def metrics(self, cfg) -> list:
        import keras

        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    def evaluate(self, model, data: DataBundle, cfg, out_dir: Path) -> dict:
        from shared.evaluation import multiclass, plots
        from shared.evaluation.predictions import predict_dataset

        classes = data.state["classes"]
        y, probs = predict_dataset(model, data.test)
        report = multiclass.multiclass_report(y, probs, classes)
        images = np.concatenate([x.numpy() for x, _ in data.test.take(2)])
        report.update(self._latency(model, images))
        plots.save_figure(plots.confusion_matrix_multiclass(report["confusion_matrix"], classes), out_dir / "confusion_matrix.png")
        if cfg.evaluation.compare_from_scratch and self.model_spec(cfg).pretrained:
            from domains.driving.models import build_sign_twin
            from shared.training.scratch_twin import train_scratch_twin

            trained = train_scratch_twin(cfg, data, lambda ex: build_sign_twin(cfg.model, data, ex))
            if trained.model is None:
                report["from_scratch"] = {"skipped": trained.skipped}
            else:
                _, twin_probs = predict_dataset(trained.model, data.test)
                twin = multiclass.multiclass_report(y, twin_probs, classes)
                report["from_scratch"] = {**_twin_record(trained), "accuracy": twin["accuracy"], "macro_f1": twin.get("macro_f1")}
                right = (probs.argmax(-1) == y).astype(np.float64) - (twin_probs.argmax(-1) == y).astype(np.float64)
                report.update(_transfer_verdict(report["accuracy"], twin["accuracy"], lambda i: float(right[i].mean()), len(y), cfg, "accuracy"))
        return report

    def summarize(self, metrics: dict) -> str:
        line = f"test accuracy {metrics['accuracy']:.3f}, {metrics['latency_ms_per_frame']:.1f} ms/crop"
        if "accuracy" in metrics.get("from_scratch", {}):
            line += f"; same architecture from scratch: accuracy {metrics['from_scratch']['accuracy']:.3f}"
        return line + _verdict_line(metrics)

    def evaluate_file(self, run, path: Path) -> dict:
        """Accuracy and confusion on a GTSRB-layout (or class-folder) set, with the run's classes."""
        from domains.driving.pipeline import sign_dataset
        from domains.driving.sources import read_gtsrb
        from shared.evaluation import multiclass
        from shared.evaluation.predictions import predict_dataset

        found = read_gtsrb(Path(path), max_pixels=run_pixel_limit(run))
        known = run.task_state(self.state_schema).classes
        unknown = [c for c in found.classes if c not in known]
        if unknown:
            raise DataError(f"{path} has class(es) {', '.join(map(repr, unknown))} that the run was not trained on; its classes are {', '.join(known)}")
        labels = np.array([known.index(found.classes[i]) for i in found.labels], np.int32)
        size = self._size(run)[0]
        ds = batched(sign_dataset(size, labels=labels, paths=found.paths, rois=found.rois), EVALUATE_BATCH)
        y, probs = predict_dataset(run.model, ds)
        return {"source": str(path), "images": int(len(y)), **multiclass.multiclass_report(y, probs, self._classes(run, probs.shape[-1]))}

    def predict(self, run, inputs: list[Path]) -> pd.DataFrame:
        paths, images = self.decode_inputs(run, inputs)
        probs = run.model.predict(images, batch_size=64, verbose=0)
        classes = self._classes(run, probs.shape[-1])
        out = pd.DataFrame({"path": paths, "prediction": [classes[i] for i in probs.argmax(-1)], "score": probs.max(-1)})
        for i, c in enumerate(classes):
            out[f"p_{c}"] = probs[:, i]
        return out

    def explain(self, run, example: Any) -> Explanation:
        """Grad-CAM on the last convolutional feature map for the predicted sign."""
        from shared.explain import grad_cam
        from shared.layers.names import FEATURE_MAP

        image = self.decode_inputs(run, [example])[1][0] if isinstance(example, (str, Path)) else np.asarray(example, "float32")
        probs = run.model.predict(image[None], verbose=0)[0]
        classes = self._classes(run, probs.shape[-1])
        top = int(probs.argmax())
        names = {layer.name for layer in run.model.layers}
        heat = grad_cam(run.model, image[None], layer_name=FEATURE_MAP)[0] if FEATURE_MAP in names else None
        return Explanation(
            names=list(classes), values=[float(p) for p in probs], score=float(probs[top]), baseline_score=1.0 / len(classes),
            method=f"Grad-CAM for {classes[top]!r} on the last convolutional feature map" if heat is not None else "class probabilities (a feature-vector backbone has no spatial map for Grad-CAM)",
            details={"heatmap": heat, "image": image, "predicted": classes[top]},
        )

    def write_examples(self, out_dir: Path) -> ExampleFiles:
        """Held-out synthetic sign crops in the GTSRB training layout."""
        from domains.driving.synthetic import write_gtsrb_style

        root = write_gtsrb_style(Path(out_dir) / "gtsrb", n=60, seed=DEMO_SEED)
        crops = sorted(root.rglob("*.png"))
        return ExampleFiles(predict=crops[:3], evaluate=root, explain=crops[0])


DOMAIN = Domain(
    name="driving",
    title="Autonomous-driving perception",
    description="Road-scene segmentation, object detection with COCO mAP and traffic-sign recognition, on images and videos. The demo data is synthetic.",
    task_classes=[SegmentationTask, DetectionTask, SignTask],
    default_task="segmentation",
    package_dir=HERE,
    demo_tasks={"segmentation": [], "detection": [], "signs": []},
    icon=":material/directions_car:",
)
