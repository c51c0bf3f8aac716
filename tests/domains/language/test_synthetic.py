"""The synthetic demo data: deterministic, balanced, labelled by structure, and readable by the suite's own readers."""

import re
from collections import Counter

import pytest

from domains.language import synthetic
from domains.language.baseline import WordByWord
from shared.evaluation.translation import translation_report
from shared.text.readers import read_class_folders, read_labelled_texts, read_sentence_pairs


def test_reviews_are_deterministic_and_balanced():
    first, again = synthetic.reviews(300, seed=3), synthetic.reviews(300, seed=3)
    assert first == again and synthetic.reviews(300, seed=4) != first
    assert Counter(label for _, label in first) == {c: 100 for c in synthetic.CLASSES}
    assert len({text for text, _ in first}) > 280, "the grammar should rarely repeat a review"


def test_review_labels_follow_structure_not_words():
    rows = synthetic.reviews(3000, seed=0, html_share=0.0)
    # a contrast: the clause after "but" decides, so reviews of both classes hold both kinds of words
    contrast = [(t, label) for t, label in rows if ", but " in t]
    assert {label for _, label in contrast} == {"negative", "positive"}
    negated = [(t, label) for t, label in rows if " is not at all " in t]
    assert {label for _, label in negated} >= {"negative", "positive"}
    assert all(label == "neutral" for t, label in rows if " is neither " in t)
    assert not any("<br" in t for t, _ in rows)


def test_some_reviews_carry_html_remnants():
    rows = synthetic.reviews(400, seed=1, html_share=0.5)
    assert 0.3 < sum("<br /><br />" in t for t, _ in rows) / len(rows) < 0.7
    assert any("&amp;" in t for t, _ in rows)


def test_reviews_csv_and_class_folders_read_back(tmp_path):
    path = synthetic.write_reviews_csv(tmp_path / "r.csv", 30, seed=2)
    table = read_labelled_texts(path, "text", "label")
    assert len(table.texts) == 30 and set(table.labels) == set(synthetic.CLASSES)
    root = synthetic.write_class_folders(tmp_path / "aclImdb", train=20, test=10, seed=2)
    train, test = read_class_folders(root, split="train"), read_class_folders(root, split="test")
    assert (len(train.texts), len(test.texts)) == (20, 10)
    assert set(train.labels) == {"neg", "pos"}


def test_pairs_have_agreement_order_and_quotes():
    pairs = synthetic.sentence_pairs(4000, seed=0)
    assert pairs == synthetic.sentence_pairs(4000, seed=0)
    by_source = dict(pairs)
    assert any(s.startswith("¿") and s.endswith("?") for s in by_source.values())
    assert any('"' in s for s in by_source)
    # adjectives follow the noun and agree in gender and number
    houses = [t for s, t in pairs if " red houses" in s.lower()]
    assert houses and all("casas rojas" in t.lower() for t in houses)
    # "don't" and "do not" both become "no" before the verb, with no word for "do"
    negated = [t for s, t in pairs if "don't" in s or "do not" in s]
    assert negated and all(re.search(r"\bno\b", t.lower()) for t in negated)


def test_word_by_word_translation_is_visibly_wrong():
    pairs = synthetic.sentence_pairs(3000, seed=0)
    sources, targets = [s for s, _ in pairs], [t for _, t in pairs]
    table = WordByWord.fit(sources[:2500], targets[:2500])
    scored = translation_report(table.translate_all(sources[2500:]), targets[2500:])
    assert 5 < scored["bleu"] < 50, scored  # some words right, order and agreement wrong


def test_pairs_tsv_is_the_tatoeba_format(tmp_path):
    pairs = synthetic.sentence_pairs(50, seed=5)
    path = synthetic.write_pairs_tsv(tmp_path / "spa.txt", pairs, attribution=True)
    read = read_sentence_pairs(path)
    assert list(zip(read.sources, read.targets)) == pairs and read.extra_columns == 50
    assert path.read_text(encoding="utf-8").splitlines()[0].count("\t") == 2


@pytest.mark.parametrize("n", [0, 1])
def test_tiny_requests(n):
    assert len(synthetic.reviews(n)) == n and len(synthetic.sentence_pairs(n)) == n
