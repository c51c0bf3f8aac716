"""Domain-agnostic explanations of model scores (integrated gradients)."""

from shared.explain.integrated_gradients import completeness_gap
from shared.explain.integrated_gradients import integrated_gradients
from shared.explain.integrated_gradients import summed_by_slices

__all__ = ["completeness_gap", "integrated_gradients", "summed_by_slices"]
