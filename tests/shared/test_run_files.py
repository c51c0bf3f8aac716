"""Malformed run directories through the real `dlsuite` command: one error line each.

Every case edits a copy of a committed demo run (data/demo_models), or of
the session's tiny trained fraud run, never the originals.
"""

import json
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from tests_support import one_error_line
from tests_support import run_cli as run

from shared import runs

DEMO_MODELS = Path(__file__).resolve().parents[2] / "data" / "demo_models"




def copy_run(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("saved_model", "*.png", "logs", "checkpoints"))
    return target


@pytest.fixture
def demo_run(tmp_path):
    """A copy of one committed demo run, e.g. `demo_run("fraud_detection", "classifier")`."""

    def make(domain: str, task: str) -> Path:
        source = DEMO_MODELS / domain / task
        if not (source / "model.keras").is_file():
            pytest.skip(f"demo model {domain}/{task} is not built (dlsuite demo --build)")
        return copy_run(source, tmp_path / f"{domain}-{task}")

    return make


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def rewrite_model_config(run_dir: Path, change) -> None:
    """Rewrite `config.json` inside the run's model.keras with `change(text) -> text`."""
    original = run_dir / "model.keras"
    rewritten = run_dir / "model.rewritten.keras"
    with zipfile.ZipFile(original) as zin, zipfile.ZipFile(rewritten, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item, change(data.decode()).encode() if item.filename == "config.json" else data)
    rewritten.replace(original)


# --- run metadata -------------------------------------------------------------------


def test_metadata_without_task_state(capsys, demo_run, fraud_csv):
    run_dir = demo_run("fraud_detection", "classifier")
    edit_json(run_dir / "metadata.json", lambda m: m.pop("task_state"))
    code, out, err = run(capsys, "predict", run_dir, fraud_csv)
    assert code == 2 and out == ""
    line = one_error_line(err)
    assert f"run directory {run_dir}: metadata.json at task_state: required key is missing" in line


def test_threshold_that_is_a_string(capsys, demo_run, fraud_csv):
    run_dir = demo_run("fraud_detection", "classifier")
    edit_json(run_dir / "metrics.json", lambda m: m["decision"].update(threshold="0.38"))
    code, out, err = run(capsys, "predict", run_dir, fraud_csv)
    assert code == 2 and out == ""
    assert "metrics.json at decision.threshold: Input should be a valid number (received '0.38')" in one_error_line(err)


@pytest.mark.parametrize(
    ("domain", "task", "change", "message"),
    [
        ("fraud_detection", "classifier", lambda s: s["columns"].update(numeric="amount"), "task_state.columns.numeric: Input should be a valid list (received 'amount')"),
        ("fraud_detection", "classifier", lambda s: s["columns"].pop("categorical"), "task_state.columns.categorical: required key is missing"),
        ("fraud_detection", "sequence", lambda s: s.pop("history"), "task_state.history: required key is missing"),
        ("fraud_detection", "sequence", lambda s: s["history"].update(length="8"), "task_state.history.length: Input should be a valid integer (received '8')"),
        ("medical_imaging", "classifier", lambda s: s.pop("classes"), "task_state.classes: required key is missing"),
        ("medical_imaging", "segmentation", lambda s: s["decoding"].update(resize="zoom"), "task_state.decoding.resize: Input should be 'pad' or 'stretch' (received 'zoom')"),
    ],
    ids=["numeric-not-a-list", "no-categorical", "no-history", "history-length-text", "no-classes", "unknown-resize"],
)
def test_malformed_task_state(capsys, demo_run, fraud_csv, tmp_path, domain, task, change, message):
    run_dir = demo_run(domain, task)
    edit_json(run_dir / "metadata.json", lambda m: change(m["task_state"]))
    inputs = fraud_csv if domain == "fraud_detection" else tmp_path / "image.png"
    code, out, err = run(capsys, "predict", run_dir, inputs)
    assert code == 2 and out == ""
    assert f"run directory {run_dir}: metadata.json at {message}" in one_error_line(err)


def test_metadata_of_another_task(capsys, demo_run, fraud_csv):
    run_dir = demo_run("fraud_detection", "classifier")
    shutil.copy(DEMO_MODELS / "fraud_detection" / "anomaly" / "metadata.json", run_dir / "metadata.json")
    code, _, err = run(capsys, "predict", run_dir, fraud_csv)
    assert code == 2
    assert "metadata.json describes a fraud_detection 'anomaly' run but config.yaml a fraud_detection 'classifier' run" in one_error_line(err)


# --- the model against the run ---------------------------------------------------------


def test_anomaly_model_in_a_classifier_run_is_refused(capsys, demo_run, fraud_csv):
    run_dir = demo_run("fraud_detection", "classifier")
    shutil.copy(DEMO_MODELS / "fraud_detection" / "anomaly" / "model.keras", run_dir / "model.keras")
    for command in (["predict", run_dir, fraud_csv], ["evaluate", run_dir, "--data", fraud_csv], ["explain", run_dir, fraud_csv, "--row", "1"]):
        code, out, err = run(capsys, *command)
        assert code == 2 and out == ""
        line = one_error_line(err)
        assert f"run directory {run_dir}: model.keras is not the 'mlp' model of this run: it has 3,884 parameters, metadata.json records 15,064" in line


def test_older_runs_without_a_signature_still_open(demo_run):
    run_dir = demo_run("medical_imaging", "segmentation")
    assert "signature" not in json.loads((run_dir / "metadata.json").read_text())
    model = runs.Run.open(run_dir).model
    assert tuple(model.outputs[0].shape[1:]) == (64, 64, 1)


def test_runs_record_and_check_their_model_signature(fraud_run, tmp_path):
    run_dir = copy_run(fraud_run, tmp_path / "run")
    signature = json.loads((run_dir / "metadata.json").read_text())["signature"]
    assert signature["outputs"] == [{"name": "scorer", "shape": [1], "dtype": "float32"}]
    assert all(spec["dtype"] in ("float32", "string") for spec in signature["inputs"])
    assert runs.Run.open(run_dir).model is not None

    first = signature["inputs"][0]["name"]
    edit_json(run_dir / "metadata.json", lambda m: m["signature"]["inputs"][0].update(shape=[5]))
    with pytest.raises(runs.RunError, match=rf"model.keras is not the 'mlp' model of this run: input '{first}' is \S+ \[.*\], metadata.json records \S+ \[5\]"):
        runs.Run.open(run_dir).model  # noqa: B018
    edit_json(run_dir / "metadata.json", lambda m: m["signature"]["outputs"][0].update(shape=[3]))
    edit_json(run_dir / "metadata.json", lambda m: m["signature"]["inputs"][0].update(shape=signature["inputs"][0]["shape"]))
    with pytest.raises(runs.RunError, match=r"output 'scorer' is float32 \[1\], metadata.json records float32 \[3\]"):
        runs.Run.open(run_dir).model  # noqa: B018


def test_truncated_model_is_reported_as_damaged(capsys, demo_run, fraud_csv):
    run_dir = demo_run("fraud_detection", "classifier")
    model = run_dir / "model.keras"
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    code, out, err = run(capsys, "predict", run_dir, fraud_csv)
    assert code == 2 and out == ""
    line = one_error_line(err)
    assert "model.keras is damaged or not a Keras archive" in line
    assert "not found" not in line.lower()


@pytest.mark.parametrize(
    ("change", "cause", "hint"),
    [
        (lambda t: t.replace('"embedding_dim": 8', '"embedding_dim": "eight"'), "(`embedding_dim` must be a positive integer. Received: embedding_dim='eight')", "another version of dlsuite or Keras"),
        (lambda t: t.replace("TabularEncoder", "NoSuchLayer"), "(Could not locate class 'NoSuchLayer')", "a class this installation does not define"),
    ],
    ids=["bad-layer-argument", "unknown-layer-class"],
)
def test_deserialization_error_keeps_its_cause(capsys, demo_run, fraud_csv, change, cause, hint):
    run_dir = demo_run("fraud_detection", "classifier")
    rewrite_model_config(run_dir, change)
    code, _, err = run(capsys, "predict", run_dir, fraud_csv)
    assert code == 2
    line = one_error_line(err)
    assert f"model.keras could not be loaded {cause}; it " in line and hint in line
    assert "register" not in line and "config=" not in line and len(line) < 400


# --- the smaller items ------------------------------------------------------------------


def test_evaluate_prints_strict_json(capsys, fraud_run, fraud_csv, tmp_path):
    legit = tmp_path / "legit.csv"
    frame = pd.read_csv(fraud_csv)
    frame[frame["is_fraud"] == 0].to_csv(legit, index=False)  # no fraud: AUPRC and recall are undefined
    code, out, _ = run(capsys, "evaluate", fraud_run, "--data", legit)
    assert code == 0
    metrics = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))
    assert metrics["auprc"] is None and metrics["rows"] == len(frame[frame["is_fraud"] == 0])


@pytest.mark.parametrize("row", ["999999", "0"])
def test_explain_row_out_of_range_names_it(capsys, demo_run, fraud_csv, row):
    run_dir = demo_run("fraud_detection", "classifier")
    code, out, err = run(capsys, "explain", run_dir, fraud_csv, "--row", row)
    assert code == 2 and out == ""
    assert f"row {row} is out of range: {fraud_csv} has 1500 rows; choose a row from 1 to 1500" in one_error_line(err)


def test_task_explain_counts_rows_from_one(demo_run, fraud_csv):
    from shared.domain import get_task
    from shared.errors import DataError

    frame = pd.read_csv(fraud_csv).head(5)
    opened = runs.Run.open(demo_run("fraud_detection", "classifier"))
    with pytest.raises(DataError, match="row 6 is out of range for a table of 5 rows; choose a row from 1 to 5"):
        get_task("fraud_detection", "classifier").explain(opened, (frame, 5))


def test_every_artefact_has_the_same_file_mode(fraud_run):
    modes = {name: (fraud_run / name).stat().st_mode & 0o777 for name in ("curves.png", "pr_curve.png", "metrics.json", "metadata.json", "model.keras")}
    assert len(set(modes.values())) == 1, modes


def test_arrays_mismatch_names_the_first_disagreement():
    import keras
    import numpy as np

    from shared.run_files import arrays_mismatch

    numeric = keras.Input((3,), name="numeric")
    text = keras.Input((2,), dtype="string", name="categorical")
    model = keras.Model([numeric, text], keras.layers.Dense(1)(numeric))
    good = {"numeric": np.zeros((4, 3), "float32"), "categorical": np.array([["a", "b"]] * 4, dtype=object)}
    assert arrays_mismatch(model, good) is None
    assert arrays_mismatch(model, {"numeric": good["numeric"]}) == "the model reads categorical, numeric; the inputs are numeric"
    assert "input 'numeric' has shape [3] in the model but [5]" in arrays_mismatch(model, {**good, "numeric": np.zeros((4, 5), "float32")})
    assert "input 'categorical' is string in the model but numeric" in arrays_mismatch(model, {**good, "categorical": np.zeros((4, 2))})
