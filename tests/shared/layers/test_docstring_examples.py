"""The example in every layer's docstring runs as written."""

import re
import textwrap

import pytest

from shared.layers import ALL_LAYERS


@pytest.mark.parametrize("layer", ALL_LAYERS, ids=lambda layer: layer.__name__)
def test_docstring_example_runs(layer):
    examples = re.findall(r"```python\n(.*?)```", layer.__doc__, re.DOTALL)
    assert examples, f"{layer.__name__} has no ```python example in its docstring"
    for example in examples:
        exec(textwrap.dedent(example), {})
