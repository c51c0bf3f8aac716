"""dlsuite demo app: the one multipage entry point.

Run it from the repository root with `dlsuite demo`: it listens on
127.0.0.1, limits uploads and tells the pages which runs root to offer
(`DLSUITE_RUNS_ROOT`). A bare `streamlit run apps/app.py` keeps Streamlit's
own defaults (every interface, 200 MB uploads); add
`--server.address 127.0.0.1` to keep it private.

The navigation is built from `shared.domain.discover()`: a domain with a
page at `apps/pages/<domain>.py` gets it, any other the generic page
(`apps/pages/domain.py`). Adding a domain needs no edit here.
"""

import sys
from pathlib import Path

import streamlit as st

HERE = Path(__file__).resolve().parent
# Streamlit puts apps/ on sys.path, not the repo root; a plain checkout needs the root.
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

from apps.components.domain_page import CURRENT_DOMAIN  # noqa: E402 - after the path fix above
from shared.domain import discover  # noqa: E402

HOME = HERE / "pages" / "home.py"
GENERIC = HERE / "pages" / "domain.py"


def domain_pages() -> dict[str, st.Page]:
    """One page per discovered domain, by domain name: its own page file, else the generic page."""
    pages = {}
    for name, domain in discover().items():
        own = HERE / "pages" / f"{name}.py"
        source = own if own.is_file() else GENERIC
        # A URL other than the file name: a deep link then runs this script (and its navigation), not the page file alone.
        pages[name] = st.Page(source, title=domain.title, icon=domain.icon, url_path=name.replace("_", "-"))
    return pages


st.set_page_config(page_title="dlsuite", layout="wide")
by_domain = domain_pages()
page = st.navigation([st.Page(HOME, title="Home", icon=":material/home:", default=True), *by_domain.values()])
for name, domain_page in by_domain.items():
    if domain_page.url_path == page.url_path:
        st.session_state[CURRENT_DOMAIN] = name
st.sidebar.caption("The demo models learned synthetic data only; they are not fit for real decisions.")
page.run()
