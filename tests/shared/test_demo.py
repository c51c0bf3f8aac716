"""What the demo app may open: the demo models and the runs under the runs root, nothing else."""

from pathlib import Path

import pytest

from shared import demo
from shared.domain import discover
from shared.errors import RunError


def _run(path: Path, domain: str = "fraud_detection", task: str = "classifier") -> Path:
    path.mkdir(parents=True)
    (path / "config.yaml").write_text(f"domain: {domain}\ntask: {task}\n")
    (path / "metadata.json").write_text("{}")
    (path / "model.keras").write_bytes(b"weights")
    return path


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "runs"
    monkeypatch.setenv(demo.RUNS_ROOT_ENV, str(root))
    monkeypatch.setenv("DLSUITE_DEMO_DIR", str(tmp_path / "demo_models"))
    return root


def test_runs_root_defaults_to_runs_under_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.delenv(demo.RUNS_ROOT_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert demo.runs_root() == tmp_path / "runs"
    monkeypatch.setenv(demo.RUNS_ROOT_ENV, str(tmp_path / "elsewhere"))
    assert demo.runs_root() == tmp_path / "elsewhere"


def test_trained_runs_lists_complete_runs_of_the_domain_and_task(root, tmp_path):
    _run(root / "fraud_detection" / "classifier-20250101-120000")
    _run(root / "fraud_detection" / "anomaly-20250101-120000", task="anomaly")
    _run(root / "fraud-mw")  # `dlsuite train --run-dir ROOT/fraud-mw`
    _run(root / "medical_imaging" / "classifier-20250101-120000", domain="medical_imaging")
    incomplete = _run(root / "fraud_detection" / "classifier-20250102-120000")
    (incomplete / "model.keras").unlink()
    _run(root / "fraud_detection" / ".classifier.staging")
    (root / "fraud_detection" / "notes.txt").write_text("not a run")
    _run(root / "deep" / "er" / "run")  # below the listed depths

    assert list(demo.trained_runs("fraud_detection")) == [
        "fraud-mw",
        "fraud_detection/anomaly-20250101-120000",
        "fraud_detection/classifier-20250101-120000",
    ]
    assert demo.trained_runs("fraud_detection", "classifier") == {
        "fraud-mw": root / "fraud-mw",
        "fraud_detection/classifier-20250101-120000": root / "fraud_detection" / "classifier-20250101-120000",
    }
    assert list(demo.trained_runs("medical_imaging", "segmentation")) == []


def test_trained_runs_leaves_out_whatever_resolves_outside_the_root(root, tmp_path):
    outside = _run(tmp_path / "outside" / "run")
    (root / "fraud_detection").mkdir(parents=True)
    (root / "fraud_detection" / "linked-run").symlink_to(outside, target_is_directory=True)
    linked_model = _run(root / "fraud_detection" / "linked-model")
    (linked_model / "model.keras").unlink()
    (linked_model / "model.keras").symlink_to(outside / "model.keras")
    inner = _run(root / "fraud_detection" / "real")
    (root / "fraud_detection" / "alias").symlink_to(inner, target_is_directory=True)  # stays inside: listed

    assert list(demo.trained_runs("fraud_detection")) == ["fraud_detection/alias", "fraud_detection/real"]


def test_a_symlinked_root_still_lists_its_runs(tmp_path, monkeypatch):
    real = tmp_path / "real-runs"
    _run(real / "fraud_detection" / "classifier-1")
    (tmp_path / "runs").symlink_to(real, target_is_directory=True)
    monkeypatch.setenv(demo.RUNS_ROOT_ENV, str(tmp_path / "runs"))
    assert list(demo.trained_runs("fraud_detection")) == ["fraud_detection/classifier-1"]


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_trained_runs_of_a_missing_root_is_empty(root, kind):
    if kind == "file":
        root.write_text("")
    assert demo.trained_runs("fraud_detection") == {}


def test_servable_run_accepts_demo_models_and_runs_under_the_root(root, tmp_path):
    listed = _run(root / "fraud_detection" / "classifier-1")
    demo_model = _run(tmp_path / "demo_models" / "fraud_detection" / "classifier")
    assert demo.servable_run(str(listed)) == listed
    assert demo.servable_run(demo_model) == demo_model


@pytest.mark.parametrize("where", ["outside", "dotdot", "symlink"])
def test_servable_run_refuses_every_other_path(root, tmp_path, where):
    outside = _run(tmp_path / "outside")
    root.mkdir()
    path = {
        "outside": outside,
        "dotdot": root / ".." / "outside",
        "symlink": root / "link",
    }[where]
    if where == "symlink":
        path.symlink_to(outside, target_is_directory=True)
    with pytest.raises(RunError, match=r"is neither a demo model nor a run under the runs root \(DLSUITE_RUNS_ROOT\)"):
        demo.servable_run(path)


@pytest.mark.parametrize("config", ["domain: fraud_detection\ntask: classifier\nwhen: 2023-02-30\n", b"domain: \xff\xfe\n", "a: " + "[" * 5000])
def test_a_hostile_config_yaml_leaves_the_run_out_instead_of_failing(root, config):
    run = _run(root / "fraud_detection" / "classifier-20250101-120000")
    _run(root / "fraud_detection" / "classifier-20250102-120000")
    (run / "config.yaml").write_bytes(config if isinstance(config, bytes) else config.encode())
    assert list(demo.trained_runs("fraud_detection")) == ["fraud_detection/classifier-20250102-120000"]


@pytest.mark.parametrize("name", discover().names())
def test_every_domain_ships_its_demo_models(name):
    """A domain's own tests skip what needs a demo model not built yet (`tests_support.demo_run`); this does not let it pass unseen."""
    domain = discover().get(name)
    shipped = demo.REPO_ROOT / "data" / "demo_models" / name
    missing = [t for t in domain.demo_tasks if not (shipped / t / "model.keras").is_file()]
    assert not missing, f"{name} has no demo model for {missing}; build them with `dlsuite demo --build --only {name}`"
    assert domain.demo_tasks, f"{name} declares no demo tasks; the app would have no model to show"
