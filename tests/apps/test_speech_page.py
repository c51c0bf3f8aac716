"""Speech page: notice, demo clip (top-k, saliency), long recording (timeline), transcript, microphone, uploads, bad files."""

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from tests_support import demo_models_of, open_page, page_ok, shown_metrics

from shared.data import espeak

pytestmark = pytest.mark.skipif(not espeak.available(), reason="espeak-ng is not installed (apt-get install espeak-ng); CI installs it")

PAGE = "pages/speech.py"
SOURCE = "speech:source"
DEMO = "speech:demo"
RECORD = "speech:record"
UPLOAD = "speech:upload"
ASR = "speech:transcribe"
DECODING = "speech:decoding"
SYNTHETIC = "synthetic speech"


@pytest.fixture
def speech_demo(demo_models) -> Path:
    return demo_models_of(demo_models, "speech", ("keywords", "transcribe"))


def _open(app_path):
    return open_page(app_path, PAGE)


def _wav(wave, rate=16_000, fmt="WAV") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, wave, rate, format=fmt)
    return buffer.getvalue()


def _tone(seconds, rate=16_000):
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 300 * t)).astype("float32")


def test_demo_clip_shows_top_k_saliency_and_the_synthetic_notice(app_path, speech_demo):
    at = _open(app_path)
    page_ok(at)
    assert any(SYNTHETIC in w.value for w in at.warning)
    options = at.selectbox(key=DEMO).options
    assert any(o.startswith("clip:") for o in options) and any(o.startswith("recording:") for o in options)
    shown = shown_metrics(at)
    assert shown["Predicted"]
    probabilities = [k for k in shown if k.startswith("P(")]
    assert len(probabilities) == 3, shown
    assert any("Saliency" in c.value for c in at.caption)
    assert "Accuracy, held-out speakers" in shown and "False alarms per hour" in shown


def test_demo_recording_shows_detections_on_a_timeline(app_path, speech_demo):
    at = _open(app_path)
    recording = next(o for o in at.selectbox(key=DEMO).options if o.startswith("recording:"))
    at.selectbox(key=DEMO).set_value(recording).run(timeout=180)
    page_ok(at)
    assert any("Keywords found in" in s.value for s in at.subheader)
    assert at.dataframe or any("No keyword passed" in i.value for i in at.info)


def test_transcript_with_greedy_and_beam_decoding(app_path, speech_demo):
    at = _open(app_path)
    sentence = next(o for o in at.selectbox(key=DEMO).options if o.startswith("sentence:"))
    at.selectbox(key=DEMO).set_value(sentence).run(timeout=180)
    page_ok(at)
    assert any(s.value == "Transcript" for s in at.subheader)
    assert any(m.value.startswith("> ") for m in at.markdown)
    at.radio(key=DECODING).set_value("beam").run(timeout=180)
    page_ok(at)
    assert any("beam decoding" in c.value for c in at.caption)
    assert "WER (greedy)" in shown_metrics(at)


def test_microphone_recording_is_classified(app_path, speech_demo):
    at = _open(app_path)
    at.radio(key=SOURCE).set_value("Record with the microphone").run(timeout=180)
    page_ok(at)
    assert any("Record a clip" in i.value for i in at.info)
    at.audio_input(key=RECORD).set_value(("recording.wav", _wav(_tone(1.0), 48_000), "audio/wav")).run(timeout=180)
    page_ok(at)
    assert shown_metrics(at)["Predicted"]


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("noise.wav", b"RIFF\x00\x00\x00\x00WAVEjunk" + bytes(600), "could not read noise.wav as audio"),
        ("empty.flac", b"", "empty"),
        ("blip.wav", None, "at least 100 ms"),
    ],
)
def test_bad_uploads_get_an_error_box(app_path, speech_demo, name, content, expected):
    at = _open(app_path)
    at.radio(key=SOURCE).set_value("Upload WAV, FLAC or OGG").run(timeout=180)
    content = _wav(_tone(0.03)) if content is None else content
    at.file_uploader(key=UPLOAD).set_value((name, content, "audio/wav")).run(timeout=180)
    assert not at.exception, at.exception
    assert len(at.error) == 1 and expected in at.error[0].value, [e.value for e in at.error]
    assert "Traceback" not in at.error[0].value


def test_a_stereo_flac_upload_is_decoded(app_path, speech_demo):
    at = _open(app_path)
    at.radio(key=SOURCE).set_value("Upload WAV, FLAC or OGG").run(timeout=180)
    stereo = np.stack([_tone(1.0, 22_050)] * 2, axis=1)
    at.file_uploader(key=UPLOAD).set_value(("clip.flac", _wav(stereo, 22_050, "FLAC"), "audio/flac")).run(timeout=180)
    page_ok(at)
    assert shown_metrics(at)["Predicted"]
