import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from shared.evaluation import multiclass_report, plots

ROOT = Path(__file__).resolve().parents[3]
NAMES = ["normal", "benign", "malignant"]


def assert_saves_png(fig, tmp_path, name):
    path = plots.save_figure(fig, tmp_path / f"{name}.png")
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 1000


def scored(seed=0, n=150):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    logits = rng.normal(size=(n, 3))
    logits[np.arange(n), y] += 1.5
    e = np.exp(logits)
    return y, e / e.sum(axis=1, keepdims=True)


def test_confusion_matrix_multiclass_counts_and_row_shares(tmp_path):
    y, p = scored()
    matrix = multiclass_report(y, p, NAMES)["confusion_matrix"]
    fig = plots.confusion_matrix_multiclass(matrix, NAMES)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == 9
    assert [int(t.split("\n")[0].replace(",", "")) for t in texts] == np.ravel(matrix).tolist()
    first_row = np.asarray(matrix[0])
    assert texts[0].split("\n")[1] == f"{first_row[0] / first_row.sum():.1%}"
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == NAMES
    assert_saves_png(fig, tmp_path, "cm3")
    with pytest.raises(ValueError, match="Received: matrix.shape=\\(3, 3\\)"):
        plots.confusion_matrix_multiclass(matrix, NAMES[:2])


def test_roc_curves_multiclass_one_curve_per_class(tmp_path):
    y, p = scored(1)
    fig = plots.roc_curves_multiclass(y, p, NAMES)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert [label.split(" (")[0] for label in labels] == NAMES + ["random"]
    assert all("AUC" in label for label in labels[:3])
    assert "macro AUC" in fig.axes[0].get_title()
    assert_saves_png(fig, tmp_path, "roc3")


def test_roc_curves_multiclass_absent_class_and_single_class():
    y, p = scored(2)
    keep = y != 1
    fig = plots.roc_curves_multiclass(y[keep], p[keep], NAMES)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[1] == "benign (no curve: single class)"
    with pytest.raises(ValueError, match="at least two classes"):
        plots.roc_curves_multiclass(np.zeros(5, int), p[:5], NAMES)


def test_new_figures_never_import_pyplot():
    code = (
        "import sys, numpy as np; from shared.evaluation import plots, reliability; "
        "y = np.array([0, 1, 2, 1]); p = np.eye(3)[[0, 1, 2, 0]] * 0.7 + 0.1; "
        "figs = [plots.confusion_matrix_multiclass(np.eye(3, dtype=int), ['a', 'b', 'c']), "
        "plots.roc_curves_multiclass(y, p, ['a', 'b', 'c']), "
        "plots.reliability_diagram(reliability(y, p), 0.1), "
        "plots.image_grid(np.zeros((2, 4, 4)), overlays=[None, np.ones((4, 4))])]; "
        "[plots.save_figure(f, sys.argv[1]) for f in figs]; "
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'"
    )
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            [sys.executable, "-c", code, str(Path(tmp) / "f.png")],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )
    assert result.returncode == 0, result.stderr[-2000:]
