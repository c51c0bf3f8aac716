"""Matplotlib figures for training runs, binary and multi-class scoring, and images.

Every function builds a `matplotlib.figure.Figure` directly and attaches an
Agg canvas to it. Nothing here touches `pyplot` or calls `matplotlib.use`:
pyplot keeps global state that is not thread-safe (Streamlit renders pages in
threads), and switching the global backend would break callers that chose
another one. Show a figure with `st.pyplot(fig)`, or write it with
`save_figure`.

Example:

```python
fig = pr_curve(y_true, scores, threshold=0.7)
save_figure(fig, "runs/fraud/pr_curve.png")
```
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn import metrics

from shared.evaluation import binary, multiclass

POSITIVE_COLOR = "#d62728"
NEGATIVE_COLOR = "#1f77b4"


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def training_curves(history: dict[str, list[float]]) -> Figure:
    """One subplot per metric, training and validation curves against epoch.

    Args:
        history: dict[str, list[float]]. Per-epoch values as in Keras'
            `History.history`; `x` and `val_x` share a subplot. A `val_x`
            without `x` gets its own subplot.

    Returns:
        `matplotlib.figure.Figure` with one axes per metric, at most three
        per row.
    """
    if not history:
        raise ValueError("`history` is empty; pass a dict like {'loss': [...], 'val_loss': [...]}.")
    names: list[str] = []
    for key in history:
        name = key[len("val_"):] if key.startswith("val_") else key
        if name not in names:
            names.append(name)
    ncols = min(3, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig = _new_figure(4.0 * ncols, 3.0 * nrows)
    for i, name in enumerate(names):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        for key, label, style in ((name, "train", "-"), (f"val_{name}", "validation", "--")):
            if key in history:
                values = np.asarray(history[key], dtype=float)
                ax.plot(np.arange(1, values.size + 1), values, style, marker=".", label=label)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return fig


def pr_curve(
    y_true,
    scores,
    threshold: float | None = None,
    baseline_scores=None,
    baseline_label: str = "baseline",
) -> Figure:
    """Precision-recall curve, optionally with the operating point and a baseline.

    Args:
        y_true: array of 0/1. True labels.
        scores: array of float. Model scores, higher means more likely positive.
        threshold: float or None. When given, marks precision and recall at
            `score >= threshold` (no mark if it flags nothing). Defaults to
            `None`.
        baseline_scores: array of float or None. Scores of a reference model
            (e.g. logistic regression) on the same rows, drawn as a second
            curve. Defaults to `None`.
        baseline_label: str. Legend label of the baseline curve. Defaults to
            `"baseline"`.

    Returns:
        `matplotlib.figure.Figure` with one axes.
    """
    fig = _new_figure(5.5, 4.5)
    ax = fig.add_subplot()
    curves = [("model", scores, POSITIVE_COLOR)]
    if baseline_scores is not None:
        curves.append((baseline_label, baseline_scores, "grey"))
    for label, s, color in curves:
        # `_validated` via average_precision gives our error messages before sklearn's.
        ap = binary.average_precision(y_true, s)
        precision, recall, _ = metrics.precision_recall_curve(np.ravel(y_true), np.ravel(s))
        ax.step(recall, precision, where="post", color=color, label=f"{label} (AP {ap:.3f})")
    positive_rate = float(np.mean(y_true))
    ax.axhline(positive_rate, color="black", lw=0.8, ls=":", label=f"random ({positive_rate:.3%})")
    if threshold is not None:
        point = binary.confusion_at(y_true, scores, threshold)
        if point["alerts"]:
            ax.plot(point["recall"], point["precision"], "o", color="black", ms=8,
                    label=f"threshold {threshold:.4g}")
            ax.annotate(
                f"P={point['precision']:.2f} R={point['recall']:.2f}",
                (point["recall"], point["precision"]),
                textcoords="offset points", xytext=(8, 8), fontsize="small",
            )
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.02)
    ax.set_title("Precision-recall")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="upper right")
    return fig


def roc_curve(y_true, scores) -> Figure:
    """ROC curve with its AUC in the legend.

    Args:
        y_true: array of 0/1. True labels; both classes must be present.
        scores: array of float. Higher means more likely positive.

    Returns:
        `matplotlib.figure.Figure` with one axes.
    """
    auc = binary.roc_auc(y_true, scores)
    if math.isnan(auc):
        raise ValueError("`y_true` holds a single class, so there is no ROC curve; "
                         "evaluate on a split with both classes.")
    fpr, tpr, _ = metrics.roc_curve(np.ravel(y_true), np.ravel(scores))
    fig = _new_figure(5.0, 4.5)
    ax = fig.add_subplot()
    ax.plot(fpr, tpr, color=POSITIVE_COLOR, label=f"model (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], color="black", lw=0.8, ls=":", label="random")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("ROC")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")
    return fig


def confusion_matrix(
    tp: int, fp: int, tn: int, fn: int, labels: tuple[str, str] = ("legit", "fraud")
) -> Figure:
    """2x2 confusion matrix heatmap annotated with counts and row shares.

    Args:
        tp: int. True positives.
        fp: int. False positives.
        tn: int. True negatives.
        fn: int. False negatives.
        labels: tuple[str, str]. Names of the negative and positive class.
            Defaults to `("legit", "fraud")`.

    Returns:
        `matplotlib.figure.Figure` with one axes; rows are actual classes,
        columns predicted ones.
    """
    counts = np.array([[tn, fp], [fn, tp]], dtype=np.int64)
    if (counts < 0).any():
        raise ValueError(f"Counts must be >= 0. Received: tp={tp}, fp={fp}, tn={tn}, fn={fn}")
    if len(labels) != 2:
        raise ValueError(f"`labels` must name two classes. Received: labels={labels!r}")
    row_totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, row_totals, out=np.zeros(counts.shape), where=row_totals > 0)
    fig = _new_figure(4.5, 4.0)
    ax = fig.add_subplot()
    # Colour by row share: raw counts would paint everything but true negatives white.
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for (r, c), count in np.ndenumerate(counts):
        ax.text(c, r, f"{count:,}\n{shares[r, c]:.1%}", ha="center", va="center",
                color="white" if shares[r, c] > 0.5 else "black")
    ax.set_xticks([0, 1], [f"predicted {labels[0]}", f"predicted {labels[1]}"])
    ax.set_yticks([0, 1], [f"actual {labels[0]}", f"actual {labels[1]}"])
    ax.set_title("Confusion matrix")
    return fig


def attributions_bar(names: list[str], values: list[float], title: str = "") -> Figure:
    """Horizontal bars of feature attributions, largest magnitude on top.

    Args:
        names: list[str]. Feature names.
        values: list[float]. One attribution per name; positive pushes the
            score up, negative down.
        title: str. Axes title. Defaults to `""`.

    Returns:
        `matplotlib.figure.Figure` with one axes.
    """
    values = np.asarray(values, dtype=float).ravel()
    if len(names) != values.size:
        raise ValueError(
            "`names` and `values` must have the same length. "
            f"Received: len(names)={len(names)}, len(values)={values.size}"
        )
    order = np.argsort(np.abs(values), kind="stable")  # barh draws the first bar at the bottom
    fig = _new_figure(6.0, max(2.0, 0.35 * values.size + 1.0))
    ax = fig.add_subplot()
    ax.barh(
        np.arange(values.size),
        values[order],
        color=[POSITIVE_COLOR if v > 0 else NEGATIVE_COLOR for v in values[order]],
    )
    ax.set_yticks(np.arange(values.size), [names[i] for i in order])
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("attribution")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    return fig


def reliability_diagram(reliability_dict: dict, ece: float | None = None) -> Figure:
    """Reliability diagram over a histogram of bin counts.

    Args:
        reliability_dict: dict. The output of
            `shared.evaluation.calibration.reliability`.
        ece: float or None. Expected calibration error, shown in the
            title. Defaults to `None` (not shown).

    Returns:
        `matplotlib.figure.Figure` with two axes: accuracy against
        confidence per bin (bars from the bin edges, gaps to the diagonal
        shaded), and the number of rows per bin.
    """
    missing = {"bin_edges", "confidence", "accuracy", "counts"} - set(reliability_dict)
    if missing:
        raise ValueError(
            "`reliability_dict` must be the output of `calibration.reliability`. "
            f"Missing keys: {sorted(missing)}"
        )
    edges = np.asarray(reliability_dict["bin_edges"], dtype=float)
    confidence = np.asarray(reliability_dict["confidence"], dtype=float)
    accuracy = np.asarray(reliability_dict["accuracy"], dtype=float)
    counts = np.asarray(reliability_dict["counts"], dtype=float)
    top_label = reliability_dict.get("kind", "top_label") == "top_label"
    left, widths = edges[:-1], np.diff(edges)
    filled = counts > 0
    fig = _new_figure(5.0, 6.0)
    ax, ax_counts = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    ax.bar(left[filled], accuracy[filled], width=widths[filled], align="edge",
           color=NEGATIVE_COLOR, edgecolor="white", label="observed")
    # Shade each bin's gap between observed accuracy and mean confidence.
    ax.bar(left[filled], confidence[filled] - accuracy[filled], bottom=accuracy[filled],
           width=widths[filled], align="edge", color=POSITIVE_COLOR, alpha=0.3, label="gap")
    ax.plot([0, 1], [0, 1], color="black", lw=0.8, ls=":", label="perfect calibration")
    ax.set_ylabel("accuracy" if top_label else "fraction of positives")
    ax.set_ylim(0, 1.02)
    title = "Reliability" if ece is None else f"Reliability (ECE {ece:.3f})"
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="upper left")
    ax_counts.bar(left, counts, width=widths, align="edge", color="grey", edgecolor="white")
    ax_counts.set_xlabel("confidence (top label)" if top_label else "predicted probability")
    ax_counts.set_ylabel("rows")
    ax_counts.set_xlim(min(0.0, edges[0]), max(1.0, edges[-1]))
    return fig


def confusion_matrix_multiclass(matrix, class_names: list[str]) -> Figure:
    """k x k confusion matrix heatmap annotated with counts and row shares.

    Args:
        matrix: array of int, shape `(k, k)`. Rows are true classes, columns
            predicted ones, e.g. `multiclass_report(...)["confusion_matrix"]`.
        class_names: list[str] of length `k`.

    Returns:
        `matplotlib.figure.Figure` with one axes; cells are coloured by row
        share (the per-class sensitivity sits on the diagonal).
    """
    counts = np.asarray(matrix)
    k = len(class_names)
    if counts.shape != (k, k) or (counts < 0).any():
        raise ValueError(
            f"`matrix` must be a ({k}, {k}) array of counts >= 0 for {k} class names. "
            f"Received: matrix.shape={counts.shape}, min={counts.min() if counts.size else None}"
        )
    row_totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, row_totals, out=np.zeros(counts.shape), where=row_totals > 0)
    side = max(4.0, 0.9 * k + 2.0)
    fig = _new_figure(side, side * 0.9)
    ax = fig.add_subplot()
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for (r, c), count in np.ndenumerate(counts):
        ax.text(c, r, f"{int(count):,}\n{shares[r, c]:.1%}", ha="center", va="center",
                fontsize="small", color="white" if shares[r, c] > 0.5 else "black")
    ax.set_xticks(np.arange(k), class_names, rotation=45, ha="right")
    ax.set_yticks(np.arange(k), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title("Confusion matrix")
    return fig


def roc_curves_multiclass(y_true, probs, class_names: list[str]) -> Figure:
    """One-vs-rest ROC curve per class, AUCs in the legend.

    Args:
        y_true: array of int, shape `(n,)`. True class ids.
        probs: array of float, shape `(n, k)`. Class probabilities.
        class_names: list[str] of length `k`.

    Returns:
        `matplotlib.figure.Figure` with one axes. Classes absent from
        `y_true` (or making up all of it) have no curve and are listed as
        such in the legend.
    """
    report = multiclass.multiclass_report(y_true, probs, class_names)
    y, p = np.asarray(y_true).ravel(), np.asarray(probs, dtype=float)
    fig = _new_figure(5.5, 4.5)
    ax = fig.add_subplot()
    drawn = 0
    for c, name in enumerate(report["class_names"]):
        auc = report["per_class"][name]["roc_auc"]
        if math.isnan(auc):
            ax.plot([], [], " ", label=f"{name} (no curve: single class)")
            continue
        fpr, tpr, _ = metrics.roc_curve(y == c, p[:, c])
        ax.plot(fpr, tpr, label=f"{name} (AUC {auc:.3f})")
        drawn += 1
    if not drawn:
        raise ValueError("No class has both positives and negatives in `y_true`, so there is no "
                         "ROC curve; evaluate on a split with at least two classes.")
    ax.plot([0, 1], [0, 1], color="black", lw=0.8, ls=":", label="random")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"ROC, one vs rest (macro AUC {report['macro_roc_auc']:.3f})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")
    return fig


def image_grid(images, titles: list[str] | None = None, overlays=None, cols: int = 4,
               alpha: float = 0.4, cmap: str = "jet") -> Figure:
    """Images in a grid, optionally with a heatmap or mask drawn over each.

    Args:
        images: sequence of arrays `(H, W)`, `(H, W, 1)` or `(H, W, 3)`
            with values in [0, 1] (or an `(n, H, W[, C])` array).
        titles: list[str] or None. One title per image. Defaults to `None`.
        overlays: sequence or None. Per image an `(H, W)` array in [0, 1]
            (a Grad-CAM heatmap or a mask) or `None`. Each pixel is tinted
            with opacity `alpha * value`, so zeros leave the image as is.
            Defaults to `None`.
        cols: int >= 1. Images per row. Defaults to `4`.
        alpha: float in [0, 1]. Opacity where an overlay is 1. Defaults to
            `0.4`.
        cmap: str. Matplotlib colormap of the overlays. Defaults to `"jet"`.

    Returns:
        `matplotlib.figure.Figure` with one axes per image.
    """
    n = len(images)
    if n == 0:
        raise ValueError("`images` is empty; pass at least one image.")
    if int(cols) != cols or cols < 1:
        raise ValueError(f"`cols` must be an integer >= 1. Received: cols={cols}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"`alpha` must be in [0, 1]. Received: alpha={alpha}")
    for name, values in (("titles", titles), ("overlays", overlays)):
        if values is not None and len(values) != n:
            raise ValueError(
                f"`{name}` must have one entry per image. "
                f"Received: len(images)={n}, len({name})={len(values)}"
            )
    cols = min(int(cols), n)
    rows = math.ceil(n / cols)
    fig = _new_figure(2.5 * cols, 2.6 * rows)
    for i in range(n):
        ax = fig.add_subplot(rows, cols, i + 1)
        image = np.asarray(images[i], dtype=float)
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        ax.imshow(image, cmap="gray", vmin=0.0, vmax=1.0)
        layer = None if overlays is None else overlays[i]
        if layer is not None:
            layer = np.asarray(layer, dtype=float)
            if layer.shape != image.shape[:2]:
                raise ValueError(
                    f"`overlays[{i}]` must have the image's height and width {image.shape[:2]}. "
                    f"Received: shape={layer.shape}"
                )
            ax.imshow(layer, cmap=cmap, vmin=0.0, vmax=1.0, alpha=alpha * np.clip(layer, 0, 1))
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize="small")
        ax.set_axis_off()
    return fig


def save_figure(fig: Figure, path: str | os.PathLike) -> Path:
    """Write `fig` as PNG atomically: readers never see a half-written file.

    Args:
        fig: `matplotlib.figure.Figure`. The figure to save.
        path: str or path-like. Destination; parent folders are created.

    Returns:
        `pathlib.Path` of the written file.
    """
    from shared.runs import atomic_path

    path = Path(path)
    # The same atomic write as every other run artefact, so a PNG gets the same file mode.
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path
