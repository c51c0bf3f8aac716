"""Fraud page: run metrics, threshold slider, task switch, uploads, explanations."""

import functools
import json

import pytest

from shared.domain import get_task

MODEL = "fraud_detection:model"
SOURCE = "fraud_detection:source"
UPLOAD = "fraud_detection:upload"
EXPLAIN_LABEL = "Transaction (highest-scored first)"
UPLOAD_SOURCE = "Upload CSV"


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _saved_metrics(demo_dir, task: str) -> dict:
    return json.loads((demo_dir / "fraud_detection" / task / "metrics.json").read_text())


def _upload(at, name: str, content: bytes):
    at.radio(key=SOURCE).set_value(UPLOAD_SOURCE).run()
    assert not at.exception, at.exception
    at.file_uploader(key=UPLOAD).set_value((name, content, "text/csv")).run()
    return at


@functools.cache
def _demo_table():
    return get_task("fraud_detection", "classifier").demo_frame(1000)  # the generator's minimum


def _demo_csv(rows: int = 300, drop: tuple[str, ...] = ()) -> bytes:
    return _demo_table().head(rows).drop(columns=list(drop)).to_csv(index=False).encode()


@functools.cache
def _demo_scores(demo_dir, task: str, rows: int = 2000):
    """(labels, scores) of the page's default demo table, scored by the task's demo model."""
    from shared.runs import Run

    t = get_task("fraud_detection", task)
    frame = t.demo_frame(rows)
    scores = t.score_frame(Run.open(demo_dir / "fraud_detection" / task), frame, "demo")["score"].to_numpy()
    return frame["is_fraud"].to_numpy(), scores


def _expected_counts(demo_dir, task: str, threshold: float) -> dict:
    from shared.evaluation.binary import confusion_at

    labels, scores = _demo_scores(demo_dir, task)
    return confusion_at(labels, scores, threshold)


def test_default_render_shows_run_metrics_curve_and_saved_threshold(fraud_page, demo_models):
    at = fraud_page
    saved = _saved_metrics(demo_models, "classifier")
    assert at.selectbox(key=MODEL).value == "classifier"
    assert any("synthetic" in w.value and "not use them for real decisions" in w.value for w in at.warning)
    shown = _metrics(at)
    assert shown["Test AUPRC"] == f"{saved['auprc']:.3f}"
    assert shown["ROC AUC"] == f"{saved['roc_auc']:.3f}"
    assert shown["Baseline AUPRC"] == f"{saved['baseline']['auprc']:.3f}"
    assert shown["Recall at saved threshold"] == f"{saved['at_threshold']['recall']:.3f}"
    assert any(saved["decision"]["reason"] in c.value for c in at.caption)
    # Demo data carries labels, so the labelled view: precision, recall, curve.
    slider = at.select_slider[0]
    assert slider.value == pytest.approx(saved["decision"]["threshold"])
    # The counts the page shows are those of the demo table (2,000 rows) at the slider's threshold.
    expected = _expected_counts(demo_models, "classifier", slider.value)
    assert int(shown["Alerts"].replace(",", "")) == expected["alerts"] > 0
    assert shown["Precision"] == f"{expected['precision']:.3f}" and shown["Recall"] == f"{expected['recall']:.3f}"
    assert shown["Frauds caught"] == f"{expected['tp']:,} of {expected['tp'] + expected['fn']:,}"
    assert len(at.image) >= 3  # PR curve, confusion matrix, attributions
    assert not at.error


def test_moving_the_threshold_changes_the_alert_count(fraud_page):
    at = fraud_page
    before = _metrics(at)
    slider = at.select_slider[0]
    highest = slider.options[-1]
    slider.set_value(float(highest)).run()  # a label parses back to a value with that label
    assert not at.exception, at.exception
    after = _metrics(at)
    assert int(after["Alerts"].replace(",", "")) < int(before["Alerts"].replace(",", ""))
    assert after["Alerts"] != before["Alerts"]
    assert after["Recall"] != before["Recall"]
    # The run's own metrics do not move with the slider.
    assert after["Test AUPRC"] == before["Test AUPRC"]


@pytest.mark.parametrize("task", ["anomaly", "sequence"])
def test_switching_task_scores_with_that_model(fraud_page, demo_models, task):
    at = fraud_page
    at.selectbox(key=MODEL).set_value(task).run()
    assert not at.exception, at.exception
    assert not at.error
    saved = _saved_metrics(demo_models, task)
    shown = _metrics(at)
    assert shown["Test AUPRC"] == f"{saved['auprc']:.3f}"
    assert at.select_slider[0].value == pytest.approx(saved["decision"]["threshold"])
    title = get_task("fraud_detection", task).title
    assert any(c.value.startswith(title) for c in at.caption)
    expected = _expected_counts(demo_models, task, at.select_slider[0].value)
    assert int(shown["Alerts"].replace(",", "")) == expected["alerts"]
    # The explained row is the highest-scored one, and its score is the model's.
    labels, scores = _demo_scores(demo_models, task)
    assert float(shown["Score"]) == pytest.approx(scores.max(), rel=1e-3)


def _non_numeric_csv() -> bytes:
    lines = _demo_csv().decode().splitlines()
    header = lines[0].split(",")
    first = lines[1].split(",")
    first[header.index("amount")] = "lots"
    return "\n".join([lines[0], ",".join(first), *lines[2:]]).encode()


def _nan_csv() -> bytes:
    lines = _demo_csv().decode().splitlines()
    header = lines[0].split(",")
    third = lines[3].split(",")
    third[header.index("hour")] = ""
    return "\n".join([*lines[:3], ",".join(third), *lines[4:]]).encode()


def _bad_label_csv() -> bytes:
    table = _demo_table().head(300).copy()
    table.loc[1, "is_fraud"] = 2
    return table.to_csv(index=False).encode()


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("no_amount.csv", lambda: _demo_csv(drop=("amount",)), "no_amount.csv is missing column(s) 'amount'"),
        ("words.csv", _non_numeric_csv, "words.csv: column 'amount' has non-numeric value 'lots' at row 1"),
        ("gaps.csv", _nan_csv, "gaps.csv: column 'hour' has 1 missing or infinite value(s), first at row 3"),
        ("empty.csv", lambda: b"", "data file is empty: empty.csv"),
        ("header_only.csv", lambda: b"amount,hour\n", "data file has a header but no rows: header_only.csv"),
        ("labels.csv", _bad_label_csv, "labels.csv: target column 'is_fraud' must hold 0 or 1, found 2 at row 2"),
        ("picture.csv", lambda: b"\x89PNG\r\n\x1a\n\x00\xff\xfe\x00" * 64, "could not read picture.csv as csv"),
    ],
    ids=["missing-column", "non-numeric", "nan", "empty", "header-only", "bad-label", "binary"],
)
def test_bad_upload_shows_one_error_box(fraud_page, name, make, message):
    at = _upload(fraud_page, name, make())
    assert not at.exception, at.exception
    assert len(at.error) == 1
    assert message in at.error[0].value
    assert "/tmp" not in at.error[0].value and "dlsuite-upload-" not in at.error[0].value
    # Nothing is scored from a bad table.
    assert "Alerts" not in _metrics(at)


def test_upload_source_waits_for_a_file(fraud_page):
    at = fraud_page
    at.radio(key=SOURCE).set_value(UPLOAD_SOURCE).run()
    assert not at.exception and not at.error
    assert any("Upload a CSV" in i.value for i in at.info)
    assert any("Needs columns: amount" in c.value for c in at.caption)


def test_unlabelled_upload_scores_and_slider_moves_alert_count(fraud_page):
    at = _upload(fraud_page, "unlabelled.csv", _demo_csv(rows=400, drop=("is_fraud",)))
    assert not at.exception and not at.error
    shown = _metrics(at)
    assert "Precision" not in shown and "Share of rows flagged" in shown
    assert any("no `is_fraud` column" in i.value for i in at.info)
    assert len(at.dataframe) >= 1
    at.select_slider[0].set_value(float(at.select_slider[0].options[0])).run()
    assert int(_metrics(at)["Alerts"].replace(",", "")) == 400  # the lowest score flags every row
    assert int(shown["Alerts"].replace(",", "")) < 400


def test_upload_with_one_label_class_shows_counts_but_no_curve(fraud_page):
    legit = _demo_table()
    legit = legit[legit["is_fraud"] == 0].head(300)
    at = _upload(fraud_page, "legit.csv", legit.to_csv(index=False).encode())
    assert not at.exception and not at.error
    shown = _metrics(at)
    assert shown["Frauds caught"] == "0 of 0"
    assert shown["Recall"] == "n/a" and shown["AUPRC on this data"] == "n/a"
    assert any("holds one class only" in i.value for i in at.info)
    assert len(at.image) == 2  # confusion matrix and attributions, no PR curve


def test_explain_shows_attributions_for_the_chosen_row(fraud_page):
    at = fraud_page
    picker = next(s for s in at.selectbox if s.label == EXPLAIN_LABEL)
    assert len(picker.options) == 25  # the highest-scored rows
    assert picker.index == 0
    first = _metrics(at)["Score"]
    assert any("integrated gradients" in c.value for c in at.caption)
    assert len(at.image) == 3  # PR curve, confusion matrix, attributions
    picker.select_index(len(picker.options) - 1).run()
    assert not at.exception, at.exception
    assert not at.error
    assert _metrics(at)["Score"] != first
    assert len(at.image) == 3


def _open_fraud_page(app_path):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(app_path), default_timeout=120).run()
    at.switch_page("pages/fraud_detection.py").run()
    assert not at.exception, at.exception
    return at


def test_without_demo_models_or_runs_the_page_says_how_to_get_one(no_demo_models, app_path):
    at = _open_fraud_page(app_path)
    warning = next(w.value for w in at.warning if "No demo model of Fraud detection" in w.value)
    assert "dlsuite demo --build --only fraud_detection" in warning and "dlsuite train fraud_detection" in warning
    assert not at.selectbox and not at.text_input
    assert not at.error
    assert "Alerts" not in _metrics(at)


def test_picker_offers_the_demo_models_and_the_runs_under_the_runs_root(demo_models, app_path, runs_root, copy_run, tmp_path):
    run_dir = copy_run(demo_models / "fraud_detection" / "anomaly", "fraud_detection/anomaly-20250101-120000")
    copy_run(demo_models / "medical_imaging" / "classifier", "medical_imaging/classifier-20250101-120000")  # another domain
    outside = copy_run(demo_models / "fraud_detection" / "classifier", "../outside")
    (runs_root / "fraud_detection" / "linked").symlink_to(outside, target_is_directory=True)
    at = _open_fraud_page(app_path)
    picker = at.selectbox(key=MODEL)
    assert picker.options == [
        *[f"{get_task('fraud_detection', t).title} - demo, synthetic data" for t in ("classifier", "anomaly", "sequence")],
        "fraud_detection/anomaly-20250101-120000 - trained run",
    ]
    assert picker.value == "classifier"
    assert not at.text_input  # no path is ever typed

    picker.set_value("run:fraud_detection/anomaly-20250101-120000").run()
    assert not at.exception and not at.error
    assert _metrics(at)["Test AUPRC"] == f"{json.loads((run_dir / 'metrics.json').read_text())['auprc']:.3f}"
    assert any(c.value.startswith(get_task("fraud_detection", "anomaly").title) for c in at.caption)


def _fake_run(path, domain: str, model_bytes: bytes):
    path.mkdir(parents=True)
    (path / "config.yaml").write_text(f"domain: {domain}\ntask: classifier\n")
    (path / "metadata.json").write_text("{}")
    (path / "model.keras").write_bytes(model_bytes)
    return path


def test_unloadable_run_under_the_root_shows_one_error_box(no_demo_models, app_path, runs_root):
    _fake_run(runs_root / "fraud_detection" / "broken", "fraud_detection", b"not a keras archive")
    at = _open_fraud_page(app_path)
    assert at.selectbox(key=MODEL).options == ["fraud_detection/broken - trained run"]
    assert not at.exception, at.exception
    assert len(at.error) == 1
    assert "model.keras could not be loaded" in at.error[0].value
