import numpy as np
import pytest
from matplotlib.figure import Figure

from shared.evaluation import expected_calibration_error, plots, reliability


def assert_saves_png(fig, tmp_path, name):
    path = plots.save_figure(fig, tmp_path / f"{name}.png")
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 1000


@pytest.mark.parametrize("kind", ["top_label", "positive_class"])
def test_reliability_diagram_has_curve_and_counts(kind, tmp_path):
    rng = np.random.default_rng(0)
    if kind == "top_label":
        probs = rng.dirichlet(np.ones(3), size=200)
        y = rng.integers(0, 3, size=200)
    else:
        probs = rng.random(200)
        y = (rng.random(200) < probs).astype(int)
    table = reliability(y, probs, n_bins=10)
    ece = expected_calibration_error(y, probs, n_bins=10)
    fig = plots.reliability_diagram(table, ece)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    curve, counts = fig.axes
    assert f"ECE {ece:.3f}" in curve.get_title()
    filled = sum(c > 0 for c in table["counts"])
    assert len(curve.patches) == 2 * filled  # accuracy bars and gap bars
    assert [p.get_height() for p in counts.patches] == table["counts"]
    expected_label = "accuracy" if kind == "top_label" else "fraction of positives"
    assert curve.get_ylabel() == expected_label
    assert_saves_png(fig, tmp_path, f"reliability_{kind}")


def test_reliability_diagram_without_ece_and_bad_input():
    table = reliability(np.array([0, 1, 1]), np.array([0.2, 0.7, 0.9]), n_bins=4)
    assert plots.reliability_diagram(table).axes[0].get_title() == "Reliability"
    with pytest.raises(ValueError, match="Missing keys: \\['counts'\\]"):
        plots.reliability_diagram({k: v for k, v in table.items() if k != "counts"}, 0.1)
