"""The classical references every language run reports beside its network.

- sentiment: TF-IDF over word 1-2-grams + logistic regression, with `C`
  chosen by stratified cross-validation on the training split only;
- translation: copying the source, and a word-by-word dictionary learned
  from co-occurrence on the training pairs (each source word is replaced by
  the target word with the highest Dice coefficient, `2 c(s, t) / (c(s) +
  c(t))`, over the pairs that hold them). It knows words but not order,
  agreement or words that appear in neither side's vocabulary.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0)
CV_FOLDS = 3
WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def tfidf_logistic_regression(texts: Sequence[str], labels: np.ndarray, seed: int) -> dict:
    """Fit the TF-IDF + logistic-regression baseline; returns the fitted pipeline and what CV chose."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import Pipeline

    begin = time.perf_counter()
    pipeline = Pipeline([
        ("tfidf", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)),
        ("logistic", LogisticRegression(max_iter=2000)),
    ])
    folds = min(CV_FOLDS, int(np.bincount(labels).min()))
    if folds < 2:  # a class with one training text: no cross-validation possible
        pipeline.set_params(logistic__C=1.0).fit(list(texts), labels)
        return {"pipeline": pipeline, "C": 1.0, "cv_accuracy": None, "seconds": time.perf_counter() - begin}
    search = GridSearchCV(
        pipeline, {"logistic__C": list(C_GRID)}, cv=StratifiedKFold(folds, shuffle=True, random_state=seed), scoring="accuracy", n_jobs=1,
    )
    search.fit(list(texts), labels)
    return {
        "pipeline": search.best_estimator_,
        "C": float(search.best_params_["logistic__C"]),
        "cv_accuracy": float(search.best_score_),
        "cv_folds": folds,
        "seconds": time.perf_counter() - begin,
    }


def words(text: str) -> list[str]:
    """Word and punctuation tokens (Unicode letters kept together)."""
    return WORD.findall(text)


def detokenize(tokens: Sequence[str]) -> str:
    """Tokens joined with spaces, without a space before closing punctuation or after ¿ ¡."""
    text = " ".join(tokens)
    text = re.sub(r" ([.,!?;:])", r"\1", text)
    return re.sub(r"([¿¡]) ", r"\1", text)


def copy_source(sources: Sequence[str]) -> list[str]:
    """The copy baseline: the hypothesis is the source sentence."""
    return list(sources)


@dataclass
class WordByWord:
    """A source-word -> target-word dictionary learned from co-occurrence (Dice) on sentence pairs."""

    table: dict[str, str]
    pairs: int

    @classmethod
    def fit(cls, sources: Sequence[str], targets: Sequence[str], max_pairs: int = 200_000) -> WordByWord:
        from scipy import sparse

        sources, targets = list(sources)[:max_pairs], list(targets)[:max_pairs]
        src_vocab: dict[str, int] = {}
        tgt_vocab: dict[str, int] = {}

        def incidence(texts, vocab):
            rows, cols = [], []
            for row, text in enumerate(texts):
                ids = {vocab.setdefault(w, len(vocab)) for w in words(text.lower())}
                rows.extend([row] * len(ids))
                cols.extend(ids)
            return sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(texts), len(vocab)))

        xs, xt = incidence(sources, src_vocab), incidence(targets, tgt_vocab)
        together = (xs.T @ xt).tocsr()  # c(s, t): pairs holding both
        cs, ct = np.asarray(xs.sum(axis=0)).ravel(), np.asarray(xt.sum(axis=0)).ravel()
        tgt_words = np.array(sorted(tgt_vocab, key=tgt_vocab.get), dtype=object)
        table = {}
        for word, s in src_vocab.items():
            row = together.getrow(s)
            if row.nnz == 0:
                continue
            dice = 2 * row.data / (cs[s] + ct[row.indices])
            table[word] = str(tgt_words[row.indices[int(np.argmax(dice))]])
        return cls(table=table, pairs=len(sources))

    def translate(self, sentence: str) -> str:
        out = [self.table.get(w.lower(), w) for w in words(sentence)]
        text = detokenize(out)
        if sentence[:1].isupper() and text:
            text = text[0].upper() + text[1:]
        return text

    def translate_all(self, sentences: Sequence[str]) -> list[str]:
        return [self.translate(s) for s in sentences]
