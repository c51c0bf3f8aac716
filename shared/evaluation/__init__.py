"""Domain-agnostic evaluation: metrics and matplotlib figures.

`shared.evaluation.binary`, `.multiclass`, `.calibration`, `.segmentation`
and `.transcripts` hold the metrics (re-exported here, imported on first use
so that importing one submodule such as `.predictions` does not pull in
scikit-learn or jiwer);
`shared.evaluation.plots` holds the figures and is imported on demand so that
using the metrics does not pull in matplotlib.
"""

import importlib

_MODULES = {
    "FLAG_NOTHING": "binary",
    "auprc": "binary",
    "average_precision": "binary",
    "binary_report": "binary",
    "choose_threshold": "binary",
    "confusion_at": "binary",
    "pr_curve_table": "binary",
    "recall_at_budget": "binary",
    "recall_at_precision": "binary",
    "roc_auc": "binary",
    "expected_calibration_error": "calibration",
    "reliability": "calibration",
    "abnormal_report": "multiclass",
    "choose_operating_point": "multiclass",
    "multiclass_report": "multiclass",
    "dice": "segmentation",
    "iou": "segmentation",
    "segmentation_report": "segmentation",
    "transcript_metrics": "transcripts",
}


def __getattr__(name: str):
    if name in _MODULES:
        return getattr(importlib.import_module(f"shared.evaluation.{_MODULES[name]}"), name)
    raise AttributeError(f"module 'shared.evaluation' has no attribute {name!r}")


__all__ = sorted(_MODULES)
