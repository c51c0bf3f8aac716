"""Fraud detection: registration, data preparation, metrics, predict, explain.

Three tasks share one data path and one evaluation:

- `classifier`: a feedforward network with class weights or focal loss;
- `anomaly`: an autoencoder trained on legitimate rows only, scoring by
  reconstruction error;
- `sequence`: a GRU/LSTM over each card's recent transactions.

Every run also fits a logistic-regression baseline on the same split and
reports it beside the network, and picks its alert threshold from costs.

Tables that fit in memory are fed from memory; tables larger than memory
are packed first (`dlsuite data pack fraud_detection`, `FraudTask.pack`)
and training streams the shards; the `sequence` task cannot be packed (it
needs whole card histories). This module imports no TensorFlow: the model
builders are registered with `lazy(...)`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from domains.fraud_detection import baseline as fbaseline
from domains.fraud_detection import pipeline as fpipeline
from domains.fraud_detection import sources
from domains.fraud_detection.config import AutoencoderConfig, FraudDataConfig, FraudEvaluationConfig, MLPConfig, SequenceConfig
from domains.fraud_detection.sources import LABEL, FeatureColumns, features_only
from domains.fraud_detection.synthetic import generate_transactions
from shared import runs
from shared.data.packs import SplitShards, is_pack, read_pack, source_fingerprint, write_pack_file, writing_pack
from shared.data.records import batch_parser, read_records, shard_counts, shard_errors
from shared.data.splits import SPLIT_NAMES, SplitChoice, SplitConfig, StreamingSplit, resolve_split, split, time_cutoffs, time_values
from shared.data.tables import CategoryCounter, iter_table, read_table, require_columns, table_columns
from shared.domain import DataBundle, Domain, ExampleFiles, Explanation, InputKind, ModelSpec, Task, lazy
from shared.errors import RunError, UnsupportedError
from shared.evaluation.predictions import predict_dataset
from shared.registry import Registry
from shared.run_files import RESTORE_HINT, RunFile, arrays_mismatch
from shared.training.class_weights import balanced_class_weights

HERE = Path(__file__).resolve().parent
DEMO_SEED = 20_240_601  # held out: never used by a training preset
EXAMPLES_SEED = 20_240_602  # `write_examples`: held out too, and apart from the demo table
EXAMPLE_ROWS = 2000  # about 20 frauds, so the labelled example has both classes
PREDICT_BATCH = 65_536  # rows per model call when scoring a table: few calls, bounded memory

INTENDED_USE = (
    "Ranking card transactions by fraud risk so that analysts review the riskiest first. "
    "Decisions on customers stay with people; the score is one input among several."
)
LIMITATIONS = (
    "Fraud patterns drift; retrain and re-check the threshold regularly. Scores are not calibrated "
    "probabilities for the anomaly model. The demo model learned synthetic data only."
)
NOT_PACKABLE = (
    "the sequence task reads each card's whole transaction history, which packing a table chunk by chunk "
    "cannot assemble; train it from the CSV/Parquet file, or pack for --task classifier or anomaly"
)


class ColumnsState(BaseModel):
    """The columns a fraud run reads (`sources.FeatureColumns`), as saved in its task state."""

    model_config = ConfigDict(extra="forbid")

    target: StrictStr
    numeric: list[StrictStr]
    categorical: list[StrictStr]
    card: StrictStr | None = None
    time: StrictStr | None = None
    identifier: StrictStr | None = None


class HistoryState(BaseModel):
    """The card-history window of the sequence task: its length and the numeric columns' statistics."""

    length: StrictInt = Field(ge=1)
    mean: list[StrictFloat]
    variance: list[StrictFloat]


class FraudState(RunFile):
    """`task_state` of the classifier and anomaly runs."""

    columns: ColumnsState
    vocabularies: dict[str, list[StrictStr]] | None = None  # runs trained from packed data


class SequenceState(FraudState):
    """`task_state` of the sequence runs: the columns plus the card-history window."""

    history: HistoryState


class DecisionMetrics(RunFile):
    threshold: StrictFloat | None = None  # null: flag nothing


class FraudMetrics(RunFile):
    """The part of `metrics.json` that scoring reads back: the cost-chosen threshold."""

    decision: DecisionMetrics | None = None


def class_weights(counts, source: str, target: str) -> dict:
    """Balanced class weights for a training split with `counts` = [legitimate rows, fraud rows]."""
    return balanced_class_weights(counts, names=[f"legitimate ({target}=0)", f"fraud ({target}=1)"], required=(1,), source=source)


class FraudTask(Task):
    """Shared data path and evaluation for the three fraud tasks."""

    quick_overrides = ("data.synthetic_rows=6000", "trainer.batch_size=256", "trainer.tensorboard=false")  # 6,000: the time split leaves frauds in validation

    input_kind = InputKind.TABLE
    score_meaning: ClassVar[str] = "fraud probability in [0, 1]"
    data_config = FraudDataConfig
    evaluation_config = FraudEvaluationConfig
    intended_use = INTENDED_USE
    limitations = LIMITATIONS
    uses_history: ClassVar[bool] = False
    state_schema = FraudState
    objective = ("auprc", "max")

    def tuning_data(self, data: DataBundle) -> DataBundle:
        """The validation split in the test split's place, for the model and for its logistic-regression baseline."""
        import dataclasses

        base = data.baseline
        if base is not None:
            base = {**base, "test": base["validation"], "y_test": base["y_validation"]}
        return dataclasses.replace(data, test=data.validation, baseline=base)

    # --- data ------------------------------------------------------------------
    def load_data(self, cfg, workdir: Path) -> DataBundle:
        """Read, validate and split the table; feed it from memory (from shards in a multi-worker run)."""
        if cfg.data.path and is_pack(cfg.data.path):
            return self._load_pack(cfg, Path(cfg.data.path))
        frame, provenance = sources.load_frame(cfg.data)
        source = provenance["source"]
        cols = sources.resolve_columns(frame, cfg.data, source)
        choice = resolve_split(cfg.data.split, frame.columns)
        arrays = sources.feature_arrays(frame, cols, source)
        state: dict[str, Any] = {"columns": cols.to_dict()}
        if self.uses_history:
            arrays["history"], arrays["history_mask"] = sources.history_windows(frame, cols, arrays, cfg.data.sequence_length)
            numeric = np.stack([arrays[c] for c in cols.numeric], axis=-1)
            state["history"] = {"length": cfg.data.sequence_length, **sources.history_stats(numeric)}

        labels = arrays[LABEL]
        assign = split(len(frame), choice.config, cfg.run.seed, labels=labels, key=split_key(frame, choice.config))
        y_train = labels[assign == "train"]
        class_weight = class_weights(np.bincount(y_train, minlength=2), source, cols.target)
        source_files: dict = {}
        if fpipeline.needs_shards(cfg):
            spec = fpipeline.shard_spec(cols, state)
            source_files = fpipeline.write_split_shards(arrays, assign, spec, workdir, cfg.data.rows_per_shard, self._fingerprint(cfg, frame, provenance))
            groups = sources.input_groups(state["columns"])
            splits, adapt_ds = fpipeline.shard_datasets(cfg, workdir, spec, groups, cache=cfg.trainer.cache)
        else:
            splits, adapt_ds = fpipeline.memory_datasets(cfg, arrays, assign, state["columns"])
        provenance.update(
            rows=int(len(frame)),
            positive_rate=float(labels.mean()),
            split=choice.config.type,
            split_column=choice.config.column,
            split_reason=choice.reason,
            **{f"{n}_rows": int((assign == n).sum()) for n in SPLIT_NAMES},
            **{f"{n}_positives": int(labels[assign == n].sum()) for n in SPLIT_NAMES},
        )
        baseline = fbaseline.logistic_baseline(arrays, cols, assign, seed=cfg.run.seed, max_rows=cfg.data.baseline_max_rows)
        return DataBundle(
            train=splits["train"],
            validation=splits["validation"],
            test=splits["test"],
            provenance=provenance,
            class_weight=class_weight,
            state=state,
            adapt=adapt_ds,
            baseline=baseline,
            source_files=source_files,
            train_rows=int(len(y_train)),
            split=choice,
        )

    def _load_pack(self, cfg, root: Path) -> DataBundle:
        """Stream a packed data set (`dlsuite data pack`); it is never loaded into memory.

        Shards are checksummed first (`data.verify_shards`), then read file by
        file with parallel parsing and no `cache()`. Class weights come from
        the counts in `pack.json`, the baseline from a bounded sample of the
        training split, and the split, columns and vocabularies are the ones
        fixed when the data was packed.
        """
        if self.uses_history:
            raise UnsupportedError(NOT_PACKABLE)
        pack = read_pack(root, self.domain.name, verify=cfg.data.verify_shards)
        counts = pack["splits"]
        cols = FeatureColumns(**pack["state"]["columns"])
        source = pack["source"]["path"]
        groups = sources.input_groups(pack["state"]["columns"])
        splits, adapt_ds = fpipeline.shard_datasets(cfg, root, pack["spec"], groups, cache=False)  # an in-memory cache would hold the whole set
        n_train = counts["train"]["rows"]
        class_weight = class_weights([n_train - counts["train"]["positives"], counts["train"]["positives"]], source, cols.target)
        parse = batch_parser(pack["spec"])
        with shard_errors(root):
            baseline = fbaseline.streamed_logistic_baseline(
                lambda name: read_records(root / name).batch(8192).map(parse).as_numpy_iterator(), n_train, cols, cfg.run.seed, cfg.data.baseline_max_rows
            )
        packed = pack["split"]
        choice = SplitChoice(
            SplitConfig(type=packed["type"], column=packed["column"], validation=packed["validation"], test=packed["test"]),
            packed.get("reason") or f"{packed['type']} split fixed when the data was packed",
        )
        rows = sum(c["rows"] for c in counts.values())
        provenance = {
            "source": source,
            "synthetic": False,
            "packed_data": str(root),
            "source_sha256": pack["source"]["sha256"],
            "rows": rows,
            "positive_rate": sum(c["positives"] for c in counts.values()) / rows,
            "split": packed["type"],
            "split_column": packed["column"],
            "split_reason": choice.reason,
            "split_stratified": packed["stratified"],
            **{f"{n}_rows": counts[n]["rows"] for n in SPLIT_NAMES},
            **{f"{n}_positives": counts[n]["positives"] for n in SPLIT_NAMES},
            "baseline_fitted_on": f"a random sample of {baseline['sample_rows']:,} of the {n_train:,} training rows, streamed from the shards",
        }
        return DataBundle(
            train=splits["train"],
            validation=splits["validation"],
            test=splits["test"],
            provenance=provenance,
            class_weight=class_weight,
            state=pack["state"],
            adapt=adapt_ds,
            baseline=baseline,
            source_files=shard_counts(root),
            train_rows=n_train,
            split=choice,
        )

    def pack(self, cfg, source: Path, out_dir: Path) -> dict:
        """Pack a CSV/Parquet table of any size into `out_dir`, reading it in chunks.

        Only `data.chunk_rows` rows are in memory at a time. Columns are
        resolved from the first chunk; every later chunk is checked against
        them and its errors name its row range. The split is resolved
        against the file's columns first (`auto`: time when the time column
        exists, else random), then assigned as the rows stream
        (`shared.data.splits.StreamingSplit`): random by a stable hash of the
        row number and `run.seed`, group by a hash of the group key, time by
        cutoffs from a first pass over the time column alone. Unlike loading
        a table into memory, the split is not stratified by label: fractions
        and fraud rates per split hold in expectation, and `pack.json`
        records the exact counts. Vocabularies of the categorical columns are
        counted on the training rows while packing.

        Returns:
            dict: the content of `out_dir/pack.json`.
        """
        d = cfg.data
        source = Path(source)
        choice = resolve_split(d.split, table_columns(source))
        chosen = choice.config
        cutoffs = None
        if chosen.type == "time":
            times = (split_key(chunk, chosen) for chunk in iter_table(source, d.chunk_rows, [chosen.column]))
            cutoffs = time_cutoffs(times, chosen)
        splitter = StreamingSplit(chosen, cfg.run.seed, cutoffs)
        positives = dict.fromkeys(SPLIT_NAMES, 0)
        shards = None
        with writing_pack(out_dir) as root:
            for chunk in iter_table(source, d.chunk_rows):
                first = chunk.index.start
                where = f"{source} rows {first + 1}-{first + len(chunk)}"
                if shards is None:
                    cols = sources.resolve_columns(chunk, d, where)
                    needed = [cols.target, *cols.numeric, *cols.categorical]
                    categories = CategoryCounter(cols.categorical, d.max_categories, "; add it to data.drop or raise data.max_categories")
                    spec = fpipeline.shard_spec(cols, {})
                    shards = SplitShards(root, spec, d.rows_per_shard)
                require_columns(chunk, needed, where)
                arrays = sources.feature_arrays(chunk, cols, where)
                assign = splitter.assign(first, len(chunk), split_key(chunk, chosen))
                shards.write(assign, arrays)
                categories.update({c: arrays[c][assign == "train"] for c in cols.categorical}, where)
                for name in SPLIT_NAMES:
                    positives[name] += int(arrays[LABEL][assign == name].sum())
            manifests = shards.close()
            info = {
                "domain": self.domain.name,
                "task": self.name,
                "created": runs.now(),
                "source": source_fingerprint(source),
                "split": {**chosen.model_dump(mode="json"), "seed": cfg.run.seed, "stratified": False, "reason": choice.reason},
                "spec": spec,
                "state": {"columns": cols.to_dict(), "vocabularies": categories.vocabularies()},
                "splits": {name: {"rows": m["rows"], "positives": positives[name], "shards": len(m["shards"])} for name, m in manifests.items()},
                "data_config": d.model_dump(mode="json"),
            }
            info = write_pack_file(root, info)
        return info

    def _fingerprint(self, cfg, frame: pd.DataFrame, provenance: dict) -> str:
        source = {"source": provenance["source"], "rows": len(frame)}
        if cfg.data.path:
            stat = Path(cfg.data.path).stat()
            source.update(size=stat.st_size, mtime=stat.st_mtime)
        blob = json.dumps([source, cfg.data.model_dump(mode="json"), cfg.run.seed, self.name], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def input_spec(self, data: DataBundle) -> dict:
        cols = data.state["columns"]
        kinds = {"numeric": "float32", "categorical": "string"}
        inputs = {name: f"{kinds[name]} [{len(names)}]: the {name} columns of task_state.columns, in that order" for name, names in sources.input_groups(cols).items()}
        if "history" in data.state:
            inputs["history"] = f"float32 [{len(cols['numeric'])}, {data.state['history']['length']}] (feature, step)"
            inputs["history_mask"] = f"float32 [{data.state['history']['length']}] (1 = real step)"
        return {"inputs": inputs, "outputs": {"score": self.score_meaning}}

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

    # --- evaluation ------------------------------------------------------------------
    def evaluate(self, model, data: DataBundle, cfg, out_dir: Path) -> dict:
        from shared.evaluation import plots

        y_val, s_val = predict_dataset(model, data.validation)
        y_test, s_test = predict_dataset(model, data.test)
        s_val, s_test = s_val.reshape(-1), s_test.reshape(-1)
        metrics = fraud_report(y_val, s_val, y_test, s_test, cfg.evaluation)
        base = data.baseline
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

    # --- serving -------------------------------------------------------------------
    def model_inputs(self, run, frame: pd.DataFrame, source: str, with_target: bool = False) -> tuple[dict, FeatureColumns]:
        """Validated model inputs for a raw table, using the run's columns (plus `label` when `with_target`)."""
        state = run.task_state(self.state_schema)
        cols = FeatureColumns(**state.columns.model_dump())
        needed = cols.numeric + cols.categorical + ([cols.target] if with_target else [])
        if self.uses_history:
            needed += [c for c in (cols.card, cols.time) if c]
        require_columns(frame, needed, source)
        arrays = sources.feature_arrays(frame, cols, source, with_target=with_target)
        if self.uses_history:
            arrays["history"], arrays["history_mask"] = sources.history_windows(frame, cols, arrays, state.history.length)
        return sources.grouped_arrays(arrays, cols.to_dict()), cols

    def _scores(self, run, arrays: dict) -> np.ndarray:
        """The model's score per row, over the whole table in slices of `PREDICT_BATCH` rows."""
        inputs = features_only(arrays)
        check_inputs(run, inputs)
        return fpipeline.predict_scores(run.model, inputs, PREDICT_BATCH)

    def score_frame(self, run, frame: pd.DataFrame, source: str) -> pd.DataFrame:
        arrays, cols = self.model_inputs(run, frame, source)
        threshold = saved_threshold(run)
        scores = self._scores(run, arrays)
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
        threshold = saved_threshold(run)
        scores = self._scores(run, arrays)
        return binary.binary_report(arrays[LABEL], scores.astype("float64"), threshold=threshold)

    def explain(self, run, example: tuple[pd.DataFrame, int], steps: int = 64) -> Explanation:
        """Integrated gradients for one row of a table (row index is 0-based)."""
        from shared.errors import DataError

        frame, row = example
        if not 0 <= row < len(frame):
            valid = f"choose a row from 1 to {len(frame)}" if len(frame) else "the table has no rows"
            raise DataError(f"row {row + 1} is out of range for a table of {len(frame)} rows; {valid}")
        arrays, cols = self.model_inputs(run, frame, "input")
        single = {k: v[row : row + 1] for k, v in features_only(arrays).items()}
        check_inputs(run, single)
        state = run.task_state(self.state_schema).model_dump()
        return explain_row(run.model, fpipeline.as_tensors(single), cols, state, steps=steps, method_note=self.score_meaning)

    def demo_frame(self, rows: int = 5000) -> pd.DataFrame:
        """Held-out synthetic transactions for demos (a seed no preset trains on)."""
        return generate_transactions(rows, seed=DEMO_SEED)

    def write_examples(self, out_dir: Path) -> ExampleFiles:
        """Synthetic transactions from a held-out seed: unlabelled for predict, labelled for evaluate, one fraud row to explain.

        The files hold whole card histories (every row of the generated
        period), so the sequence task reads them as it reads its training data.
        """
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        frame = generate_transactions(EXAMPLE_ROWS, seed=EXAMPLES_SEED).drop(columns=["fraud_pattern"])
        predict = out_dir / "transactions.csv"
        evaluate = out_dir / "labelled_transactions.csv"
        frame.drop(columns=[self.data_config().target]).to_csv(predict, index=False)
        frame.to_csv(evaluate, index=False)
        first_fraud = int(np.flatnonzero(frame["is_fraud"].to_numpy() == 1)[0])
        return ExampleFiles(predict=[predict], evaluate=evaluate, explain=evaluate, row=first_fraud + 1)


def split_key(frame: pd.DataFrame, split_cfg: SplitConfig) -> np.ndarray | None:
    """What a resolved split orders or groups rows by: times (time), group ids as text (group), nothing (random)."""
    if split_cfg.type == "random":
        return None
    column = split_cfg.column
    require_columns(frame, [column], "the split column (data.split.column)")
    if split_cfg.type == "time":
        return time_values(frame[column], column)
    return frame[column].astype(str).to_numpy()


def saved_threshold(run) -> float:
    """The run's cost-chosen threshold; `null` in JSON means "flag nothing"."""
    decision = run.metrics_as(FraudMetrics).decision
    value = None if decision is None else decision.threshold
    return float("inf") if value is None else float(value)


def check_inputs(run, inputs: dict[str, np.ndarray]) -> None:
    """Refuse inputs that `run.model` does not read: its task state and its model disagree."""
    wanted = {t.name for t in run.model.inputs}
    state = run.task_state(FraudState).columns
    columns = set(state.numeric) | set(state.categorical)
    if set(wanted) != set(inputs) and set(wanted) & columns:
        # Runs trained before the model took its columns grouped by type (one input per column).
        raise RunError(
            f"run directory {run.path}: model.keras takes one input per column, the layout of an earlier dlsuite "
            f"version; this version groups columns by type, so train the run again (e.g. `dlsuite train {run.domain_name} "
            f"--task {run.task_name} --data YOUR.csv`)"
        )
    problem = arrays_mismatch(run.model, inputs)
    if problem is not None:
        raise RunError(f"run directory {run.path}: model.keras and metadata.json (task_state) disagree: {problem}; {RESTORE_HINT}")


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


def explain_row(model, single: dict, cols: FeatureColumns, state: dict, steps: int, method_note: str) -> Explanation:
    """Attribute one row's score to its columns (and its card history)."""
    import tensorflow as tf

    from shared.explain import integrated_gradients, summed_by_slices
    from shared.layers.names import FEATURES, SCORER, TABULAR  # `shared.layers` imports Keras

    features = model.get_layer(FEATURES)
    scorer = model.get_layer(SCORER)
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
    slices = dict(model.get_layer(FEATURES).get_layer(TABULAR).feature_slices())
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
    models.register(
        "mlp",
        ModelSpec(
            MLPConfig,
            lazy("domains.fraud_detection.models:build_mlp"),
            "dense blocks with batch norm, dropout and L2",
            loss=lazy("domains.fraud_detection.models:mlp_loss"),
        ),
    )


class AnomalyTask(FraudTask):
    name = "anomaly"
    title = "Anomaly detector (autoencoder)"
    description = "Autoencoder trained on legitimate transactions; scores by reconstruction error."
    preset = HERE / "configs" / "anomaly.yaml"
    score_meaning = "reconstruction error (higher = more unusual)"
    models = Registry("model type")
    models.register(
        "autoencoder",
        ModelSpec(
            AutoencoderConfig,
            lazy("domains.fraud_detection.models:build_autoencoder"),
            "dense encoder/decoder",
            loss=lazy("domains.fraud_detection.models:reconstruction_loss"),
        ),
    )

    def metrics(self, cfg) -> list:
        return []

    def fit_data(self, data: DataBundle, cfg):
        import tensorflow as tf

        legit = lambda x, y: y == 0  # noqa: E731 - learn normal behaviour only
        size = cfg.trainer.batch_size
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
    state_schema = SequenceState
    models = Registry("model type")
    models.register(
        "sequence",
        ModelSpec(
            SequenceConfig,
            lazy("domains.fraud_detection.models:build_sequence"),
            "GRU or LSTM over card history",
            loss=lazy("domains.fraud_detection.models:binary_crossentropy"),
        ),
    )

    def pack(self, cfg, source: Path, out_dir: Path) -> dict:
        raise UnsupportedError(NOT_PACKABLE)


DOMAIN = Domain(
    name="fraud_detection",
    title="Fraud detection",
    description="Score card transactions for fraud: a classifier, an autoencoder anomaly detector and a card-history sequence model.",
    task_classes=[ClassifierTask, AnomalyTask, SequenceTask],
    default_task="classifier",
    package_dir=HERE,
    demo_tasks={"classifier": [], "anomaly": [], "sequence": []},
    icon=":material/credit_card:",
)
