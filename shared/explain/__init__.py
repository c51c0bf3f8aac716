"""Domain-agnostic explanations of model scores (integrated gradients, Grad-CAM)."""

from shared.explain.gradcam import feature_layer_path
from shared.explain.gradcam import grad_cam
from shared.explain.gradcam import overlay
from shared.explain.integrated_gradients import completeness_gap
from shared.explain.integrated_gradients import integrated_gradients
from shared.explain.integrated_gradients import summed_by_slices

__all__ = [
    "completeness_gap",
    "feature_layer_path",
    "grad_cam",
    "integrated_gradients",
    "overlay",
    "summed_by_slices",
]
