"""Machine-translation scores as the field reports them: sacrebleu's BLEU and chrF, with signatures.

The signature (e.g. `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`)
says how a score was computed; scores are comparable only when their
signatures match, so every report carries it.

Example:

```python
report = translation_report(["el gato come ."], ["el gato come ."])
round(report["bleu"]), round(report["chrf"])  # (100, 100)
```
"""

from __future__ import annotations

from collections.abc import Sequence


def _checked(hypotheses: Sequence[str], references: Sequence[str]) -> tuple[list[str], list[str]]:
    hypotheses, references = [str(h) for h in hypotheses], [str(r) for r in references]
    if len(hypotheses) != len(references):
        raise ValueError(f"need one reference per hypothesis. Received: {len(hypotheses)} hypotheses, {len(references)} references")
    if not hypotheses:
        raise ValueError("need at least one hypothesis to score")
    return hypotheses, references


def translation_report(hypotheses: Sequence[str], references: Sequence[str], tokenize: str = "13a") -> dict:
    """Corpus BLEU and chrF (0-100) of `hypotheses` against one reference each, with sacrebleu's signatures."""
    from sacrebleu.metrics import BLEU, CHRF

    hypotheses, references = _checked(hypotheses, references)
    bleu, chrf = BLEU(tokenize=tokenize), CHRF()
    b = bleu.corpus_score(hypotheses, [references])
    c = chrf.corpus_score(hypotheses, [references])
    return {
        "bleu": float(b.score),
        "chrf": float(c.score),
        "bleu_signature": str(bleu.get_signature()),
        "chrf_signature": str(chrf.get_signature()),
        "bleu_precisions": [float(p) for p in b.precisions],
        "brevity_penalty": float(b.bp),
        "sentences": len(hypotheses),
    }


def sentence_scores(hypotheses: Sequence[str], references: Sequence[str]) -> list[dict]:
    """Per-sentence BLEU (exponential smoothing) and chrF, for example tables."""
    from sacrebleu.metrics import BLEU, CHRF

    hypotheses, references = _checked(hypotheses, references)
    bleu, chrf = BLEU(effective_order=True), CHRF()
    return [
        {"bleu": float(bleu.sentence_score(h, [r]).score), "chrf": float(chrf.sentence_score(h, [r]).score)}
        for h, r in zip(hypotheses, references)
    ]
