"""The examples in the docstrings of the seq2seq models and the decoder run as written."""

import re
import textwrap

import pytest

from shared.seq2seq import Decoder, RecurrentSeq2Seq, TransformerSeq2Seq


@pytest.mark.parametrize("documented", [TransformerSeq2Seq, RecurrentSeq2Seq, Decoder], ids=lambda c: c.__name__)
def test_docstring_example_runs(documented):
    examples = re.findall(r"```python\n(.*?)```", documented.__doc__, re.DOTALL)
    assert examples, f"{documented.__name__} has no ```python example in its docstring"
    for example in examples:
        exec(textwrap.dedent(example), {})
