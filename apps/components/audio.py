"""One recording through a speech run: decode an upload or a microphone take, classify, detect, transcribe.

Every model call goes through the speech tasks' API (`explain`, `detect`,
`transcribe`) on a run loaded once by `apps.components.loading.load_run`.
Results are cached as data keyed by the run's path string and the
waveform, so moving a widget never re-runs a model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from apps.components.loading import load_run
from apps.components.uploads import saved_upload
from shared.domain import Explanation, get_task

AUDIO_TYPES = ["wav", "flac", "ogg"]


@st.cache_data(show_spinner="Decoding the audio...", max_entries=8)
def decode_uploaded_audio(name: str, data: bytes, sample_rate: int) -> np.ndarray:
    """An uploaded or recorded file as a mono float32 waveform at `sample_rate`.

    The bytes are saved under the upload's own name and read with the
    speech domain's reader (soundfile, resampled, mixed down to mono); a
    corrupt, empty, silent-length or wrongly named file is a `DataError`
    naming the upload.
    """
    from domains.speech.task import read_input

    with saved_upload(name, data, default_name="recording.wav") as path:
        return read_input(path, sample_rate)


@st.cache_data(show_spinner="Classifying and explaining...", max_entries=32)
def explain_clip(run_path: str, wave: np.ndarray) -> Explanation:
    """`task.explain` for one clip: top-k keywords and a saliency map over its log-mel spectrogram."""
    run = load_run(run_path)
    return get_task(run.domain_name, run.task_name).explain(run, wave)


@st.cache_data(show_spinner="Sliding the keyword model over the recording...", max_entries=16)
def detect_keywords(run_path: str, wave: np.ndarray) -> pd.DataFrame:
    """`task.detect`: one row per detection (keyword, start, end, score)."""
    run = load_run(run_path)
    return get_task(run.domain_name, run.task_name).detect(run, wave)


@st.cache_data(show_spinner="Transcribing...", max_entries=32)
def transcribe(run_path: str, wave: np.ndarray, method: str, beam_width: int) -> tuple[str, float]:
    """`task.transcribe` for one waveform: (transcript, mean per-frame confidence)."""
    run = load_run(run_path)
    texts, confidence = get_task(run.domain_name, run.task_name).transcribe(run, [wave], method=method, beam_width=beam_width)
    return texts[0], confidence[0]


def show_clip_figure(wave: np.ndarray, rate: int, explanation: Explanation, frame_step_seconds: float) -> None:
    """Waveform, log-mel spectrogram and saliency of one explained clip."""
    from shared.evaluation.audio_plots import waveform_and_spectrogram

    d = explanation.details
    st.pyplot(waveform_and_spectrogram(d["waveform"], rate, d["spectrogram"], frame_step_seconds, d["saliency"], title=f"predicted: {d['predicted']}"))


def show_timeline(wave: np.ndarray, rate: int, detections: pd.DataFrame, truth: pd.DataFrame | None = None) -> None:
    from shared.evaluation.audio_plots import detections_timeline

    st.pyplot(detections_timeline(wave, rate, detections, truth))
