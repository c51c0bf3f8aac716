"""Fraud tasks end to end on tiny configs: train, save, reload, score."""

import json

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from tests_support import demo_run

from domains.fraud_detection import sources
from domains.fraud_detection.config import FraudDataConfig
from domains.fraud_detection.synthetic import generate_creditcard_format, generate_transactions
from domains.fraud_detection.task import saved_threshold
from shared.domain import get_task
from shared.errors import DataError
from shared.runs import Run
from shared.training.runner import prepare_run, train

TINY = ["data.synthetic_rows=3000", "trainer.epochs=2", "trainer.batch_size=256", "trainer.tensorboard=false"]


def train_tiny(tmp_path, task_name, *overrides):
    task = get_task("fraud_detection", task_name)
    cfg = task.resolve_config(overrides=[*TINY, *overrides])
    run_dir = prepare_run(task, cfg, tmp_path / task_name)
    result = train(task, cfg, run_dir)
    return task, run_dir, result


@pytest.mark.parametrize(
    "task_name, overrides",
    [
        ("classifier", ["model.hidden_units=[16]"]),
        ("classifier", ["model.loss=focal", "model.batch_norm=false", "optimizer.type=sgd", "optimizer.schedule.type=cosine", "trainer.class_weight=none", "trainer.jit_compile=true"]),
        ("anomaly", ["model.encoder_units=[8]", "model.latent_dim=3"]),
        ("sequence", ["model.units=8", "data.sequence_length=4"]),
        ("sequence", ["model.cell=lstm", "model.bidirectional=true", "model.units=4", "data.sequence_length=3", "optimizer.type=adamw"]),
    ],
)
def test_train_save_reload(tmp_path, task_name, overrides):
    task, run_dir, result = train_tiny(tmp_path, task_name, *overrides)
    for name in ("config.yaml", "metrics.json", "metadata.json", "model.keras", "model_card.md", "curves.png", "pr_curve.png", "history.csv"):
        assert (run_dir / name).is_file(), name
    assert (run_dir / "saved_model" / "saved_model.pb").is_file()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    # The test split: 450 of the 3,000 rows, newest first (time split), 1% fraud.
    assert metrics["rows"] == 450 and metrics["at_threshold"]["tp"] + metrics["at_threshold"]["fn"] == round(450 * metrics["positive_rate"])
    # The test split's 8 frauds; a tiny run's ranking is not judged here (test_demo_models.py sets floors).
    assert round(450 * metrics["positive_rate"]) == 8
    assert metrics["baseline"]["model"] == "logistic_regression"
    assert metrics["beats_baseline"] is (metrics["auprc"] > metrics["baseline"]["auprc"])
    assert "minimises expected cost on the validation split" in metrics["decision"]["reason"]
    card = (run_dir / "model_card.md").read_text()
    assert "synthetic demo data" in card and "## Intended use" in card

    # The .keras file (safe_mode=True) and the SavedModel give the same scores.
    run = Run.open(run_dir)
    frame = generate_transactions(1000, seed=5)
    arrays, _ = task.model_inputs(run, frame, "t")
    inputs = {k: v for k, v in arrays.items() if k != "label"}
    tensors = {k: tf.constant(v.astype(str) if v.dtype == object else v) for k, v in inputs.items()}
    keras_scores = run.model.predict(tensors, verbose=0).reshape(-1)
    served = tf.saved_model.load(str(run_dir / "saved_model"))
    served_scores = np.asarray(served.serve(tensors)).reshape(-1)
    np.testing.assert_allclose(keras_scores, served_scores, rtol=1e-5, atol=1e-6)
    assert np.isfinite(keras_scores).all()

    # The task's own example files go through predict, evaluate_file and explain.
    examples = task.write_examples(tmp_path / "examples")
    predicted = task.predict(run, examples.predict)
    assert len(predicted) == 2000 and predicted["transaction_id"].is_unique
    assert set(predicted["decision"]) <= {"alert", "pass"} and np.isfinite(predicted["score"]).all()
    report = task.evaluate_file(run, examples.evaluate)
    assert report["rows"] == 2000 and report["positive_rate"] == pytest.approx(0.01)
    assert report["at_threshold"]["threshold"] == saved_threshold(run)  # inf: a run whose threshold flags nothing
    explanation = task.explain(run, task.read_example(run, examples.explain, examples.row), steps=16)
    assert pd.read_csv(examples.explain)["is_fraud"].iloc[examples.row - 1] == 1
    # The explained row is the same transaction, scored the same, as in the predict file.
    assert explanation.score == pytest.approx(predicted["score"].iloc[examples.row - 1], rel=1e-4, abs=1e-5)


def test_anomaly_model_trains_on_legitimate_rows_only(tmp_path):
    task = get_task("fraud_detection", "anomaly")
    cfg = task.resolve_config(overrides=TINY)
    data = task.load_data(cfg, tmp_path / "data")
    train_ds, val_ds = task.fit_data(data, cfg)
    labels = np.concatenate([y.numpy() for _, y in train_ds])
    assert labels.sum() == 0
    assert len(labels) == data.provenance["train_rows"] - data.provenance["train_positives"]


def test_creditcard_format_trains(tmp_path):
    path = tmp_path / "creditcard.csv"
    generate_creditcard_format(3000, seed=1).to_csv(path, index=False)
    task = get_task("fraud_detection")
    cfg = task.resolve_config(
        files=[task.domain.package_dir / "configs" / "creditcard.yaml"],
        overrides=[f"data.path={path}", "trainer.epochs=1", "trainer.tensorboard=false"],
    )
    run_dir = prepare_run(task, cfg, tmp_path / "run")
    train(task, cfg, run_dir)
    state = Run.open(run_dir).state["columns"]
    assert state["numeric"] == [f"V{i}" for i in range(1, 29)] + ["Amount"]
    assert state["categorical"] == [] and state["target"] == "Class" and state["time"] == "Time"


def test_parquet_with_own_target_and_mixed_columns(tmp_path):
    frame = generate_transactions(3000, seed=3).rename(columns={"is_fraud": "label_chargeback"})
    frame["region"] = np.where(frame["foreign"] == 1, "abroad", "home")
    path = tmp_path / "tx.parquet"
    frame.to_parquet(path)
    task = get_task("fraud_detection")
    cfg = task.resolve_config(
        overrides=[f"data.path={path}", "data.target=label_chargeback", "data.split.type=random", "data.split.column=null", *TINY]
    )
    data = task.load_data(cfg, tmp_path / "data")
    cols = data.state["columns"]
    assert "region" in cols["categorical"] and "amount" in cols["numeric"]
    assert "card_id" not in cols["categorical"] and "timestamp" not in cols["numeric"]
    assert data.provenance["synthetic"] is False


def test_history_windows_follow_each_card_in_time():
    frame = pd.DataFrame(
        {"card": ["a", "b", "a", "a", "b"], "t": [1, 2, 3, 4, 5], "x": [10.0, 20.0, 30.0, 40.0, 50.0], "is_fraud": [0, 0, 0, 1, 0]}
    )
    cols = sources.FeatureColumns(target="is_fraud", numeric=["x"], categorical=[], card="card", time="t")
    arrays = sources.feature_arrays(frame, cols, "t")
    history, mask = sources.history_windows(frame, cols, arrays, length=3)
    np.testing.assert_array_equal(history[:, 0, :], [[0, 0, 10], [0, 0, 20], [0, 10, 30], [10, 30, 40], [0, 20, 50]])
    np.testing.assert_array_equal(mask, [[0, 0, 1], [0, 0, 1], [0, 1, 1], [1, 1, 1], [0, 1, 1]])


def test_column_resolution_errors():
    frame = generate_transactions(1000, seed=0)
    cfg = FraudDataConfig(max_categories=5)
    with pytest.raises(DataError, match="categorical column 'merchant_id' has .* distinct values"):
        sources.resolve_columns(frame, cfg, "f.csv")
    with pytest.raises(DataError, match="no feature columns left"):
        sources.resolve_columns(frame[["is_fraud", "transaction_id"]], FraudDataConfig(), "f.csv")
    with pytest.raises(DataError, match="missing column\\(s\\) 'Class'"):
        sources.resolve_columns(frame, FraudDataConfig(target="Class"), "f.csv")


def test_training_split_without_fraud_is_refused(tmp_path):
    frame = generate_transactions(2000, seed=0)
    frame["is_fraud"] = 0
    path = tmp_path / "legit.csv"
    frame.to_csv(path, index=False)
    task = get_task("fraud_detection")
    cfg = task.resolve_config(overrides=[f"data.path={path}", *TINY])
    with pytest.raises(DataError, match=r"legit.csv: the training split has no examples of class 'fraud \(is_fraud=1\)'; it cannot be learned"):
        task.load_data(cfg, tmp_path / "data")


def test_explanation_adds_up(fraud_run, fraud_csv):
    task = get_task("fraud_detection")
    run = Run.open(fraud_run)
    exp = task.explain(run, (pd.read_csv(fraud_csv), 7), steps=128)
    assert set(exp.names) == set(run.state["columns"]["numeric"]) | set(run.state["columns"]["categorical"])
    # Integrated gradients' completeness: attributions sum to score - baseline score.
    assert sum(exp.values) == pytest.approx(exp.score - exp.baseline_score, abs=5e-3)
    with pytest.raises(DataError, match="out of range"):
        task.explain(run, (pd.read_csv(fraud_csv), 10_000))


def test_a_run_with_one_input_per_column_is_refused_with_a_retrain_line(tmp_path, fraud_csv):
    # The layout of runs trained before columns were grouped by type: one model input per column.
    import shutil

    import keras

    from shared.errors import RunError

    run_dir = tmp_path / "old"
    shutil.copytree(demo_run("fraud_detection", "classifier"), run_dir)
    metadata = json.loads((run_dir / "metadata.json").read_text())
    columns = metadata["task_state"]["columns"]
    inputs = [keras.Input((), name=name) for name in columns["numeric"]]
    inputs += [keras.Input((), dtype="string", name=name) for name in columns["categorical"]]
    numeric = keras.layers.Concatenate()([keras.layers.Reshape((1,))(x) for x in inputs[: len(columns["numeric"])]])
    old = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(numeric))
    old.save(run_dir / "model.keras")
    metadata.pop("signature")
    metadata["parameters"] = old.count_params()
    (run_dir / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(RunError, match="one input per column, the layout of an earlier dlsuite version; .* train the run again"):
        get_task("fraud_detection", "classifier").predict(Run.open(run_dir), [fraud_csv])


def test_training_rows_are_reshuffled_every_epoch_and_evaluation_keeps_its_order(tmp_path):
    task = get_task("fraud_detection", "classifier")
    cfg = task.resolve_config(overrides=TINY)
    data = task.load_data(cfg, tmp_path / "data")

    def amounts(ds):
        return np.concatenate([x["numeric"][:, 0].numpy() for x, _ in ds])

    first, second = amounts(data.train), amounts(data.train)
    assert len(first) == data.provenance["train_rows"] and sorted(first) == sorted(second)
    assert not np.array_equal(first, second), "the same training order in two epochs"
    np.testing.assert_array_equal(amounts(data.validation), amounts(data.validation))
