"""The committed offline backbone, `dlsuite hub build` and `dlsuite hub list`."""

import json
import re

import numpy as np
import pytest
import tensorflow_hub as hub

from shared.cli.main import main
from shared.hub import HubBackbone, handles
from shared.hub.offline import METADATA_FILE, get_recipe
from shared.hub.registry import HUB_MODELS

COMMITTED = handles.LOCAL_HUB_DIR / "fashion-cnn-64"


def test_committed_backbone_loads_with_hub_and_hubbackbone():
    images = np.random.default_rng(0).random((3, 64, 64, 3), dtype="float32")
    by_hub = hub.load(str(COMMITTED))(images, training=False).numpy()
    by_layer = np.asarray(HubBackbone("dlsuite/fashion-cnn-64")(images))
    assert by_hub.shape == by_layer.shape == (3, 128)
    np.testing.assert_allclose(by_layer, by_hub, atol=1e-6)
    metadata = json.loads((COMMITTED / METADATA_FILE).read_text())
    assert metadata["fingerprint"] == handles.fingerprint(COMMITTED)  # the files are the ones that were built
    assert metadata["output"]["feature_dim"] == HUB_MODELS.get("dlsuite/fashion-cnn-64").output_dim == 128
    assert metadata["pretraining"]["train_examples"] == 60000 and metadata["pretraining"]["test_accuracy"] > 0.85


def test_recipes_match_their_registry_records():
    recipe = get_recipe("fashion-cnn-64")
    assert recipe is get_recipe("dlsuite/fashion-cnn-64")
    record = HUB_MODELS.get(recipe.name)
    assert record.output_dim == recipe.feature_dim
    assert record.input.shape == (recipe.image_size, recipe.image_size, 3)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_hub_list(capsys):
    code, out, _ = run(capsys, "hub", "list")
    assert code == 0
    for name in HUB_MODELS.names():
        assert f"{name} (" in out
    assert "dlsuite/fashion-cnn-64 (image, 128-d): data/hub/fashion-cnn-64 [built]" in out
    assert "https://tfhub.dev/google/yamnet/1 [not cached]" in out


@pytest.mark.slow
def test_cli_hub_build_tiny(capsys, tmp_path):
    out_dir = tmp_path / "fashion-cnn-64"
    code, out, err = run(capsys, "hub", "build", "fashion-cnn-64", "--epochs", "1", "--limit", "2000", "--out", str(out_dir))
    assert code == 0, err
    assert f"built dlsuite/fashion-cnn-64: {out_dir} (pretraining test accuracy" in out
    assert "[1/5] load Fashion-MNIST" in err and "[5/5] verify" in err  # stage lines
    # Keras' per-epoch line: 2000 images / 128 per batch. The training accuracy of that one epoch
    # measured 0.50 here (ten classes, so chance is 0.10). The test accuracy is only range-checked:
    # after 16 steps the batch-norm moving statistics have barely moved, so inference-mode accuracy
    # swings between chance and about 0.23 with thread scheduling.
    epoch_line = re.search(r"16/16 - .* accuracy: ([0-9.]+)", out)
    assert epoch_line, out
    assert float(epoch_line.group(1)) > 0.3
    metadata = json.loads((out_dir / METADATA_FILE).read_text())
    assert metadata["pretraining"]["train_examples"] == 2000 and metadata["pretraining"]["epochs"] == 1
    assert 0.0 <= metadata["pretraining"]["test_accuracy"] <= 1.0
    assert metadata["fingerprint"] == handles.fingerprint(out_dir)
    assert metadata["input"] == {"shape": [64, 64, 3], "dtype": "float32", "value_range": [0.0, 1.0], "notes": metadata["input"]["notes"]}
    loaded = hub.load(str(out_dir))
    assert len(loaded.trainable_variables) > 0 and list(loaded.regularization_losses) == []
    assert HubBackbone(str(out_dir))(np.zeros((2, 64, 64, 3), "float32")).shape == (2, 128)


def test_cli_hub_errors_are_one_line(capsys, tmp_path):
    code, _, err = run(capsys, "hub", "build", "imagenet-cnn")
    assert code == 2 and err.count("dlsuite: error:") == 1
    assert "unknown offline hub backbone 'dlsuite/imagenet-cnn'; choose one of: dlsuite/fashion-cnn-64" in err
    code, _, err = run(capsys, "hub", "build", "fashion-cnn-64", "--data", str(tmp_path))
    assert code == 2 and "train-images-idx3-ubyte[.gz] not found" in err and "apt-get install dataset-fashion-mnist" in err
    code, _, err = run(capsys, "hub", "build", "fashion-cnn-64", "--epochs", "0")
    assert code == 2 and "epochs must be a positive integer, received 0" in err
