"""Domain-agnostic evaluation: metrics and matplotlib figures.

`shared.evaluation.binary`, `.multiclass`, `.calibration` and `.segmentation`
hold the metrics (re-exported here);
`shared.evaluation.plots` holds the figures and is imported on demand so that
using the metrics does not pull in matplotlib.
"""

from shared.evaluation.binary import FLAG_NOTHING
from shared.evaluation.binary import auprc
from shared.evaluation.binary import average_precision
from shared.evaluation.binary import binary_report
from shared.evaluation.binary import choose_threshold
from shared.evaluation.binary import confusion_at
from shared.evaluation.binary import pr_curve_table
from shared.evaluation.binary import recall_at_budget
from shared.evaluation.binary import recall_at_precision
from shared.evaluation.binary import roc_auc
from shared.evaluation.calibration import expected_calibration_error
from shared.evaluation.calibration import reliability
from shared.evaluation.multiclass import abnormal_report
from shared.evaluation.multiclass import choose_operating_point
from shared.evaluation.multiclass import multiclass_report
from shared.evaluation.segmentation import dice
from shared.evaluation.segmentation import iou
from shared.evaluation.segmentation import segmentation_report

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
