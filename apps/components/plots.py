"""Show figures from `shared.evaluation.plots` in the page."""

from __future__ import annotations

import streamlit as st

from shared.domain import Explanation
from shared.evaluation import plots


def pr_curve(y_true, scores, threshold: float | None = None) -> None:
    """Precision-recall curve with the chosen threshold marked."""
    st.pyplot(plots.pr_curve(y_true, scores, threshold=threshold))


def confusion_matrix(counts: dict, labels: tuple[str, str] = ("legit", "fraud")) -> None:
    """Confusion matrix from a `shared.evaluation.binary.confusion_at` dict."""
    st.pyplot(plots.confusion_matrix(counts["tp"], counts["fp"], counts["tn"], counts["fn"], labels=labels))


def attributions(explanation: Explanation, title: str = "") -> None:
    """Bar chart of an explanation's attributions, largest on top."""
    st.pyplot(plots.attributions_bar(explanation.names, explanation.values, title=title))


def confusion_matrix_multiclass(matrix, class_names: list[str]) -> None:
    """Confusion matrix of a multi-class run (rows: true class, columns: predicted)."""
    st.pyplot(plots.confusion_matrix_multiclass(matrix, class_names))
