"""Turn an uploaded table into a DataFrame through the suite's own reader.

The bytes are written to a temporary file named like the upload and read
with `shared.data.tables.read_table`, so every problem (empty file, wrong
type, unparsable CSV) is the suite's one-line `DataError`. Uploads are only
ever read as tables, never loaded as models.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from shared.data.tables import read_table
from shared.errors import DataError


@st.cache_data(show_spinner="Reading the upload...", max_entries=4)
def read_uploaded_table(name: str, data: bytes) -> pd.DataFrame:
    """Read an uploaded CSV given its file name and bytes, or raise `DataError`.

    Error messages name the uploaded file, not the temporary copy.
    """
    safe_name = Path(name).name or "upload.csv"
    with tempfile.TemporaryDirectory(prefix="dlsuite-upload-") as folder:
        path = Path(folder) / safe_name
        path.write_bytes(data)
        try:
            return read_table(path)
        except DataError as exc:
            raise DataError(str(exc).replace(str(path), safe_name)) from None


def uploaded_table(label: str, key: str) -> tuple[pd.DataFrame, str] | None:
    """Show a CSV uploader; return (table, file name) once a file is given.

    Raises `DataError` for a file that cannot be read as a table.
    """
    uploaded = st.file_uploader(label, type=["csv"], key=key)
    if uploaded is None:
        return None
    return read_uploaded_table(uploaded.name, uploaded.getvalue()), Path(uploaded.name).name
