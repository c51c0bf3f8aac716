"""Offline hub backbones: pretrain the suite's own feature extractors.

On a machine without internet there is no tfhub.dev, so `dlsuite hub build`
pretrains a small image backbone on a real dataset that ships as a Debian
package (Fashion-MNIST), an audio backbone on words synthesized with
espeak-ng (`shared.hub.offline_audio`), or a sentence encoder on WordNet's
English glosses (`shared.hub.offline_text`), or a scene encoder by dense
prediction on per-pixel labels that a domain provides
(`shared.hub.offline_dense`; the driving domain's `road-scenes-cnn`), and
exports ONLY the feature extractor, without its pretraining head, as a TF2
reusable SavedModel under `data/hub/<name>/`.
`HubBackbone("dlsuite/<name>")` and `tensorflow_hub.load(path)` then use it
exactly like a tfhub.dev feature vector or sentence embedding model.

The directory also holds `dlsuite_hub.json`: input/output spec, training data
provenance, the pretraining figures (test accuracy, or held-out retrieval
recall for the text encoder), the SavedModel's
fingerprint and the library versions.

Example:

```python
from shared.hub.offline import build_backbone

result = build_backbone("fashion-cnn-64", epochs=1, limit=2000, out_dir="/tmp/fashion-cnn-64")
result.metadata["pretraining"]["test_accuracy"]
```
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from shared.data.idx import FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, FASHION_MNIST_FILES, find_idx_file, load_fashion_mnist
from shared.errors import ConfigError
from shared.hub.handles import LOCAL_HUB_DIR, fingerprint
from shared.hub.offline_audio import AudioBackboneRecipe
from shared.hub.offline_dense import DenseBackboneRecipe
from shared.hub.offline_text import TextBackboneRecipe
from shared.hub.registry import HUB_MODELS
from shared.progress import Stages, keras_verbosity
from shared.registry import Registry
from shared.runs import atomic_path, now, versions

METADATA_FILE = "dlsuite_hub.json"
NAME_PREFIX = "dlsuite/"


@dataclass(frozen=True)
class PretrainingData:
    """A labelled image dataset that pretrains a backbone.

    Args:
        title: str. Human-readable name for the metadata.
        load: callable. `load(directory or None)` -> `((x, y), (x, y))`,
            uint8 images `(n, h, w)` and int labels.
        files: callable. `files(directory or None)` -> the files read, for
            provenance.
        classes: tuple of str. Class names.
        source: str. Where the data comes from.
    """

    title: str
    load: Callable
    files: Callable
    classes: tuple
    source: str


PRETRAINING_DATA: Registry[PretrainingData] = Registry("pretraining dataset")
PRETRAINING_DATA.register(
    "fashion_mnist",
    PretrainingData(
        title="Fashion-MNIST",
        load=load_fashion_mnist,
        files=lambda directory: [find_idx_file(directory or FASHION_MNIST_DIR, s) for s in FASHION_MNIST_FILES.values()],
        classes=FASHION_MNIST_CLASSES,
        source="Zalando Research, MIT licence (Xiao et al., 2017, arXiv:1708.07747); "
        "Debian package dataset-fashion-mnist or github.com/zalandoresearch/fashion-mnist",
    ),
)


@dataclass(frozen=True)
class BackboneRecipe:
    """How to pretrain one offline backbone.

    Args:
        name: str. Registry name in `HUB_MODELS` (`"dlsuite/..."`).
        dataset: str. Name in `PRETRAINING_DATA`.
        image_size: int. Square input size the backbone takes.
        stem_filters: int. Filters of the first (strided) `ConvBlock`.
        stage_filters: tuple of int. One strided `ResidualBlock` per entry;
            the last one is the feature dimension.
        epochs: int. Default pretraining epochs.
        batch_size: int. Training batch size.
        learning_rate: float. Peak Adam learning rate (cosine decay to 0).
        seed: int. Seed for weights, shuffling and augmentation.
    """

    name: str
    dataset: str = "fashion_mnist"
    image_size: int = 64
    stem_filters: int = 16
    stage_filters: tuple = (32, 64, 128)
    epochs: int = 3
    batch_size: int = 128
    learning_rate: float = 3e-3
    seed: int = 0

    @property
    def feature_dim(self) -> int:
        return self.stage_filters[-1]


RECIPES: Registry = Registry("offline hub backbone")
RECIPES.register("dlsuite/fashion-cnn-64", BackboneRecipe("dlsuite/fashion-cnn-64"))
RECIPES.register("dlsuite/speech-words-cnn", AudioBackboneRecipe("dlsuite/speech-words-cnn"))
RECIPES.register("dlsuite/wordnet-gloss-64", TextBackboneRecipe("dlsuite/wordnet-gloss-64"))


@dataclass
class BuildResult:
    """What `build_backbone` made: the SavedModel folder, its metadata and a one-line summary of its figures."""

    path: Path
    metadata: dict
    summary: str = ""


def get_recipe(name: str) -> BackboneRecipe:
    """The recipe for `name`, with or without its `dlsuite/` prefix."""
    return RECIPES.get(name if name.startswith(NAME_PREFIX) else NAME_PREFIX + name)


def default_dir(recipe: BackboneRecipe) -> Path:
    return LOCAL_HUB_DIR / recipe.name[len(NAME_PREFIX):]


def build_feature_extractor(recipe):
    """The backbone: [0, 1] RGB images (16 kHz audio, raw sentences for those recipes) -> `(batch, feature_dim)` features."""

    if isinstance(recipe, AudioBackboneRecipe):
        from shared.hub.offline_audio import build_audio_extractor

        return build_audio_extractor(recipe)
    if isinstance(recipe, TextBackboneRecipe):
        from shared.hub.offline_text import build_text_extractor

        return build_text_extractor(recipe)
    if isinstance(recipe, DenseBackboneRecipe):
        from shared.hub.offline_dense import build_dense_extractor

        return build_dense_extractor(recipe)

    return residual_image_encoder(recipe.name, (recipe.image_size, recipe.image_size), recipe.stem_filters, recipe.stage_filters)


def residual_image_encoder(name: str, size: tuple[int, int], stem_filters: int, stage_filters):
    """[0, 1] RGB `(batch, h, w, 3)` -> pooled features: a strided `ConvBlock` stem, one strided `ResidualBlock` per stage (`stage1`...), global average pooling."""
    import keras

    from shared.layers import ConvBlock, ResidualBlock

    inputs = keras.Input((*size, 3), name="images")
    x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_unit_range")(inputs)
    x = ConvBlock(stem_filters, strides=2, name="stem")(x)
    for index, filters in enumerate(stage_filters):
        x = ResidualBlock(filters, strides=2, name=f"stage{index + 1}")(x)
    features = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, features, name=name.replace("/", "_").replace("-", "_"))


def pretraining_batches(examples, batch_size: int, seed: int, training: bool):
    """Batches of an in-memory pretraining set: shuffled over the whole set when training, in order otherwise."""
    import tensorflow as tf

    from shared.data.pipeline import batched

    return batched(tf.data.Dataset.from_tensor_slices(examples), batch_size, shuffle_buffer=len(examples[0]) if training else 0, seed=seed)


def to_backbone_images(images, size: int):
    """uint8 grey `(batch, h, w)` -> float32 RGB `(batch, size, size, 3)` in [0, 1]."""
    import tensorflow as tf

    x = tf.cast(images, tf.float32)[..., None] / 255.0
    x = tf.image.resize(x, (size, size))
    return tf.clip_by_value(tf.image.grayscale_to_rgb(x), 0.0, 1.0)


def image_dataset(images, labels, recipe: BackboneRecipe, training: bool):
    """tf.data batches of backbone-ready images; light augmentation when training."""
    import keras
    import tensorflow as tf

    ds = pretraining_batches((images, labels), recipe.batch_size, recipe.seed, training)
    ds = ds.map(lambda x, y: (to_backbone_images(x, recipe.image_size), y), num_parallel_calls=tf.data.AUTOTUNE)
    if training:
        augment = keras.Sequential(
            [
                keras.layers.RandomFlip("horizontal", seed=recipe.seed),
                keras.layers.RandomTranslation(0.08, 0.08, fill_mode="constant", seed=recipe.seed),
            ],
            name="augment",
        )
        ds = ds.map(lambda x, y: (augment(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def _classifier(extractor, classes: int):
    import keras

    inputs = keras.Input(extractor.input_shape[1:], name="images")
    features = extractor(inputs)
    x = keras.layers.Dropout(0.2, name="head_dropout")(features)
    logits = keras.layers.Dense(classes, name="head")(x)
    return keras.Model(inputs, logits, name="pretraining_classifier")


def _metadata(recipe, data, data_dir, counts, epochs, metrics, seconds) -> dict:
    import importlib.metadata as md

    spec = HUB_MODELS.get(recipe.name)
    files = data.files(data_dir)
    return {
        "name": recipe.name,
        "format": "TF2 reusable SavedModel: obj(images, training=False), variables, trainable_variables, "
        "regularization_losses; signature serving_default -> {feature_vector}",
        "usage": f"HubBackbone('{recipe.name}') or tensorflow_hub.load(<this directory>)",
        "input": {**asdict(spec.input), "shape": [recipe.image_size, recipe.image_size, 3]},
        "output": {"feature_dim": recipe.feature_dim, "key": "feature_vector", "description": spec.output},
        "architecture": {
            "layers": f"Rescaling to [-1, 1], ConvBlock({recipe.stem_filters}, stride 2), "
            + ", ".join(f"ResidualBlock({f}, stride 2)" for f in recipe.stage_filters)
            + ", GlobalAveragePooling2D",
        },
        "pretraining": {
            "dataset": data.title,
            "source": data.source,
            "files": [str(f) for f in files],
            "classes": list(data.classes),
            "train_examples": counts[0],
            "test_examples": counts[1],
            "preprocessing": f"grey 28x28 -> bilinear resize to {recipe.image_size}x{recipe.image_size}, "
            "replicated to 3 channels, scaled to [0, 1]",
            "augmentation": "RandomFlip(horizontal), RandomTranslation(0.08)",
            "epochs": epochs,
            "batch_size": recipe.batch_size,
            "optimizer": f"Adam, cosine decay from {recipe.learning_rate}",
            "seed": recipe.seed,
            "test_accuracy": metrics["accuracy"],
            "test_loss": metrics["loss"],
            "seconds": round(seconds, 1),
        },
        "intended_use": "offline stand-in for ImageNet image feature vectors: transfer learning on small, "
        "grey or low-resolution images (e.g. medical imaging demos) where tfhub.dev cannot be reached",
        "limits": "trained on 28x28 clothing photos: features are weak on colour, texture or fine detail",
        "created": now(),
        "versions": {**versions(), "tensorflow-hub": md.version("tensorflow-hub")},
    }


def build_backbone(
    name: str,
    out_dir: str | Path | None = None,
    epochs: int | None = None,
    limit: int | None = None,
    data_dir: str | Path | None = None,
    verbose="auto",
    stream=None,
) -> BuildResult:
    """Pretrain recipe `name` and export its feature extractor.

    Args:
        name: str. Recipe name, with or without `dlsuite/`.
        out_dir: str, Path or None. SavedModel directory, replaced
            atomically. Defaults to `data/hub/<name>`.
        epochs: int or None. Pretraining epochs. Defaults to the recipe's.
        limit: int or None. Use only the first `limit` training and test
            images, clips, or WordNet synsets of a seeded shuffle (quick
            checks). Defaults to all.
        data_dir: str, Path or None. Dataset folder (the WordNet `dict`
            folder for the text recipe). Defaults to the dataset's standard
            location.
        verbose: `"auto"` or int. Keras verbosity (`"auto"`: a bar on a
            terminal, one line per epoch otherwise).
        stream: file object or None. Where stage lines go (stderr).
    """
    import keras
    import numpy as np

    from shared.hub.layer import HubBackbone
    from shared.hub.saved_model import write_reusable
    from shared.training.engine import Trainer
    from shared.training.strategy import resolve_strategy

    recipe = get_recipe(name)
    epochs = recipe.epochs if epochs is None else epochs
    for key, value in (("epochs", epochs), ("limit", limit)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ConfigError(f"{key} must be a positive integer, received {value!r}")
    out_dir = Path(out_dir) if out_dir is not None else default_dir(recipe)
    if isinstance(recipe, AudioBackboneRecipe):
        from shared.hub.offline_audio import build_audio_backbone

        if data_dir is not None:
            raise ConfigError(f"{recipe.name} synthesizes its pretraining words with espeak-ng; it reads no --data folder")
        metadata = build_audio_backbone(recipe, out_dir, epochs, limit, Stages(5, stream), keras_verbosity(verbose))
        return BuildResult(out_dir, metadata, accuracy_summary(metadata))
    if isinstance(recipe, TextBackboneRecipe):
        from shared.hub.offline_text import build_text_backbone, retrieval_summary

        metadata = build_text_backbone(recipe, out_dir, epochs, limit, data_dir, Stages(6, stream), keras_verbosity(verbose))
        return BuildResult(out_dir, metadata, retrieval_summary(metadata))
    if isinstance(recipe, DenseBackboneRecipe):
        from shared.hub.offline_dense import build_dense_backbone, miou_summary

        if data_dir is not None:
            raise ConfigError(f"{recipe.name} pretrains on {recipe.dataset!r}, which its domain provides; it reads no --data folder")
        metadata = build_dense_backbone(recipe, out_dir, epochs, limit, Stages(5, stream), keras_verbosity(verbose))
        return BuildResult(out_dir, metadata, miou_summary(metadata))
    data = PRETRAINING_DATA.get(recipe.dataset)
    stages = Stages(5, stream)
    start = time.perf_counter()
    keras.utils.set_random_seed(recipe.seed)

    with stages.stage(f"load {data.title}"):
        (x_train, y_train), (x_test, y_test) = data.load(data_dir)
        if limit:
            x_train, y_train, x_test, y_test = x_train[:limit], y_train[:limit], x_test[:limit], y_test[:limit]
        train = image_dataset(x_train, y_train, recipe, training=True)
        test = image_dataset(x_test, y_test, recipe, training=False)

    with stages.stage(f"pretrain {recipe.name} on {len(x_train)} images for {epochs} epoch(s)"):
        strategy = resolve_strategy("auto")
        with strategy.scope():
            extractor = build_feature_extractor(recipe)
            classifier = _classifier(extractor, len(data.classes))
            steps = epochs * int(np.ceil(len(x_train) / recipe.batch_size))
            classifier.compile(
                optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(recipe.learning_rate, steps)),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"],
            )
        Trainer(strategy, epochs=epochs, verbose=keras_verbosity(verbose)).fit(classifier, train)

    with stages.stage(f"evaluate on {len(x_test)} test images"):
        metrics = classifier.evaluate(test, verbose=0, return_dict=True)
        print(f"pretraining test accuracy: {metrics['accuracy']:.4f}", file=stages.stream, flush=True)

    with stages.stage(f"export the feature extractor to {out_dir}"):
        counts = (len(x_train), len(x_test))
        metadata = _metadata(recipe, data, data_dir, counts, epochs, metrics, time.perf_counter() - start)
        with atomic_path(out_dir) as tmp:
            write_reusable(extractor, tmp)
            metadata["fingerprint"] = fingerprint(tmp)
            (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")

    with stages.stage("verify with tensorflow_hub.load and HubBackbone"):
        verify_export(out_dir, extractor, to_backbone_images(x_test[:8], recipe.image_size), HubBackbone)
    return BuildResult(out_dir, metadata, accuracy_summary(metadata))


def accuracy_summary(metadata: dict) -> str:
    return f"pretraining test accuracy {metadata['pretraining']['test_accuracy']:.4f}"


def verify_export(path: Path, extractor, images, backbone_cls) -> None:
    """Check that the export gives the extractor's features both ways (`images`: any batch of its inputs)."""
    import numpy as np
    import tensorflow_hub as hub

    expected = np.asarray(extractor(images, training=False))
    by_hub = hub.load(str(path))(images, training=False).numpy()
    by_layer = np.asarray(backbone_cls(str(path))(images))
    for how, found in (("tensorflow_hub.load", by_hub), ("HubBackbone", by_layer)):
        if found.shape != expected.shape or not np.allclose(found, expected, atol=1e-5):
            raise RuntimeError(f"the export at {path} read back by {how} differs from the trained extractor")
