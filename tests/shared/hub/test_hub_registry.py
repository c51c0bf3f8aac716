"""The TF Hub model registry: complete, consistent plain records."""

import dataclasses

import pytest

from shared.errors import UnknownNameError
from shared.hub import registry
from shared.hub.handles import HubError
from shared.hub.registry import HUB_MODELS, HubModel

EXPECTED = {
    "mobilenet_v3_small": ("image", 1024),
    "mobilenet_v3_large": ("image", 1280),
    "efficientnet_v2_b0": ("image", 1280),
    "nnlm_en_dim50": ("text", 50),
    "nnlm_en_dim128": ("text", 128),
    "universal_sentence_encoder": ("text", 512),
    "bert_en_uncased_L-12_H-768_A-12": ("text", 768),
    "bert_en_uncased_preprocess": ("text", 128),
    "yamnet": ("audio", 1024),
    "dlsuite/fashion-cnn-64": ("image", 128),
    "dlsuite/speech-words-cnn": ("audio", 96),
    "dlsuite/wordnet-gloss-64": ("text", 64),
    "dlsuite/road-scenes-cnn": ("image", 128),  # registered by the driving domain
}


@pytest.fixture(autouse=True, scope="module")
def domains_discovered():
    from shared.domain import discover

    discover()


def test_every_expected_model_is_registered():
    assert {name: (m.task, m.output_dim) for name, m in HUB_MODELS.items()} == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_records_are_consistent(name):
    model = HUB_MODELS.get(name)
    assert isinstance(model, HubModel) and model.name == name
    assert dataclasses.asdict(model)  # plain data, no behaviour
    if model.local_dir:
        assert model.local_dir.startswith("data/hub/") and model.handle == name and model.kaggle is None
    else:
        assert model.handle.startswith("https://tfhub.dev/") and model.kaggle.startswith("https://www.kaggle.com/models/")
    for reference in (model.offline, model.preprocessor):
        assert reference is None or reference in HUB_MODELS


def test_documented_input_specs():
    assert HUB_MODELS.get("mobilenet_v3_small").input.shape == (224, 224, 3)
    assert HUB_MODELS.get("mobilenet_v3_small").input.value_range == (0.0, 1.0)
    yamnet = HUB_MODELS.get("yamnet").input
    assert (yamnet.dtype, yamnet.value_range) == ("float32", (-1.0, 1.0)) and "16 kHz mono" in yamnet.notes
    bert = HUB_MODELS.get("bert_en_uncased_L-12_H-768_A-12")
    assert bert.preprocessor == "bert_en_uncased_preprocess" and bert.layer_args == {"output_key": "pooled_output"}


def test_unknown_name_suggests():
    with pytest.raises(UnknownNameError, match="Did you mean 'yamnet'"):
        HUB_MODELS.get("yamnt")


def test_text_handles_are_the_real_tfhub_ones():
    handles = {name: HUB_MODELS.get(name).handle for name in EXPECTED if HUB_MODELS.get(name).task == "text"}
    assert handles == {
        "nnlm_en_dim50": "https://tfhub.dev/google/nnlm-en-dim50/2",
        "nnlm_en_dim128": "https://tfhub.dev/google/nnlm-en-dim128/2",
        "universal_sentence_encoder": "https://tfhub.dev/google/universal-sentence-encoder/4",
        "bert_en_uncased_preprocess": "https://tfhub.dev/tensorflow/bert_en_uncased_preprocess/3",
        "bert_en_uncased_L-12_H-768_A-12": "https://tfhub.dev/tensorflow/bert_en_uncased_L-12_H-768_A-12/4",
        "dlsuite/wordnet-gloss-64": "dlsuite/wordnet-gloss-64",
    }
    for name in ("nnlm_en_dim50", "nnlm_en_dim128", "universal_sentence_encoder", "bert_en_uncased_preprocess"):
        spec = HUB_MODELS.get(name).input
        assert (spec.shape, spec.dtype) == ((), "string"), name  # raw sentences in
    assert HUB_MODELS.get("bert_en_uncased_L-12_H-768_A-12").input.dtype == "int32"  # token ids, from its preprocessor


def test_only_the_bert_preprocessor_needs_tensorflow_text():
    needs = {name: m.requires for name, m in HUB_MODELS.items() if m.requires}
    assert needs == {"bert_en_uncased_preprocess": ("tensorflow_text",)}
    preprocess = HUB_MODELS.get("bert_en_uncased_preprocess")
    for handle in (preprocess.name, preprocess.handle, preprocess.kaggle):
        assert registry.requirements(handle) == ("tensorflow_text",)
    assert registry.requirements("https://tfhub.dev/google/nnlm-en-dim50/2") == ()
    assert registry.requirements("/some/local/saved_model") == ()


def test_import_requirements_registers_the_preprocessor_ops():
    from tensorflow.python.framework import op_def_registry

    # The ops bert_en_uncased_preprocess/3's graph calls; loading it fails with "Op type not registered" without them.
    assert registry.import_requirements("bert_en_uncased_preprocess") == ("tensorflow_text",)
    for op in ("CaseFoldUTF8", "RegexSplitWithOffsets", "WordpieceTokenizeWithOffsets"):
        assert op_def_registry.get(op) is not None, op
    assert registry.import_requirements("dlsuite/wordnet-gloss-64") == ()


def test_a_missing_requirement_is_one_line_naming_the_package(monkeypatch):
    monkeypatch.setattr(registry, "requirements", lambda handle: ("dlsuite_no_such_package",))
    with pytest.raises(HubError, match=r"needs the dlsuite-no-such-package package .*; install it with `pip install dlsuite-no-such-package`"):
        registry.import_requirements("bert_en_uncased_preprocess")
