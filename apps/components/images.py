"""One image through a run: decode an upload, explain, segment, and show the results.

Every model call goes through the task's API (`decode_inputs`, `explain`,
`segment`) on a run loaded once by `apps.components.loading.load_run`.
Results are cached as data keyed by the run's path string and the image,
so re-running the page (another widget moved) never re-runs a model.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from apps.components.loading import load_run
from apps.components.uploads import saved_upload
from shared.domain import Explanation, get_task
from shared.explain import overlay

IMAGE_TYPES = ["png", "jpg", "jpeg", "dcm"]


@st.cache_data(show_spinner="Decoding the image...", max_entries=8)
def decode_uploaded_image(run_path: str, name: str, data: bytes) -> np.ndarray:
    """Decode an uploaded image file the way the run at `run_path` was trained.

    The bytes are saved under the upload's own name (the suffix picks the
    decoder) and read with the task's `decode_inputs`; nothing is ever
    loaded as a model.

    Returns:
        float32 array (S, S, channels) in [0, 1].

    Raises:
        DataError: the file cannot be decoded (corrupt, truncated, no pixel
            data...); the message names the uploaded file, not the copy.
    """
    run = load_run(run_path)
    task = get_task(run.domain_name, run.task_name)
    with saved_upload(name, data, default_name="upload.png") as path:
        return task.decode_inputs(run, [path])[1][0]


@st.cache_data(show_spinner="Explaining the prediction...", max_entries=32)
def explain_image(run_path: str, image: np.ndarray) -> Explanation:
    """`task.explain` for one decoded image (class probabilities and a heatmap)."""
    run = load_run(run_path)
    return get_task(run.domain_name, run.task_name).explain(run, image)


@st.cache_data(show_spinner="Segmenting...", max_entries=32)
def segment_image(run_path: str, image: np.ndarray) -> np.ndarray:
    """`task.segment` for one decoded image: a probability map (S, S) in [0, 1]."""
    run = load_run(run_path)
    return get_task(run.domain_name, run.task_name).segment(run, image)


def show_image(image: np.ndarray, caption: str) -> None:
    """A grey image (S, S) or (S, S, 1) in [0, 1], as wide as its column."""
    grey = np.asarray(image, dtype=np.float32)
    grey = grey[..., 0] if grey.ndim == 3 else grey
    st.image(grey, caption=caption, width="stretch", clamp=True)


def show_overlay(image: np.ndarray, heatmap: np.ndarray, caption: str, alpha: float = 0.4) -> None:
    """`heatmap` (S, S) in [0, 1] colour-mapped over a grey image, as wide as its column."""
    st.image(overlay(image, heatmap, alpha=alpha), caption=caption, width="stretch")
