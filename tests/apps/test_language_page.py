"""Language page: notice, sentiment (label, probabilities, highlighted tokens), translation (greedy/beam, attention), bad input."""

from pathlib import Path

import pytest
from tests_support import open_page, page_ok, shown_metrics

PAGE = "pages/language.py"
TASK = "language:task"
REVIEW = "language:review:example"
REVIEW_TEXT = "language:review:text"
SENTENCE = "language:sentence:example"
SENTENCE_TEXT = "language:sentence:text"
DECODING = "language:decoding"
BEAM_WIDTH = "language:beam_width"
PENALTY = "language:length_penalty"
OWN = "Type or paste your own"


@pytest.fixture
def language_demo(demo_models) -> Path:
    root = demo_models / "language"
    missing = [t for t in ("sentiment", "translation") if not (root / t / "model.keras").is_file()]
    assert not missing, f"language demo models missing under {root}: {missing}; build them with `dlsuite demo --build --only language`"
    return root


def _open(app_path, task: str = "Sentiment"):
    at = open_page(app_path, PAGE)
    if task != "Sentiment":
        at.button_group(key=TASK).set_value(task).run(timeout=180)
        assert not at.exception, at.exception
    return at



def _html(at) -> str:
    return " ".join(str(element.proto.body) for element in at.get("html"))


def test_demo_review_shows_label_probabilities_highlights_and_the_synthetic_notice(app_path, language_demo):
    at = _open(app_path)
    page_ok(at)
    assert any("synthetic text" in w.value for w in at.warning)
    shown = shown_metrics(at)
    assert shown["Predicted"] in {"negative", "neutral", "positive"}
    assert {"P(negative)", "P(neutral)", "P(positive)"} <= set(shown)
    assert "<span" in _html(at) and "rgba(" in _html(at)
    assert any("integrated gradients" in c.value for c in at.caption)
    assert "TF-IDF + LR accuracy" in shown and "ECE" in shown


def test_own_text_with_markup_is_escaped_and_a_long_text_is_truncated_with_a_note(app_path, language_demo):
    at = _open(app_path)
    at.selectbox(key=REVIEW).set_value(OWN).run(timeout=180)
    page_ok(at)
    assert any("type or paste" in i.value for i in at.info)
    at.text_area(key=REVIEW_TEXT).input("The lid is <b>awful</b> &amp; the zipper broke.<br /><br />I returned it.").run(timeout=180)
    page_ok(at)
    assert "<b>" not in _html(at)
    assert shown_metrics(at)["Predicted"]
    at.text_area(key=REVIEW_TEXT).input(" ".join(["The battery is excellent."] * 80)).run(timeout=180)
    page_ok(at)
    assert any("truncated" in i.value for i in at.info)


def test_markup_only_text_gets_an_error_box(app_path, language_demo):
    at = _open(app_path)
    at.selectbox(key=REVIEW).set_value(OWN).run(timeout=180)
    at.text_area(key=REVIEW_TEXT).input("<br /><br />").run(timeout=180)
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "nothing" in at.error[0].value
    assert "Traceback" not in at.error[0].value


def test_translation_greedy_then_beam_with_attention_and_timing(app_path, language_demo):
    at = _open(app_path, "Translation")
    page_ok(at)
    assert any(m.value.startswith("> ") for m in at.markdown)
    assert any("decoded in" in c.value and c.value.startswith("greedy") for c in at.caption)
    assert len(at.get("image")) >= 1  # the attention heat map
    shown = shown_metrics(at)
    assert {"BLEU", "chrF", "Word by word: BLEU", "Copy the source: BLEU"} <= set(shown)
    at.radio(key=DECODING).set_value("beam").run(timeout=180)
    at.slider(key=BEAM_WIDTH).set_value(3).run(timeout=180)
    at.slider(key=PENALTY).set_value(1.0).run(timeout=180)
    page_ok(at)
    assert any("beam width 3, length penalty 1.0" in c.value for c in at.caption)
    assert any("sacrebleu signatures" in c.value for c in at.caption)


def test_own_sentence_is_translated(app_path, language_demo):
    at = _open(app_path, "Translation")
    at.selectbox(key=SENTENCE).set_value(OWN).run(timeout=180)
    at.text_input(key=SENTENCE_TEXT).input("The small dog is happy.").run(timeout=180)
    page_ok(at)
    assert any(m.value.startswith("> ") for m in at.markdown)


def test_sentence_of_unknown_characters_gets_an_error_box(app_path, language_demo):
    at = _open(app_path, "Translation")
    at.selectbox(key=SENTENCE).set_value(OWN).run(timeout=180)
    at.text_input(key=SENTENCE_TEXT).input("ЖЖЖ ЩЩЩ").run(timeout=180)
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "unknown" in at.error[0].value


def test_no_model_says_how_to_get_one(app_path, no_demo_models):
    at = _open(app_path)
    assert not at.exception, at.exception
    assert at.warning
