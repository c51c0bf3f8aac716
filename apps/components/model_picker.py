"""Pick a demo model of a domain, or type the path of a run directory.

`pick_run` offers every task of a domain; `pick_task_run` one task only, for
pages that use several models side by side (e.g. a classifier and an
optional segmentation model).
"""

from __future__ import annotations

import streamlit as st

from shared.demo import available
from shared.domain import Domain
from shared.errors import RunError
from shared.runs import Run

TYPED_PATH = "__path__"
NO_MODEL = "__none__"


def pick_run(domain: Domain) -> str | None:
    """Show the picker; return the chosen run directory as a string, or None.

    Lists the tasks of `domain` whose demo model is built, plus "a run
    directory..." for runs trained with `dlsuite train`. A typed path is
    checked with `Run.open`; a bad one shows one error box and returns None.
    """
    demos = available(domain)
    if not demos:
        st.warning(
            f"No demo model of {domain.title} is built yet. Build them with "
            f"`dlsuite demo --build --only {domain.name}`, or type the path of a run directory."
        )
    # The domain's default task first, so the page opens on its main model.
    options = sorted(demos, key=lambda name: name != domain.default_task) + [TYPED_PATH]

    def label(option: str) -> str:
        if option == TYPED_PATH:
            return "A run directory..."
        return f"{domain.task(option).title} - demo, synthetic data"

    choice = st.selectbox("Model", options, format_func=label, key=f"{domain.name}:model")
    if choice != TYPED_PATH:
        return str(demos[choice])
    return _typed_run(domain, key=f"{domain.name}:run_path")


def _typed_run(domain: Domain, key: str, task: str | None = None, label: str = "Run directory") -> str | None:
    """A text box for a run directory of `domain` (and of `task`, when given); None until a valid one is typed."""
    typed = st.text_input(
        label,
        key=key,
        placeholder=f"runs/{domain.name}/{task or domain.default_task}-20250101-120000",
        help=f"A directory written by `dlsuite train {domain.name}" + (f" --task {task}`." if task else "`."),
    ).strip()
    if not typed:
        st.info("Type the path of a run directory to use it.")
        return None
    try:
        run = Run.open(typed)
    except RunError as exc:
        st.error(str(exc))
        return None
    if run.domain_name != domain.name:
        st.error(f"{typed} is a {run.domain_name!r} run; pick a {domain.name!r} run directory")
        return None
    if task is not None and run.task_name != task:
        st.error(f"{typed} is a {run.task_name!r} run; pick a {task!r} run directory of {domain.name}")
        return None
    return str(run.path)


def pick_task_run(domain: Domain, task: str, *, key: str, label: str = "Model", optional: bool = False) -> str | None:
    """Pick the demo model of one task of `domain`, or type a run directory of that task.

    Args:
        domain: Domain. The page's domain.
        task: str. The task whose runs are offered.
        key: str. Widget key of the selectbox; the text box uses `key + ":run_path"`.
        label: str. Label of the selectbox. Defaults to `"Model"`.
        optional: bool. Also offer "None", and say nothing when the demo
            model is missing. Defaults to `False`.

    Returns:
        The chosen run directory as a string, or None (none chosen, or a
        typed directory that is missing, incomplete or of another task; one
        error box says which).
    """
    demo = available(domain).get(task)
    title = domain.task(task).title
    if demo is None and not optional:
        st.warning(
            f"No demo model of {domain.title} ({title}) is built yet. Build it with "
            f"`dlsuite demo --build --only {domain.name}`, or type the path of a run directory."
        )
    options = ([task] if demo is not None else []) + ([NO_MODEL] if optional else []) + [TYPED_PATH]
    names = {task: f"{title} - demo, synthetic data", NO_MODEL: "None", TYPED_PATH: "A run directory..."}
    choice = st.selectbox(label, options, format_func=names.__getitem__, key=key)
    if choice == task:
        return str(demo)
    if choice == NO_MODEL:
        return None
    return _typed_run(domain, key=f"{key}:run_path", task=task, label=f"{label}: run directory")
