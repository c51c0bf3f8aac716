"""The TF Hub models each domain would use, as plain data records.

Every record names the real tfhub.dev handle (tfhub.dev now redirects to
Kaggle Models; `kaggle` gives that page), the documented input and output,
and the offline equivalent this suite builds with `dlsuite hub build`, for
machines that cannot download. Pass a record's name as `HubBackbone(handle=...)`
or its `handle` URL; both resolve through the TF Hub cache.

Example:

```python
from shared.hub.registry import HUB_MODELS

model = HUB_MODELS.get("mobilenet_v3_small")
model.input.shape, model.output_dim  # ((224, 224, 3), 1024)
```
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.registry import Registry


@dataclass(frozen=True)
class InputSpec:
    """What one example fed to the model looks like (the batch axis is left out).

    Args:
        shape: tuple. Per-example shape; `None` marks a free axis, `()` a scalar.
        dtype: str. `"float32"`, `"string"`, `"int32"`...
        value_range: tuple or None. Expected value range, e.g. `(0.0, 1.0)`.
        notes: str. Layout details (channels, sample rate, batching).
    """

    shape: tuple
    dtype: str
    value_range: tuple[float, float] | None = None
    notes: str = ""


@dataclass(frozen=True)
class HubModel:
    """One TF Hub model as the suite uses it.

    Args:
        name: str. Registry name, also accepted as a `HubBackbone` handle.
        task: str. `"image"`, `"text"` or `"audio"`.
        handle: str. The tfhub.dev URL (or, for the suite's own, the name).
        input: InputSpec. What the model takes.
        output_dim: int. Size of the feature/embedding vector.
        output: str. What the output is and how to pick it.
        kaggle: str or None. The Kaggle Models page tfhub.dev redirects to.
        layer_args: dict. Extra `HubBackbone` arguments the model needs
            (`signature`, `output_key`).
        preprocessor: str or None. Registry name of the model that turns raw
            input into this model's input (BERT).
        offline: str or None. Registry name of the equivalent the suite
            builds offline; None where the suite builds none yet.
        local_dir: str or None. For the suite's own models: the SavedModel
            folder relative to the repository root.
        requires: tuple of str. Python modules to import before the
            SavedModel is loaded, because they register ops its graph uses
            (`tensorflow_text` for BERT's preprocessor); see
            `import_requirements`.
        notes: str. Anything a user must know.
    """

    name: str
    task: str
    handle: str
    input: InputSpec
    output_dim: int
    output: str
    kaggle: str | None = None
    layer_args: dict = field(default_factory=dict)
    preprocessor: str | None = None
    offline: str | None = None
    local_dir: str | None = None
    requires: tuple = ()
    notes: str = ""


HUB_MODELS: Registry[HubModel] = Registry("hub model")

OFFLINE_IMAGE = "dlsuite/fashion-cnn-64"
OFFLINE_AUDIO = "dlsuite/speech-words-cnn"
OFFLINE_TEXT = "dlsuite/wordnet-gloss-64"
IMAGE_224 = InputSpec(
    (224, 224, 3), "float32", (0.0, 1.0),
    "RGB, channels last; other sizes work but 224x224 is what the weights were trained at",
)
SENTENCES = InputSpec((), "string", None, "a batch of raw sentences, shape (batch,); no tokenization needed")

for _model in (
    HubModel(
        name="mobilenet_v3_small",
        task="image",
        handle="https://tfhub.dev/google/imagenet/mobilenet_v3_small_100_224/feature_vector/5",
        kaggle="https://www.kaggle.com/models/google/mobilenet-v3/TensorFlow2/small-100-224-feature-vector/1",
        input=IMAGE_224,
        output_dim=1024,
        output="(batch, 1024) feature vector from __call__",
        offline=OFFLINE_IMAGE,
        notes="ImageNet-1k; fine-tunable (BatchNorm: prefer training_mode='inference' on small data)",
    ),
    HubModel(
        name="mobilenet_v3_large",
        task="image",
        handle="https://tfhub.dev/google/imagenet/mobilenet_v3_large_100_224/feature_vector/5",
        kaggle="https://www.kaggle.com/models/google/mobilenet-v3/TensorFlow2/large-100-224-feature-vector/1",
        input=IMAGE_224,
        output_dim=1280,
        output="(batch, 1280) feature vector from __call__",
        offline=OFFLINE_IMAGE,
        notes="ImageNet-1k; fine-tunable",
    ),
    HubModel(
        name="efficientnet_v2_b0",
        task="image",
        handle="https://tfhub.dev/google/imagenet/efficientnet_v2_imagenet1k_b0/feature_vector/2",
        kaggle="https://www.kaggle.com/models/google/efficientnet-v2/TensorFlow2/imagenet1k-b0-feature-vector/2",
        input=IMAGE_224,
        output_dim=1280,
        output="(batch, 1280) feature vector from __call__",
        offline=OFFLINE_IMAGE,
        notes="ImageNet-1k; fine-tunable",
    ),
    HubModel(
        name="nnlm_en_dim50",
        task="text",
        handle="https://tfhub.dev/google/nnlm-en-dim50/2",
        kaggle="https://www.kaggle.com/models/google/nnlm/TensorFlow2/en-dim50/1",
        input=SENTENCES,
        output_dim=50,
        output="(batch, 50) sentence embedding (sqrt-n combined token embeddings)",
        notes="English Google News 200B corpus; token-based, lower-cases nothing (see the -with-normalization variant)",
        offline=OFFLINE_TEXT,
    ),
    HubModel(
        name="nnlm_en_dim128",
        task="text",
        handle="https://tfhub.dev/google/nnlm-en-dim128/2",
        kaggle="https://www.kaggle.com/models/google/nnlm/TensorFlow2/en-dim128/1",
        input=SENTENCES,
        output_dim=128,
        output="(batch, 128) sentence embedding",
        notes="English Google News 200B corpus",
        offline=OFFLINE_TEXT,
    ),
    HubModel(
        name="universal_sentence_encoder",
        task="text",
        handle="https://tfhub.dev/google/universal-sentence-encoder/4",
        kaggle="https://www.kaggle.com/models/google/universal-sentence-encoder/TensorFlow2/universal-sentence-encoder/2",
        input=SENTENCES,
        output_dim=512,
        output="(batch, 512) approximately normalized sentence embedding",
        notes="DAN encoder, English; about 1 GB download",
        offline=OFFLINE_TEXT,
    ),
    HubModel(
        name="bert_en_uncased_preprocess",
        task="text",
        handle="https://tfhub.dev/tensorflow/bert_en_uncased_preprocess/3",
        kaggle="https://www.kaggle.com/models/tensorflow/bert/TensorFlow2/en-uncased-preprocess/3",
        input=SENTENCES,
        output_dim=128,
        output="dict of int32 (batch, 128) input_word_ids, input_mask, input_type_ids for the BERT encoder",
        requires=("tensorflow_text",),
        notes="its graph uses tensorflow-text ops (CaseFoldUTF8, WordpieceTokenizeWithOffsets...): import "
        "tensorflow_text before loading it (`import_requirements`); not a feature extractor",
    ),
    HubModel(
        name="bert_en_uncased_L-12_H-768_A-12",
        task="text",
        handle="https://tfhub.dev/tensorflow/bert_en_uncased_L-12_H-768_A-12/4",
        kaggle="https://www.kaggle.com/models/tensorflow/bert/TensorFlow2/en-uncased-l-12-h-768-a-12/4",
        input=InputSpec(
            (None,), "int32", None,
            "dict of input_word_ids, input_mask, input_type_ids, each int32 (batch, seq_len), "
            "as made by bert_en_uncased_preprocess (seq_len 128)",
        ),
        output_dim=768,
        output="dict: pooled_output (batch, 768), sequence_output (batch, seq_len, 768), encoder_outputs",
        layer_args={"output_key": "pooled_output"},
        preprocessor="bert_en_uncased_preprocess",
        notes="110M parameters; fine-tune with a small learning rate (2e-5 to 5e-5)",
    ),
    HubModel(
        name="yamnet",
        task="audio",
        handle="https://tfhub.dev/google/yamnet/1",
        kaggle="https://www.kaggle.com/models/google/yamnet/TensorFlow2/yamnet/1",
        input=InputSpec(
            (None,), "float32", (-1.0, 1.0),
            "ONE clip per call: a 1-D 16 kHz mono waveform (no batch axis); frames of 0.96 s, hop 0.48 s",
        ),
        output_dim=1024,
        output="tuple (scores (frames, 521), embeddings (frames, 1024), log_mel_spectrogram (frames', 64))",
        notes="AudioSet 521 classes; average the per-frame embeddings for a clip vector; "
        "call it per clip (e.g. in tf.data), not as a batched Keras layer",
        offline=OFFLINE_AUDIO,
    ),
    HubModel(
        name=OFFLINE_AUDIO,
        task="audio",
        handle=OFFLINE_AUDIO,
        local_dir="data/hub/speech-words-cnn",
        input=InputSpec(
            (16000,), "float32", (-1.0, 1.0),
            "batched one-second 16 kHz mono waveforms; the log-mel front end is inside the model",
        ),
        output_dim=96,
        output="(batch, 96) feature vector from __call__ (global average pooling over log-mel conv features)",
        notes="the suite's own small log-mel ResNet pretrained on espeak-ng words (`dlsuite hub build speech-words-cnn`); "
        "the offline stand-in for YAMNet; synthetic speech only",
    ),
    HubModel(
        name=OFFLINE_TEXT,
        task="text",
        handle=OFFLINE_TEXT,
        local_dir="data/hub/wordnet-gloss-64",
        input=SENTENCES,
        output_dim=64,
        output="(batch, 64) sentence embedding from __call__ (sqrt-n combined word embeddings, Dense + tanh)",
        notes="the suite's own NNLM-style bag-of-words encoder, pretrained to match WordNet 3.0 lemmas and example "
        "sentences to their English definitions (`dlsuite hub build wordnet-gloss-64`); the offline stand-in for "
        "NNLM and the Universal Sentence Encoder; ignores word order; English only",
    ),
    HubModel(
        name=OFFLINE_IMAGE,
        task="image",
        handle=OFFLINE_IMAGE,
        local_dir="data/hub/fashion-cnn-64",
        input=InputSpec(
            (64, 64, 3), "float32", (0.0, 1.0),
            "RGB channels last; grey images are replicated to 3 channels; 64x64 fixed",
        ),
        output_dim=128,
        output="(batch, 128) feature vector from __call__ (global average pooling)",
        notes="the suite's own small ResNet pretrained on Fashion-MNIST (`dlsuite hub build`); "
        "the offline stand-in for ImageNet feature vectors; grey, low-resolution images only",
    ),
):
    HUB_MODELS.register(_model.name, _model)


def requirements(handle: str) -> tuple:
    """The modules `handle` (a registry name, or the tfhub.dev/Kaggle URL of a record) needs imported; `()` for any other handle."""
    for name, model in HUB_MODELS.items():
        if handle in (name, model.handle, model.kaggle):
            return model.requires
    return ()


def import_requirements(handle: str) -> tuple:
    """Import the modules `handle` needs before its SavedModel is loaded; returns their names.

    A SavedModel whose graph uses ops outside core TensorFlow (BERT's
    preprocessor: tensorflow-text's tokenizer ops) fails to load with "Op
    type not registered" until the package that defines them is imported.

    Raises:
        HubError: a required package is not installed; the message names it.
    """
    import importlib

    modules = requirements(handle)
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            from shared.hub.handles import HubError

            package = module.replace("_", "-")
            raise HubError(f"TF Hub model {handle!r} needs the {package} package ({exc}); install it with `pip install {package}`") from None
    return modules
