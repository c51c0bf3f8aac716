"""TF Hub handles: resolution (offline-aware), fingerprints and trusted roots.

A handle is one of:

- a registry name from `shared.hub.registry.HUB_MODELS`
  (`"mobilenet_v3_small"`, `"dlsuite/fashion-cnn-64"`);
- a tfhub.dev or Kaggle Models URL, resolved by `tensorflow_hub.resolve`
  into its cache (`TFHUB_CACHE_DIR`, else `<tmp>/tfhub_modules`), so a handle
  cached once works offline;
- a local SavedModel directory, used as it is.

`HubBackbone` checks a resolved SavedModel against the trusted roots and the
recorded fingerprint before it runs any of its graph code; see
`shared/hub/README.md` for the policy.
"""

from __future__ import annotations

import hashlib
import os
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


def _resolve_url(handle: str) -> Path:
    import tensorflow as tf
    import tensorflow_hub as hub

    entry = cache_entry(handle)
    if entry.is_dir() and any(entry.iterdir()):
        return entry  # what hub.resolve would return, without touching the network
    if os.environ.get(OFFLINE_ENV, "").strip() not in ("", "0"):
        raise HubError(_offline_message(handle, f"{OFFLINE_ENV} is set so no download is tried"))
    try:
        return Path(hub.resolve(handle))
    except (OSError, ValueError, tf.errors.OpError) as exc:
        lines = str(exc).strip().splitlines() or [""]
        raise HubError(_offline_message(handle, f"download failed ({type(exc).__name__}: {lines[0]})")) from None


def resolve_handle(handle: str) -> Path:
    """Return the local SavedModel directory for `handle`.

    Raises:
        HubError: unknown name or path, download impossible (offline, cache
            missing), or the directory holds no SavedModel.
    """
    if not isinstance(handle, str) or not handle.strip():
        raise HubError(f"a TF Hub handle must be a non-empty string. Received: handle={handle!r}")
    if handle in HUB_MODELS:
        model = HUB_MODELS.get(handle)
        path = REPO_ROOT / model.local_dir if model.local_dir else _resolve_url(model.handle)
        if model.local_dir and not path.is_dir():
            raise HubError(f"{handle!r} is not built yet ({path} is missing); run `dlsuite hub build {handle}`")
    elif is_url(handle):
        path = _resolve_url(handle)
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

    The TF Hub cache, the suite's own `data/hub/`, and every folder listed in
    `DLSUITE_TRUSTED_HUB_DIRS` (separated by `os.pathsep`).
    """
    extra = [Path(p).expanduser() for p in os.environ.get(TRUSTED_DIRS_ENV, "").split(os.pathsep) if p.strip()]
    return [hub_cache_dir(), LOCAL_HUB_DIR, *extra]


def is_trusted(path: str | Path) -> bool:
    # resolve() follows symlinks, so a link inside a trusted root that points
    # elsewhere is judged by where it points.
    real = Path(path).resolve()
    return any(real.is_relative_to(root.resolve()) for root in trusted_roots())


def check_trusted(path: Path, handle: str) -> None:
    if not is_trusted(path):
        roots = os.pathsep.join(str(r) for r in trusted_roots())
        raise HubTrustError(
            f"safe loading refused the SavedModel of handle {handle!r} at {path}: it is outside the "
            f"trusted roots ({roots}). Add its folder to {TRUSTED_DIRS_ENV}, copy it under {LOCAL_HUB_DIR}, "
            "or load with safe_mode=False if you trust the file"
        )


def fingerprint_mismatch(path: Path, handle: str, expected: str, found: str) -> str:
    return (
        f"the SavedModel of handle {handle!r} at {path} has fingerprint {found}, but the model was "
        f"saved with {expected}: the files changed since. Restore the original SavedModel "
        "(or re-train and save the model against the new one)"
    )
