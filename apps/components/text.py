"""One text through a language run: classify and explain a text, translate a sentence, show where the translator looked.

Every model call goes through the language tasks' API (`classify_texts`,
`explain`, `translate`, `translator(...).attention`) on a run loaded once by
`apps.components.loading.load_run`. Results are cached as data keyed by the
run's path string and the text, so moving a widget never re-runs a model.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from apps.components.loading import load_run
from shared.domain import Explanation, get_task

MAX_TEXT_CHARS = 20_000  # a pasted text; longer ones are cut before they reach the model


@st.cache_data(show_spinner="Classifying and explaining...", max_entries=32)
def classify_and_explain(run_path: str, text: str) -> tuple[pd.DataFrame, Explanation]:
    """`task.classify_texts` (label, probabilities, note) and `task.explain` (token attributions) for one text."""
    run = load_run(run_path)
    task = get_task(run.domain_name, run.task_name)
    return task.classify_texts(run, [text]), task.explain(run, text)


@st.cache_data(show_spinner="Translating...", max_entries=64)
def translate(run_path: str, sentence: str, method: str, beam_width: int, length_penalty: float) -> tuple[str, float, str, float, bool]:
    """`task.translate` for one sentence: (translation, mean log-probability per token, note, decoding seconds, whether they include tracing)."""
    run = load_run(run_path)
    frame = get_task(run.domain_name, run.task_name).translate(run, [sentence], method=method, beam_width=beam_width, length_penalty=length_penalty)
    row = frame.iloc[0]
    return str(row["translation"]), float(row["score"]), str(row["note"]), float(frame.attrs["seconds"]), bool(frame.attrs["traced"])


@st.cache_data(show_spinner="Reading the cross-attention...", max_entries=32)
def attention(run_path: str, sentence: str) -> Explanation:
    """`task.explain` for one sentence: the greedy translation and its cross-attention weights."""
    run = load_run(run_path)
    return get_task(run.domain_name, run.task_name).explain(run, sentence)


def show_highlighted(explanation: Explanation) -> None:
    """The explained text as tokens shaded by attribution (HTML-escaped; green raised the label's score, red lowered it)."""
    from shared.explain.token_attributions import highlight_html

    st.html(f'<div style="line-height: 2.1; font-size: 1.05rem">{highlight_html(explanation.names, explanation.values)}</div>')


def show_attention(explanation: Explanation) -> None:
    from shared.evaluation.text_plots import attention_heatmap

    d = explanation.details
    st.pyplot(attention_heatmap(d["attention"], d["source_tokens"], d["target_tokens"], title=f"greedy: {d['translation']}"))
