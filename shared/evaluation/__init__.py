"""Domain-agnostic evaluation: metrics and matplotlib figures.

`shared.evaluation.binary`, `.multiclass`, `.calibration` and `.segmentation`
hold the metrics (re-exported here);
`shared.evaluation.plots` holds the figures and is imported on demand so that
using the metrics does not pull in matplotlib.
"""

from shared.evaluation.binary import (
    FLAG_NOTHING,
    auprc,
    average_precision,
    binary_report,
    choose_threshold,
    confusion_at,
    pr_curve_table,
    recall_at_budget,
    recall_at_precision,
    roc_auc,
)
from shared.evaluation.calibration import expected_calibration_error, reliability
from shared.evaluation.multiclass import abnormal_report, choose_operating_point, multiclass_report
from shared.evaluation.segmentation import dice, iou, segmentation_report

__all__ = [
    "FLAG_NOTHING",
    "abnormal_report",
    "auprc",
    "average_precision",
    "binary_report",
    "choose_operating_point",
    "choose_threshold",
    "confusion_at",
    "dice",
    "expected_calibration_error",
    "iou",
    "multiclass_report",
    "pr_curve_table",
    "recall_at_budget",
    "recall_at_precision",
    "reliability",
    "roc_auc",
    "segmentation_report",
]
