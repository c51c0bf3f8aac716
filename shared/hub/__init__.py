"""TF Hub transfer learning for Keras 3: handles, a safe backbone layer, offline models.

- `HubBackbone` (`shared.hub.layer`): any TF Hub handle as a Keras 3 layer,
  frozen or fine-tuned, saved inside `.keras` files that reload with
  `safe_mode=True`.
- `shared.hub.handles`: resolution through the TF Hub cache (offline-aware),
  SavedModel fingerprints, trusted roots, the `recorded_backbones` loading
  scope; `HubError`. It imports TensorFlow only when a handle is resolved.
- `shared.hub.registry.HUB_MODELS`: the real handles each domain would use,
  with input/output specs and their offline equivalents.
- `shared.hub.offline`: `dlsuite hub build`, pretraining the suite's own
  backbones into `data/hub/<name>/` as reusable SavedModels.

See `shared/hub/README.md`.
"""

from shared.hub.handles import HubError, HubTrustError, recorded_backbones, resolve_handle
from shared.hub.registry import HUB_MODELS, HubModel

__all__ = ["HUB_MODELS", "HubBackbone", "HubError", "HubModel", "HubTrustError", "hub_backbones", "recorded_backbones", "resolve_handle"]


def __getattr__(name):
    # The layer imports TensorFlow; `shared.runs` opens the loading scope
    # from `handles` without paying for that.
    if name in ("HubBackbone", "hub_backbones"):
        from shared.hub import layer

        return getattr(layer, name)
    raise AttributeError(f"module 'shared.hub' has no attribute {name!r}")
