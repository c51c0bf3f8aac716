"""TF Hub handles: resolution (offline-aware), fingerprints and trusted roots.

A handle is one of:

- a registry name from `shared.hub.registry.HUB_MODELS`
  (`"mobilenet_v3_small"`, `"dlsuite/fashion-cnn-64"`);
- a tfhub.dev or Kaggle Models URL, resolved by `tensorflow_hub.resolve`
  into its cache (`TFHUB_CACHE_DIR`, else `<tmp>/tfhub_modules`), so a handle
  cached once works offline;
- a local SavedModel directory, used as it is.

Only a layer built in code (for training) may download. Loading a saved
model resolves with `download=False`, and `HubBackbone` checks the SavedModel
against the trusted roots and the expected fingerprint (the one recorded in
the run directory inside `recorded_backbones`, else the one in the file)
before it runs any of its graph code; see `shared/hub/README.md`.

This module imports TensorFlow only when a handle is resolved.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import shared
from shared.data.records import sha256
from shared.errors import DlsuiteError
from shared.hub.registry import HUB_MODELS

REPO_ROOT = Path(shared.__file__).resolve().parents[1]
LOCAL_HUB_DIR = REPO_ROOT / "data" / "hub"
TRUSTED_DIRS_ENV = "DLSUITE_TRUSTED_HUB_DIRS"
# Set to 1 on air-gapped machines: URL handles then come from the cache only,
# without a download attempt that could wait on DNS or a proxy.
OFFLINE_ENV = "DLSUITE_HUB_OFFLINE"
URL_PREFIXES = ("http://", "https://", "gs://")


class HubError(DlsuiteError):
    """A TF Hub handle cannot be resolved or its SavedModel is unusable."""


class HubTrustError(HubError):
    """Safe loading refused a SavedModel: untrusted location or changed files."""


def is_url(handle: str) -> bool:
    return handle.startswith(URL_PREFIXES)


def hub_cache_dir() -> Path:
    """The directory `tensorflow_hub` caches downloads in."""
    from tensorflow_hub import resolver

    return Path(resolver.tfhub_cache_dir(use_temp=True))


def cache_entry(handle: str) -> Path:
    """Where `tensorflow_hub` keeps the download of URL `handle`.

    Mirrors `tensorflow_hub.compressed_module_resolver._module_dir`: the cache
    folder is named by the SHA-1 of the handle exactly as written.
    """
    return hub_cache_dir() / hashlib.sha1(handle.encode("utf8")).hexdigest()


def _offline_message(handle: str, reason: str) -> str:
    cache = hub_cache_dir()
    return (
        f"cannot resolve TF Hub handle {handle!r}: {reason}, and it is not in the TF Hub cache "
        f"{cache} (expected {cache_entry(handle).name}/); the machine looks offline. "
        f"Pre-populate the cache on a machine with internet: TFHUB_CACHE_DIR={cache} python -c "
        f"\"import tensorflow_hub as hub; hub.resolve('{handle}')\", then copy that directory here "
        "and set TFHUB_CACHE_DIR to it; or pass a local SavedModel directory as the handle"
    )


def _no_download_message(handle: str) -> str:
    cache = hub_cache_dir()
    return (
        f"loading a saved model never downloads: TF Hub handle {handle!r} is not in the TF Hub cache {cache} "
        f"(expected {cache_entry(handle).name}/). Fetch it by building the model in code (or hub.resolve), then list "
        f"{cache} in {TRUSTED_DIRS_ENV} if you trust it; or use a local SavedModel under a trusted folder as the handle"
    )


def _resolve_url(handle: str, download: bool) -> Path:
    entry = cache_entry(handle)
    if entry.is_dir() and any(entry.iterdir()):
        return entry  # what hub.resolve would return, without touching the network
    if not download:
        raise HubTrustError(_no_download_message(handle))
    import tensorflow as tf
    import tensorflow_hub as hub

    if os.environ.get(OFFLINE_ENV, "").strip() not in ("", "0"):
        raise HubError(_offline_message(handle, f"{OFFLINE_ENV} is set so no download is tried"))
    try:
        return Path(hub.resolve(handle))
    except (OSError, ValueError, tf.errors.OpError) as exc:
        lines = str(exc).strip().splitlines() or [""]
        raise HubError(_offline_message(handle, f"download failed ({type(exc).__name__}: {lines[0]})")) from None


def resolve_handle(handle: str, download: bool = True) -> Path:
    """Return the local SavedModel directory for `handle`.

    Args:
        handle: str. A registry name, a URL or a local SavedModel directory.
        download: bool. Whether a URL missing from the TF Hub cache may be
            fetched. Loading a saved model passes `False`. Defaults to `True`.

    Raises:
        HubError: unknown name or path, download impossible (offline, cache
            missing), or the directory holds no SavedModel.
        HubTrustError: `download=False` and the URL is not in the cache.
    """
    if not isinstance(handle, str) or not handle.strip():
        raise HubError(f"a TF Hub handle must be a non-empty string. Received: handle={handle!r}")
    if handle in HUB_MODELS:
        model = HUB_MODELS.get(handle)
        path = REPO_ROOT / model.local_dir if model.local_dir else _resolve_url(model.handle, download)
        if model.local_dir and not path.is_dir():
            raise HubError(f"{handle!r} is not built yet ({path} is missing); run `dlsuite hub build {handle}`")
    elif is_url(handle):
        path = _resolve_url(handle, download)
    else:
        path = Path(handle).expanduser()
        if not path.is_dir():
            raise HubError(
                f"TF Hub handle {handle!r} is not a directory, a URL or a registered name; "
                f"registered names: {', '.join(HUB_MODELS.names())}"
            )
    if not (path / "saved_model.pb").is_file() and not (path / "saved_model.pbtxt").is_file():
        raise HubError(f"{path} (from handle {handle!r}) holds no saved_model.pb; is it a SavedModel directory?")
    return path


def fingerprint(path: str | Path) -> str:
    """SHA-256 over the SavedModel's graph, variable index and assets.

    The graph (`saved_model.pb`) is the executable part; the variable index
    holds every variable's name, shape and data checksum; assets hold
    vocabularies. Returns `"sha256:<hex>"`.
    """
    path = Path(path)
    names = [n for n in ("saved_model.pb", "saved_model.pbtxt", "variables/variables.index") if (path / n).is_file()]
    assets = path / "assets"
    if assets.is_dir():
        names += sorted(str(p.relative_to(path)) for p in assets.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for name in names:
        digest.update(f"{name}\0{sha256(path / name)}\n".encode())
    return f"sha256:{digest.hexdigest()}"


def trusted_roots() -> list[Path]:
    """Folders whose SavedModels safe loading accepts.

    The suite's own `data/hub/` and every folder listed in
    `DLSUITE_TRUSTED_HUB_DIRS` (separated by `os.pathsep`). The TF Hub
    download cache is not one: whatever URL a `.keras` file names ends up
    there, so it holds what others chose. List it to trust it.
    """
    extra = [Path(p).expanduser() for p in os.environ.get(TRUSTED_DIRS_ENV, "").split(os.pathsep) if p.strip()]
    return [LOCAL_HUB_DIR, *extra]


def is_trusted(path: str | Path) -> bool:
    # resolve() follows symlinks, so a link inside a trusted root that points
    # elsewhere is judged by where it points.
    real = Path(path).resolve()
    return any(real.is_relative_to(root.resolve()) for root in trusted_roots())


def check_trusted(path: Path, handle: str, safe: bool = True) -> None:
    """Refuse (in safe mode; warn otherwise) a SavedModel outside the trusted roots."""
    if not is_trusted(path):
        roots = os.pathsep.join(str(r) for r in trusted_roots())
        cache_hint = " (the TF Hub download cache is not trusted unless listed there)" if is_url(handle) else ""
        _refuse(
            f"a SavedModel outside the trusted roots: handle {handle!r} at {path}; trusted: {roots}. "
            f"Add its folder to {TRUSTED_DIRS_ENV}{cache_hint}, or copy it under {LOCAL_HUB_DIR}",
            safe,
        )


def fingerprint_mismatch(path: Path, handle: str, expected: str, found: str) -> str:
    return (
        f"the SavedModel files changed since the model was saved: handle {handle!r} at {path} has fingerprint "
        f"{found}, but the model was saved with {expected}. Restore the original SavedModel "
        "(or re-train and save the model against the new one)"
    )


# --- fingerprints recorded in a run directory ------------------------------------

# Marks entries that were never recorded (a run trained before the runner
# wrote `hub_backbones`): the fingerprint inside the file is then the one expected.
NOT_RECORDED = None


@dataclass(frozen=True)
class _Recorded:
    entries: tuple[tuple[str, str, str], ...] | None  # (layer, handle, fingerprint)
    source: str


_RECORDED: contextvars.ContextVar[_Recorded | None] = contextvars.ContextVar("dlsuite_hub_recorded", default=None)


def _parse_entries(entries, source: str) -> tuple[tuple[str, str, str], ...]:
    fields = ("layer", "handle", "fingerprint")
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and all(isinstance(e.get(f), str) for f in fields) for e in entries
    ):
        raise HubTrustError(
            f"safe loading refused the model: {source} `hub_backbones` must be a list of "
            f"{{layer, handle, fingerprint}} strings. Received: {str(entries)[:120]}"
        )
    return tuple((e["layer"], e["handle"], e["fingerprint"]) for e in entries)


@contextlib.contextmanager
def recorded_backbones(entries, source: str = "the run's metadata.json") -> Iterator[None]:
    """Load models inside this scope to check backbones against a training record.

    `HubBackbone.from_config` then accepts only layers listed in `entries`
    (as written by `hub_backbones(model)` at training time), and expects the
    SavedModel fingerprint recorded there. `entries=None` (`NOT_RECORDED`)
    falls back to the fingerprint inside the file, which must be present.
    Loading inside the scope never downloads, even for layers built in code.

    Args:
        entries: list of dict or None. `{"layer", "handle", "fingerprint"}` each.
        source: str. Names the record in error messages.
    """
    parsed = None if entries is NOT_RECORDED else _parse_entries(entries, source)
    token = _RECORDED.set(_Recorded(parsed, source))
    try:
        yield
    finally:
        _RECORDED.reset(token)


def loading_a_run() -> bool:
    """Whether a `recorded_backbones` scope is open."""
    return _RECORDED.get() is not None


def _refuse(problem: str, safe: bool) -> None:
    if safe:
        raise HubTrustError(f"safe loading refused {problem}, or load with safe_mode=False if you trust the file")
    # Unsafe loading was asked for explicitly: say so, then go on.
    warnings.warn(f"loading with safe_mode=False despite this: {problem}", stacklevel=4)


def expected_fingerprint(layer: str, handle: str, saved: str | None, safe: bool) -> str | None:
    """The fingerprint a loaded `HubBackbone` must match, after checking the record.

    Refuses (in safe mode; warns otherwise) a layer config without a
    fingerprint, and, inside `recorded_backbones`, a layer the record does not
    list or whose fingerprint differs from the recorded one.
    """
    if not saved:
        _refuse(
            f"HubBackbone {layer!r}: its config records no fingerprint for handle {handle!r}, so the SavedModel "
            "cannot be checked. Re-save the model from code (building the layer fills it in)",
            safe,
        )
    recorded = _RECORDED.get()
    if recorded is None or recorded.entries is None:
        return saved or None
    listed = [fp for name, h, fp in recorded.entries if name == layer and h == handle]
    if not listed:
        _refuse(
            f"HubBackbone {layer!r}: it is not listed in {recorded.source} (hub_backbones), which records what "
            f"the run was trained with; handle {handle!r}. Restore the run's own model.keras",
            safe,
        )
        return saved or None
    if saved and saved not in listed:
        _refuse(
            f"HubBackbone {layer!r}: {recorded.source} recorded fingerprint {listed[0]} at training time, but "
            f"the model file records {saved} (handle {handle!r}): model.keras was changed or replaced. "
            "Restore the run's own model.keras",
            safe,
        )
        return saved
    return saved or listed[0]
