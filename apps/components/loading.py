"""Cached loading and scoring: each model loads once, each table is scored once.

Runs are cached as resources (one shared Keras model per run directory, at
most `LOADED_RUNS_MAX` of them, the least recently used dropped first);
tables, scores and explanations are cached as data keyed by the run's path
string, so moving a slider never re-runs the model.
"""

from __future__ import annotations

import contextlib

import pandas as pd
import streamlit as st

from shared.demo import servable_run
from shared.domain import Explanation, get_task
from shared.errors import UnknownNameError
from shared.runs import Run

# Every loaded run keeps its Keras model in memory; the fraud and medical pages use at most three at once.
LOADED_RUNS_MAX = 8


@st.cache_resource(show_spinner="Loading the model...", max_entries=LOADED_RUNS_MAX)
def load_run(path: str) -> Run:
    """Open a run directory and load its Keras model once per path.

    Only demo models and runs under the runs root are opened
    (`shared.demo.servable_run`). Raises `RunError` (not cached) for any
    other path, or when the directory is incomplete or its model cannot be
    loaded.
    """
    run = Run.open(servable_run(path))
    run.model  # noqa: B018 - load now, inside the cache, not on first predict
    # The pages read the task state at once: a malformed one is an error box here.
    with contextlib.suppress(UnknownNameError):  # another domain's run: the page names it
        run.task_state(get_task(run.domain_name, run.task_name).state_schema)
    return run


@st.cache_data(show_spinner="Generating synthetic transactions...", max_entries=8)
def demo_frame(domain: str, task: str, rows: int) -> pd.DataFrame:
    """The task's held-out synthetic demo table."""
    return get_task(domain, task).demo_frame(rows)


@st.cache_data(show_spinner="Scoring...", max_entries=16)
def score_frame(run_path: str, frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """`task.score_frame` for the run at `run_path`; raises `DlsuiteError` on bad input."""
    run = load_run(run_path)
    return get_task(run.domain_name, run.task_name).score_frame(run, frame, source)


@st.cache_data(show_spinner=False, max_entries=64)
def explain_table_row(run_path: str, frame: pd.DataFrame, row: int) -> Explanation:
    """`task.explain` for one 0-based row of a table."""
    run = load_run(run_path)
    return get_task(run.domain_name, run.task_name).explain(run, (frame, row))
