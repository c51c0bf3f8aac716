"""`dlsuite tune`: trials through the engine, scored on the validation split, resumable, with one-line errors."""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from tests_support import one_error_line, run_cli

from shared.data.splits import HIDDEN_FOR_TUNING, validation_as_test
from shared.domain import get_task
from shared.errors import ConfigError, RunError
from shared.tuning import search

TASK = get_task("fraud_detection", "classifier")
TINY = ["data.synthetic_rows=8000", "trainer.epochs=1", "trainer.tensorboard=false", "trainer.verbose=0"]


def test_validation_takes_the_test_splits_place_and_held_out_splits_are_hidden():
    assign = np.array(["train", "validation", "test", "seen", "validation"], dtype=object)
    assert validation_as_test(assign).tolist() == ["train", "test", HIDDEN_FOR_TUNING, HIDDEN_FOR_TUNING, "test"]


def test_fraud_trials_score_the_validation_split_and_its_baseline():
    from shared.domain import DataBundle

    base = {"validation": np.array([0.1]), "y_validation": np.array([1]), "test": np.array([0.9]), "y_test": np.array([0])}
    data = DataBundle(train="train", validation="validation", test="test", baseline=base)
    swapped = TASK.tuning_data(data)
    assert swapped.test == "validation" and swapped.baseline["test"] is base["validation"] and swapped.baseline["y_test"] is base["y_validation"]


def test_cli_search_writes_the_table_plot_and_best_config_and_retrains(tmp_path, capsys):
    sets = [a for o in TINY for a in ("--set", o)]
    code, out, err = run_cli(capsys, "tune", "fraud_detection", "--trials", "2", "--dir", tmp_path / "search", *sets, "--retrain", "--run-dir", tmp_path / "run")
    assert code == 0, err[-2000:]
    assert "2 trials in" in out and "best: trial " in out and "validation auprc" in out
    table = pd.read_csv(tmp_path / "search" / "trials.csv")
    assert len(table) == 2 and set(table["status"]) == {"completed"} and table["auprc"].between(0, 1).all()
    assert {"optimizer.learning_rate", "model.dropout", "model.l2", "model.embedding_dim", "seconds"} <= set(table.columns)
    assert (tmp_path / "search" / "tune.png").stat().st_size > 5000
    best = yaml.safe_load((tmp_path / "search" / "best_config.yaml").read_text())
    winner = table.loc[table["auprc"].idxmax()]
    assert best["model"]["embedding_dim"] == winner["model.embedding_dim"]
    assert best["model"]["dropout"] == pytest.approx(winner["model.dropout"])
    metadata = json.loads((tmp_path / "run" / "metadata.json").read_text())
    assert metadata["tuning"]["trials"] == 2 and metadata["tuning"]["objective"] == "validation auprc (max)"
    card = (tmp_path / "run" / "model_card.md").read_text()
    assert "## Hyperparameter search" in card and "best of 2 trials" in card and "never saw the test split" in card


def test_a_killed_search_resumes_from_the_tuners_state(tmp_path, monkeypatch):
    calls = []
    real = search.train_trial

    def dies_on_the_second(task, cfg, trial_dir):
        calls.append(trial_dir.parent.name)
        if len(calls) == 2:
            raise KeyboardInterrupt  # what a kill looks like from inside
        return real(task, cfg, trial_dir)

    monkeypatch.setattr(search, "train_trial", dies_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        search.tune(TASK, overrides_base=TINY, directory=tmp_path, trials=2, stream=sys.stderr)
    first = json.loads((tmp_path / "search" / "trial_0" / "trial_result.json").read_text())
    calls.clear()
    monkeypatch.setattr(search, "train_trial", real)
    result = search.tune(TASK, overrides_base=TINY, directory=tmp_path, trials=2)
    assert [t["status"] for t in result.trials] == ["completed", "completed"]
    assert json.loads((tmp_path / "search" / "trial_0" / "trial_result.json").read_text()) == first  # not rerun
    assert result.trials[1]["seconds"] is not None
    assert result.seconds == pytest.approx(first["seconds"] + result.trials[1]["seconds"], abs=0.2)  # both sessions' trials


def test_bayesian_and_hyperband_searches_run(tmp_path):
    # Two random initial points, then one trial proposed by the Gaussian process (numpy values).
    result = search.tune(TASK, overrides_base=TINY, directory=tmp_path / "bayes", trials=3, search="bayesian")
    assert len([t for t in result.trials if t["auprc"] is not None]) == 3
    result = search.tune(TASK, overrides_base=[*TINY[:1], "trainer.epochs=3", *TINY[2:]], directory=tmp_path / "hb", trials=2, search="hyperband")
    assert all(t["tuner/epochs"] >= 1 for t in result.trials) and result.best is not None


def test_hyperband_is_refused_for_a_task_that_trains_in_phases(tmp_path):
    with pytest.raises(ConfigError, match="hyperband schedules epochs through trainer.epochs; driving/segmentation trains in phases"):
        search.tune(get_task("driving", "segmentation"), directory=tmp_path, trials=1, search="hyperband")


def test_bad_cli_input_is_one_line(tmp_path, capsys):
    code, _, err = run_cli(capsys, "tune", "fraud_detection", "--trials", "0", "--dir", tmp_path / "a")
    assert code != 0
    one_error_line(err, "--trials must be a positive integer, received 0")
    code, _, err = run_cli(capsys, "tune", "fraud_detection", "--search", "grid", "--dir", tmp_path / "a")
    one_error_line(err, "--search must be one of random, bayesian, hyperband")
    code, _, err = run_cli(capsys, "tune", "fraud_detection", "--run-dir", tmp_path / "r", "--dir", tmp_path / "a")
    one_error_line(err, "--run-dir names the run that --retrain trains")
    bad = tmp_path / "bad.yaml"
    bad.write_text("tune:\n  model.unitz: [1, 2]\n")
    code, _, err = run_cli(capsys, "tune", "fraud_detection", "--config", bad, "--dir", tmp_path / "a")
    one_error_line(err, "unknown config key 'model.unitz'")
    assert not (tmp_path / "a").exists()  # refused before anything is written


def test_a_tuner_directory_from_another_task_is_refused(tmp_path, capsys):
    search.tune(TASK, overrides_base=TINY, directory=tmp_path, trials=1)
    with pytest.raises(RunError, match="holds a search of fraud_detection/classifier with another task"):
        search.tune(get_task("fraud_detection", "anomaly"), overrides_base=TINY, directory=tmp_path, trials=1)
    (tmp_path / search.STATE_FILE).write_text("not json")
    code, _, err = run_cli(capsys, "tune", "fraud_detection", "--dir", tmp_path, "--trials", "1")
    one_error_line(err, "is unreadable; give another --dir")


def test_a_nan_objective_stops_the_search_with_one_line(tmp_path, capsys):
    # 3,000 rows split by time leave no fraud in the validation split: AUPRC is undefined.
    sets = ["--set", "data.synthetic_rows=3000", "--set", "trainer.epochs=1", "--set", "trainer.tensorboard=false"]
    code, _, err = run_cli(capsys, "tune", "fraud_detection", "--trials", "2", "--dir", tmp_path, *sets)
    assert code != 0
    one_error_line(err, "trial 0: the validation auprc is nan")
    assert not (Path(tmp_path) / "search" / "trial_1").exists()
