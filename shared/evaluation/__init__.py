"""Domain-agnostic evaluation: binary-scoring metrics and matplotlib figures.

`shared.evaluation.binary` holds the metrics (re-exported here);
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

__all__ = [
    "FLAG_NOTHING",
    "auprc",
    "average_precision",
    "binary_report",
    "choose_threshold",
    "confusion_at",
    "pr_curve_table",
    "recall_at_budget",
    "recall_at_precision",
    "roc_auc",
]
