"""The navigation entry point runs and registers every page file."""

from pathlib import Path

from streamlit.testing.v1 import AppTest


def test_entry_opens_on_home(demo_models, app_path):
    at = AppTest.from_file(str(app_path), default_timeout=120).run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["dlsuite"]
    assert any("synthetic data only" in c.value for c in at.sidebar.caption)


def test_every_page_file_is_in_the_navigation(demo_models, app_path):
    at = AppTest.from_file(str(app_path), default_timeout=120).run()
    pages = sorted((Path(app_path).parent / "pages").glob("*.py"))
    assert {p.name for p in pages} >= {"home.py", "fraud_detection.py"}
    for page in pages:
        # switch_page raises for a file st.navigation did not register.
        at.switch_page(f"pages/{page.name}").run()
        assert not at.exception, (page.name, at.exception)
        assert at.title, page.name
