"""Handle resolution (offline, cached, local, registry names), fingerprints and trusted roots."""

import os
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow_hub as hub
from tensorflow_hub import compressed_module_resolver

from shared.errors import DlsuiteError
from shared.hub import HubBackbone, HubError, HubTrustError, handles, resolve_handle

TFHUB_HANDLE = "https://tfhub.dev/google/nnlm-en-dim50/2"


def one_line(error) -> str:
    message = str(error.value)
    assert "\n" not in message and isinstance(error.value, DlsuiteError)
    return message


def test_url_handle_offline_with_empty_cache_fails_in_one_line(monkeypatch, images):
    # DLSUITE_HUB_OFFLINE makes the failure immediate: no DNS lookup, no download.
    monkeypatch.setenv("DLSUITE_HUB_OFFLINE", "1")
    with pytest.raises(HubError) as info:
        resolve_handle(TFHUB_HANDLE)
    message = one_line(info)
    cache = os.environ["TFHUB_CACHE_DIR"]
    assert f"cannot resolve TF Hub handle {TFHUB_HANDLE!r}" in message
    assert "offline" in message and f"TFHUB_CACHE_DIR={cache}" in message
    assert f"hub.resolve('{TFHUB_HANDLE}')" in message and "local SavedModel directory" in message
    with pytest.raises(HubError, match="DLSUITE_HUB_OFFLINE is set"):
        HubBackbone(TFHUB_HANDLE)(images)


@pytest.mark.timeout(60)
def test_failed_download_is_one_line():
    # Nothing listens on the discard port of this machine: refused at once.
    handle = "http://127.0.0.1:9/models/tiny.tar.gz"
    with pytest.raises(HubError) as info:
        resolve_handle(handle)
    message = one_line(info)
    assert "download failed (URLError" in message and "not in the TF Hub cache" in message


def test_cached_url_handle_resolves_offline_and_loads_safely(tiny_hub, make_model, images, tmp_path, monkeypatch, trust):
    handle = "https://tfhub.dev/dlsuite-test/tiny/1"
    entry = handles.cache_entry(handle)
    # The suite names cache entries exactly as tensorflow_hub does.
    assert entry == Path(compressed_module_resolver._module_dir(handle))
    shutil.copytree(tiny_hub, entry)
    monkeypatch.setenv("DLSUITE_HUB_OFFLINE", "1")
    assert resolve_handle(handle) == entry
    assert Path(hub.resolve(handle)) == entry  # tensorflow_hub's own resolver agrees, offline
    model = make_model(HubBackbone(handle))
    model.save(tmp_path / "model.keras")
    # The TF Hub download cache holds whatever URL a file named: not trusted until listed.
    with pytest.raises(HubTrustError, match="outside the trusted roots"):
        keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    trust(entry.parent)
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_array_equal(loaded.predict(images, verbose=0), model.predict(images, verbose=0))


def test_registry_names_resolve(monkeypatch):
    assert resolve_handle("dlsuite/fashion-cnn-64") == handles.LOCAL_HUB_DIR / "fashion-cnn-64"
    monkeypatch.setenv("DLSUITE_HUB_OFFLINE", "1")
    with pytest.raises(HubError, match="'https://tfhub.dev/google/nnlm-en-dim50/2'"):
        resolve_handle("nnlm_en_dim50")
    monkeypatch.setattr(handles, "REPO_ROOT", Path("/nonexistent"))
    with pytest.raises(HubError, match=r"not built yet .*dlsuite hub build dlsuite/fashion-cnn-64"):
        resolve_handle("dlsuite/fashion-cnn-64")


@pytest.mark.parametrize(
    "handle, message",
    [
        ("", "must be a non-empty string"),
        ("/nonexistent/model", "is not a directory, a URL or a registered name; registered names: "),
    ],
)
def test_bad_handles(handle, message):
    with pytest.raises(HubError, match=message):
        resolve_handle(handle)


def test_directory_without_savedmodel(tmp_path):
    with pytest.raises(HubError, match="holds no saved_model.pb"):
        resolve_handle(str(tmp_path))


def test_fingerprint_covers_graph_index_and_assets(tiny_hub, tmp_path):
    copy = shutil.copytree(tiny_hub, tmp_path / "copy")
    assert handles.fingerprint(copy) == handles.fingerprint(tiny_hub)  # independent of the location
    (copy / "notes.txt").write_text("not part of the model")
    assert handles.fingerprint(copy) == handles.fingerprint(tiny_hub)
    (copy / "assets" / "vocab.txt").write_text("a\n")
    assert handles.fingerprint(copy) != handles.fingerprint(tiny_hub)
    index = copy / "variables" / "variables.index"
    before = handles.fingerprint(copy)
    index.write_bytes(index.read_bytes() + b"\0")
    assert handles.fingerprint(copy) != before


def test_trusted_roots(tiny_hub, trust, tmp_path):
    assert not handles.is_trusted(tiny_hub)
    assert handles.is_trusted(handles.LOCAL_HUB_DIR / "fashion-cnn-64")
    assert not handles.is_trusted(Path(os.environ["TFHUB_CACHE_DIR"]) / "abc")
    trust(tmp_path / "elsewhere", tiny_hub.parent, os.environ["TFHUB_CACHE_DIR"])
    assert handles.is_trusted(tiny_hub)
    assert handles.is_trusted(Path(os.environ["TFHUB_CACHE_DIR"]) / "abc")
    # A link inside a trusted root is judged by where it points.
    (tmp_path / "elsewhere").mkdir()
    link = tmp_path / "elsewhere" / "link"
    link.symlink_to(tmp_path / "outside", target_is_directory=True)
    assert not handles.is_trusted(link)
