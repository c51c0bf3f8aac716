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


@pytest.mark.parametrize("name", ["t.csv", "t.parquet"])
def test_iter_table_reads_chunks_with_file_row_numbers(tmp_path, name):
    frame = pd.DataFrame({"a": np.arange(10, dtype=float), "b": [f"v{i}" for i in range(10)]})
    path = tmp_path / name
    frame.to_csv(path, index=False) if name.endswith(".csv") else frame.to_parquet(path)
    chunks = list(tables.iter_table(path, chunk_rows=4))
    assert [len(c) for c in chunks] == [4, 4, 2]
    assert [c.index.start for c in chunks] == [0, 4, 8]
    pd.testing.assert_frame_equal(pd.concat(chunks), frame)
    assert [list(c.columns) for c in tables.iter_table(path, 4, columns=["b"])] == [["b"]] * 3
    assert tables.table_columns(path) == ["a", "b"]
    with pytest.raises(DataError, match=r"missing column\(s\) 'c' \(found: a, b\)"):
        next(tables.iter_table(path, 4, columns=["c"]))


def test_errors_in_a_later_chunk_name_the_file_row(tmp_path):
    path = write(tmp_path, "x,c\n" + "".join(f"{i},k\n" for i in range(6)) + "oops,k\n7,\n")
    chunks = list(tables.iter_table(path, chunk_rows=3))
    with pytest.raises(DataError, match="non-numeric value 'oops' at row 7"):
        tables.numeric_column(chunks[2], "x", "f.csv")
    with pytest.raises(DataError, match="column 'c' has missing values, first at row 8"):
        tables.categorical_column(chunks[2], "c", "f.csv")


@pytest.mark.parametrize(
    "content, name, message",
    [("", "empty.csv", "data file is empty"), ("a,b\n", "header.csv", "has a header but no rows"), ("a\n1\n", "t.txt.xlsx", "unsupported")],
)
def test_iter_table_errors(tmp_path, content, name, message):
    with pytest.raises(DataError, match=message):
        list(tables.iter_table(write(tmp_path, content, name), chunk_rows=2))


def test_category_counter():
    counter = tables.CategoryCounter(["c"], max_categories=3, hint="; drop it")
    counter.update({"c": np.array(["b", "a", "b"])}, "rows 1-3")
    counter.update({"c": np.array(["c", "a", "b"])}, "rows 4-6")
    assert counter.vocabularies() == {"c": ["b", "a", "c"]}
    with pytest.raises(DataError, match="rows 7-8: categorical column 'c' has more than 3 distinct values; drop it"):
        counter.update({"c": np.array(["d", "e"])}, "rows 7-8")


def test_parquet_text_that_is_not_utf8_is_one_line(tmp_path):
    # A damaged string page: the reader does not check UTF-8, a later conversion would fail with a pyarrow error.
    path = tmp_path / "damaged.parquet"
    pd.DataFrame({"merchant": ["grocer", "fuel"], "amount": [1.0, 2.0]}).to_parquet(path, compression=None)
    raw = path.read_bytes()
    assert b"grocer" in raw  # in the data page and in the column statistics
    path.write_bytes(raw.replace(b"grocer", b"gr\xff\xfeer"))
    with pytest.raises(DataError, match=r"could not read .*damaged.parquet as parquet: .*UTF8") as info:
        tables.read_table(path)
    assert "\n" not in str(info.value)
    with pytest.raises(DataError, match="UTF8"):
        list(tables.iter_table(path, chunk_rows=1))
