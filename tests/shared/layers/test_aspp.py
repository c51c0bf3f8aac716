import keras
import numpy as np
import pytest

from shared.layers import AtrousSpatialPyramidPooling


def test_output_shape_and_branches():
    layer = AtrousSpatialPyramidPooling(8, rates=(1, 2, 4), dropout=0.0)
    out = layer(np.ones((2, 6, 10, 3), "float32"))
    assert out.shape == (2, 6, 10, 8)
    # 1x1 branch + one per rate + image pooling, each conv + batch norm, then the projection.
    assert len(layer.branches) == 4
    assert {conv.dilation_rate for conv, _ in layer.branches} == {(1, 1), (2, 2), (4, 4)}


def test_image_pooling_branch_sees_the_whole_map():
    # A change in one corner reaches the opposite corner only through the global pooling branch.
    keras.utils.set_random_seed(0)
    layer = AtrousSpatialPyramidPooling(16, rates=(1,), dropout=0.0)
    x = np.random.default_rng(0).standard_normal((1, 8, 8, 3)).astype("float32")
    y = x.copy()
    y[0, 0, 0] += 50.0
    a, b = (keras.ops.convert_to_numpy(layer(v, training=False)) for v in (x, y))
    assert not np.allclose(a[0, -1, -1], b[0, -1, -1])


@pytest.mark.parametrize(
    "kwargs, message",
    [({"filters": 0}, "filters"), ({"rates": ()}, "rates"), ({"rates": (1, 0)}, "rates"), ({"dropout": 1.0}, "dropout")],
)
def test_bad_arguments_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AtrousSpatialPyramidPooling(**kwargs)


def test_unknown_spatial_size_is_refused():
    with pytest.raises(ValueError, match="known height and width"):
        AtrousSpatialPyramidPooling(4)(keras.Input((None, None, 3)))
