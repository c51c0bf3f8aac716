"""The generic page of a domain that has no page of its own.

Every domain found by `shared.domain.discover()` is in the app. One with a
page at `apps/pages/<domain>.py` gets that page; any other gets this one:
a model picker, example inputs or an upload read with the task's own reader
(`Task.predict`), the prediction table, and the run's metrics, training
curves and model card. It uses only the declared Task API, so a domain made
with `dlsuite new` is shown with no edit to the app.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from apps.components.loading import load_run
from apps.components.metric_cards import metric_cards
from apps.components.model_picker import pick_run
from apps.components.uploads import saved_upload
from shared import inputs
from shared.domain import Domain, get_task
from shared.errors import DlsuiteError

CURRENT_DOMAIN = "dlsuite:generic-domain"  # session key: the domain whose generic page is open (set by apps/app.py)
EXAMPLES = "Example inputs (synthetic)"
UPLOAD = "Upload a file"
HEADLINE_CARDS = 4  # cards in the first row; the rest are in the metrics table


@st.cache_data(show_spinner="Scoring the example inputs...", max_entries=16)
def predict_examples(run_path: str) -> pd.DataFrame:
    """`task.predict` on the task's own synthetic example inputs (`write_examples`)."""
    run = load_run(run_path)
    task = get_task(run.domain_name, run.task_name)
    with tempfile.TemporaryDirectory(prefix="dlsuite-examples-") as folder:
        examples = task.write_examples(Path(folder))
        return task.predict(run, list(examples.predict))


@st.cache_data(show_spinner="Scoring the upload...", max_entries=16)
def predict_upload(run_path: str, name: str, data: bytes) -> pd.DataFrame:
    """`task.predict` on one uploaded file, read with the task's reader; raises `DlsuiteError`."""
    run = load_run(run_path)
    task = get_task(run.domain_name, run.task_name)
    with saved_upload(name, data, default_name="upload" + inputs.SUFFIXES[task.input_kind.value][0]) as path:
        table = task.predict(run, [path])
    if "input" in table.columns:
        table["input"] = table["input"].astype(str).str.replace(str(path), Path(name).name, regex=False)
    return table


def headline(metrics: dict) -> dict:
    """The first few numeric top-level metrics, for the cards."""
    flat = {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return dict(list(flat.items())[:HEADLINE_CARDS])


def flat_metrics(metrics: dict, prefix: str = "") -> list[tuple[str, str]]:
    """Every scalar metric as (dotted name, value text), nested sections flattened."""
    rows = []
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += flat_metrics(value, f"{name}.")
        elif isinstance(value, (int, float, str, bool)) or value is None:
            rows.append((name, value if isinstance(value, str) else json.dumps(value)))
    return rows


def render(domain: Domain) -> None:
    """Draw the generic page of `domain`."""
    st.title(domain.title)
    st.write(domain.description)
    st.warning(
        "Demo models learned the domain's **synthetic** demo data; their outputs show how the pipeline works, "
        f"not how it would do on yours. Retrain with `dlsuite train {domain.name} --data {inputs.OWN_DATA[domain.task().input_kind.value]}`.",
        icon=":material/science:",
    )
    run_path = pick_run(domain)
    if run_path is None:
        return
    try:
        run = load_run(run_path)
    except DlsuiteError as exc:
        st.error(str(exc))
        return
    task = domain.task(run.task_name)
    st.caption(f"{task.title}: {task.description} Score: {task.score_meaning}.")
    predict_tab, metrics_tab, card_tab = st.tabs(["Predict", "Metrics and curves", "Model card"])

    with predict_tab:
        source = st.radio("Inputs", [EXAMPLES, UPLOAD], horizontal=True, key=f"{domain.name}:inputs")
        try:
            if source == EXAMPLES:
                table = predict_examples(run_path)
            else:
                suffixes = [s.lstrip(".") for s in (*inputs.SUFFIXES[task.input_kind.value], *task.extra_suffixes())]
                upload = st.file_uploader(f"A {task.input_kind.value} file", type=suffixes, key=f"{domain.name}:upload")
                if upload is None:
                    st.info(f"Upload a {task.input_kind.value} file ({', '.join(suffixes)}) to score it.")
                    table = None
                else:
                    table = predict_upload(run_path, upload.name, upload.getvalue())
        except DlsuiteError as exc:
            st.error(str(exc))
            table = None
        if table is not None:
            st.dataframe(table, hide_index=True, width="stretch")
            st.download_button("Download predictions (CSV)", table.to_csv(index=False), file_name="predictions.csv", mime="text/csv")

    with metrics_tab:
        metrics = run.metrics
        if not metrics:
            st.info("This run has no metrics.json.")
        else:
            metric_cards(headline(metrics))
            st.dataframe(pd.DataFrame(flat_metrics(metrics), columns=["metric", "value"]), hide_index=True, width="stretch")
        for picture in sorted(Path(run.path).glob("*.png")):
            st.image(str(picture), caption=picture.stem.replace("_", " "))

    with card_tab:
        card = Path(run.path) / "model_card.md"
        if card.is_file():
            st.markdown(card.read_text(encoding="utf-8", errors="replace"))
        else:
            st.info("This run has no model card.")
