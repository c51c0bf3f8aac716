import numpy as np
import pytest

from shared.data.splits import SplitConfig, StreamingSplit, split, stable_uniform, time_cutoffs
from shared.errors import DataError


def test_random_split_is_stratified_and_seeded():
    labels = np.array([0] * 900 + [1] * 100)
    cfg = SplitConfig(type="random", validation=0.2, test=0.2)
    a = split(1000, cfg, seed=1, labels=labels)
    assert (a == split(1000, cfg, seed=1, labels=labels)).all()
    for name in ("train", "validation", "test"):
        assert labels[a == name].mean() == pytest.approx(0.1, abs=0.01)
    assert (a == "test").sum() == 200


def test_group_split_keeps_groups_together():
    groups = np.repeat(np.arange(100), 5)
    a = split(500, SplitConfig(type="group", column="g"), seed=0, key=groups)
    for g in range(100):
        assert len(set(a[groups == g])) == 1


def test_time_split_puts_newest_in_test():
    t = np.random.default_rng(0).permutation(1000)
    a = split(1000, SplitConfig(type="time", column="t", validation=0.1, test=0.2), seed=0, key=t)
    assert t[a == "train"].max() < t[a == "validation"].min()
    assert t[a == "validation"].max() < t[a == "test"].min()
    assert (a == "test").sum() == 200


def test_split_config_bounds():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="must leave at least 10%"):
        SplitConfig(validation=0.5, test=0.45)
    with pytest.raises(ValidationError, match="needs `column`"):
        SplitConfig(type="time")


def test_too_few_rows():
    with pytest.raises(DataError, match="need at least 10 rows"):
        split(5, SplitConfig(type="random"), seed=0)


def test_streaming_random_split_is_seeded_and_independent_of_chunking():
    cfg = SplitConfig(type="random", validation=0.2, test=0.1)
    splitter = StreamingSplit(cfg, seed=3)
    whole = splitter.assign(0, 20_000)
    chunked = np.concatenate([splitter.assign(0, 7_000), splitter.assign(7_000, 13_000)])
    assert (whole == chunked).all()
    assert (whole != StreamingSplit(cfg, seed=4).assign(0, 20_000)).any()
    assert (whole == "test").mean() == pytest.approx(0.1, abs=0.01)
    assert (whole == "validation").mean() == pytest.approx(0.2, abs=0.01)


def test_streaming_group_split_keeps_groups_together_across_chunks():
    groups = np.repeat(np.arange(400), 5)
    splitter = StreamingSplit(SplitConfig(type="group", column="g"), seed=0)
    # The same key read as a number in one chunk and as text in another agrees.
    a = np.concatenate([splitter.assign(0, 1000, groups[:1000]), splitter.assign(1000, 1000, groups[1000:].astype(str))])
    for g in range(400):
        assert len(set(a[groups == g])) == 1
    assert set(a) == {"train", "validation", "test"}


def test_time_cutoffs_from_chunks_and_bounded_sample():
    t = np.random.default_rng(0).permutation(100_000)
    cfg = SplitConfig(type="time", column="t", validation=0.1, test=0.2)
    exact = time_cutoffs([t[:30_000], t[30_000:]], cfg)
    assert exact == (70_000, 80_000)
    sampled = time_cutoffs(np.array_split(t, 9), cfg, max_values=5_000)
    assert sampled == pytest.approx(exact, rel=0.03)
    a = StreamingSplit(cfg, seed=0, cutoffs=exact).assign(0, len(t), t)
    assert t[a == "train"].max() < t[a == "validation"].min() and t[a == "validation"].max() < t[a == "test"].min()
    assert (a == "test").sum() == 20_000
    with pytest.raises(DataError, match="at least 10 rows"):
        time_cutoffs([t[:5]], cfg)


def test_stable_uniform_is_fixed():
    # Fixed values: a change of the hash would silently move rows between splits.
    np.testing.assert_allclose(stable_uniform(np.array([0, 1, 2]), seed=42), [0.5934, 0.5629, 0.2207], atol=1e-4)


def test_auto_split_is_time_when_the_time_column_exists_else_random():
    from shared.data.splits import resolve_split

    chosen = resolve_split(SplitConfig(), ["amount", "timestamp", "label"])
    assert (chosen.config.type, chosen.config.column) == ("time", "timestamp")
    assert "time split on column 'timestamp'" in chosen.reason
    named = resolve_split(SplitConfig(column="when"), ["when", "timestamp"])
    assert named.config.column == "when"
    fallback = resolve_split(SplitConfig(), ["amount", "label"])
    assert (fallback.config.type, fallback.config.column) == ("random", None)
    assert "no time column" in fallback.reason and "stratified" in fallback.reason
    assert fallback.to_dict() == {"type": "random", "column": None, "reason": fallback.reason}


def test_a_missing_named_split_column_is_one_line_with_the_fallback():
    from shared.data.splits import resolve_split

    with pytest.raises(DataError, match=r"split column 'timestamp' .* found: amount, label; .*data.split.type=auto"):
        resolve_split(SplitConfig(type="time", column="timestamp"), ["amount", "label"])
    assert resolve_split(SplitConfig(type="random"), ["x"]).config.type == "random"
    with pytest.raises(ValueError, match="resolve_split"):
        split(100, SplitConfig(), seed=0)


def test_time_values_parse_numbers_and_dates_and_name_a_bad_row():
    from shared.data.splits import time_values

    np.testing.assert_array_equal(time_values(["3", "1.5"], "t"), [3.0, 1.5])
    dates = time_values(["2024-01-02", "2024-01-01 12:00"], "t")
    assert dates[0] > dates[1]
    with pytest.raises(DataError, match=r"time column 't' .* at row 2: 'soon'"):
        time_values(["2024-01-01", "soon"], "t")
