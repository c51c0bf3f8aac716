"""Home page: domains, tasks, demo-model status and retraining commands."""

from streamlit.testing.v1 import AppTest

from shared.domain import discover, get_domain

HOME = "pages/home.py"


def _open_home(app_path):
    at = AppTest.from_file(str(app_path), default_timeout=120).run()
    at.switch_page(HOME).run()
    assert not at.exception, at.exception
    return at


def test_home_lists_fraud_tasks_with_ready_demo_models(demo_models, app_path):
    at = _open_home(app_path)
    domain = get_domain("fraud_detection")
    assert "Fraud detection" in [h.value for h in at.header]
    titles = [s.value for s in at.subheader]
    for _name, task in domain.tasks.items():
        assert task.title in titles
    assert len(at.success) == sum(len(d.tasks) for _, d in discover().items())
    assert not at.warning
    commands = [c.value for c in at.code]
    assert "dlsuite train fraud_detection --task classifier --data your.csv" in commands
    assert "dlsuite train fraud_detection --task sequence --data your.csv" in commands
    assert "dlsuite train medical_imaging --task classifier --data your_images/" in commands  # a folder for image tasks
    assert any("synthetic data only" in m.value for m in at.markdown)


def test_home_says_how_to_build_missing_demo_models(no_demo_models, app_path):
    at = _open_home(app_path)
    assert not at.success
    assert len(at.warning) == sum(len(d.tasks) for _, d in discover().items())
    assert sum("dlsuite demo --build --only fraud_detection" in w.value for w in at.warning) == 3
