"""Word and character error rates of transcripts, computed with jiwer.

Rates are corpus-level: the edits of every utterance are summed and divided
by the total reference length, so long utterances weigh more than short
ones (the usual way WER is reported). Results are plain Python numbers for
`json.dump`; a rate with no reference words (or characters) to divide by is
`nan`, as elsewhere in `shared.evaluation`.

Strings are compared as given, apart from jiwer's own whitespace handling
(words are split on whitespace; characters include single spaces).
Normalize both sides the same way first, e.g. with
`CharVocabulary.normalize`, so case and punctuation do not count as errors.

Example:

```python
transcript_metrics(["the cat sat"], ["the cat sit"])
# {'utterances': 1, 'wer': 0.333..., 'cer': 0.0909..., 'substitutions': 1, ...}
```
"""

from __future__ import annotations

import math

import jiwer


def _checked(name: str, texts) -> list[str]:
    if isinstance(texts, str):
        raise ValueError(f"`{name}` must be a list of strings, one per utterance, not one string. Received: {name}={texts!r}")
    texts = list(texts)
    bad = [(i, t) for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        i, t = bad[0]
        raise ValueError(f"`{name}` must hold strings. Received: {name}[{i}]={t!r} ({type(t).__name__}) and {len(bad) - 1} more")
    return texts


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else math.nan


def transcript_metrics(references, hypotheses) -> dict:
    """WER, CER and their edit counts for paired reference and hypothesis transcripts.

    An empty hypothesis is allowed (every reference word is a deletion);
    so is an empty reference, whose hypothesis words are all insertions.

    Args:
        references: list of str. The true transcripts.
        hypotheses: list of str. The recognized transcripts, in the same
            order.

    Returns:
        dict with `utterances`, `wer` ((substitutions + deletions +
        insertions) / reference words), `cer` (the same over characters),
        the word-level `substitutions`, `deletions`, `insertions`, `hits`
        and `reference_words`, and the character-level
        `character_substitutions`, `character_deletions`,
        `character_insertions` and `reference_characters`.

    Raises:
        ValueError: the lists differ in length or are empty, or hold
            something other than strings.
    """
    refs = _checked("references", references)
    hyps = _checked("hypotheses", hypotheses)
    if len(refs) != len(hyps):
        raise ValueError(
            f"`references` and `hypotheses` must pair up one to one. Received: len(references)={len(refs)}, len(hypotheses)={len(hyps)}"
        )
    if not refs:
        raise ValueError("`references` and `hypotheses` are empty; pass at least one utterance.")
    words = jiwer.process_words(refs, hyps)
    chars = jiwer.process_characters(refs, hyps)
    word_errors = words.substitutions + words.deletions + words.insertions
    char_errors = chars.substitutions + chars.deletions + chars.insertions
    reference_words = words.substitutions + words.deletions + words.hits
    reference_chars = chars.substitutions + chars.deletions + chars.hits
    return {
        "utterances": len(refs),
        "wer": _ratio(word_errors, reference_words),
        "cer": _ratio(char_errors, reference_chars),
        "substitutions": int(words.substitutions),
        "deletions": int(words.deletions),
        "insertions": int(words.insertions),
        "hits": int(words.hits),
        "reference_words": int(reference_words),
        "character_substitutions": int(chars.substitutions),
        "character_deletions": int(chars.deletions),
        "character_insertions": int(chars.insertions),
        "reference_characters": int(reference_chars),
    }
