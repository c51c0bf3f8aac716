"""Pick a demo model of a domain, or type the path of a run directory."""

from __future__ import annotations

import streamlit as st

from shared.demo import available
from shared.domain import Domain
from shared.errors import RunError
from shared.runs import Run

TYPED_PATH = "__path__"


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
    typed = st.text_input(
        "Run directory",
        key=f"{domain.name}:run_path",
        placeholder=f"runs/{domain.name}/{domain.default_task}-20250101-120000",
        help=f"A directory written by `dlsuite train {domain.name}`.",
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
    return str(run.path)
