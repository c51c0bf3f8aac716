"""Domain-agnostic explanations of model scores (integrated gradients, Grad-CAM, feature saliency)."""

from shared.explain.feature_saliency import feature_saliency, split_model
from shared.explain.gradcam import feature_layer_path, grad_cam, overlay
from shared.explain.integrated_gradients import completeness_gap, integrated_gradients, summed_by_slices

__all__ = [
    "completeness_gap",
    "feature_layer_path",
    "feature_saliency",
    "grad_cam",
    "integrated_gradients",
    "overlay",
    "split_model",
    "summed_by_slices",
]
