import json

import pytest

from shared import runs
from shared.errors import RunError


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "model.txt"
    runs.write_text(target, "v1")
    with pytest.raises(RuntimeError):
        with runs.atomic_path(target) as tmp:
            tmp.write_text("half-written")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "v1"
    assert [p.name for p in tmp_path.iterdir()] == ["model.txt"]


def test_atomic_directory_replace(tmp_path):
    target = tmp_path / "saved"
    for version in ("a", "b"):
        with runs.atomic_path(target) as tmp:
            tmp.mkdir()
            (tmp / "v").write_text(version)
    assert (target / "v").read_text() == "b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["saved"]


def test_write_json_makes_strict_json(tmp_path):
    import numpy as np

    runs.write_json(tmp_path / "m.json", {"a": np.float32(0.5), "nan": float("nan"), "inf": float("inf"), "n": np.int64(3)})
    data = json.loads((tmp_path / "m.json").read_text(), parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))
    assert data == {"a": 0.5, "nan": None, "inf": None, "n": 3}


def test_new_run_dir_never_reuses(tmp_path):
    a = runs.new_run_dir(tmp_path, "dom", "task", "name")
    b = runs.new_run_dir(tmp_path, "dom", "task", "name")
    assert a != b and a.exists() and b.exists()


def test_open_reports_problems(tmp_path):
    with pytest.raises(RunError, match="run directory not found"):
        runs.Run.open(tmp_path / "missing")
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(RunError, match="it is a file"):
        runs.Run.open(f)
    d = tmp_path / "partial"
    d.mkdir()
    runs.write_status(d, "running")
    with pytest.raises(RunError, match="incomplete: missing config.yaml, metadata.json, model.keras .status: running; resume it"):
        runs.Run.open(d)
    for name in runs.REQUIRED_FILES:
        (d / name).write_text("garbage{")
    with pytest.raises(RunError, match="metadata.json is unreadable"):
        runs.Run.open(d)


def test_status_keeps_start_time(tmp_path):
    runs.write_status(tmp_path, "running")
    started = json.loads((tmp_path / "status.json").read_text())["started"]
    runs.write_status(tmp_path, "complete")
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["state"] == "complete" and status["started"] == started


def test_unloadable_model_names_the_problem(tmp_path):
    (tmp_path / "config.yaml").write_text("domain: d\ntask: t\n")
    runs.write_json(tmp_path / "metadata.json", {})
    (tmp_path / "model.keras").write_bytes(b"not a zip archive")
    run = runs.Run.open(tmp_path)
    with pytest.raises(RunError, match="model.keras could not be loaded: model.keras is damaged or not a Keras archive"):
        run.model  # noqa: B018


def test_artefacts_get_the_mode_of_a_plain_open(tmp_path):
    from shared.evaluation import plots

    history = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}
    plots.save_figure(plots.training_curves(history), tmp_path / "curves.png")
    runs.write_json(tmp_path / "metrics.json", {"auprc": 0.5})
    (tmp_path / "plain.txt").write_text("x")
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes["curves.png"] == modes["metrics.json"] == modes["plain.txt"], modes


def test_json_text_is_strict():
    assert json.loads(runs.json_text({"x": float("nan"), "y": [float("-inf"), 1.5]})) == {"x": None, "y": [None, 1.5]}


def test_open_validates_each_run_file(tmp_path):
    (tmp_path / "config.yaml").write_text("domain: d\ntask: t\n")
    (tmp_path / "model.keras").write_bytes(b"")
    runs.write_json(tmp_path / "metadata.json", {"parameters": "many"})
    with pytest.raises(RunError, match=r"metadata.json at parameters: Input should be a valid integer .received 'many'.; restore"):
        runs.Run.open(tmp_path)
    runs.write_json(tmp_path / "metadata.json", {"domain": "d", "task": "other"})
    with pytest.raises(RunError, match="metadata.json describes a d 'other' run but config.yaml a d 't' run"):
        runs.Run.open(tmp_path)
    runs.write_json(tmp_path / "metadata.json", {})
    runs.write_json(tmp_path / "status.json", {"state": "done"})
    with pytest.raises(RunError, match="status.json at state: Input should be 'running', 'complete', 'failed' or 'interrupted' .received 'done'."):
        runs.Run.open(tmp_path)
    runs.write_status(tmp_path, "complete")
    (tmp_path / "config.yaml").write_text("domain: d\n")
    with pytest.raises(RunError, match="config.yaml at task: required key is missing"):
        runs.Run.open(tmp_path)
    (tmp_path / "config.yaml").write_text("- a list\n")
    with pytest.raises(RunError, match="config.yaml is not a mapping .received list."):
        runs.Run.open(tmp_path)
    (tmp_path / "config.yaml").write_text("domain: d\ntask: t\n")
    (tmp_path / "metrics.json").write_text("[1, 2]")
    with pytest.raises(RunError, match="metrics.json is not a JSON object .received list."):
        runs.Run.open(tmp_path)
