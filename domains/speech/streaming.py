"""Keyword detection on recordings of any length.

The keyword model scores one-second windows taken every `hop_seconds`.
A keyword is detected where its probability reaches the keyword's own
threshold; windows of the same keyword closer than `suppress_seconds` merge
into one detection at their peak (non-maximum suppression over time).

The thresholds are tuned on validation audio: a stream built from the
validation clips (held-out speakers) over background noise, where the
position of every word is known. For each keyword, the lowest threshold
whose false alarms per hour stay within the target is chosen, which gives
that keyword its highest recall at that false-alarm rate.

Metrics are the ones keyword-spotting users compare: detection recall, and
false alarms per hour of audio (detections where no such keyword was said).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from domains.speech.config import SILENCE, UNKNOWN

MIN_OVERLAP = 0.5  # of the window: a detection must cover this much of a spoken keyword's clip to count
WINDOW_BATCH = 128
MAX_CANDIDATES = 200  # thresholds tried per keyword


@dataclass
class Stream:
    """A long waveform and the words placed in it (`truth`: word, start, end, is_keyword)."""

    wave: np.ndarray
    sample_rate: int
    truth: pd.DataFrame

    @property
    def seconds(self) -> float:
        return len(self.wave) / self.sample_rate


def windows(wave: np.ndarray, window: int, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows of `window` samples every `hop` samples, the last one zero-padded; (windows, start samples)."""
    n = max(1, int(np.ceil(max(len(wave) - window, 0) / hop)) + 1)
    padded = np.pad(wave, (0, max(0, (n - 1) * hop + window - len(wave))))
    starts = np.arange(n) * hop
    return np.stack([padded[s : s + window] for s in starts]), starts


def window_scores(model, wave: np.ndarray, sample_rate: int, window: int, hop_seconds: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Class probabilities of every window, their start times in seconds, and the seconds it took."""
    hop = max(1, int(round(hop_seconds * sample_rate)))
    frames, starts = windows(np.asarray(wave, np.float32), window, hop)
    begin = time.perf_counter()
    probs = np.concatenate([np.asarray(model(frames[i : i + WINDOW_BATCH], training=False)) for i in range(0, len(frames), WINDOW_BATCH)])
    return probs, starts / sample_rate, time.perf_counter() - begin


def detect(probs: np.ndarray, times: np.ndarray, classes: list[str], thresholds: dict[str, float], suppress_seconds: float, window_seconds: float) -> pd.DataFrame:
    """Detections (keyword, start, end, score), one per keyword occurrence after suppression, in time order."""
    rows = []
    for keyword, threshold in thresholds.items():
        k = classes.index(keyword)
        hits = np.flatnonzero((probs[:, k] >= threshold) & (probs.argmax(1) == k))
        group: list[int] = []
        for i in hits:
            if group and times[i] - times[group[-1]] > suppress_seconds:
                rows.append(_peak(group, probs[:, k], times, keyword, window_seconds))
                group = []
            group.append(int(i))
        if group:
            rows.append(_peak(group, probs[:, k], times, keyword, window_seconds))
    frame = pd.DataFrame(rows, columns=["keyword", "start", "end", "score"])
    return frame.sort_values("start", kind="stable").reset_index(drop=True)


def _peak(group: list[int], scores: np.ndarray, times: np.ndarray, keyword: str, window_seconds: float) -> dict:
    best = group[int(np.argmax(scores[group]))]
    return {"keyword": keyword, "start": round(float(times[best]), 3), "end": round(float(times[best] + window_seconds), 3), "score": float(scores[best])}


def match(detections: pd.DataFrame, truth: pd.DataFrame, window_seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """Which detections hit a spoken keyword of the same word, and which keywords were found (each at most once)."""
    spoken = truth[truth["is_keyword"]].reset_index(drop=True)
    found = np.zeros(len(spoken), bool)
    hit = np.zeros(len(detections), bool)
    for i, d in enumerate(detections.itertuples(index=False)):
        same = spoken["word"].to_numpy() == d.keyword
        overlap = np.minimum(spoken["end"].to_numpy(), d.end) - np.maximum(spoken["start"].to_numpy(), d.start)
        candidates = np.flatnonzero(same & ~found & (overlap >= MIN_OVERLAP * window_seconds))
        if len(candidates):
            found[candidates[np.argmax(overlap[candidates])]] = True
            hit[i] = True
    return hit, found


def streaming_report(detections: pd.DataFrame, truth: pd.DataFrame, seconds: float, window_seconds: float, keywords: list[str]) -> dict:
    """Recall and false alarms per hour, overall and per keyword."""
    hit, found = match(detections, truth, window_seconds)
    spoken = truth[truth["is_keyword"]].reset_index(drop=True)
    hours = seconds / 3600.0
    per = {}
    for k in keywords:
        said = spoken["word"].to_numpy() == k
        mine = detections["keyword"].to_numpy() == k
        per[k] = {
            "spoken": int(said.sum()),
            "recall": float(found[said].mean()) if said.any() else None,
            "false_alarms": int((mine & ~hit).sum()),
        }
    return {
        "seconds": round(seconds, 1),
        "keywords_spoken": int(len(spoken)),
        "detections": int(len(detections)),
        "recall": float(found.mean()) if len(found) else None,
        "false_alarms": int((~hit).sum()),
        "false_alarms_per_hour": float((~hit).sum() / hours) if hours else None,
        "per_keyword": per,
    }


def tune_thresholds(
    probs: np.ndarray, times: np.ndarray, stream: Stream, classes: list[str], keywords: list[str], suppress_seconds: float, window_seconds: float, target_fa_per_hour: float
) -> dict[str, float]:
    """Per keyword, the lowest threshold whose false alarms per hour on `stream` are within the target."""
    hours = stream.seconds / 3600.0
    thresholds = {}
    for keyword in keywords:
        k = classes.index(keyword)
        candidates = np.unique(np.round(probs[:, k][probs.argmax(1) == k], 4))
        if len(candidates) > MAX_CANDIDATES:
            candidates = np.unique(np.quantile(candidates, np.linspace(0, 1, MAX_CANDIDATES)))
        chosen = 0.99
        for threshold in np.concatenate([[0.5], candidates[candidates > 0.5]]):  # a keyword must at least be the likeliest class
            found = detect(probs, times, classes, {keyword: float(threshold)}, suppress_seconds, window_seconds)
            hit, _ = match(found, stream.truth, window_seconds)
            if (~hit).sum() / hours <= target_fa_per_hour:
                chosen = float(threshold)
                break
        thresholds[keyword] = chosen
    return thresholds


def build_stream(waves: np.ndarray, labels: np.ndarray, classes: list[str], noise: np.ndarray, sample_rate: int, seconds: float, seed: int, noise_level: float = 0.3) -> Stream:
    """A long recording made of held-out clips (keywords and unknown words) with gaps, over background noise.

    Clips are laid end to end in a seeded random order with random gaps of
    0.2 to 1.5 s; silence clips are skipped (the gaps and the noise are the
    silence). `truth` records where each clip lies.
    """
    rng = np.random.default_rng(seed)
    total = int(seconds * sample_rate)
    out = np.zeros(total, np.float32)
    if len(noise) > 0:
        reps = int(np.ceil(total / len(noise)))
        start = int(rng.integers(0, len(noise)))
        out += np.tile(np.roll(noise, -start), reps)[:total] * noise_level
    silence = classes.index(SILENCE) if SILENCE in classes else -1
    usable = np.flatnonzero(labels != silence)
    rows = []
    position = int(rng.uniform(0.2, 1.0) * sample_rate)
    clip = waves.shape[1]
    for i in rng.permutation(usable) if len(usable) else []:
        if position + clip > total:
            break
        out[position : position + clip] += waves[i]
        word = classes[int(labels[i])]
        rows.append({"word": word, "start": position / sample_rate, "end": (position + clip) / sample_rate, "is_keyword": word not in (UNKNOWN, SILENCE)})
        position += clip + int(rng.uniform(0.2, 1.5) * sample_rate)
    truth = pd.DataFrame(rows, columns=["word", "start", "end", "is_keyword"])
    return Stream(np.clip(out, -1.0, 1.0), sample_rate, truth)
