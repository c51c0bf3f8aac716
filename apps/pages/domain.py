"""The generic page, shown for every domain that has no `apps/pages/<domain>.py` of its own.

`apps/app.py` registers this file once per such domain and records which
domain the visitor opened in the session (`CURRENT_DOMAIN`).
"""

import streamlit as st

from apps.components.domain_page import CURRENT_DOMAIN, render
from shared.domain import get_domain

if CURRENT_DOMAIN in st.session_state:
    render(get_domain(st.session_state[CURRENT_DOMAIN]))
else:  # opened as a file of its own, not through the app's navigation
    st.info("Open a domain from the app's navigation: run the app with `dlsuite demo`.")
