"""Streaming detection: windows, suppression, matching, recall and false alarms per hour, threshold tuning."""

import numpy as np
import pandas as pd
import pytest

from domains.speech.streaming import Stream, build_stream, detect, match, streaming_report, tune_thresholds, windows

CLASSES = ["yes", "no", "_silence_", "_unknown_"]


def _scores(n, hot):
    """Per-window probabilities: `_silence_` everywhere except `hot` = {index: (class, p)}."""
    probs = np.full((n, len(CLASSES)), 0.02)
    probs[:, 2] = 0.94
    for i, (name, p) in hot.items():
        probs[i] = (1 - p) / 3
        probs[i, CLASSES.index(name)] = p
    return probs


def test_windows_cover_the_recording_and_pad_the_last():
    frames, starts = windows(np.arange(25, dtype="float32"), window=10, hop=5)
    assert starts.tolist() == [0, 5, 10, 15] and frames.shape == (4, 10)
    assert frames[-1].tolist() == [15, 16, 17, 18, 19, 20, 21, 22, 23, 24]
    assert windows(np.ones(3, "float32"), 10, 5)[0].shape == (1, 10)  # shorter than a window: one padded window


def test_neighbouring_windows_merge_into_one_detection_at_their_peak():
    times = np.arange(40) * 0.1
    probs = _scores(40, {5: ("yes", 0.7), 6: ("yes", 0.9), 7: ("yes", 0.8), 30: ("yes", 0.95), 20: ("no", 0.6)})
    found = detect(probs, times, CLASSES, {"yes": 0.5, "no": 0.65}, suppress_seconds=1.0, window_seconds=1.0)
    assert found["keyword"].tolist() == ["yes", "yes"]  # "no" at 0.6 stays under its threshold
    assert found["start"].tolist() == [0.6, 3.0] and found["score"].iloc[0] == pytest.approx(0.9)
    assert (found["end"] - found["start"]).tolist() == [1.0, 1.0]


def test_recall_and_false_alarms_per_hour():
    truth = pd.DataFrame({"word": ["yes", "no", "_unknown_"], "start": [0.5, 5.0, 9.0], "end": [1.5, 6.0, 10.0], "is_keyword": [True, True, False]})
    found = pd.DataFrame({"keyword": ["yes", "yes", "no"], "start": [0.6, 9.1, 20.0], "end": [1.6, 10.1, 21.0], "score": [0.9, 0.8, 0.7]})
    hit, said = match(found, truth, window_seconds=1.0)
    assert hit.tolist() == [True, False, False] and said.tolist() == [True, False]
    report = streaming_report(found, truth, seconds=36.0, window_seconds=1.0, keywords=["yes", "no"])
    assert report["recall"] == 0.5 and report["false_alarms"] == 2
    assert report["false_alarms_per_hour"] == pytest.approx(200.0)
    assert report["per_keyword"]["no"] == {"spoken": 1, "recall": 0.0, "false_alarms": 1}


def test_thresholds_are_tuned_to_the_false_alarm_target():
    times = np.arange(100) * 0.1
    # "yes" said at 1 s (p 0.9); a false "yes" at 6 s (p 0.7) that a threshold above 0.7 removes.
    probs = _scores(100, {10: ("yes", 0.9), 60: ("yes", 0.7), 30: ("no", 0.8)})
    truth = pd.DataFrame({"word": ["yes", "no"], "start": [1.0, 3.0], "end": [2.0, 4.0], "is_keyword": [True, True]})
    stream = Stream(np.zeros(160_000, "float32"), 16_000, truth)  # 10 s: one false alarm is 360 per hour
    thresholds = tune_thresholds(probs, times, stream, CLASSES, ["yes", "no"], 1.0, 1.0, target_fa_per_hour=100)
    assert 0.7 < thresholds["yes"] <= 0.9 and thresholds["no"] == 0.5


def test_built_stream_places_clips_where_its_truth_says():
    rate = 1000
    waves = np.zeros((6, rate), "float32")
    for i in range(6):
        waves[i, 400:600] = 0.5
    labels = np.array([0, 1, 2, 3, 0, 1])
    stream = build_stream(waves, labels, CLASSES, np.zeros(0, "float32"), rate, seconds=12.0, seed=0)
    assert "_silence_" not in set(stream.truth["word"])
    for row in stream.truth.itertuples():
        middle = int((row.start + 0.5) * rate)
        assert stream.wave[middle] == pytest.approx(0.5)
    assert stream.truth["is_keyword"].tolist() == [w in ("yes", "no") for w in stream.truth["word"]]
    assert stream.seconds == 12.0
