"""dlsuite demo app: the one multipage entry point.

Run it from the repository root with `dlsuite demo`: it listens on
127.0.0.1, limits uploads and tells the pages which runs root to offer
(`DLSUITE_RUNS_ROOT`). A bare `streamlit run apps/app.py` keeps Streamlit's
own defaults (every interface, 200 MB uploads); add
`--server.address 127.0.0.1` to keep it private. Add a domain page by
writing `apps/pages/<domain>.py` and one line in `DOMAIN_PAGES`.
"""

import sys
from pathlib import Path

import streamlit as st

HERE = Path(__file__).resolve().parent
# Streamlit puts apps/ on sys.path, not the repo root; a plain checkout needs the root.
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

HOME = ("pages/home.py", "Home", ":material/home:")
DOMAIN_PAGES = [
    ("pages/fraud_detection.py", "Fraud detection", ":material/credit_card:"),
    ("pages/medical_imaging.py", "Medical imaging", ":material/radiology:"),
]

st.set_page_config(page_title="dlsuite", layout="wide")
pages = [st.Page(HERE / HOME[0], title=HOME[1], icon=HOME[2], default=True)]
pages += [st.Page(HERE / file, title=title, icon=icon) for file, title, icon in DOMAIN_PAGES]
page = st.navigation(pages)
st.sidebar.caption("The demo models learned synthetic data only; they are not fit for real decisions.")
page.run()
