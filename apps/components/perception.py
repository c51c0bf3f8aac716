"""Camera perception through a run: class maps, boxes and annotated videos, cached.

Every model call goes through the driving tasks' API (`decode_inputs`,
`class_map`, `detect`, `annotate_video`) on a run loaded once by
`apps.components.loading.load_run`. Results are cached as data keyed by the
run's path string and the input, so moving a slider or a filter never
re-runs a model on the same image.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import streamlit as st

from apps.components.loading import load_run
from apps.components.uploads import saved_upload
from shared.domain import get_task

IMAGE_TYPES = ["png", "jpg", "jpeg"]
VIDEO_TYPES = ["mp4", "mkv", "avi", "mov", "webm"]


def _task(run_path: str):
    run = load_run(run_path)
    return run, get_task(run.domain_name, run.task_name)


def _blank(run, task) -> np.ndarray:
    state = run.task_state(task.state_schema)
    return np.zeros((state.image_height, state.image_width, 3), np.float32)


# One call on a blank frame per model, so that the latency shown is not the one-off cost of building its predict function.
@st.cache_resource(show_spinner=False, max_entries=8)
def _warm_segmentation(run_path: str) -> bool:
    run, task = _task(run_path)
    task.class_map(run, _blank(run, task))
    return True


@st.cache_resource(show_spinner=False, max_entries=8)
def _warm_detection(run_path: str) -> bool:
    run, task = _task(run_path)
    task.detect(run, _blank(run, task))
    return True


@st.cache_data(show_spinner="Decoding the image...", max_entries=8)
def decode_uploaded_frame(run_path: str, name: str, data: bytes) -> np.ndarray:
    """An uploaded PNG/JPEG decoded to the run's input size: float32 [H, W, 3] in [0, 1]."""
    run, task = _task(run_path)
    with saved_upload(name, data, default_name="upload.png") as path:
        return task.decode_inputs(run, [path])[1][0]


@st.cache_data(show_spinner="Segmenting...", max_entries=32)
def class_map(run_path: str, image: np.ndarray) -> tuple[np.ndarray, float]:
    """Predicted class ids [H, W] of one decoded image, and the milliseconds the call took."""
    run, task = _task(run_path)
    _warm_segmentation(run_path)
    start = time.perf_counter()
    ids = task.class_map(run, image)
    return ids, 1000 * (time.perf_counter() - start)


@st.cache_data(show_spinner="Detecting...", max_entries=32)
def detections(run_path: str, image: np.ndarray, threshold: float) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], float]:
    """(boxes, scores, class ids) above `threshold` for one decoded image, and the milliseconds the call took."""
    run, task = _task(run_path)
    _warm_detection(run_path)
    start = time.perf_counter()
    found = task.detect(run, image, threshold=threshold)
    return found, 1000 * (time.perf_counter() - start)


@st.cache_data(show_spinner="Annotating the video (decode, model, draw, encode)...", max_entries=4)
def annotated_video(run_path: str, name: str, data: bytes, options: tuple) -> tuple[bytes, dict]:
    """Annotate an uploaded (or rendered) video with the run; the MP4's bytes and the timings.

    `options` are `annotate_video` keyword arguments as a sorted tuple of
    pairs (hashable for the cache), e.g. `(("threshold", 0.3),)`.
    """
    run, task = _task(run_path)
    with saved_upload(name, data, default_name="upload.mp4") as source, tempfile.TemporaryDirectory(prefix="dlsuite-video-") as out:
        destination = Path(out) / "annotated.mp4"
        stats = task.annotate_video(run, source, destination, **dict(options))
        return destination.read_bytes(), {k: v for k, v in stats.items() if k not in ("source", "output")}
