"""The TF Hub model registry: complete, consistent plain records."""

import dataclasses

import pytest

from shared.errors import UnknownNameError
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
}


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
