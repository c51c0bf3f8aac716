"""Offline image backbones pretrained by dense prediction: per-pixel labels instead of one label per image.

A scene-understanding task (road segmentation, detection) needs a backbone
whose spatial feature map already tells regions apart. Classification
pretraining on small grey images (`dlsuite/fashion-cnn-64`) does not give
that. A `DenseBackboneRecipe` pretrains the same kind of residual encoder on
images with per-pixel labels, through a light decoder that is thrown away,
and exports ONLY the encoder as a TF2 reusable SavedModel with the
`feature_maps` endpoint (`shared.hub.saved_model`).

The data comes from a `DensePretrainingData` entry. A domain registers its
own (the driving domain registers road scenes rendered from seeds that its
demo data never uses, labelled with coarser categories than the ones it
fine-tunes on), together with the recipe in `shared.hub.offline.RECIPES`
and the model in `shared.hub.registry.HUB_MODELS`.

Example:

```python
from shared.hub.offline import build_backbone

result = build_backbone("road-scenes-cnn", epochs=1, limit=64, out_dir="/tmp/road-scenes-cnn")
result.metadata["pretraining"]["test_miou"]
```
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.registry import Registry
from shared.runs import atomic_path, now, versions

IGNORE_LABEL = 255  # pixels the pretraining loss and metric leave out


@dataclass(frozen=True)
class DenseSplits:
    """Pretraining images and label maps: uint8 `(n, h, w, 3)` and uint8 `(n, h, w)` for each split."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


@dataclass(frozen=True)
class DensePretrainingData:
    """A dataset of images with per-pixel labels that pretrains a backbone.

    Args:
        title: str. Human-readable name for the metadata.
        load: callable. `load(recipe, limit)` -> `DenseSplits` at the
            recipe's image size; `limit` (int or None) caps each split.
        classes: tuple of str. Label names, ids `0..len-1`; `255` is ignored.
        source: str. Where the data comes from and under what terms.
        held_out: str. How the test split is kept apart from training and
            from the data the backbone will be fine-tuned on.
    """

    title: str
    load: Callable
    classes: tuple
    source: str
    held_out: str


DENSE_PRETRAINING_DATA: Registry[DensePretrainingData] = Registry("dense pretraining dataset")


@dataclass(frozen=True)
class DenseBackboneRecipe:
    """How to pretrain one image encoder by dense prediction.

    Args:
        name: str. Registry name in `HUB_MODELS` (`"dlsuite/..."`).
        dataset: str. Name in `DENSE_PRETRAINING_DATA`.
        image_height, image_width: int. Input size, multiples of 16.
        stem_filters: int. Filters of the first (strided) `ConvBlock`.
        stage_filters: tuple of int. One strided `ResidualBlock` per entry;
            the last one is the feature dimension.
        decoder_filters: int. Width of the pretraining decoder (not exported).
        train_images, test_images: int. Split sizes the dataset renders or reads.
        epochs: int. Default pretraining epochs.
        batch_size: int.
        learning_rate: float. Peak Adam learning rate (cosine decay to 0).
        seed: int. Seed for weights, shuffling and augmentation.
    """

    name: str
    dataset: str
    image_height: int = 96
    image_width: int = 160
    stem_filters: int = 24
    stage_filters: tuple = (32, 64, 128)
    decoder_filters: int = 48
    train_images: int = 6000
    test_images: int = 600
    epochs: int = 12
    batch_size: int = 32
    learning_rate: float = 3e-3
    seed: int = 0

    @property
    def feature_dim(self) -> int:
        return self.stage_filters[-1]

    @property
    def output_stride(self) -> int:
        return 2 ** (1 + len(self.stage_filters))


def build_dense_extractor(recipe: DenseBackboneRecipe):
    """The exported encoder: [0, 1] RGB `(batch, h, w, 3)` -> `(batch, feature_dim)`; its last stage is the `feature_maps` endpoint."""
    from shared.hub.offline import residual_image_encoder  # the same encoder as the classification recipe's

    return residual_image_encoder(recipe.name, (recipe.image_height, recipe.image_width), recipe.stem_filters, recipe.stage_filters)


def _pretraining_model(extractor, recipe: DenseBackboneRecipe, classes: int):
    """Encoder + a small decoder (stride-4 skip from the first stage, logits upsampled to the input); only the encoder is exported."""
    import keras

    from shared.layers import ConvBlock

    deep = extractor.get_layer(f"stage{len(recipe.stage_filters)}").output
    skip = extractor.get_layer("stage1").output
    x = ConvBlock(recipe.decoder_filters, kernel_size=1, name="decoder_project")(deep)
    x = keras.layers.Resizing(int(skip.shape[1]), int(skip.shape[2]), interpolation="bilinear", name="decoder_upsample")(x)
    x = keras.layers.Concatenate(name="decoder_concat")([x, skip])
    x = ConvBlock(recipe.decoder_filters, name="decoder_fuse")(x)
    logits = keras.layers.Conv2D(classes, 1, name="decoder_logits")(x)
    logits = keras.layers.Resizing(recipe.image_height, recipe.image_width, interpolation="bilinear", name="to_input_size")(logits)
    return keras.Model(extractor.inputs, logits, name="dense_pretraining")


def dense_dataset(images, labels, recipe: DenseBackboneRecipe, training: bool):
    """tf.data batches of ([0, 1] float images, int32 label maps); in training a joint horizontal flip and colour jitter."""
    import tensorflow as tf

    from shared.hub.offline import pretraining_batches

    ds = pretraining_batches((images, labels), recipe.batch_size, recipe.seed, training)

    def prepare(x, y):
        return tf.cast(x, tf.float32) / 255.0, tf.cast(y, tf.int32)

    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    if training:
        generator = tf.random.Generator.from_seed(recipe.seed)

        def augment(x, y):
            n = tf.shape(x)[0]
            flip = generator.uniform((n,)) < 0.5
            x = tf.where(flip[:, None, None, None], tf.reverse(x, [2]), x)
            y = tf.where(flip[:, None, None], tf.reverse(y, [2]), y)
            gain = generator.uniform((n, 1, 1, 1), 0.75, 1.25)
            shift = generator.uniform((n, 1, 1, 1), -0.1, 0.1)
            return tf.clip_by_value(x * gain + shift, 0.0, 1.0), y

        ds = ds.map(augment)
    return ds.prefetch(tf.data.AUTOTUNE)


def _check_splits(splits: DenseSplits, recipe: DenseBackboneRecipe, classes: int) -> None:
    shape = (recipe.image_height, recipe.image_width)
    for name in ("train", "test"):
        images, labels = getattr(splits, f"{name}_images"), getattr(splits, f"{name}_labels")
        if images.dtype != np.uint8 or labels.dtype != np.uint8 or images.shape[1:] != (*shape, 3) or labels.shape != images.shape[:3] or not len(images):
            raise ValueError(
                f"{recipe.dataset} gave {name} images {images.shape} {images.dtype} and labels {labels.shape} {labels.dtype}; "
                f"expected uint8 (n, {shape[0]}, {shape[1]}, 3) and uint8 (n, {shape[0]}, {shape[1]}) with n > 0"
            )
        bad = np.setdiff1d(np.unique(labels), [*range(classes), IGNORE_LABEL])
        if bad.size:
            raise ValueError(f"{recipe.dataset} {name} labels hold ids {bad[:5].tolist()} outside 0..{classes - 1} and {IGNORE_LABEL}")


def _evaluate(model, test, classes: tuple) -> dict:
    from shared.evaluation.semantic import ConfusionAccumulator, iou_report

    confusion = ConfusionAccumulator(len(classes), ignore_index=IGNORE_LABEL)
    for x, y in test:
        confusion.update(y.numpy(), model(x, training=False).numpy())
    return iou_report(confusion.confusion, classes)


def build_dense_backbone(recipe: DenseBackboneRecipe, out_dir: Path, epochs: int, limit: int | None, stages, verbose) -> dict:
    """Pretrain `recipe` on its dense dataset, export the encoder to `out_dir`; returns the metadata."""
    import keras
    import tensorflow as tf

    from shared.hub.handles import fingerprint
    from shared.hub.layer import HubBackbone
    from shared.hub.offline import METADATA_FILE, verify_export
    from shared.hub.saved_model import write_reusable
    from shared.training.engine import Trainer
    from shared.training.strategy import resolve_strategy

    data = DENSE_PRETRAINING_DATA.get(recipe.dataset)
    start = time.perf_counter()
    keras.utils.set_random_seed(recipe.seed)
    with stages.stage(f"load {data.title}"):
        splits = data.load(recipe, limit)
        _check_splits(splits, recipe, len(data.classes))
        train = dense_dataset(splits.train_images, splits.train_labels, recipe, training=True)
        test = dense_dataset(splits.test_images, splits.test_labels, recipe, training=False)
    n_train, n_test = len(splits.train_images), len(splits.test_images)

    with stages.stage(f"pretrain {recipe.name} on {n_train} labelled images for {epochs} epoch(s)"):
        strategy = resolve_strategy("auto")
        with strategy.scope():
            extractor = build_dense_extractor(recipe)
            model = _pretraining_model(extractor, recipe, len(data.classes))
            steps = epochs * int(np.ceil(n_train / recipe.batch_size))
            model.compile(
                optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(recipe.learning_rate, max(steps, 1))),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORE_LABEL),
            )
        Trainer(strategy, epochs=epochs, verbose=verbose).fit(model, train)

    with stages.stage(f"evaluate on {n_test} held-out images"):
        report = _evaluate(model, test, data.classes)
        print(f"pretraining test mIoU: {report['miou']:.4f}", file=stages.stream, flush=True)

    with stages.stage(f"export the encoder to {out_dir}"):
        metadata = _metadata(recipe, data, n_train, n_test, epochs, report, time.perf_counter() - start)
        with atomic_path(out_dir) as tmp:
            write_reusable(extractor, tmp)
            metadata["fingerprint"] = fingerprint(tmp)
            (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")

    with stages.stage("verify with tensorflow_hub.load and HubBackbone"):
        verify_export(out_dir, extractor, tf.constant(splits.test_images[:8], tf.float32) / 255.0, HubBackbone)
    return metadata


def miou_summary(metadata: dict) -> str:
    return f"pretraining test mIoU {metadata['pretraining']['test_miou']:.4f}"


def _metadata(recipe: DenseBackboneRecipe, data: DensePretrainingData, n_train, n_test, epochs, report, seconds) -> dict:
    import importlib.metadata as md

    from shared.hub.registry import HUB_MODELS

    spec = HUB_MODELS.get(recipe.name)
    h, w, stride = recipe.image_height, recipe.image_width, recipe.output_stride
    return {
        "name": recipe.name,
        "format": "TF2 reusable SavedModel: obj(images, training=False), feature_maps(images, training=False), variables, "
        "trainable_variables, regularization_losses; signature serving_default -> {feature_vector}",
        "usage": f"HubBackbone('{recipe.name}', endpoint='feature_maps') or tensorflow_hub.load(<this directory>)",
        "input": {"shape": [h, w, 3], "dtype": "float32", "value_range": [0.0, 1.0], "notes": spec.input.notes},
        "output": {
            "feature_dim": recipe.feature_dim,
            "key": "feature_vector",
            "description": spec.output,
            "feature_maps": [h // stride, w // stride, recipe.feature_dim],
            "output_stride": stride,
        },
        "architecture": {
            "layers": f"Rescaling to [-1, 1], ConvBlock({recipe.stem_filters}, stride 2), "
            + ", ".join(f"ResidualBlock({f}, stride 2)" for f in recipe.stage_filters)
            + ", GlobalAveragePooling2D",
            "pretraining_decoder": f"ConvBlock({recipe.decoder_filters}, 1x1) on the last stage, bilinear upsampling to stride 4, "
            f"concatenation with stage1, ConvBlock({recipe.decoder_filters}), 1x1 logits upsampled to the input; not exported",
        },
        "pretraining": {
            "task": "semantic segmentation (per-pixel softmax cross-entropy, label 255 ignored)",
            "dataset": data.title,
            "source": data.source,
            "held_out": data.held_out,
            "classes": list(data.classes),
            "train_examples": n_train,
            "test_examples": n_test,
            "augmentation": "joint horizontal flip of image and labels, per-image gain [0.75, 1.25] and offset [-0.1, 0.1]",
            "epochs": epochs,
            "batch_size": recipe.batch_size,
            "optimizer": f"Adam, cosine decay from {recipe.learning_rate}",
            "seed": recipe.seed,
            "test_miou": report["miou"],
            "test_pixel_accuracy": report["pixel_accuracy"],
            "test_iou_per_class": report["iou_per_class"],
            "seconds": round(seconds, 1),
        },
        "intended_use": spec.notes,
        "created": now(),
        "versions": {**versions(), "tensorflow-hub": md.version("tensorflow-hub")},
    }
