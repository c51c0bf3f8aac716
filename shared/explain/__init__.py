"""Domain-agnostic explanations of model scores (integrated gradients, Grad-CAM)."""

from shared.explain.gradcam import feature_layer_path, grad_cam, overlay
from shared.explain.integrated_gradients import completeness_gap, integrated_gradients, summed_by_slices

__all__ = [
    "completeness_gap",
    "feature_layer_path",
    "grad_cam",
    "integrated_gradients",
    "overlay",
    "summed_by_slices",
]
