"""The shipped demo models load and score held-out demo data above documented floors.

Floors (see domains/fraud_detection/README.md): measured on 5,000 held-out
synthetic transactions with a seed no preset trains on; the fraud rate is 1%,
so a random ranking scores about 0.01 AUPRC.
"""

import json

import pytest
from tests_support import demo_run

from shared.domain import get_task
from shared.evaluation.binary import average_precision, roc_auc
from shared.runs import Run

FLOORS = {"classifier": (0.35, 0.9), "anomaly": (0.12, 0.8), "sequence": (0.5, 0.9)}


@pytest.fixture(scope="module")
def held_out():
    return get_task("fraud_detection").demo_frame(5000)


@pytest.mark.parametrize("task_name", sorted(FLOORS))
def test_demo_model_scores_held_out_data(task_name, held_out):
    run = Run.open(demo_run("fraud_detection", task_name))
    meta = json.loads((run.path / "metadata.json").read_text())
    assert meta["data"]["synthetic"] is True
    assert sum(f.stat().st_size for f in run.path.rglob("*") if f.is_file()) < 5_000_000
    scores = get_task("fraud_detection", task_name).score_frame(run, held_out, "demo")["score"].to_numpy()
    auprc_floor, auc_floor = FLOORS[task_name]
    assert average_precision(held_out["is_fraud"].to_numpy(), scores) > auprc_floor
    assert roc_auc(held_out["is_fraud"].to_numpy(), scores) > auc_floor
