"""The generic domain page's readers: an upload of the wrong kind is the suite's one line, naming the upload."""

import pytest

from apps.components.domain_page import flat_metrics, headline, predict_upload
from shared.demo import available
from shared.domain import InputKind, discover
from shared.errors import DataError

DOMAINS = discover().names()


@pytest.mark.parametrize("name", DOMAINS)
def test_an_upload_of_the_wrong_kind_is_one_line_naming_it(demo_models, name):
    domain = discover().get(name)
    run_path = available(domain)[domain.default_task]
    task = domain.task()
    wrong, content = ("photo.png", b"\x89PNG\r\n\x1a\n") if task.input_kind is InputKind.TABLE else ("rows.csv", b"a,b\n1,2\n")
    with pytest.raises(DataError) as caught:
        predict_upload(str(run_path), wrong, content)
    message = str(caught.value)
    assert wrong in message and "\n" not in message and "dlsuite-upload-" not in message, message


def test_metrics_are_flattened_for_the_table_and_the_cards():
    metrics = {"auprc": 0.5, "n": 10, "ok": True, "decision": {"threshold": 0.3, "reason": "cost"}, "curve": [1, 2]}
    assert headline(metrics) == {"auprc": 0.5, "n": 10}
    assert flat_metrics(metrics) == [("auprc", "0.5"), ("n", "10"), ("ok", "true"), ("decision.threshold", "0.3"), ("decision.reason", "cost")]
