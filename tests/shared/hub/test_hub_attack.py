"""A hostile `.keras` file in a run directory must not download or run anything.

The attack: a run directory's `model.keras` names, as a `HubBackbone` handle,
a URL that serves a SavedModel whose graph writes a file. Loading such a file
(`dlsuite predict`, `dlsuite export`) must refuse it in one line, without a
request to the server and without running the graph, whether or not the
module is already in the TF Hub download cache.
"""

import http.server
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import zipfile
from pathlib import Path
from typing import Literal

import keras
import numpy as np
import pytest
import tensorflow as tf
from tests_support import PROCESSES, dlsuite_cmd

from shared.config import Section
from shared.domain import DataBundle, Domain, ModelSpec, Task
from shared.errors import DlsuiteError
from shared.hub import HubBackbone, HubTrustError, handles
from shared.registry import Registry
from shared.runs import Run

REPO_ROOT = Path(__file__).resolve().parents[3]
DEMO_RUN = REPO_ROOT / "data" / "demo_models" / "medical_imaging" / "classifier"
IMAGE_SHAPE = (64, 64, 1)  # what the demo classifier's task decodes
TINY_SHAPE = (8, 8, 3)  # the conftest's tiny_hub


class HostileModule(tf.Module):
    """A reusable SavedModel whose `__call__` writes `marker` before answering."""

    variables = None
    trainable_variables = None

    def __init__(self, marker):
        super().__init__(name="hostile")
        self.kernel = tf.Variable(tf.ones([1, 3]))
        self.variables = [self.kernel]
        self.trainable_variables = [self.kernel]

        @tf.function(input_signature=[tf.TensorSpec([None, *IMAGE_SHAPE], tf.float32)])
        def call(images):
            tf.io.write_file(marker, "the hostile graph ran")
            return tf.matmul(tf.reduce_mean(images, axis=[1, 2]), self.kernel)

        self.__call__ = call


class ModuleServer:
    """Serves one .tar.gz on 127.0.0.1 and counts every request it receives."""

    def __init__(self, payload: bytes):
        self.requests = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                server.requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-gzip")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hostile/1.tar.gz"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


def targz(folder: Path) -> bytes:
    """The folder's contents at the archive root, as tfhub.dev serves compressed modules."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    return buffer.getvalue()


@pytest.fixture
def hostile(tmp_path, monkeypatch):
    """The hostile SavedModel, its fingerprint, its marker file and a server for it."""
    marker = tmp_path / "marker" / "pwned.txt"
    marker.parent.mkdir()
    module_dir = tmp_path / "hostile_module"
    tf.saved_model.save(HostileModule(str(marker)), str(module_dir))
    server = ModuleServer(targz(module_dir))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    yield {"dir": module_dir, "fingerprint": handles.fingerprint(module_dir), "marker": marker, "server": server}
    server.close()


def hostile_keras_file(url: str, module_dir: Path, path: Path, fingerprint) -> Path:
    """A classifier on the hostile backbone, saved with the handle `url` and `fingerprint`.

    The layer is built from the local copy, then its config is rewritten to
    the URL: the file is what an attacker would drop into a run directory.
    """
    inputs = keras.Input(IMAGE_SHAPE)
    features = HubBackbone(str(module_dir), name="backbone")(inputs)
    keras.Model(inputs, keras.layers.Softmax()(features)).save(path)
    rewrite_backbone(path, handle=url, fingerprint=fingerprint)
    return path


def rewrite_backbone(path: Path, **changes) -> None:
    with zipfile.ZipFile(path) as source:
        entries = {name: source.read(name) for name in source.namelist()}
    config = json.loads(entries["config.json"])
    layers = [layer for layer in config["config"]["layers"] if layer["class_name"] == "HubBackbone"]
    assert layers, "no HubBackbone in the file"
    for layer in layers:
        layer["config"].update(changes)
    entries["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as target:
        for name, data in entries.items():
            target.writestr(name, data)


def hostile_run(tmp_path: Path, hostile, fingerprint, listed: bool) -> Path:
    """A copy of the demo classifier's run directory with the hostile model.keras.

    With `listed`, metadata.json also records the hostile backbone, as an
    attacker who writes the whole run directory would.
    """
    run = tmp_path / "run"
    run.mkdir()
    for name in ("config.yaml", "metrics.json", "status.json"):
        shutil.copy(DEMO_RUN / name, run / name)
    metadata = json.loads((DEMO_RUN / "metadata.json").read_text())
    metadata.pop("hub_backbones", None)
    if listed:
        metadata["hub_backbones"] = [{"layer": "backbone", "handle": hostile["server"].url, "fingerprint": fingerprint}]
    (run / "metadata.json").write_text(json.dumps(metadata))
    hostile_keras_file(hostile["server"].url, hostile["dir"], run / "model.keras", fingerprint)
    return run


def a_png(path: Path) -> Path:
    tf.io.write_file(str(path), tf.io.encode_png(np.zeros(IMAGE_SHAPE, "uint8")))
    return path


def run_cli_attacks(run: Path, image: Path, env: dict) -> list[subprocess.CompletedProcess]:
    """`dlsuite predict` and `dlsuite export` on the run, side by side."""
    commands = [dlsuite_cmd("predict", str(run), str(image)), dlsuite_cmd("export", str(run), "--format", "savedmodel")]
    started = [
        subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for cmd in commands
    ]
    results = []
    for cmd, process in zip(commands, started):
        out, err = process.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(cmd, process.returncode, out, err))
    return results


@PROCESSES
@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("variant", ["download", "no_fingerprint", "cached_untrusted"])
def test_cli_refuses_a_hostile_hub_handle_without_fetching_or_running_it(hostile, tmp_path, variant):
    cache = tmp_path / "tfhub_cache"
    fingerprint = None if variant == "no_fingerprint" else hostile["fingerprint"]
    run = hostile_run(tmp_path, hostile, fingerprint, listed=variant != "no_fingerprint")
    if variant == "cached_untrusted":
        # The module is already where `tensorflow_hub` would have put it.
        shutil.copytree(hostile["dir"], cache / Path(handles.cache_entry(hostile["server"].url)).name)
    env = {**os.environ, "TFHUB_CACHE_DIR": str(cache), "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO_ROOT)}
    env.pop("DLSUITE_TRUSTED_HUB_DIRS", None)
    env.pop("DLSUITE_HUB_OFFLINE", None)
    reasons = {
        "download": "loading a saved model never downloads",
        "no_fingerprint": "records no fingerprint",
        "cached_untrusted": "outside the trusted roots",
    }
    for result in run_cli_attacks(run, a_png(tmp_path / "x.png"), env):
        errors = [line for line in result.stderr.splitlines() if line.startswith("dlsuite: error:")]
        assert result.returncode == 2, (result.args, result.stderr[-2000:])
        assert len(errors) == 1 and reasons[variant] in errors[0], result.stderr[-2000:]
        assert "Traceback" not in result.stderr
    assert not hostile["marker"].exists(), "the hostile SavedModel's graph ran"
    assert hostile["server"].requests == [], "loading a saved model contacted the handle's server"
    assert not (run / "saved_model").exists()


def test_the_attack_is_real_when_a_model_is_built_in_code(hostile, images_64):
    # The control: building the layer for training does fetch the URL, and the
    # graph does write its marker, so the refusals above are not vacuous.
    layer = HubBackbone(hostile["server"].url)
    layer(images_64)
    assert len(hostile["server"].requests) == 1
    assert hostile["marker"].read_text() == "the hostile graph ran"
    assert layer.fingerprint == hostile["fingerprint"]


@pytest.fixture
def images_64():
    return np.random.default_rng(0).random((2, *IMAGE_SHAPE), dtype="float32")


@pytest.mark.parametrize("safe_mode", [True, False], ids=["safe", "unsafe"])
def test_loading_never_downloads_even_in_unsafe_mode(hostile, tmp_path, safe_mode):
    path = hostile_keras_file(hostile["server"].url, hostile["dir"], tmp_path / "model.keras", hostile["fingerprint"])
    with pytest.raises(HubTrustError, match="loading a saved model never downloads") as info:
        keras.saving.load_model(path, safe_mode=safe_mode)
    assert "\n" not in str(info.value)
    assert hostile["server"].requests == [] and not hostile["marker"].exists()


def cache_module(hostile) -> Path:
    entry = handles.cache_entry(hostile["server"].url)
    shutil.copytree(hostile["dir"], entry)
    return entry


def test_a_cached_module_loads_only_when_the_cache_is_trusted(hostile, tmp_path, trust, images_64):
    path = hostile_keras_file(hostile["server"].url, hostile["dir"], tmp_path / "model.keras", hostile["fingerprint"])
    entry = cache_module(hostile)
    with pytest.raises(HubTrustError, match="outside the trusted roots"):
        keras.saving.load_model(path)
    assert not hostile["marker"].exists()
    # A user who trusts the download cache says so; the entry then loads offline.
    trust(entry.parent)
    loaded = keras.saving.load_model(path)
    assert loaded.get_layer("backbone")._module_dir == entry
    assert hostile["server"].requests == []


def test_a_missing_fingerprint_is_refused_in_safe_mode_only(hostile, tmp_path, trust):
    trust(hostile["dir"].parent)
    path = hostile_keras_file(str(hostile["dir"]), hostile["dir"], tmp_path / "model.keras", None)
    with pytest.raises(HubTrustError, match="records no fingerprint") as info:
        keras.saving.load_model(path)
    assert "\n" not in str(info.value)
    with pytest.warns(UserWarning, match="safe_mode=False despite this: .* records no fingerprint"):
        loaded = keras.saving.load_model(path, safe_mode=False)
    assert loaded.get_layer("backbone").fingerprint == hostile["fingerprint"]


# --- the fingerprints recorded in the run directory -------------------------------


def local_run(tmp_path, hostile, hub_backbones) -> Path:
    """A run directory whose model uses the (trusted) local copy of the module."""
    run = tmp_path / "local_run"
    run.mkdir(parents=True)
    shutil.copy(DEMO_RUN / "config.yaml", run / "config.yaml")
    metadata = {"domain": "medical_imaging", "task": "classifier"}
    if hub_backbones is not None:
        metadata["hub_backbones"] = hub_backbones
    (run / "metadata.json").write_text(json.dumps(metadata))
    hostile_keras_file(str(hostile["dir"]), hostile["dir"], run / "model.keras", hostile["fingerprint"])
    return run


def test_run_model_checks_the_fingerprint_recorded_at_training(hostile, tmp_path, trust):
    trust(hostile["dir"].parent)
    handle = str(hostile["dir"])
    good = [{"layer": "backbone", "handle": handle, "fingerprint": hostile["fingerprint"]}]
    assert Run.open(local_run(tmp_path / "good", hostile, good)).model.get_layer("backbone").fingerprint == hostile["fingerprint"]
    cases = {
        "mismatch": ([{**good[0], "fingerprint": "sha256:" + "0" * 64}], "metadata.json recorded fingerprint sha256:0000"),
        "other_layer": ([{**good[0], "layer": "encoder"}], "not listed in the run's metadata.json"),
        "other_handle": ([{**good[0], "handle": "dlsuite/fashion-cnn-64"}], "not listed in the run's metadata.json"),
        "none_listed": ([], "not listed in the run's metadata.json"),
        "malformed": ([{"layer": "backbone"}], "`hub_backbones` must be a list of"),
    }
    for name, (recorded, message) in cases.items():
        run = Run.open(local_run(tmp_path / name, hostile, recorded))
        # Run.model may report it as a RunError that quotes the HubTrustError.
        with pytest.raises(DlsuiteError) as info:
            run.model  # noqa: B018
        text = str(info.value)
        assert "\n" not in text and message in text, (name, text)
    # The file and the record agree, but the SavedModel on disk changed since training.
    (hostile["dir"] / "assets").mkdir(exist_ok=True)
    (hostile["dir"] / "assets" / "vocab.txt").write_text("changed\n")
    with pytest.raises(DlsuiteError, match="files changed since"):
        Run.open(local_run(tmp_path / "changed", hostile, good)).model  # noqa: B018


def test_unsafe_loading_inside_a_record_warns_instead(hostile, tmp_path):
    path = hostile_keras_file(str(hostile["dir"]), hostile["dir"], tmp_path / "model.keras", hostile["fingerprint"])
    other = [{"layer": "backbone", "handle": str(hostile["dir"]), "fingerprint": "sha256:" + "0" * 64}]
    with handles.recorded_backbones(other), pytest.warns(UserWarning) as caught:
        keras.saving.load_model(path, safe_mode=False)
    messages = " | ".join(str(w.message) for w in caught)
    assert "recorded fingerprint sha256:0000" in messages and "outside the trusted roots" in messages
    with handles.recorded_backbones([]), pytest.warns(UserWarning, match="not listed in the run's metadata.json"):
        keras.saving.load_model(path, safe_mode=False)


def test_runs_from_before_hub_backbones_fall_back_to_the_file_fingerprint(hostile, tmp_path, trust):
    trust(hostile["dir"].parent)
    run = local_run(tmp_path, hostile, None)
    assert Run.open(run).model.get_layer("backbone").fingerprint == hostile["fingerprint"]
    rewrite_backbone(run / "model.keras", fingerprint=None)
    with pytest.raises(DlsuiteError, match="records no fingerprint"):
        Run.open(run).model  # noqa: B018


def test_the_demo_classifier_still_loads_and_is_recorded():
    recorded = json.loads((DEMO_RUN / "metadata.json").read_text())["hub_backbones"]
    local = handles.LOCAL_HUB_DIR / "fashion-cnn-64"
    assert recorded == [{"layer": "backbone", "handle": "dlsuite/fashion-cnn-64", "fingerprint": handles.fingerprint(local)}]
    from shared.domain import get_task

    get_task("medical_imaging", "classifier")  # registers the domain's layers
    model = Run.open(DEMO_RUN).model
    assert model.get_layer("backbone").fingerprint == recorded[0]["fingerprint"]


def test_the_loading_scope_needs_no_tensorflow():
    # runs.py opens the scope before any TensorFlow import is needed.
    code = (
        "import sys; from shared.hub.handles import recorded_backbones\n"
        "with recorded_backbones([]): pass\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]


class HubToyData(Section):
    rows: int = 16


class HubToyModel(Section):
    type: Literal["hub"] = "hub"
    handle: str = ""


def build_hub_toy(cfg, data):
    inputs = keras.Input(TINY_SHAPE, name="images")
    features = HubBackbone(cfg.handle, name="backbone")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid", name="head")(features))


class HubToyTask(Task):
    """A task whose model is a HubBackbone on a local SavedModel, trained by the real runner."""

    name = "hub_toy"
    title = "Hub toy"
    data_config = HubToyData
    preset = Path(__file__)
    models = Registry("model type")
    models.register("hub", ModelSpec(HubToyModel, build_hub_toy))

    def preset_data(self):
        return {"data": {}, "model": {"type": "hub"}, "trainer": {"epochs": 1, "batch_size": 8, "tensorboard": False}}

    def load_data(self, cfg, workdir):
        rng = np.random.default_rng(0)
        images = rng.random((cfg.data.rows, *TINY_SHAPE), dtype="float32")
        labels = rng.integers(0, 2, cfg.data.rows).astype("float32")
        ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8)
        return DataBundle(ds, ds, ds, provenance={"synthetic": True})

    def compile(self, model, cfg, make_optimizer):
        model.compile(optimizer=make_optimizer(), loss="binary_crossentropy")

    def evaluate(self, model, data, cfg, out_dir):
        return {"loss": float(model.evaluate(data.test, verbose=0, return_dict=True)["loss"])}


HUB_TOY = Domain(name="hub_toy", title="Hub toy", description="test", task_classes=[HubToyTask], default_task="hub_toy")


@pytest.mark.slow
def test_training_records_the_backbones_and_the_run_reloads_against_them(tiny_hub, trust, tmp_path):
    from shared.training.runner import prepare_run, train

    trust(tiny_hub.parent)
    task = HUB_TOY.task()
    cfg = task.resolve_config(overrides=[f"model.handle={tiny_hub}", "trainer.early_stopping.monitor=val_loss"])
    run_dir = prepare_run(task, cfg, tmp_path / "run")
    train(task, cfg, run_dir)
    recorded = json.loads((run_dir / "metadata.json").read_text())["hub_backbones"]
    assert recorded == [{"layer": "backbone", "handle": str(tiny_hub), "fingerprint": handles.fingerprint(tiny_hub)}]
    assert Run.open(run_dir).model.get_layer("backbone").fingerprint == recorded[0]["fingerprint"]
