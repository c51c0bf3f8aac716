"""The navigation is built from the discovered domains; each gets its own page or the generic one."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from shared.domain import discover

DOMAINS = discover().names()
PAGES = Path(__file__).resolve().parents[2] / "apps" / "pages"


def test_entry_opens_on_home(demo_models, app_path):
    at = AppTest.from_file(str(app_path), default_timeout=120).run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["dlsuite"]
    assert any("synthetic data only" in c.value for c in at.sidebar.caption)


def test_the_navigation_has_home_and_one_page_per_discovered_domain(demo_models, app_path):
    at = AppTest.from_file(str(app_path), default_timeout=120).run()
    registered = {info.get("url_pathname") for info in at._registered_pages.values()}
    assert registered >= {name.replace("_", "-") for name in DOMAINS}  # URLs unlike the page files' names
    assert len(registered) == len(DOMAINS) + 1  # and home


@pytest.mark.parametrize("name", [n for n in DOMAINS if (PAGES / f"{n}.py").is_file()])
def test_a_domain_with_a_page_file_gets_it(demo_models, app_path, name):
    at = AppTest.from_file(str(app_path), default_timeout=120).run()
    # switch_page raises for a file st.navigation did not register.
    at.switch_page(f"pages/{name}.py").run()
    assert not at.exception, (name, at.exception)
    assert [t.value for t in at.title] == [discover().get(name).title]


def _generic_page(domain_name: str):
    from apps.components.domain_page import render
    from shared.domain import get_domain

    render(get_domain(domain_name))


@pytest.mark.parametrize("name", DOMAINS)
def test_the_generic_page_shows_predictions_metrics_and_the_model_card(demo_models, name):
    """Every discovered domain works on the generic page, which a domain without a page file gets."""
    at = AppTest.from_function(_generic_page, args=(name,), default_timeout=180).run()
    assert not at.exception, (name, at.exception)
    assert [t.value for t in at.title] == [discover().get(name).title]
    assert not at.error, [e.value for e in at.error]
    assert any("synthetic" in w.value for w in at.warning)
    predictions = at.dataframe[0].value
    assert len(predictions) >= 1 and predictions.notna().all().all(), predictions
    assert len(at.metric) >= 1  # the headline cards
    assert any(m.value.startswith("# Model card") for m in at.markdown), "model card not shown"


@pytest.mark.parametrize("name", DOMAINS)
def test_the_generic_page_reads_an_upload_of_the_wrong_kind_as_one_error(demo_models, name):
    at = AppTest.from_function(_generic_page, args=(name,), default_timeout=180).run()
    at.radio[0].set_value("Upload a file").run()
    assert not at.exception, at.exception
    assert at.info and "Upload a" in at.info[0].value
