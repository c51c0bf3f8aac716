"""Tiny seq2seq models and sources shared by the tests of `shared.seq2seq`."""

import keras
import numpy as np
import pytest

from shared.seq2seq import RecurrentSeq2Seq, TransformerSeq2Seq

VOCABULARY = 20
SOURCE_LENGTH = 6
TARGET_LENGTH = 7
FAMILIES = {
    "transformer": lambda **kw: TransformerSeq2Seq(
        VOCABULARY, VOCABULARY, SOURCE_LENGTH, TARGET_LENGTH, **{"dim": 16, "num_layers": 2, "num_heads": 2, "ff_dim": 32, **kw}
    ),
    "recurrent": lambda **kw: RecurrentSeq2Seq(
        VOCABULARY, VOCABULARY, SOURCE_LENGTH, TARGET_LENGTH, **{"embedding_dim": 8, "units": 16, **kw}
    ),
}


@pytest.fixture(autouse=True)
def fixed_seed():
    keras.utils.set_random_seed(0)


@pytest.fixture(scope="session")
def model_families():
    """Family name -> factory of a tiny, unbuilt model."""
    return FAMILIES


@pytest.fixture(params=sorted(FAMILIES))
def family(request):
    """The name of each model family in turn."""
    return request.param


@pytest.fixture
def make_model(family):
    """Builds a tiny, built model of the current family: `make_model(**kwargs)`."""

    def make(**kwargs):
        model = FAMILIES[family](**kwargs)
        model.build()
        return model

    return make


@pytest.fixture
def sources():
    """Five source rows of different lengths (right-padded with PAD), the last one full."""
    rows = np.random.default_rng(1).integers(4, VOCABULARY, (5, SOURCE_LENGTH)).astype("int32")
    for row, length in enumerate((3, 1, 5, 2)):
        rows[row, length:] = 0
    return rows


@pytest.fixture
def batch(sources):
    """An input dict `{source, target}`: targets are BOS, 1-6 tokens, EOS, PAD."""
    rng = np.random.default_rng(2)
    targets = np.zeros((len(sources), TARGET_LENGTH + 1), "int32")
    targets[:, 0] = 2
    for row, length in enumerate(rng.integers(1, TARGET_LENGTH, len(sources))):
        targets[row, 1 : length + 1] = rng.integers(4, VOCABULARY, length)
        targets[row, length + 1] = 3
    return {"source": sources, "target": targets}
