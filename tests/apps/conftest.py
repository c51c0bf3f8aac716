"""Fixtures for the Streamlit app tests.

The app reads demo models from `DLSUITE_DEMO_DIR` and trained runs from
`DLSUITE_RUNS_ROOT`; every test pins both, to the demo models committed
under data/demo_models or to an empty folder, and to a runs root of its own
(empty unless the test copies runs into it), so the result never depends on what else
is on the machine.
"""

import shutil
from pathlib import Path

import pytest

from shared.demo import RUNS_ROOT_ENV

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "apps" / "app.py"
DEMO_MODELS = ROOT / "data" / "demo_models"
TIMEOUT = 120


@pytest.fixture(autouse=True)
def runs_root(monkeypatch, tmp_path) -> Path:
    """An empty runs root for the app; tests put runs in it with `copy_run`."""
    root = tmp_path / "runs"
    root.mkdir()
    monkeypatch.setenv(RUNS_ROOT_ENV, str(root))
    return root


@pytest.fixture
def copy_run(runs_root):
    """`copy_run(source, name)`: copy the run directory `source` to `name` under the runs root (serving export left out)."""

    def copy(source: Path, name: str) -> Path:
        target = runs_root / name
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("saved_model"))
        return target

    return copy


@pytest.fixture
def demo_models(monkeypatch) -> Path:
    """Point the app at the committed demo models."""
    missing = [t for t in ("classifier", "anomaly", "sequence") if not (DEMO_MODELS / "fraud_detection" / t / "model.keras").is_file()]
    assert not missing, f"demo models missing under {DEMO_MODELS}: {missing}; build them with `dlsuite demo --build`"
    monkeypatch.setenv("DLSUITE_DEMO_DIR", str(DEMO_MODELS))
    return DEMO_MODELS


@pytest.fixture
def no_demo_models(monkeypatch, tmp_path) -> Path:
    """Point the app at an empty demo folder."""
    empty = tmp_path / "demo_models"
    empty.mkdir()
    monkeypatch.setenv("DLSUITE_DEMO_DIR", str(empty))
    return empty


@pytest.fixture
def app_path() -> Path:
    return APP


@pytest.fixture
def fraud_page(demo_models):
    """The fraud page opened through the app's navigation, first run done."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    at.switch_page("pages/fraud_detection.py").run()
    assert not at.exception, at.exception
    return at
