"""Read uploaded files through the suite's own readers.

The bytes are written to a temporary file named like the upload
(`saved_upload`) and read with a domain or shared reader, e.g.
`shared.data.tables.read_table` for tables, so every problem (empty file,
wrong type, unparsable CSV, corrupt image) is the suite's one-line
`DataError`, naming the uploaded file. Uploads are only ever read as data,
never loaded as models.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
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
    with saved_upload(name, data, default_name="upload.csv") as path:
        return read_table(path)


@contextlib.contextmanager
def saved_upload(name: str, data: bytes, default_name: str) -> Iterator[Path]:
    """Write an upload to a temporary file named like it; yield its path.

    Keeping the name keeps the suffix, which readers use to pick the format.
    A `DataError` raised inside the block is re-raised with the temporary
    path replaced by the upload's file name; the file is deleted on exit.

    Args:
        name: str. The name the browser sent; only its last part is used.
        data: bytes. The file's content.
        default_name: str. Used when `name` has no usable last part.
    """
    safe_name = Path(name).name
    if safe_name in ("", ".", ".."):
        safe_name = default_name
    with tempfile.TemporaryDirectory(prefix="dlsuite-upload-") as folder:
        path = Path(folder) / safe_name
        path.write_bytes(data)
        try:
            yield path
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
