"""Fraud detection: registration, data preparation, metrics, predict, explain.

Three tasks share one data path and one evaluation:

- `classifier`: a feedforward network with class weights or focal loss;
- `anomaly`: an autoencoder trained on legitimate rows only, scoring by
  reconstruction error;
- `sequence`: a GRU/LSTM over each card's recent transactions.

Every run also fits a logistic-regression baseline on the same split and
reports it beside the network, and picks its alert threshold from costs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from domains.fraud_detection import data as fdata
from domains.fraud_detection import models as fmodels
from shared.data.pipeline import batched
from shared.data.records import read_shards, write_shards
from shared.data.splits import split
from shared.data.tables import read_table
from shared.domain import DataBundle, Domain, Explanation, ModelSpec, Task
from shared.errors import DataError
from shared.registry import Registry

HERE = Path(__file__).resolve().parent
LABEL = "label"
DEMO_SEED = 20_240_601  # held out: never used by a training preset

INTENDED_USE = (
    "Ranking card transactions by fraud risk so that analysts review the riskiest first. "
    "Decisions on customers stay with people; the score is one input among several."
)
LIMITATIONS = (
    "Fraud patterns drift; retrain and re-check the threshold regularly. Scores are not calibrated "
    "probabilities for the anomaly model. The demo model learned synthetic data only."
)


class FraudTask(Task):
    """Shared data path and evaluation for the three fraud tasks."""

    data_config = fdata.FraudDataConfig
    evaluation_config = fdata.FraudEvaluationConfig
    intended_use = INTENDED_USE
    limitations = LIMITATIONS
    uses_history: ClassVar[bool] = False

    # --- data ------------------------------------------------------------------
    def load_data(self, cfg, workdir: Path) -> DataBundle:
        frame, provenance = fdata.load_frame(cfg.data)
        source = provenance["source"]
        cols = fdata.resolve_columns(frame, cfg.data, source)
        arrays = fdata.feature_arrays(frame, cols, source)
        state: dict[str, Any] = {"columns": cols.to_dict()}
        if self.uses_history:
            arrays["history"], arrays["history_mask"] = fdata.history_windows(frame, cols, arrays, cfg.data.sequence_length)
            numeric = np.stack([arrays[c] for c in cols.numeric], axis=-1)
            state["history"] = {"length": cfg.data.sequence_length, **fmodels.history_stats(numeric)}

        assign = split(len(frame), cfg.data.split, cfg.run.seed, labels=arrays[LABEL], key=self._split_key(frame, cfg))
        spec = self._spec(cols, state)
        fingerprint = self._fingerprint(cfg, frame, provenance)
        for name in ("train", "validation", "test"):
            rows = assign == name
            write_shards({k: v[rows] for k, v in arrays.items()}, spec, workdir / name, cfg.data.rows_per_shard, fingerprint)

        t = cfg.trainer
        features_only = lambda ex: {k: v for k, v in ex.items() if k != LABEL}  # noqa: E731
        as_pair = lambda ex: (features_only(ex), ex[LABEL])  # noqa: E731
        splits = {
            name: batched(
                read_shards(workdir / name),
                t.batch_size,
                shuffle_buffer=t.shuffle_buffer if name == "train" else 0,
                seed=cfg.run.seed,
                cache=t.cache,
                map_fn=as_pair,
            )
            for name in ("train", "validation", "test")
        }
        y_train = arrays[LABEL][assign == "train"]
        counts = np.bincount(y_train, minlength=2)
        if counts[1] == 0:
            raise DataError(f"{source}: the training split has no positive ({cols.target}=1) rows; fraud cannot be learned")
        class_weight = {0: len(y_train) / (2.0 * counts[0]), 1: len(y_train) / (2.0 * counts[1])}

        provenance.update(
            rows=int(len(frame)),
            positive_rate=float(arrays[LABEL].mean()),
            split=cfg.data.split.type,
            split_column=cfg.data.split.column,
            **{f"{n}_rows": int((assign == n).sum()) for n in ("train", "validation", "test")},
            **{f"{n}_positives": int(arrays[LABEL][assign == n].sum()) for n in ("train", "validation", "test")},
        )
        baseline = fdata.logistic_baseline(arrays, cols, assign, seed=cfg.run.seed)
        adapt_ds = read_shards(workdir / "train").map(features_only).batch(4096)
        return DataBundle(
            train=splits["train"],
            validation=splits["validation"],
            test=splits["test"],
            provenance=provenance,
            class_weight=class_weight,
            state=state,
            extras={"adapt_ds": adapt_ds, "baseline": baseline, "batch_size": t.batch_size},
        )

    def _split_key(self, frame: pd.DataFrame, cfg) -> np.ndarray | None:
        column = cfg.data.split.column
        if cfg.data.split.type == "random" or column is None:
            return None
        if column not in frame.columns:
            raise DataError(f"split column {column!r} (data.split.column) is not in the data; found: {', '.join(map(str, frame.columns[:12]))}")
        if cfg.data.split.type == "time":
            cols = fdata.FeatureColumns(target=cfg.data.target, numeric=[], categorical=[], time=column)
            return fdata.time_key(frame, cols)
        return frame[column].astype(str).to_numpy()

    @staticmethod
    def _spec(cols: fdata.FeatureColumns, state: dict) -> dict:
        spec = {c: {"dtype": "float", "shape": []} for c in cols.numeric}
        spec.update({c: {"dtype": "string", "shape": []} for c in cols.categorical})
        spec[LABEL] = {"dtype": "int", "shape": []}
        if "history" in state:
            spec["history"] = {"dtype": "float", "shape": [len(cols.numeric), state["history"]["length"]]}
            spec["history_mask"] = {"dtype": "float", "shape": [state["history"]["length"]]}
        return spec

    def _fingerprint(self, cfg, frame: pd.DataFrame, provenance: dict) -> str:
        source = {"source": provenance["source"], "rows": len(frame)}
        if cfg.data.path:
            stat = Path(cfg.data.path).stat()
            source.update(size=stat.st_size, mtime=stat.st_mtime)
        blob = json.dumps([source, cfg.data.model_dump(mode="json"), cfg.run.seed, self.name], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def input_spec(self, data: DataBundle) -> dict:
        cols = data.state["columns"]
        inputs = {c: "float32 scalar" for c in cols["numeric"]}
        inputs.update({c: "string scalar" for c in cols["categorical"]})
        if "history" in data.state:
            inputs["history"] = f"float32 [{len(cols['numeric'])}, {data.state['history']['length']}] (feature, step)"
            inputs["history_mask"] = f"float32 [{data.state['history']['length']}] (1 = real step)"
        return {"inputs": inputs, "outputs": {"score": self.score_meaning}}

    score_meaning: ClassVar[str] = "fraud probability in [0, 1]"

    def summarize(self, metrics: dict) -> str:
        base = metrics["baseline"]["auprc"]
        verdict = "beats" if metrics["beats_baseline"] else "does NOT beat"
        d = metrics["decision"]
        return (
            f"test AUPRC {metrics['auprc']:.4f} vs logistic-regression baseline {base:.4f} ({verdict} it); "
            f"ROC AUC {metrics['roc_auc']:.4f}; threshold {d['threshold']:.4g} chosen by cost on the validation split"
        )

    # --- training ----------------------------------------------------------------
    def metrics(self, cfg) -> list:
        import keras

        return [keras.metrics.AUC(curve="PR", name="auprc"), keras.metrics.AUC(name="roc_auc")]

    def loss(self, cfg):
        import keras

        if getattr(cfg.model, "loss", "binary_crossentropy") == "focal":
            return keras.losses.BinaryFocalCrossentropy(gamma=cfg.model.focal_gamma)
        return keras.losses.BinaryCrossentropy()

    # --- evaluation ------------------------------------------------------------------
    def evaluate(self, model, data: DataBundle, cfg, out_dir: Path) -> dict:
        from shared.evaluation import plots

        y_val, s_val = self._scores(model, data.validation)
        y_test, s_test = self._scores(model, data.test)
        metrics = fraud_report(y_val, s_val, y_test, s_test, cfg.evaluation)
        base = data.extras["baseline"]
        base_report = fraud_report(base["y_validation"], base["validation"], base["y_test"], base["test"], cfg.evaluation)
        metrics["baseline"] = {"model": "logistic_regression", "auprc": base_report["auprc"], "roc_auc": base_report["roc_auc"]}
        metrics["beats_baseline"] = bool(metrics["auprc"] > base_report["auprc"])
        plots.save_figure(
            plots.pr_curve(y_test, s_test, threshold=metrics["decision"]["threshold"], baseline_scores=base["test"], baseline_label="logistic regression"),
            out_dir / "pr_curve.png",
        )
        at = metrics["at_threshold"]
        plots.save_figure(plots.confusion_matrix(at["tp"], at["fp"], at["tn"], at["fn"]), out_dir / "confusion_matrix.png")
        return metrics

    def _scores(self, model, ds) -> tuple[np.ndarray, np.ndarray]:
        labels = np.concatenate([y.numpy() for _, y in ds])
        scores = model.predict(ds.map(lambda x, y: x), verbose=0).reshape(-1)
        return labels.astype("int32"), scores.astype("float64")

    # --- serving -------------------------------------------------------------------
    def model_inputs(self, run, frame: pd.DataFrame, source: str, with_target: bool = False) -> tuple[dict, fdata.FeatureColumns]:
        """Validated model inputs for a raw table, using the run's columns."""
        cols = fdata.FeatureColumns(**run.state["columns"])
        needed = cols.numeric + cols.categorical + ([cols.target] if with_target else [])
        if "history" in run.state:
            needed += [c for c in (cols.card, cols.time) if c]
        fdata.require_columns(frame, needed, source)
        arrays = fdata.feature_arrays(frame, cols, source, with_target=with_target)
        if "history" in run.state:
            arrays["history"], arrays["history_mask"] = fdata.history_windows(frame, cols, arrays, run.state["history"]["length"])
        return arrays, cols

    def score_frame(self, run, frame: pd.DataFrame, source: str) -> pd.DataFrame:
        arrays, cols = self.model_inputs(run, frame, source)
        inputs = {k: v for k, v in arrays.items() if k != LABEL}
        scores = run.model.predict(inputs, batch_size=4096, verbose=0).reshape(-1)
        threshold = saved_threshold(run)
        out = pd.DataFrame({"row": np.arange(1, len(frame) + 1)})
        if cols.identifier and cols.identifier in frame.columns:
            out.insert(0, cols.identifier, frame[cols.identifier].to_numpy())
            out = out.drop(columns="row")
        out["score"] = scores
        out["decision"] = np.where(scores >= threshold, "alert", "pass")
        return out

    def predict(self, run, inputs: list[Path]) -> pd.DataFrame:
        frames = [self.score_frame(run, read_table(p), str(p)) for p in inputs]
        return pd.concat(frames, ignore_index=True)

    def evaluate_file(self, run, path: Path) -> dict:
        from shared.evaluation import binary

        frame = read_table(path)
        arrays, _ = self.model_inputs(run, frame, str(path), with_target=True)
        scores = run.model.predict({k: v for k, v in arrays.items() if k != LABEL}, batch_size=4096, verbose=0).reshape(-1)
        threshold = saved_threshold(run)
        return binary.binary_report(arrays[LABEL], scores.astype("float64"), threshold=threshold)

    def explain(self, run, example: tuple[pd.DataFrame, int], steps: int = 64) -> Explanation:
        """Integrated gradients for one row of a table (row index is 0-based)."""
        frame, row = example
        if not 0 <= row < len(frame):
            raise DataError(f"row {row} is out of range for a table of {len(frame)} rows")
        arrays, cols = self.model_inputs(run, frame, "input")
        single = {k: v[row : row + 1] for k, v in arrays.items() if k != LABEL}
        return explain_row(run.model, single, cols, run.state, steps=steps, method_note=self.score_meaning)

    def demo_frame(self, rows: int = 5000) -> pd.DataFrame:
        """Held-out synthetic transactions for demos (a seed no preset trains on)."""
        return fdata.generate_transactions(rows, seed=DEMO_SEED)


def saved_threshold(run) -> float:
    """The run's cost-chosen threshold; `null` in JSON means "flag nothing"."""
    value = run.metrics.get("decision", {}).get("threshold")
    return float("inf") if value is None else float(value)


def fraud_report(y_val, s_val, y_test, s_test, ev) -> dict:
    """Threshold chosen on validation by cost, metrics reported on test."""
    from shared.evaluation import binary

    decision = binary.choose_threshold(
        y_val, s_val, cost_fp=ev.costs.false_alert, cost_fn=ev.costs.missed_fraud, positive_name="fraud"
    )
    report = binary.binary_report(
        y_test, s_test, threshold=decision["threshold"], target_precision=ev.target_precision, alert_budget=ev.alert_budget
    )
    report["decision"] = {**decision, "chosen_on": "validation split", "cost_false_alert": ev.costs.false_alert, "cost_missed_fraud": ev.costs.missed_fraud}
    return report


def explain_row(model, single: dict, cols: fdata.FeatureColumns, state: dict, steps: int, method_note: str) -> Explanation:
    """Attribute one row's score to its columns (and its card history)."""
    import tensorflow as tf

    from shared.explain import integrated_gradients, summed_by_slices

    features = model.get_layer("features")
    scorer = model.get_layer("scorer")
    encoded = features(single)
    parts = list(encoded) if isinstance(encoded, (list, tuple)) else [encoded]
    shapes = [tuple(p.shape[1:]) for p in parts]
    sizes = [int(np.prod(s)) for s in shapes]
    flat = np.concatenate([np.asarray(p).reshape(1, -1) for p in parts], axis=1).astype("float32")

    def score_fn(x):
        pieces = tf.split(x, sizes, axis=1)
        tensors = [tf.reshape(p, (-1, *s)) for p, s in zip(pieces, shapes)]
        out = scorer(tensors if len(tensors) > 1 else tensors[0], training=False)
        return tf.reshape(tf.cast(out, tf.float32), (-1,))

    baseline = np.zeros_like(flat)
    attributions = integrated_gradients(score_fn, flat, baseline, steps=steps)[0]
    slices = dict(model.get_layer("features").get_layer("tabular").feature_slices())
    if len(parts) > 1:
        offset, length = sizes[0], state["history"]["length"]
        for i, c in enumerate(cols.numeric):
            slices[f"history: {c}"] = (offset + i * length, offset + (i + 1) * length)
    named = summed_by_slices(attributions, slices)
    names = sorted(named, key=lambda k: -abs(named[k]))
    score = float(score_fn(tf.constant(flat))[0])
    base_score = float(score_fn(tf.constant(baseline))[0])
    return Explanation(
        names=names,
        values=[float(named[n]) for n in names],
        score=score,
        baseline_score=base_score,
        method=f"integrated gradients ({steps} steps) over the encoded features, baseline = all-zero encoding (average numeric values); score = {method_note}",
        details={"completeness_gap": float(abs(sum(named.values()) - (score - base_score)))},
    )


class ClassifierTask(FraudTask):
    name = "classifier"
    title = "Fraud classifier (MLP)"
    description = "Feedforward network on transaction features, with class weights or focal loss."
    preset = HERE / "configs" / "classifier.yaml"
    models = Registry("model type")
    models.register("mlp", ModelSpec(fmodels.MLPConfig, fmodels.build_mlp, "dense blocks with batch norm, dropout and L2"))


class AnomalyTask(FraudTask):
    name = "anomaly"
    title = "Anomaly detector (autoencoder)"
    description = "Autoencoder trained on legitimate transactions; scores by reconstruction error."
    preset = HERE / "configs" / "anomaly.yaml"
    score_meaning = "reconstruction error (higher = more unusual)"
    models = Registry("model type")
    models.register("autoencoder", ModelSpec(fmodels.AutoencoderConfig, fmodels.build_autoencoder, "dense encoder/decoder"))

    def loss(self, cfg):
        from shared.training.losses import ScoreAsLoss

        return ScoreAsLoss()

    def metrics(self, cfg) -> list:
        return []

    def fit_data(self, data: DataBundle):
        import tensorflow as tf

        legit = lambda x, y: y == 0  # noqa: E731 - learn normal behaviour only
        size = data.extras["batch_size"]
        out = []
        for name, ds in (("train", data.train), ("validation", data.validation)):
            n = data.provenance[f"{name}_rows"] - data.provenance[f"{name}_positives"]
            ds = ds.unbatch().filter(legit).apply(tf.data.experimental.assert_cardinality(n))
            out.append(ds.batch(size).prefetch(tf.data.AUTOTUNE))
        return tuple(out)


class SequenceTask(FraudTask):
    name = "sequence"
    title = "Card-history model (GRU/LSTM)"
    description = "Recurrent network over each card's recent transactions plus the current one."
    preset = HERE / "configs" / "sequence.yaml"
    uses_history = True
    models = Registry("model type")
    models.register("sequence", ModelSpec(fmodels.SequenceConfig, fmodels.build_sequence, "GRU or LSTM over card history"))


DOMAIN = Domain(
    name="fraud_detection",
    title="Fraud detection",
    description="Score card transactions for fraud: a classifier, an autoencoder anomaly detector and a card-history sequence model.",
    task_classes=[ClassifierTask, AnomalyTask, SequenceTask],
    default_task="classifier",
    package_dir=HERE,
    demo_tasks={"classifier": [], "anomaly": [], "sequence": []},
)
