"""Pick a model of a domain: one of its demo models, or a run under the runs root.

`pick_run` offers every task of a domain; `pick_task_run` one task only, for
pages that use several models side by side (e.g. a classifier and an
optional segmentation model). A visitor only ever picks from a list: the
demo models (`shared.demo.available`) and the complete runs found under the
runs root (`shared.demo.trained_runs`, set with `dlsuite demo --runs-root`).
No path is ever typed in the page.
"""

from __future__ import annotations

import streamlit as st

from shared.demo import available, trained_runs
from shared.domain import Domain

NO_MODEL = "__none__"
RUN_OPTION = "run:"  # prefix of a trained run's option, followed by its path under the runs root
ROOT_HINT = "the runs root (`dlsuite demo --runs-root DIR`, default `runs/`)"


def pick_run(domain: Domain) -> str | None:
    """Show the picker; return the chosen run directory as a string, or None.

    Lists the tasks of `domain` whose demo model is built (the default task
    first), then the runs of `domain` under the runs root. With neither, one
    warning says how to get a model and None is returned.
    """
    demos = available(domain)
    runs = trained_runs(domain.name)
    if not demos and not runs:
        st.warning(
            f"No demo model of {domain.title} is built yet, and no {domain.name} run is under {ROOT_HINT}. "
            f"Build the demo models with `dlsuite demo --build --only {domain.name}`, or train one with "
            f"`dlsuite train {domain.name}`."
        )
        return None
    paths = {task: str(path) for task, path in sorted(demos.items(), key=lambda item: item[0] != domain.default_task)}
    paths |= {RUN_OPTION + name: str(path) for name, path in runs.items()}

    def label(option: str) -> str:
        if option.startswith(RUN_OPTION):
            return f"{option.removeprefix(RUN_OPTION)} - trained run"
        return f"{domain.task(option).title} - demo, synthetic data"

    choice = st.selectbox("Model", list(paths), format_func=label, key=f"{domain.name}:model")
    return paths[choice]


def pick_task_run(domain: Domain, task: str, *, key: str, label: str = "Model", optional: bool = False) -> str | None:
    """Pick the demo model of one task of `domain`, or one of that task's runs under the runs root.

    Args:
        domain: Domain. The page's domain.
        task: str. The task whose models are offered.
        key: str. Widget key of the selectbox.
        label: str. Label of the selectbox. Defaults to `"Model"`.
        optional: bool. Also offer "None", and say nothing when no model
            exists. Defaults to `False`.

    Returns:
        The chosen run directory as a string, or None ("None" chosen, or no
        model of the task exists; a warning says how to get one unless
        `optional`).
    """
    demo = available(domain).get(task)
    runs = trained_runs(domain.name, task)
    title = domain.task(task).title
    if demo is None and not runs and not optional:
        st.warning(
            f"No demo model of {domain.title} ({title}) is built yet, and no {task} run of {domain.name} is under "
            f"{ROOT_HINT}. Build it with `dlsuite demo --build --only {domain.name}`, or train one with "
            f"`dlsuite train {domain.name} --task {task}`."
        )
        return None
    paths: dict[str, str | None] = {task: str(demo)} if demo is not None else {}
    paths |= {RUN_OPTION + name: str(path) for name, path in runs.items()}
    if optional:
        paths[NO_MODEL] = None

    def option_label(option: str) -> str:
        if option == NO_MODEL:
            return "None"
        if option.startswith(RUN_OPTION):
            return f"{option.removeprefix(RUN_OPTION)} - trained run"
        return f"{title} - demo, synthetic data"

    choice = st.selectbox(label, list(paths), format_func=option_label, key=key)
    return paths[choice]
