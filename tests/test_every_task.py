"""Every task of every discovered domain trains, predicts, evaluates and explains through the CLI.

Parametrized from `shared.domain.discover()`: a new domain (say one made
with `dlsuite new`) is covered without writing this test again. Each task
trains with its domain's demo overrides and one epoch, then its own example
files (`Task.write_examples`) go through `predict`, `evaluate` and `explain`.
"""

import json

import pandas as pd
import pytest
from tests_support import run_cli

from shared.domain import discover

TASKS = [(d, t) for d, domain in discover().items() for t in domain.tasks.names()]


@pytest.mark.slow
@pytest.mark.parametrize("domain_name, task_name", TASKS, ids=[f"{d}-{t}" for d, t in TASKS])
def test_train_predict_evaluate_explain(tmp_path, capsys, domain_name, task_name):
    domain = discover().get(domain_name)
    task = domain.task(task_name)
    overrides = [*domain.demo_tasks.get(task_name, []), "trainer.epochs=1", *task.quick_overrides]
    sets = [arg for o in overrides for arg in ("--set", o)]
    run_dir = tmp_path / "run"
    code, out, err = run_cli(capsys, "train", domain_name, "--task", task_name, "--run-dir", run_dir, *sets)
    assert code == 0, err[-2000:]
    assert "data split:" in err, "the run must say which split it used and why"
    metadata = json.loads((run_dir / "metadata.json").read_text())
    assert metadata["split"]["reason"], metadata.get("split")

    examples = task.write_examples(tmp_path / "examples")
    code, out, err = run_cli(capsys, "predict", run_dir, *examples.predict, "--output", tmp_path / "predictions.csv")
    assert code == 0, err[-2000:]
    table = pd.read_csv(tmp_path / "predictions.csv")
    assert len(table) >= len(examples.predict) and not table.empty
    numeric = table.select_dtypes("number")
    numeric = numeric.loc[:, numeric.notna().any()]  # a text column empty in every row (a blank transcript) reads as all-NaN numbers
    assert numeric.shape[1] >= 1 and numeric.notna().all().all(), table.head()
    if "score" in table:
        assert table["score"].notna().all(), table.head()

    code, out, err = run_cli(capsys, "evaluate", run_dir, "--data", examples.evaluate)
    assert code == 0, err[-2000:]
    metrics = json.loads(out)
    assert metrics and any(isinstance(v, (int, float)) for v in metrics.values()), metrics

    code, out, err = run_cli(capsys, "explain", run_dir, examples.explain, "--row", examples.row)
    assert code == 0, err[-2000:]
    lines = out.strip().splitlines()
    assert lines[0].startswith("score "), out
    assert len(lines) >= 2, "an explanation names at least one attribution"


@pytest.mark.slow
@pytest.mark.parametrize("domain_name, task_name", TASKS, ids=[f"{d}-{t}" for d, t in TASKS])
def test_tune_two_tiny_trials(tmp_path, capsys, domain_name, task_name):
    """`dlsuite tune` over the task's own preset search space, scored by its declared objective on the validation split."""
    import pandas as pd

    domain = discover().get(domain_name)
    task = domain.task(task_name)
    assert task.objective, f"{domain_name}/{task_name} declares no Task.objective (a key of evaluate()'s report and 'max' or 'min')"
    key, direction = task.objective
    assert direction in ("max", "min")
    overrides = [*domain.demo_tasks.get(task_name, []), "trainer.epochs=1", *task.quick_overrides, "trainer.verbose=0"]
    sets = [arg for o in overrides for arg in ("--set", o)]
    code, out, err = run_cli(capsys, "tune", domain_name, "--task", task_name, "--trials", "2", "--dir", tmp_path / "search", *sets)
    assert code == 0, err[-2000:]
    table = pd.read_csv(tmp_path / "search" / "trials.csv")
    assert len(table) == 2 and table[key].notna().all(), table
    assert f"validation {key}" in out and (tmp_path / "search" / "best_config.yaml").is_file()
    assert not list((tmp_path / "search").rglob("metrics.json")), "a trial writes no test metrics"
