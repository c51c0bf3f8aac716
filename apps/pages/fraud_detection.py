"""Fraud detection: score transactions, choose an alert threshold, explain one score.

Everything model-related goes through the fraud task's API
(`score_frame`, `explain`, `demo_frame`) via the cached loaders in
`apps.components.loading`; this page only lays the results out.
"""

import numpy as np
import pandas as pd
import streamlit as st

from apps.components import plots
from apps.components.failure import fail
from apps.components.loading import demo_frame, explain_table_row, load_run, score_frame
from apps.components.metric_cards import metric_cards
from apps.components.model_picker import pick_run
from apps.components.threshold import format_threshold, threshold_slider
from apps.components.uploads import uploaded_table
from domains.fraud_detection.task import saved_threshold
from shared.data.tables import binary_column
from shared.domain import get_domain
from shared.errors import DlsuiteError
from shared.evaluation.binary import average_precision, confusion_at

DOMAIN = "fraud_detection"
DEMO_SOURCE = "Demo transactions (synthetic, held out)"
UPLOAD_SOURCE = "Upload CSV"
DEMO_ROWS = [1000, 2000, 5000, 20000]  # 2000 keeps the page quick on a laptop
TOP_ROWS = 25


domain = get_domain(DOMAIN)
st.title(domain.title)
st.warning(
    "The demo models learned **synthetic** card transactions from the suite's generator, not real "
    "payments. Their scores show how the pipeline works; do not use them for real decisions. "
    f"Retrain on your own data with `dlsuite train {DOMAIN} --task <task> --data your.csv`.",
    icon=":material/science:",
)

model_column, data_column = st.columns(2)
with model_column:
    run_path = pick_run(domain)
if run_path is None:
    st.stop()
try:
    run = load_run(run_path)
except DlsuiteError as exc:
    fail(exc)
task = domain.task(run.task_name)
columns = run.state["columns"]
target = columns["target"]
with model_column:
    st.caption(f"{task.title}: {task.description} Score: {task.score_meaning}.")

with data_column:
    source_kind = st.radio("Data", [DEMO_SOURCE, UPLOAD_SOURCE], horizontal=True, key=f"{DOMAIN}:source")
    try:
        if source_kind == DEMO_SOURCE:
            rows = st.selectbox("Rows", DEMO_ROWS, index=DEMO_ROWS.index(2000), key=f"{DOMAIN}:rows")
            frame, source = demo_frame(DOMAIN, run.task_name, rows), "demo transactions"
        else:
            needed = columns["numeric"] + columns["categorical"]
            if "history" in run.state:
                needed += [c for c in (columns.get("card"), columns.get("time")) if c]
            st.caption(f"Needs columns: {', '.join(needed)}; optional: `{target}` (0/1 labels) to measure precision and recall.")
            upload = uploaded_table("Transactions CSV", key=f"{DOMAIN}:upload")
            if upload is None:
                st.info("Upload a CSV of transactions to score it.")
                st.stop()
            frame, source = upload
    except DlsuiteError as exc:
        fail(exc)

try:
    scored = score_frame(run_path, frame, source)
    labels = binary_column(frame, target, source) if target in frame.columns else None
except DlsuiteError as exc:
    fail(exc)
scores = scored["score"].to_numpy(dtype="float64")
both_classes = labels is not None and 0 < int(labels.sum()) < len(labels)

# --- the run's own evaluation ---------------------------------------------------
metrics = run.metrics
decision = metrics.get("decision", {})
saved = saved_threshold(run)
st.subheader("How the model did on its test split")
metric_cards(
    {
        "Test AUPRC": metrics.get("auprc"),
        "ROC AUC": metrics.get("roc_auc"),
        "Baseline AUPRC": metrics.get("baseline", {}).get("auprc"),
        "Beats baseline": metrics.get("beats_baseline"),
        "Recall at saved threshold": metrics.get("at_threshold", {}).get("recall"),
        "Saved threshold": format_threshold(saved),
    },
    helps={
        "Test AUPRC": "Area under the precision-recall curve on the run's held-out test split.",
        "Baseline AUPRC": "A logistic regression fitted on the same split; the network should beat it.",
        "Beats baseline": "Whether the network's test AUPRC is above the logistic-regression baseline's.",
        "Saved threshold": "Chosen on the validation split by the cost of false alerts and missed frauds.",
    },
    per_row=3,
)
if decision.get("reason"):
    st.caption(f"Why this threshold: {decision['reason']}.")

# --- threshold on this data ---------------------------------------------------------
st.subheader(f"Alerts on {source} ({len(frame):,} rows)")
threshold = threshold_slider(scores, saved, labels)
flagged = scores >= threshold
if labels is not None:
    counts = confusion_at(labels, scores, threshold)
    metric_cards(
        {
            "Alerts": counts["alerts"],
            "Precision": counts["precision"],
            "Recall": counts["recall"],
            "Frauds caught": f"{counts['tp']:,} of {counts['tp'] + counts['fn']:,}",
            "AUPRC on this data": average_precision(labels, scores) if both_classes else None,
        },
        per_row=3,
    )
    curve_column, matrix_column = st.columns(2)
    with curve_column:
        if both_classes:
            plots.pr_curve(labels, scores, threshold=threshold)
        else:
            st.info(f"`{target}` holds one class only, so there is no precision-recall curve.")
    with matrix_column:
        plots.confusion_matrix(counts)
else:
    metric_cards({"Alerts": int(flagged.sum()), "Share of rows flagged": f"{flagged.mean():.2%}"})
    st.info(f"This table has no `{target}` column, so precision and recall cannot be measured; the highest-scored rows are below.")

# --- highest-scored rows -------------------------------------------------------------
st.subheader("Highest-scored transactions")
table = scored.rename(columns={"decision": "decision (saved threshold)"})
if "row" not in table.columns:
    table.insert(0, "row", np.arange(1, len(table) + 1))
table["at this threshold"] = np.where(flagged, "alert", "pass")
raw = frame.reset_index(drop=True)
table = pd.concat([table, raw.drop(columns=[c for c in raw.columns if c in table.columns])], axis=1)
top = table.sort_values("score", ascending=False, kind="stable").head(TOP_ROWS)
st.dataframe(top, hide_index=True)

# --- explain one score -------------------------------------------------------------
st.subheader("Explain one transaction")
identifier = columns.get("identifier") if columns.get("identifier") in table.columns else None


def describe(position: int) -> str:
    name = f" - {table[identifier].iloc[position]}" if identifier else ""
    return f"row {position + 1}{name} - score {scores[position]:.4g}"


# Keyed by run: another model starts again from its own highest-scored row.
position = st.selectbox("Transaction (highest-scored first)", top.index.tolist(), format_func=describe, key=f"{DOMAIN}:explain:{run_path}")
with st.spinner("Explaining the score with integrated gradients..."):
    try:
        explanation = explain_table_row(run_path, frame, int(position))
    except DlsuiteError as exc:
        fail(exc)
chart_column, facts_column = st.columns([3, 2])
with chart_column:
    plots.attributions(explanation, title=f"What moved the score of row {position + 1}")
with facts_column:
    metric_cards({"Score": explanation.score, "Baseline score": explanation.baseline_score}, float_format="{:.5g}")
    st.caption("Red bars push the score up, blue bars pull it down; together they account for the score minus the baseline score.")
    st.caption(f"Method: {explanation.method}.")
    with st.expander("The transaction's values"):
        st.dataframe(raw.iloc[[position]].T.astype(str))
