"""The app's small components, called directly."""

import math
from unittest import mock

import numpy as np
import pytest

from apps.components.metric_cards import format_value
from apps.components.threshold import format_threshold, threshold_options
from apps.components.uploads import read_uploaded_table
from shared.errors import DataError


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "n/a"), (float("nan"), "n/a"), (True, "yes"), (1234, "1,234"), (0.12345, "0.123"), ("12 of 20", "12 of 20"), (math.inf, "flag nothing")],
)
def test_format_value(value, text):
    assert format_value(value) == text


def test_threshold_options_follow_the_pr_curve_and_keep_the_saved_threshold():
    rng = np.random.default_rng(0)
    labels = (rng.random(2000) < 0.05).astype(int)
    scores = np.clip(rng.normal(0.2 + 0.6 * labels, 0.15), 0, 1)
    options = threshold_options(scores, 0.51234567, labels)
    assert options == sorted(options)
    assert 0.51234567 in options
    assert len(options) <= 201
    labels_shown = [format_threshold(t) for t in options]
    assert len(set(labels_shown)) == len(labels_shown)  # the slider tells options apart by label


def test_threshold_options_without_labels_use_score_quantiles():
    scores = np.linspace(0.0, 10.0, 1001)
    options = threshold_options(scores, math.inf)
    assert options[0] == 0.0 and options[-2] == 10.0 and math.isinf(options[-1])


def test_read_uploaded_table_reads_a_csv():
    frame = read_uploaded_table("ok.csv", b"amount,hour\n1.5,3\n")
    assert frame.to_dict("list") == {"amount": [1.5], "hour": [3]}


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("sheet.xlsx", b"PK\x03\x04", "unsupported file type '.xlsx' for sheet.xlsx; use .csv or .parquet"),
        ("../../etc/empty.csv", b"", "data file is empty: empty.csv"),
    ],
)
def test_read_uploaded_table_errors_name_the_upload(name, data, message):
    with pytest.raises(DataError) as caught:
        read_uploaded_table(name, data)
    assert str(caught.value) == message


class _FakeRun:
    """Stands in for `shared.runs.Run`: counts opens, loads nothing."""

    opened: list[str] = []

    @classmethod
    def open(cls, path):
        cls.opened.append(str(path))
        return mock.MagicMock(path=path, domain_name="fraud_detection", task_name="classifier")


@pytest.fixture
def fake_loading(monkeypatch, runs_root):
    from apps.components import loading

    monkeypatch.setattr(loading, "Run", _FakeRun)
    _FakeRun.opened = []
    loading.load_run.clear()
    yield loading
    loading.load_run.clear()


def test_loaded_runs_are_bounded_and_the_least_recently_used_is_dropped(fake_loading, runs_root):
    bound = fake_loading.LOADED_RUNS_MAX
    assert 1 <= bound <= 16
    paths = [str(runs_root / "fraud_detection" / f"run-{i}") for i in range(bound + 1)]
    for path in paths[:bound]:
        fake_loading.load_run(path)
    fake_loading.load_run(paths[0])  # cached, and now the most recently used
    assert _FakeRun.opened == paths[:bound]
    fake_loading.load_run(paths[bound])  # one more than the bound drops run-1
    fake_loading.load_run(paths[0])
    assert _FakeRun.opened == paths
    fake_loading.load_run(paths[1])
    assert _FakeRun.opened == [*paths, paths[1]]


def test_load_run_opens_nothing_outside_the_demo_models_and_the_runs_root(fake_loading, tmp_path):
    from shared.errors import RunError

    with pytest.raises(RunError, match="is neither a demo model nor a run under the runs root"):
        fake_loading.load_run(str(tmp_path / "elsewhere" / "run"))
    with pytest.raises(RunError, match="is neither a demo model"):
        fake_loading.load_run("/etc")
    assert _FakeRun.opened == []
