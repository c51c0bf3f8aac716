"""`shared.text.standardize`: each documented step, in order, and the docstring examples."""

import doctest
import importlib

import pytest

import shared.text
from shared.errors import DataError
from shared.text.standardize import standardize, standardize_all

# `shared.text.standardize` is the function; the module is reached by name.
standardize_module = importlib.import_module("shared.text.standardize")


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Great&nbsp;film!<br /><br />Ten out of   TEN.", "great film! ten out of ten."),  # the module example
        ("Tom &amp; Jerry &#233;t&eacute;", "tom & jerry été"),  # HTML references decoded
        ("&lt;b&gt;bold&lt;/b&gt; text", "bold text"),  # decoded references that form a tag are a tag
        ("\ufb01ne \uff21\uff22 x\u00b2", "fine ab x2"),  # NFKC: ligature, full-width, superscript
        ("one<br>two<p class='x'>three</i>four<BR/>five", "one two three four five"),
        ("a < b and 3 <5 > 2", "a < b and 3 <5 > 2"),  # a `<` not followed by a letter is text
        ("tab\there\nnew\r\nline\u2003em\u00a0nbsp", "tab here new line em nbsp"),  # any whitespace collapses
        ("bell\x07 esc\x1b del\x7f", "bell esc del"),  # control characters removed
        ("soft\u00adhyphen zero\u200bwidth \ufeffbom \u200eltr", "softhyphen zerowidth bom ltr"),  # format characters removed
        ("family \U0001f468\u200d\U0001f469\u200d\U0001f467", "family \U0001f468\u200d\U0001f469\u200d\U0001f467"),  # ZWJ kept
        ("  ¿Dónde ESTÁ el NIÑO?  ", "¿dónde está el niño?"),  # accents kept, `str.lower`
        ('He said "hi" 😀 — it\'s 3.5%!', 'he said "hi" 😀 — it\'s 3.5%!'),  # punctuation, quotes, emoji kept
        ("<br /> \n\t", ""),  # nothing but markup and space
    ],
)
def test_each_documented_step(raw, expected):
    assert standardize(raw) == expected


def test_lowercase_is_optional():
    assert standardize("¿Dónde ESTÁ?<br/>Aquí", lowercase=False) == "¿Dónde ESTÁ? Aquí"
    assert standardize_all(["A<br>B", " C "], lowercase=False) == ["A B", "C"]
    assert standardize_all(("A<br>B", " C ")) == ["a b", "c"]


def test_a_non_string_is_one_data_error():
    with pytest.raises(DataError, match=r"a text must be a string. Received: None \(NoneType\); check for empty cells"):
        standardize(None)
    with pytest.raises(DataError, match="Received: 3"):
        standardize_all(["ok", 3])


def test_the_package_exports_the_function_not_the_module():
    assert shared.text.standardize is standardize and shared.text.standardize_all is standardize_all
    for name in shared.text.__all__:  # the lazily imported names resolve too
        assert getattr(shared.text, name) is not None
    with pytest.raises(AttributeError, match="module 'shared.text' has no attribute 'nope'"):
        shared.text.nope  # noqa: B018


def test_docstring_examples_run():
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    tests = [t for t in finder.find(standardize_module, globs={"standardize": standardize}) if t.examples]
    assert tests, "standardize has no >>> example"
    for test in tests:
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
