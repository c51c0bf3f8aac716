"""A table of thousands of columns trains in seconds: one model input per column type."""

import time

import numpy as np
import pandas as pd
import pytest

from shared.domain import get_task
from shared.runs import Run
from shared.training.runner import prepare_run, train

COLUMNS = 3000
ROWS = 400
# Train, evaluate and save take about 12 s on a 2-core CPU; one input per
# column took minutes to build.
SECONDS = 60


@pytest.fixture(scope="module")
def wide_csv(tmp_path_factory):
    rng = np.random.default_rng(0)
    values = rng.normal(size=(ROWS, COLUMNS)).astype("float32")
    frame = pd.DataFrame(values, columns=[f"x{i}" for i in range(COLUMNS)])
    frame["segment"] = rng.choice(["a", "b", "c"], ROWS)
    frame["target"] = (values[:, 0] + rng.normal(size=ROWS) > 1.2).astype(int)
    path = tmp_path_factory.mktemp("wide") / "wide.csv"
    frame.to_csv(path, index=False, float_format="%.3f")
    return path


def test_wide_table_trains_one_epoch_within_the_bound(tmp_path, wide_csv):
    task = get_task("fraud_detection")
    cfg = task.resolve_config(
        overrides=[
            f"data.path={wide_csv}",
            "data.target=target",
            "data.split.type=random",
            "data.split.column=null",
            "model.hidden_units=[16]",
            "trainer.epochs=1",
            "trainer.batch_size=128",
            "trainer.tensorboard=false",
        ]
    )
    start = time.perf_counter()
    run_dir = prepare_run(task, cfg, tmp_path / "run")
    train(task, cfg, run_dir)
    elapsed = time.perf_counter() - start
    assert elapsed < SECONDS, f"1 epoch on {COLUMNS} columns took {elapsed:.0f} s"

    run = Run.open(run_dir)
    assert sorted(t.name for t in run.model.inputs) == ["categorical", "numeric"]
    frame = pd.read_csv(wide_csv).head(20)
    scores = task.score_frame(run, frame, "wide.csv")["score"].to_numpy()
    assert scores.shape == (20,) and np.isfinite(scores).all()
    explanation = task.explain(run, (frame, 3), steps=8)
    assert set(explanation.names) == {f"x{i}" for i in range(COLUMNS)} | {"segment"}
