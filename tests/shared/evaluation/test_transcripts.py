import json
import math

import jiwer
import pytest

from shared.evaluation import transcript_metrics


def test_one_substituted_word():
    report = transcript_metrics(["the cat sat"], ["the cat sit"])
    assert report["wer"] == pytest.approx(1 / 3)
    assert report["cer"] == pytest.approx(1 / 11)
    assert (report["substitutions"], report["deletions"], report["insertions"], report["hits"]) == (1, 0, 0, 2)
    assert report["reference_words"] == 3
    assert (report["character_substitutions"], report["character_deletions"], report["character_insertions"]) == (1, 0, 0)
    assert report["reference_characters"] == 11
    assert report["utterances"] == 1


def test_deleted_and_inserted_words():
    deleted = transcript_metrics(["the cat sat"], ["the sat"])
    assert (deleted["wer"], deleted["deletions"], deleted["substitutions"]) == (pytest.approx(1 / 3), 1, 0)
    # "cat " goes: four characters of eleven.
    assert deleted["cer"] == pytest.approx(4 / 11)
    inserted = transcript_metrics(["a"], ["a b"])
    assert (inserted["wer"], inserted["insertions"]) == (1.0, 1)


def test_empty_hypothesis_deletes_everything():
    report = transcript_metrics(["a b c", "the cat"], ["", "the cat"])
    assert report["deletions"] == 3
    assert report["wer"] == pytest.approx(3 / 5)
    assert report["character_deletions"] == 5
    assert report["cer"] == pytest.approx(5 / 12)


def test_rates_are_corpus_level_not_a_mean_of_utterances():
    report = transcript_metrics(["a b c d", "x"], ["a b c d", "y"])
    assert report["wer"] == pytest.approx(1 / 5)


def test_matches_jiwer_directly():
    refs = ["the quick brown fox", "jumps over", "the lazy dog today"]
    hyps = ["the quick brown box", "jump over the", "lazy dog to day"]
    report = transcript_metrics(refs, hyps)
    assert report["wer"] == pytest.approx(jiwer.wer(refs, hyps))
    assert report["cer"] == pytest.approx(jiwer.cer(refs, hyps))


def test_empty_reference_counts_insertions():
    report = transcript_metrics(["", "a b"], ["x", "a b"])
    assert report["insertions"] == 1
    assert report["wer"] == pytest.approx(1 / 2)


def test_rates_are_nan_without_reference_words():
    report = transcript_metrics([""], ["x y"])
    assert math.isnan(report["wer"]) and math.isnan(report["cer"])
    assert report["insertions"] == 2 and report["reference_words"] == 0


def test_result_is_plain_json():
    report = transcript_metrics(["the cat sat"], ["the cat sit"])
    assert json.loads(json.dumps(report)) == report
    assert all(type(value) in (int, float) for value in report.values())


def test_length_mismatch_names_both_lengths():
    with pytest.raises(ValueError, match=r"len\(references\)=2, len\(hypotheses\)=1"):
        transcript_metrics(["a", "b"], ["a"])


def test_empty_lists_are_refused():
    with pytest.raises(ValueError, match="at least one utterance"):
        transcript_metrics([], [])


def test_a_single_string_is_refused():
    with pytest.raises(ValueError, match="not one string. Received: references='the cat'"):
        transcript_metrics("the cat", ["the cat"])


def test_non_string_entries_are_named():
    with pytest.raises(ValueError, match=r"hypotheses\[1\]=None \(NoneType\)"):
        transcript_metrics(["a", "b"], ["a", None])
