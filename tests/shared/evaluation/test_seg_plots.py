import numpy as np
import pytest
from matplotlib.figure import Figure

from shared.evaluation import plots


def assert_saves_png(fig, tmp_path, name):
    path = plots.save_figure(fig, tmp_path / f"{name}.png")
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 1000


@pytest.mark.parametrize("n, cols, rows", [(1, 4, 1), (5, 4, 2), (6, 3, 2)])
def test_image_grid_one_axes_per_image(n, cols, rows, tmp_path):
    rng = np.random.default_rng(n)
    images = rng.random((n, 12, 12, 1))
    fig = plots.image_grid(images, titles=[f"case {i}" for i in range(n)], cols=cols)
    assert isinstance(fig, Figure) and len(fig.axes) == n
    assert [ax.get_title() for ax in fig.axes] == [f"case {i}" for i in range(n)]
    assert fig.axes[-1].get_subplotspec().get_geometry()[:2] == (rows, min(cols, n))
    assert_saves_png(fig, tmp_path, f"grid{n}")


def test_image_grid_draws_overlays_where_given(tmp_path):
    rng = np.random.default_rng(1)
    images = [rng.random((10, 10)), rng.random((10, 10, 3)), rng.random((10, 10, 1))]
    mask = np.zeros((10, 10))
    mask[2:5, 2:5] = 1.0
    fig = plots.image_grid(images, overlays=[rng.random((10, 10)), None, mask], alpha=0.5)
    assert [len(ax.images) for ax in fig.axes] == [2, 1, 2]
    alpha = fig.axes[2].images[1].get_alpha()
    assert alpha.max() == 0.5 and alpha.min() == 0.0  # transparent outside the mask
    assert_saves_png(fig, tmp_path, "overlays")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"images": []}, "empty"),
        ({"cols": 0}, "Received: cols=0"),
        ({"alpha": 1.5}, "Received: alpha=1.5"),
        ({"titles": ["one"]}, "len\\(titles\\)=1"),
        ({"overlays": [np.zeros((3, 3)), None]}, "overlays\\[0\\]"),
    ],
)
def test_image_grid_bad_arguments(kwargs, message):
    args = {"images": np.zeros((2, 8, 8)), **kwargs}
    with pytest.raises(ValueError, match=message):
        plots.image_grid(**args)
