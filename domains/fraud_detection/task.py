"""Fraud detection: registration, data preparation, metrics, predict, explain.

Three tasks share one data path and one evaluation:

- `classifier`: a feedforward network with class weights or focal loss;
- `anomaly`: an autoencoder trained on legitimate rows only, scoring by
  reconstruction error;
- `sequence`: a GRU/LSTM over each card's recent transactions.

Every run also fits a logistic-regression baseline on the same split and
reports it beside the network, and picks its alert threshold from costs.

Tables larger than memory are packed first (`dlsuite data pack
fraud_detection`, `FraudTask.pack`) and training streams the shards; the
`sequence` task cannot be packed (it needs whole card histories).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from domains.fraud_detection import data as fdata
from domains.fraud_detection import models as fmodels
from shared import runs
from shared.data.packs import SplitShards, is_pack, read_pack, source_fingerprint, write_pack_file, writing_pack
from shared.data.pipeline import batched
from shared.data.records import batch_parser, read_records, shard_counts, shard_errors, write_shards
from shared.data.splits import SPLIT_NAMES, StreamingSplit, split, time_cutoffs
from shared.data.tables import CategoryCounter, iter_table, read_table, table_columns
from shared.domain import DataBundle, Domain, Explanation, ModelSpec, Task
from shared.errors import DataError, RunError, UnsupportedError
from shared.registry import Registry
from shared.run_files import RESTORE_HINT, RunFile

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
NOT_PACKABLE = (
    "the sequence task reads each card's whole transaction history, which packing a table chunk by chunk "
    "cannot assemble; train it from the CSV/Parquet file, or pack for --task classifier or anomaly"
)


class ColumnsState(BaseModel):
    """The columns a fraud run reads (`fdata.FeatureColumns`), as saved in its task state."""

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


def _features_only(example: dict) -> dict:
    return {k: v for k, v in example.items() if k != LABEL}


def _as_pair(example: dict) -> tuple:
    return _features_only(example), example[LABEL]


class FraudTask(Task):
    """Shared data path and evaluation for the three fraud tasks."""

    data_config = fdata.FraudDataConfig
    evaluation_config = fdata.FraudEvaluationConfig
    intended_use = INTENDED_USE
    limitations = LIMITATIONS
    uses_history: ClassVar[bool] = False
    state_schema = FraudState

    # --- data ------------------------------------------------------------------
    def load_data(self, cfg, workdir: Path) -> DataBundle:
        if cfg.data.path and is_pack(cfg.data.path):
            return self._load_pack(cfg, Path(cfg.data.path))
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
        for name in SPLIT_NAMES:
            rows = assign == name
            write_shards({k: v[rows] for k, v in arrays.items()}, spec, workdir / name, cfg.data.rows_per_shard, fingerprint)

        splits, adapt_ds = self._datasets(cfg, workdir, spec, fmodels.input_groups(state["columns"]), cache=cfg.trainer.cache)
        y_train = arrays[LABEL][assign == "train"]
        class_weight = self._class_weight(len(y_train), int(y_train.sum()), source, cols.target)
        provenance.update(
            rows=int(len(frame)),
            positive_rate=float(arrays[LABEL].mean()),
            split=cfg.data.split.type,
            split_column=cfg.data.split.column,
            **{f"{n}_rows": int((assign == n).sum()) for n in SPLIT_NAMES},
            **{f"{n}_positives": int(arrays[LABEL][assign == n].sum()) for n in SPLIT_NAMES},
        )
        baseline = fdata.logistic_baseline(arrays, cols, assign, seed=cfg.run.seed, max_rows=cfg.data.baseline_max_rows)
        return DataBundle(
            train=splits["train"],
            validation=splits["validation"],
            test=splits["test"],
            provenance=provenance,
            class_weight=class_weight,
            state=state,
            adapt=adapt_ds,
            baseline=baseline,
            source_files=shard_counts(workdir),
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
        cols = fdata.FeatureColumns(**pack["state"]["columns"])
        source = pack["source"]["path"]
        groups = fmodels.input_groups(pack["state"]["columns"])
        splits, adapt_ds = self._datasets(cfg, root, pack["spec"], groups, cache=False)  # an in-memory cache would hold the whole set
        n_train = counts["train"]["rows"]
        class_weight = self._class_weight(n_train, counts["train"]["positives"], source, cols.target)
        parse = batch_parser(pack["spec"])
        with shard_errors(root):
            baseline = fdata.streamed_logistic_baseline(
                lambda name: read_records(root / name).batch(8192).map(parse).as_numpy_iterator(), n_train, cols, cfg.run.seed, cfg.data.baseline_max_rows
            )
        rows = sum(c["rows"] for c in counts.values())
        provenance = {
            "source": source,
            "synthetic": False,
            "packed_data": str(root),
            "source_sha256": pack["source"]["sha256"],
            "rows": rows,
            "positive_rate": sum(c["positives"] for c in counts.values()) / rows,
            "split": pack["split"]["type"],
            "split_column": pack["split"]["column"],
            "split_stratified": pack["split"]["stratified"],
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
        )

    @staticmethod
    def _datasets(cfg, root: Path, spec: dict, groups: dict, cache: bool) -> tuple[dict, Any]:
        """Batched `(features, label)` datasets of the split shard sets under `root`,
        and the batched training features that `adapt` the preprocessing.

        Serialized records are shuffled and batched, then parsed a batch at a
        time, the columns of each of `groups` stacked into one model input.
        """
        import tensorflow as tf

        t = cfg.trainer
        parse = batch_parser(spec, groups)

        def as_pair(serialized):
            return _as_pair(parse(serialized))

        def features_only(serialized):
            return _features_only(parse(serialized))

        splits = {
            name: batched(
                read_records(root / name),
                t.batch_size,
                shuffle_buffer=t.shuffle_buffer if name == "train" else 0,
                seed=cfg.run.seed,
                cache=cache,
                batch_map_fn=as_pair,
            )
            for name in SPLIT_NAMES
        }
        return splits, read_records(root / "train").batch(4096).map(features_only, num_parallel_calls=tf.data.AUTOTUNE)

    @staticmethod
    def _class_weight(rows: int, positives: int, source: str, target: str) -> dict:
        """Balanced class weights for a training split of `rows` with `positives` fraud rows."""
        if positives == 0:
            raise DataError(f"{source}: the training split has no positive ({target}=1) rows; fraud cannot be learned")
        return {0: rows / (2.0 * (rows - positives)), 1: rows / (2.0 * positives)}

    def pack(self, cfg, source: Path, out_dir: Path) -> dict:
        """Pack a CSV/Parquet table of any size into `out_dir`, reading it in chunks.

        Only `data.chunk_rows` rows are in memory at a time. Columns are
        resolved from the first chunk; every later chunk is checked against
        them and its errors name its row range. Split assignment streams too
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
        cutoffs = None
        if d.split.type == "time":
            self._require_split_column(table_columns(source), cfg)
            times = (self._split_key(chunk, cfg) for chunk in iter_table(source, d.chunk_rows, [d.split.column]))
            cutoffs = time_cutoffs(times, d.split)
        splitter = StreamingSplit(d.split, cfg.run.seed, cutoffs)
        positives = dict.fromkeys(SPLIT_NAMES, 0)
        shards = None
        with writing_pack(out_dir) as root:
            for chunk in iter_table(source, d.chunk_rows):
                first = chunk.index.start
                where = f"{source} rows {first + 1}-{first + len(chunk)}"
                if shards is None:
                    cols = fdata.resolve_columns(chunk, d, where)
                    needed = [cols.target, *cols.numeric, *cols.categorical]
                    categories = CategoryCounter(cols.categorical, d.max_categories, "; add it to data.drop or raise data.max_categories")
                    spec = self._spec(cols, {})
                    shards = SplitShards(root, spec, d.rows_per_shard)
                fdata.require_columns(chunk, needed, where)
                arrays = fdata.feature_arrays(chunk, cols, where)
                assign = splitter.assign(first, len(chunk), self._split_key(chunk, cfg))
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
                "split": {**d.split.model_dump(mode="json"), "seed": cfg.run.seed, "stratified": False},
                "spec": spec,
                "state": {"columns": cols.to_dict(), "vocabularies": categories.vocabularies()},
                "splits": {name: {"rows": m["rows"], "positives": positives[name], "shards": len(m["shards"])} for name, m in manifests.items()},
                "data_config": d.model_dump(mode="json"),
            }
            info = write_pack_file(root, info)
        return info

    def _split_key(self, frame: pd.DataFrame, cfg) -> np.ndarray | None:
        column = cfg.data.split.column
        if cfg.data.split.type == "random" or column is None:
            return None
        self._require_split_column(list(frame.columns), cfg)
        if cfg.data.split.type == "time":
            cols = fdata.FeatureColumns(target=cfg.data.target, numeric=[], categorical=[], time=column)
            return fdata.time_key(frame, cols)
        return frame[column].astype(str).to_numpy()

    @staticmethod
    def _require_split_column(columns: list, cfg) -> None:
        column = cfg.data.split.column
        if column not in columns:
            raise DataError(f"split column {column!r} (data.split.column) is not in the data; found: {', '.join(map(str, columns[:12]))}")

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
        kinds = {"numeric": "float32", "categorical": "string"}
        inputs = {name: f"{kinds[name]} [{len(names)}]: the {name} columns of task_state.columns, in that order" for name, names in fmodels.input_groups(cols).items()}
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

    def _scores(self, model, ds) -> tuple[np.ndarray, np.ndarray]:
        labels = np.concatenate([y.numpy() for _, y in ds])
        scores = model.predict(ds.map(lambda x, y: x), verbose=0).reshape(-1)
        return labels.astype("int32"), scores.astype("float64")

    # --- serving -------------------------------------------------------------------
    def model_inputs(self, run, frame: pd.DataFrame, source: str, with_target: bool = False) -> tuple[dict, fdata.FeatureColumns]:
        """Validated model inputs for a raw table, using the run's columns (plus `label` when `with_target`)."""
        state = run.task_state(self.state_schema)
        cols = fdata.FeatureColumns(**state.columns.model_dump())
        needed = cols.numeric + cols.categorical + ([cols.target] if with_target else [])
        if self.uses_history:
            needed += [c for c in (cols.card, cols.time) if c]
        fdata.require_columns(frame, needed, source)
        arrays = fdata.feature_arrays(frame, cols, source, with_target=with_target)
        if self.uses_history:
            arrays["history"], arrays["history_mask"] = fdata.history_windows(frame, cols, arrays, state.history.length)
        return fmodels.grouped_arrays(arrays, cols.to_dict()), cols

    def score_frame(self, run, frame: pd.DataFrame, source: str) -> pd.DataFrame:
        arrays, cols = self.model_inputs(run, frame, source)
        threshold = saved_threshold(run)
        inputs = {k: v for k, v in arrays.items() if k != LABEL}
        check_inputs(run, inputs)
        scores = run.model.predict(fmodels.as_tensors(inputs), batch_size=4096, verbose=0).reshape(-1)
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
        inputs = {k: v for k, v in arrays.items() if k != LABEL}
        check_inputs(run, inputs)
        scores = run.model.predict(fmodels.as_tensors(inputs), batch_size=4096, verbose=0).reshape(-1)
        return binary.binary_report(arrays[LABEL], scores.astype("float64"), threshold=threshold)

    def explain(self, run, example: tuple[pd.DataFrame, int], steps: int = 64) -> Explanation:
        """Integrated gradients for one row of a table (row index is 0-based)."""
        frame, row = example
        if not 0 <= row < len(frame):
            valid = f"choose a row from 1 to {len(frame)}" if len(frame) else "the table has no rows"
            raise DataError(f"row {row + 1} is out of range for a table of {len(frame)} rows; {valid}")
        arrays, cols = self.model_inputs(run, frame, "input")
        single = {k: v[row : row + 1] for k, v in arrays.items() if k != LABEL}
        check_inputs(run, single)
        state = run.task_state(self.state_schema).model_dump()
        return explain_row(run.model, fmodels.as_tensors(single), cols, state, steps=steps, method_note=self.score_meaning)

    def demo_frame(self, rows: int = 5000) -> pd.DataFrame:
        """Held-out synthetic transactions for demos (a seed no preset trains on)."""
        return fdata.generate_transactions(rows, seed=DEMO_SEED)


def saved_threshold(run) -> float:
    """The run's cost-chosen threshold; `null` in JSON means "flag nothing"."""
    decision = run.metrics_as(FraudMetrics).decision
    value = None if decision is None else decision.threshold
    return float("inf") if value is None else float(value)


def check_inputs(run, inputs: dict[str, np.ndarray]) -> None:
    """Refuse inputs that `run.model` does not read: its task state and its model disagree."""
    wanted = {t.name: t for t in run.model.inputs}
    problem = None
    state = run.task_state(FraudState).columns
    columns = set(state.numeric) | set(state.categorical)
    if set(wanted) != set(inputs) and set(wanted) & columns:
        # Runs trained before the model took its columns grouped by type (one input per column).
        raise RunError(
            f"run directory {run.path}: model.keras takes one input per column, the layout of an earlier dlsuite "
            f"version; this version groups columns by type, so train the run again (e.g. `dlsuite train {run.domain_name} "
            f"--task {run.task_name} --data YOUR.csv`)"
        )
    if set(wanted) != set(inputs):
        problem = f"the model reads {', '.join(sorted(wanted))}; the task state gives {', '.join(sorted(inputs))}"
    else:
        for name, tensor in wanted.items():
            array, shape = inputs[name], list(tensor.shape[1:])
            is_text = array.dtype.kind in "OSU"
            if is_text != (str(tensor.dtype) == "string"):
                problem = f"input {name!r} is {tensor.dtype} in the model but {'text' if is_text else 'numeric'} from the task state"
            elif len(shape) != array.ndim - 1 or any(d is not None and d != n for d, n in zip(shape, array.shape[1:])):
                problem = f"input {name!r} has shape {shape} in the model but {list(array.shape[1:])} from the task state"
            if problem:
                break
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
    models.register("sequence", ModelSpec(fmodels.SequenceConfig, fmodels.build_sequence, "GRU or LSTM over card history"))

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
)
