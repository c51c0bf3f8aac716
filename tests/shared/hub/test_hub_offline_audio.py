"""The committed offline audio backbone (`dlsuite/speech-words-cnn`) and building one."""

import json

import numpy as np
import pytest
import tensorflow_hub as hub

from shared.data import espeak
from shared.hub import HubBackbone, handles
from shared.hub.offline import METADATA_FILE, build_backbone, get_recipe
from shared.hub.offline_audio import AudioBackboneRecipe
from shared.hub.registry import HUB_MODELS

NAME = "dlsuite/speech-words-cnn"
COMMITTED = handles.LOCAL_HUB_DIR / "speech-words-cnn"


def test_committed_audio_backbone_loads_with_hub_and_hubbackbone():
    audio = np.random.default_rng(0).uniform(-0.3, 0.3, (3, 16000)).astype("float32")
    by_hub = hub.load(str(COMMITTED))(audio, training=False).numpy()
    by_layer = np.asarray(HubBackbone(NAME)(audio))
    assert by_hub.shape == by_layer.shape == (3, 96)
    np.testing.assert_allclose(by_layer, by_hub, atol=1e-5)
    metadata = json.loads((COMMITTED / METADATA_FILE).read_text())
    assert metadata["fingerprint"] == handles.fingerprint(COMMITTED)
    assert metadata["output"]["feature_dim"] == HUB_MODELS.get(NAME).output_dim == 96
    pretraining = metadata["pretraining"]
    assert pretraining["words"] == list(espeak.PRETRAINING_WORDS)
    assert pretraining["test_accuracy"] > 0.8, "held-out voices: the backbone must have learned words, not voices"


def test_audio_recipe_matches_its_record():
    recipe = get_recipe("speech-words-cnn")
    assert isinstance(recipe, AudioBackboneRecipe) and recipe.name == NAME
    assert HUB_MODELS.get(NAME).output_dim == recipe.feature_dim
    assert HUB_MODELS.get("yamnet").offline == NAME


@pytest.mark.slow
@pytest.mark.skipif(not espeak.available(), reason="espeak-ng is not installed (apt-get install espeak-ng); CI installs it")
def test_build_a_tiny_audio_backbone(tmp_path):
    result = build_backbone("speech-words-cnn", out_dir=tmp_path / "words", epochs=1, limit=150, verbose=0)
    metadata = json.loads((tmp_path / "words" / METADATA_FILE).read_text())
    assert metadata == result.metadata and metadata["pretraining"]["epochs"] == 1
    assert metadata["pretraining"]["train_examples"] + metadata["pretraining"]["test_examples"] == 150
    assert np.asarray(HubBackbone(str(tmp_path / "words"))(np.zeros((1, 16000), "float32"))).shape == (1, 96)


def test_audio_recipe_reads_no_data_folder(tmp_path):
    from shared.errors import ConfigError

    with pytest.raises(ConfigError, match="reads no --data folder"):
        build_backbone("speech-words-cnn", out_dir=tmp_path / "x", data_dir=tmp_path)
