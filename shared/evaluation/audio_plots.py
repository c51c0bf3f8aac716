"""Matplotlib figures for audio: waveform and spectrogram, and detections on a timeline.

Like `shared.evaluation.plots`, every function builds a `Figure` with an Agg
canvas and never touches pyplot (Streamlit renders pages in threads).

Example:

```python
fig = detections_timeline(wave, 16000, detections, truth)
save_figure(fig, "runs/speech/streaming.png")
```
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from shared.evaluation.plots import _new_figure

MAX_POINTS = 20_000  # waveform points drawn: a min/max envelope beyond this


def _envelope(ax, wave: np.ndarray, rate: int) -> None:
    wave = np.asarray(wave, dtype=float)
    if len(wave) > MAX_POINTS:
        step = int(np.ceil(len(wave) / (MAX_POINTS // 2)))
        n = len(wave) // step
        blocks = wave[: n * step].reshape(n, step)
        t = np.arange(n) * step / rate
        ax.fill_between(t, blocks.min(1), blocks.max(1), color="#1f77b4", linewidth=0)
    else:
        ax.plot(np.arange(len(wave)) / rate, wave, color="#1f77b4", linewidth=0.6)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlim(0, max(len(wave) / rate, 1e-3))


def waveform_and_spectrogram(wave, rate: int, spectrogram, frame_step_seconds: float, saliency=None, title: str = "") -> Figure:
    """The waveform above its log-mel spectrogram, optionally with a saliency map drawn over it.

    Args:
        wave: 1-D array. The waveform in [-1, 1].
        rate: int. Its sample rate in Hz.
        spectrogram: array `(frames, mel bins)`. Log-mel features.
        frame_step_seconds: float. Seconds between frames.
        saliency: array `(frames, mel bins)` in [0, 1] or None. Drawn as
            contours-free shading over the spectrogram. Defaults to `None`.
        title: str. Figure title. Defaults to `""`.
    """
    spectrogram = np.asarray(spectrogram, dtype=float)
    if spectrogram.ndim != 2:
        raise ValueError(f"`spectrogram` must be (frames, mel bins). Received: shape={spectrogram.shape}")
    if saliency is not None and np.shape(saliency) != spectrogram.shape:
        raise ValueError(f"`saliency` must have the spectrogram's shape {spectrogram.shape}. Received: shape={np.shape(saliency)}")
    rows = 3 if saliency is not None else 2
    fig = _new_figure(8.0, 2.0 * rows)
    ax = fig.add_subplot(rows, 1, 1)
    _envelope(ax, wave, rate)
    ax.set_ylabel("amplitude")
    if title:
        ax.set_title(title)
    extent = (0, spectrogram.shape[0] * frame_step_seconds, 0, spectrogram.shape[1])
    ax = fig.add_subplot(rows, 1, 2)
    ax.imshow(spectrogram.T, origin="lower", aspect="auto", extent=extent, cmap="magma")
    ax.set_ylabel("mel bin")
    ax.set_title("log-mel spectrogram", fontsize="small")
    if saliency is not None:
        ax = fig.add_subplot(rows, 1, 3)
        ax.imshow(spectrogram.T, origin="lower", aspect="auto", extent=extent, cmap="gray")
        ax.imshow(np.asarray(saliency, dtype=float).T, origin="lower", aspect="auto", extent=extent, cmap="jet", alpha=0.55, vmin=0, vmax=1)
        ax.set_ylabel("mel bin")
        ax.set_title("saliency: where the spectrogram raised the predicted class", fontsize="small")
    ax.set_xlabel("time (s)")
    return fig


def detections_timeline(wave, rate: int, detections, truth=None) -> Figure:
    """A recording's waveform with each detection (keyword, score) marked; words really said below, when known.

    Args:
        wave: 1-D array. The recording.
        rate: int. Its sample rate in Hz.
        detections: DataFrame with `keyword`, `start`, `end`, `score`.
        truth: DataFrame with `word`, `start`, `end`, `is_keyword`, or None.
    """
    fig = _new_figure(10.0, 3.2 if truth is not None else 2.4)
    ax = fig.add_subplot(1, 1, 1)
    _envelope(ax, wave, rate)
    for d in detections.itertuples(index=False):
        ax.axvspan(d.start, d.end, color="#2ca02c", alpha=0.25)
        ax.text((d.start + d.end) / 2, 0.92, f"{d.keyword}\n{d.score:.2f}", ha="center", va="top", fontsize="x-small", color="#1a5e1a")
    if truth is not None:
        for w in truth.itertuples(index=False):
            color = "#d62728" if w.is_keyword else "#7f7f7f"
            ax.plot([w.start, w.end], [-0.95, -0.95], color=color, linewidth=3)
            ax.text((w.start + w.end) / 2, -0.85, w.word, ha="center", fontsize="xx-small", color=color)
    ax.set_xlabel("time (s)")
    ax.set_yticks([])
    said = "; red bars: keywords said, grey: other words" if truth is not None else ""
    ax.set_title(f"{len(detections)} detection(s), green{said}", fontsize="small")
    return fig
