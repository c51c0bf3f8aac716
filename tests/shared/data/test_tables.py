import numpy as np
import pandas as pd
import pytest

from shared.data import tables
from shared.errors import DataError


def write(tmp_path, text, name="t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_csv_and_parquet(tmp_path):
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    frame.to_parquet(tmp_path / "t.parquet")
    frame.to_csv(tmp_path / "t.csv", index=False)
    for name in ("t.parquet", "t.csv"):
        pd.testing.assert_frame_equal(tables.read_table(tmp_path / name), frame)


@pytest.mark.parametrize(
    "content, name, message",
    [
        (None, "missing.csv", "data file not found"),
        ("", "empty.csv", "data file is empty"),
        ("a,b\n", "header.csv", "has a header but no rows"),
        ("a,b\n1,2\n", "t.xlsx", "unsupported file type '.xlsx'"),
        ("not parquet", "t.parquet", "could not read"),
    ],
)
def test_read_errors(tmp_path, content, name, message):
    path = tmp_path / name if content is None else write(tmp_path, content, name)
    with pytest.raises(DataError, match=message):
        tables.read_table(path)


def test_directory_is_refused(tmp_path):
    with pytest.raises(DataError, match="got a directory"):
        tables.read_table(tmp_path)


def test_missing_columns_are_named():
    frame = pd.DataFrame({"a": [1]})
    with pytest.raises(DataError, match=r"missing column\(s\) 'b', 'c' \(found: a\)"):
        tables.require_columns(frame, ["a", "b", "c"], "f.csv")


def test_numeric_column_errors():
    frame = pd.DataFrame({"x": ["1", "oops", "3"], "y": [1.0, np.nan, 2.0], "z": [1.0, np.inf, 0.0]})
    with pytest.raises(DataError, match="column 'x' has non-numeric value 'oops' at row 2"):
        tables.numeric_column(frame, "x", "f.csv")
    with pytest.raises(DataError, match="column 'y' has 1 missing or infinite value.*first at row 2"):
        tables.numeric_column(frame, "y", "f.csv")
    with pytest.raises(DataError, match="column 'z' has 1 missing or infinite"):
        tables.numeric_column(frame, "z", "f.csv")
    assert tables.numeric_column(pd.DataFrame({"x": ["1", "2.5"]}), "x", "f").tolist() == [1.0, 2.5]


def test_categorical_and_binary_columns():
    with pytest.raises(DataError, match="column 'c' has missing values, first at row 2"):
        tables.categorical_column(pd.DataFrame({"c": ["a", None]}), "c", "f")
    assert tables.categorical_column(pd.DataFrame({"c": [1, 2]}), "c", "f").tolist() == ["1", "2"]
    with pytest.raises(DataError, match="target column 'y' must hold 0 or 1, found 2 at row 3"):
        tables.binary_column(pd.DataFrame({"y": [0, 1, 2]}), "y", "f")
    assert tables.binary_column(pd.DataFrame({"y": [0, 1]}), "y", "f").dtype == np.int32
