"""Audio figures: waveform and spectrogram (with saliency), detections on a timeline."""

import numpy as np
import pandas as pd
import pytest

from shared.evaluation.audio_plots import MAX_POINTS, detections_timeline, waveform_and_spectrogram


def test_waveform_spectrogram_and_saliency_panels():
    wave = np.sin(np.linspace(0, 100, 16000)).astype("float32")
    spec = np.random.default_rng(0).standard_normal((98, 40))
    fig = waveform_and_spectrogram(wave, 16000, spec, 0.01, saliency=np.abs(spec) / np.abs(spec).max(), title="yes")
    assert len(fig.axes) == 3 and fig.axes[0].get_title() == "yes"
    assert fig.axes[1].get_xlim() == pytest.approx((0, 0.98))
    assert len(waveform_and_spectrogram(wave, 16000, spec, 0.01).axes) == 2
    with pytest.raises(ValueError, match="saliency"):
        waveform_and_spectrogram(wave, 16000, spec, 0.01, saliency=np.zeros((5, 5)))
    with pytest.raises(ValueError, match="frames, mel bins"):
        waveform_and_spectrogram(wave, 16000, spec[0], 0.01)


def test_timeline_marks_detections_and_truth_and_envelopes_long_audio():
    wave = np.zeros(16000 * 120, "float32")  # two minutes: drawn as an envelope
    found = pd.DataFrame({"keyword": ["yes", "no"], "start": [1.0, 5.0], "end": [2.0, 6.0], "score": [0.9, 0.8]})
    truth = pd.DataFrame({"word": ["yes", "cat"], "start": [1.1, 8.0], "end": [2.1, 9.0], "is_keyword": [True, False]})
    fig = detections_timeline(wave, 16000, found, truth)
    ax = fig.axes[0]
    assert ax.get_title().startswith("2 detection(s)") and "red bars" in ax.get_title()
    assert {t.get_text() for t in ax.texts} >= {"yes\n0.90", "no\n0.80", "cat"}
    assert all(len(line.get_xdata()) <= MAX_POINTS for line in ax.lines)
    assert "red bars" not in detections_timeline(wave[:16000], 16000, found.iloc[:0]).axes[0].get_title()
