"""How a page shows a user's mistake: the suite's one-line message in an error box, and nothing more."""

from typing import NoReturn

import streamlit as st

from shared.errors import DlsuiteError


def fail(exc: DlsuiteError) -> NoReturn:
    """Show the suite's one-line message and end this run of the page."""
    st.error(str(exc))
    st.stop()
