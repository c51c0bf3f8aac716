"""Speech: record or upload audio, spot keywords (with a saliency map), find them in long recordings, transcribe.

The demo models learned synthetic speech (espeak-ng voices). Everything
model-related goes through the speech tasks' API (`explain`, `detect`,
`transcribe`) via the cached loaders in `apps.components.audio`; this page
only lays the results out.
"""

import numpy as np
import pandas as pd
import streamlit as st

from apps.components.audio import (
    AUDIO_TYPES,
    decode_uploaded_audio,
    detect_keywords,
    explain_clip,
    show_clip_figure,
    show_timeline,
    transcribe,
)
from apps.components.failure import fail
from apps.components.loading import load_run
from apps.components.metric_cards import metric_cards
from apps.components.model_picker import pick_task_run
from domains.speech.task import DEMO_SEED, long_input, quality_note
from shared.domain import get_domain
from shared.errors import DlsuiteError
from shared.inputs.audio import resample

DOMAIN = "speech"
RECORD = "Record with the microphone"
UPLOAD = "Upload WAV, FLAC or OGG"
DEMO = "Demo audio (synthetic, held out)"


@st.cache_data(show_spinner="Synthesizing held-out demo audio with espeak-ng...", max_entries=2)
def demo_audio(sample_rate: int) -> list[tuple[str, np.ndarray, pd.DataFrame | None]]:
    """Held-out synthetic audio (speakers and a seed no preset trains on): keyword clips, a recording, sentences."""
    from domains.speech.synthetic import demo_examples

    return demo_examples(DEMO_SEED, sample_rate)


domain = get_domain(DOMAIN)
st.title(domain.title)
st.warning(
    "The demo models learned **synthetic speech**: every demo clip was spoken by espeak-ng voices with added noise, "
    "not by people. They show how the pipeline works and recognise real voices poorly. "
    f"Retrain on your own clips with `dlsuite train {DOMAIN} --set data.path=your_clips/` and measure on speakers the model never heard.",
    icon=":material/record_voice_over:",
)

model_column, input_column = st.columns(2)
with model_column:
    keyword_path = pick_task_run(domain, "keywords", key=f"{DOMAIN}:keywords", label="Keyword model")
    asr_path = pick_task_run(domain, "transcribe", key=f"{DOMAIN}:transcribe", label="Speech recognizer", optional=True)
if keyword_path is None:
    st.stop()
try:
    run = load_run(keyword_path)
    asr_run = load_run(asr_path) if asr_path else None
except DlsuiteError as exc:
    fail(exc)
rate = int(run.state["sample_rate"])
with model_column:
    st.caption(f"Keywords: {', '.join(run.state['keywords'])} (plus `_silence_` and `_unknown_`).")

with input_column:
    source_kind = st.radio("Audio", [RECORD, UPLOAD, DEMO], horizontal=True, key=f"{DOMAIN}:source", index=2)
    truth = None
    if source_kind == DEMO:
        clips = demo_audio(rate)
        index = st.selectbox("Demo audio", range(len(clips)), format_func=lambda i: clips[i][0], key=f"{DOMAIN}:demo")
        source, wave, truth = clips[index]
    else:
        if source_kind == RECORD:
            uploaded = st.audio_input("Say a keyword, or a short sentence", key=f"{DOMAIN}:record", sample_rate=rate)
            hint = "Record a clip to classify it."
        else:
            uploaded = st.file_uploader("Audio file", type=AUDIO_TYPES, key=f"{DOMAIN}:upload", help="Any sample rate, mono or stereo; it is resampled to the model's rate.")
            hint = "Upload a WAV, FLAC or OGG file: a one-second clip is classified, a longer recording is searched for keywords."
        if uploaded is None:
            st.info(hint)
            st.stop()
        try:
            wave = decode_uploaded_audio(uploaded.name or "recording.wav", uploaded.getvalue(), rate)
        except DlsuiteError as exc:
            fail(exc)
        source = uploaded.name or "your recording"
    st.audio(wave, sample_rate=rate)
    note = quality_note(wave, rate, int(run.state["clip_samples"]))
    if note:
        st.caption(f"Input: {note}.")

# --- keywords ------------------------------------------------------------------------
try:
    if long_input(len(wave), int(run.state["clip_samples"])):
        st.subheader(f"Keywords found in {source}")
        found = detect_keywords(keyword_path, wave)
        show_timeline(wave, rate, found, truth)
        if found.empty:
            st.info("No keyword passed its threshold.")
        else:
            st.dataframe(found, hide_index=True)
        tuned = (run.metrics.get("streaming") or {}).get("thresholds")
        st.caption(
            "The model slides over the recording one window per hop; repeated windows of one keyword are merged. "
            + ("Each keyword's threshold was tuned on validation audio." if tuned else "No tuned thresholds in this run: 0.5 for every keyword.")
        )
    else:
        st.subheader(f"Keyword in {source}")
        explanation = explain_clip(keyword_path, wave)
        metric_cards(
            {"Predicted": explanation.details["predicted"], **{f"P({n})".replace("_", "\\_"): v for n, v in zip(explanation.names, explanation.values)}},
            helps={"Predicted": "The class with the highest probability; `_unknown_` is any other word, `_silence_` no speech."},
            float_format="{:.1%}",
        )
        frame_step = run.config_data.get("model", {}).get("front_end", {}).get("frame_step", 160) / rate
        show_clip_figure(wave, rate, explanation, frame_step)
        st.caption(f"Saliency: {explanation.method}.")
except DlsuiteError as exc:
    fail(exc)

# --- transcript ----------------------------------------------------------------------
if asr_run is not None:
    st.subheader("Transcript")
    method = st.radio("Decoding", ["greedy", "beam"], horizontal=True, key=f"{DOMAIN}:decoding", help="Beam search keeps the 16 best prefixes per frame.")
    try:
        asr_rate = int(asr_run.state["sample_rate"])
        asr_wave = wave if asr_rate == rate else resample(wave, rate, asr_rate)
        text, confidence = transcribe(asr_path, asr_wave, method, 16)
    except DlsuiteError as exc:
        fail(exc)
    st.markdown(f"> {text or '(nothing recognised)'}")
    st.caption(f"{method} decoding; mean per-frame confidence {confidence:.1%}.")

# --- the runs' own evaluation -------------------------------------------------------
metrics = run.metrics
st.subheader("How the keyword model did on its test split")
streaming = metrics.get("streaming", {})
baseline = metrics.get("baseline", {})
metric_cards(
    {
        "Accuracy, held-out speakers": metrics.get("accuracy"),
        "Accuracy, training speakers": (metrics.get("training_speakers") or {}).get("accuracy"),
        "Macro-F1": metrics.get("macro_f1"),
        "MFCC + logistic regression": baseline.get("accuracy"),
        "Streaming recall": streaming.get("recall"),
        "False alarms per hour": streaming.get("false_alarms_per_hour"),
        "Latency per clip (ms)": (metrics.get("latency") or {}).get("ms_per_clip"),
    },
    helps={
        "Accuracy, held-out speakers": "Test clips by voices the model never heard in training.",
        "Accuracy, training speakers": "Clips by training voices that were held back from training.",
        "MFCC + logistic regression": "A classical baseline on the same splits: 13 MFCCs and deltas, mean and standard deviation, logistic regression.",
        "Streaming recall": "Share of keywords said in a long test recording that were detected.",
        "False alarms per hour": "Detections where no keyword was said (background noise and other words), per hour of audio.",
        "Latency per clip (ms)": "One one-second clip per call, raw audio in, on the machine that trained the run.",
    },
)
if metrics.get("from_scratch"):
    fs = metrics["from_scratch"]
    metric_cards(
        {"From scratch: accuracy": fs.get("accuracy"), "From scratch: macro-F1": fs.get("macro_f1"), "Transfer beats scratch": metrics.get("transfer_beats_scratch")},
        helps={"From scratch: accuracy": "The backbone's architecture trained from random weights on the same clips.", "Transfer beats scratch": "Whether the transfer model's macro-F1 is above the from-scratch model's."},
    )
if "confusion_matrix" in metrics:
    with st.expander("Confusion matrix and per-class results"):
        from apps.components import plots

        plots.confusion_matrix_multiclass(metrics["confusion_matrix"], metrics.get("class_names", run.state["classes"]))
        if metrics.get("per_class"):
            st.dataframe(pd.DataFrame(metrics["per_class"]).T)
if asr_run is not None:
    m = asr_run.metrics
    st.subheader("How the speech recognizer did on its test split")
    metric_cards(
        {
            "WER (greedy)": (m.get("greedy") or {}).get("wer"),
            "CER (greedy)": (m.get("greedy") or {}).get("cer"),
            "WER (beam)": (m.get("beam") or {}).get("wer"),
            "CER (beam)": (m.get("beam") or {}).get("cer"),
            "Real-time factor": m.get("real_time_factor"),
        },
        helps={
            "WER (greedy)": "Word error rate on held-out speakers: (substitutions + deletions + insertions) / reference words.",
            "Real-time factor": "Seconds of compute per second of audio (below 1 is faster than real time).",
        },
    )
    if m.get("examples"):
        with st.expander("Test transcripts"):
            st.dataframe(pd.DataFrame(m["examples"]), hide_index=True)
