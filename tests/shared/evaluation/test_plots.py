import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

from shared.evaluation import plots

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def scored():
    rng = np.random.default_rng(0)
    y = (rng.random(300) < 0.1).astype(int)
    y[:2] = [0, 1]
    return y, rng.normal(size=300) + 1.5 * y, rng.normal(size=300) + 0.5 * y


def assert_saves_png(fig, tmp_path, name):
    path = plots.save_figure(fig, tmp_path / "nested" / f"{name}.png")
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 1000
    assert sorted(p.name for p in path.parent.iterdir()) == [f"{name}.png"]  # no temp file left


def test_figures_never_import_pyplot_or_switch_backend():
    # A fresh interpreter, because another test in this process may have imported pyplot.
    code = (
        "import sys, matplotlib; matplotlib.use('svg'); "
        "from shared.evaluation import plots; "
        "plots.save_figure(plots.confusion_matrix(1, 2, 3, 4), sys.argv[1]); "
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'; "
        "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend()"
    )
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            [sys.executable, "-c", code, str(Path(tmp) / "cm.png")],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize(
    "history, n_axes",
    [
        ({"loss": [0.9, 0.5, 0.4], "val_loss": [1.0, 0.7, 0.6]}, 1),
        (
            {"loss": [0.9, 0.5], "val_loss": [1.0, 0.7], "auprc": [0.2, 0.4], "val_auprc": [0.1, 0.3]},
            2,
        ),
        ({"loss": [1.0], "auprc": [0.1], "recall": [0.1], "val_precision": [0.3]}, 4),
    ],
)
def test_training_curves_one_axes_per_metric(history, n_axes, tmp_path):
    fig = plots.training_curves(history)
    assert isinstance(fig, Figure) and len(fig.axes) == n_axes
    titles = [ax.get_title() for ax in fig.axes]
    assert len(set(titles)) == n_axes
    if "val_loss" in history:
        assert len(fig.axes[titles.index("loss")].lines) == 2
    assert_saves_png(fig, tmp_path, "curves")


def test_training_curves_empty_history_raises():
    with pytest.raises(ValueError, match="empty"):
        plots.training_curves({})


def test_pr_curve_with_threshold_and_baseline(scored, tmp_path):
    y, s, base = scored
    plain = plots.pr_curve(y, s)
    full = plots.pr_curve(y, s, threshold=1.0, baseline_scores=base, baseline_label="logreg")
    assert len(plain.axes) == 1 and len(full.axes) == 1
    labels = [t.get_text() for t in full.axes[0].get_legend().get_texts()]
    assert any(label.startswith("logreg (AP") for label in labels)
    assert any(label.startswith("threshold 1") for label in labels)
    # Two curves + random line + the operating point, versus one curve + random line.
    assert len(full.axes[0].lines) == len(plain.axes[0].lines) + 2
    assert_saves_png(full, tmp_path, "pr")


def test_roc_curve(scored, tmp_path):
    y, s, _ = scored
    fig = plots.roc_curve(y, s)
    assert len(fig.axes) == 1 and "AUC" in fig.axes[0].get_legend().get_texts()[0].get_text()
    assert_saves_png(fig, tmp_path, "roc")
    with pytest.raises(ValueError, match="single class"):
        plots.roc_curve(np.zeros(5, int), np.arange(5.0))


def test_confusion_matrix_annotates_counts(tmp_path):
    fig = plots.confusion_matrix(tp=12, fp=30, tn=9_000, fn=4, labels=("ok", "bad"))
    assert len(fig.axes) == 1
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert [t.split("\n")[0] for t in texts] == ["9,000", "30", "4", "12"]
    assert fig.axes[0].get_xticklabels()[1].get_text() == "predicted bad"
    assert_saves_png(fig, tmp_path, "cm")
    with pytest.raises(ValueError, match="Received: tp=-1"):
        plots.confusion_matrix(-1, 0, 0, 0)


def test_attributions_bar_sorted_and_coloured(tmp_path):
    fig = plots.attributions_bar(["a", "b", "c", "d"], [0.1, -0.5, 0.3, -0.05], title="why")
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and ax.get_title() == "why"
    # Bottom to top: smallest |value| first, so the biggest ends on top.
    assert [t.get_text() for t in ax.get_yticklabels()] == ["d", "a", "c", "b"]
    colours = [matplotlib.colors.to_hex(bar.get_facecolor()) for bar in ax.patches]
    assert colours == [plots.NEGATIVE_COLOR, plots.POSITIVE_COLOR, plots.POSITIVE_COLOR,
                       plots.NEGATIVE_COLOR]
    assert_saves_png(fig, tmp_path, "attr")
    with pytest.raises(ValueError, match="len\\(values\\)=1"):
        plots.attributions_bar(["a", "b"], [1.0])


def test_save_figure_replaces_existing_file(tmp_path):
    target = tmp_path / "fig.png"
    target.write_bytes(b"old")
    plots.save_figure(plots.confusion_matrix(1, 2, 3, 4), target)
    assert target.read_bytes().startswith(b"\x89PNG")
