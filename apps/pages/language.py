"""Language: classify the sentiment of a text (with highlighted tokens) and translate a sentence (greedy or beam, with attention).

The demo models learned synthetic text (grammar-made reviews and
English-Spanish sentences). Everything model-related goes through the
language tasks' API via the cached helpers in `apps.components.text`; this
page only lays the results out.
"""

import pandas as pd
import streamlit as st

from apps.components.failure import fail
from apps.components.loading import load_run
from apps.components.metric_cards import metric_cards
from apps.components.model_picker import pick_task_run
from apps.components.text import MAX_TEXT_CHARS, attention, classify_and_explain, show_attention, show_highlighted, translate
from domains.language.task import DEMO_SEED
from shared.domain import get_domain
from shared.errors import DlsuiteError

DOMAIN = "language"
SENTIMENT = "Sentiment"
TRANSLATION = "Translation"
OWN = "Type or paste your own"


@st.cache_data(max_entries=2)
def demo_reviews() -> list[str]:
    """Held-out synthetic reviews (a seed no preset trains on)."""
    from domains.language.synthetic import reviews

    return [text for text, _ in reviews(9, DEMO_SEED)]


@st.cache_data(max_entries=2)
def demo_sentences() -> list[str]:
    """Held-out synthetic English sentences (a seed no preset trains on)."""
    from domains.language.synthetic import sentence_pairs

    return [source for source, _ in sentence_pairs(12, DEMO_SEED)]


def pick_text(examples: list[str], key: str, label: str, area: bool) -> str:
    choice = st.selectbox(f"{label}: an example or your own", [*examples, OWN], key=f"{key}:example")
    if choice != OWN:
        return choice
    widget = st.text_area if area else st.text_input
    text = widget(label, key=f"{key}:text", max_chars=MAX_TEXT_CHARS, placeholder="Type or paste here, then press Ctrl+Enter" if area else "Type here, then press Enter")
    if not text or not text.strip():
        st.info(f"{label}: type or paste something to see what the model makes of it.")
        st.stop()
    return text


domain = get_domain(DOMAIN)
st.title(domain.title)
st.warning(
    "The demo models learned **synthetic text**: grammar-made product reviews and English-Spanish sentences, "
    "not text written or translated by people. They know a few hundred words and the grammar's sentence shapes. "
    f"Retrain on your own data with `dlsuite train {DOMAIN} --task sentiment --data reviews.csv` "
    f"or `dlsuite train {DOMAIN} --task translation --data pairs.tsv`.",
    icon=":material/translate:",
)
mode = st.segmented_control("Task", [SENTIMENT, TRANSLATION], default=SENTIMENT, key=f"{DOMAIN}:task", required=True)

# --- sentiment -------------------------------------------------------------------------
if mode == SENTIMENT:
    path = pick_task_run(domain, "sentiment", key=f"{DOMAIN}:sentiment", label="Text classifier")
    if path is None:
        st.stop()
    try:
        run = load_run(path)
    except DlsuiteError as exc:
        fail(exc)
    text = pick_text(demo_reviews(), f"{DOMAIN}:review", "Text", area=True)
    try:
        frame, explanation = classify_and_explain(path, text)
    except DlsuiteError as exc:
        fail(exc)
    row = frame.iloc[0]
    classes = run.state["classes"]
    metric_cards(
        {"Predicted": str(row["label"]), **{f"P({c})": float(row[f"p_{c}"]) for c in classes}},
        helps={"Predicted": "The class with the highest probability."},
        float_format="{:.1%}",
    )
    if row["note"] != "ok":
        st.info(f"The text was {row['note']}.")
    st.markdown(f"**Which tokens moved p({explanation.details['predicted']})**: green raised it, red lowered it (hover a token for its value).")
    show_highlighted(explanation)
    st.caption(f"Attribution: {explanation.method}. The text as the model read it, after standardization.")

    metrics = run.metrics
    st.subheader("How the classifier did on its test split")
    baseline = metrics.get("baseline") or {}
    metric_cards(
        {
            "Accuracy": metrics.get("accuracy"),
            "Macro-F1": metrics.get("macro_f1"),
            "ECE": metrics.get("ece"),
            "TF-IDF + LR accuracy": baseline.get("accuracy"),
            "TF-IDF + LR macro-F1": baseline.get("macro_f1"),
        },
        helps={
            "ECE": "Expected calibration error: how far the predicted probabilities are from the observed accuracy (0 is perfectly calibrated).",
            "TF-IDF + LR accuracy": "A classical baseline trained on the same texts in the same run: TF-IDF of word 1-2-grams and logistic regression, C chosen by cross-validation.",
        },
    )
    if metrics.get("from_scratch"):
        fs = metrics["from_scratch"]
        metric_cards(
            {"From scratch: accuracy": fs.get("accuracy"), "From scratch: macro-F1": fs.get("macro_f1"), "Transfer beats scratch": metrics.get("transfer_beats_scratch")},
            helps={"From scratch: accuracy": "The backbone's architecture trained from random weights on the same few labelled texts."},
        )
    if "confusion_matrix" in metrics:
        with st.expander("Confusion matrix and per-class results"):
            from apps.components import plots

            plots.confusion_matrix_multiclass(metrics["confusion_matrix"], metrics.get("class_names", classes))
            if metrics.get("per_class"):
                st.dataframe(pd.DataFrame(metrics["per_class"]).T)

# --- translation -----------------------------------------------------------------------
else:
    path = pick_task_run(domain, "translation", key=f"{DOMAIN}:translation", label="Translator")
    if path is None:
        st.stop()
    try:
        run = load_run(path)
    except DlsuiteError as exc:
        fail(exc)
    state = run.state
    st.caption(f"{state['source_language']} -> {state['target_language']}, sources up to {state['source_length']} subword tokens.")
    sentence = pick_text(demo_sentences(), f"{DOMAIN}:sentence", "Sentence", area=False)
    decode_column, width_column, penalty_column = st.columns(3)
    with decode_column:
        method = st.radio("Decoding", ["greedy", "beam"], horizontal=True, key=f"{DOMAIN}:decoding", help="Greedy takes the likeliest token at each step; beam search keeps the best partial translations.")
    with width_column:
        beam_width = st.slider("Beam width", 1, 8, 4, key=f"{DOMAIN}:beam_width", disabled=method != "beam")
    with penalty_column:
        length_penalty = st.slider(
            "Length penalty", 0.0, 2.0, 0.6, 0.1, key=f"{DOMAIN}:length_penalty", disabled=method != "beam",
            help="GNMT's alpha: beams are ranked by log-probability / ((5 + length) / 6) ** alpha; 0 favours short outputs.",
        )
    try:
        translation, score, note, seconds, traced = translate(path, sentence, method, int(beam_width), float(length_penalty))
        explanation = attention(path, sentence)
    except DlsuiteError as exc:
        fail(exc)
    st.markdown(f"> {translation or '(empty translation)'}")
    detail = f"beam width {beam_width}, length penalty {length_penalty:.1f}" if method == "beam" else "greedy"
    first = " (the first call with these settings, so this includes tracing the decoding loop once)" if traced else ""
    st.caption(f"{detail}; decoded in {seconds * 1000:.0f} ms{first}; mean log-probability per token {score:.2f}.")
    if note != "ok":
        st.info(f"The {note}.")
    st.markdown("**Where the translator looked**: the cross-attention of the last decoder layer (mean over heads), one row per output token.")
    show_attention(explanation)

    metrics = run.metrics
    st.subheader("How the translator did on its test split")
    baselines = metrics.get("baselines") or {}
    metric_cards(
        {
            "BLEU": metrics.get("bleu"),
            "chrF": metrics.get("chrf"),
            "Word by word: BLEU": (baselines.get("word_by_word") or {}).get("bleu"),
            "Word by word: chrF": (baselines.get("word_by_word") or {}).get("chrf"),
            "Copy the source: BLEU": (baselines.get("copy_source") or {}).get("bleu"),
            "Greedy: BLEU": (metrics.get("greedy") or {}).get("bleu"),
            "Beam: BLEU": (metrics.get("beam") or {}).get("bleu"),
        },
        helps={
            "BLEU": "sacrebleu corpus BLEU (0-100) on held-out pairs whose source sentences the model never saw.",
            "chrF": "sacrebleu chrF (0-100): character n-gram F-score, kinder to morphology than BLEU.",
            "Word by word: BLEU": "A baseline in the same run: each source word replaced by the target word it co-occurs with most (Dice) in the training pairs.",
        },
        float_format="{:.1f}",
    )
    if metrics.get("bleu_signature"):
        st.caption(f"sacrebleu signatures: `{metrics['bleu_signature']}`, `{metrics.get('chrf_signature', '')}`.")
    if metrics.get("examples"):
        with st.expander("Test translations beside the word-by-word baseline"):
            st.dataframe(pd.DataFrame(metrics["examples"]), hide_index=True)
