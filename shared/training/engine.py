"""The engine: fit a compiled model on datasets under a strategy.

The engine is handed every part — the model, the datasets, the strategy
and the callbacks — and builds none of them. Custom training steps belong
to the model (`train_step` / `compute_loss`), so GANs, CTC, seq2seq and
detection models train here without special cases.

Two loops share one contract (callbacks, progress, early stopping, resume):

- `model.fit`, for one device, several local devices (MirroredStrategy)
  and TPUs;
- a distributed loop over `strategy.run`, for MultiWorkerMirroredStrategy,
  where Keras 3's `fit` fails (keras-team/keras#20585: "Attempt to convert a
  value (PerReplica...) with an unsupported type"). Each replica runs the
  model's own `train_step`, whose loss Keras already scales for the number
  of replicas; gradients are summed across replicas and workers by the
  optimizer; metrics are read back aggregated across every replica.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.errors import DataError, RunError, first_line
from shared.training.strategy import is_multi_worker, worker_count


@dataclass
class Trainer:
    """Trains a compiled model with a strategy, callbacks and class weights.

    Args:
        strategy: tf.distribute.Strategy. The model must have been built and
            compiled inside `strategy.scope()`.
        callbacks: sequence of keras callbacks.
        epochs: int. Total epochs (a resumed run continues to this count).
        verbose: int. Keras verbosity (0 silent, 1 bar, 2 a line per epoch).
        loop: str. `"auto"` uses the distributed loop for multi-worker
            strategies and `model.fit` otherwise; `"fit"` and `"distributed"`
            force one.
    """

    strategy: Any
    callbacks: Sequence[Any] = field(default_factory=list)
    epochs: int = 1
    verbose: int = 2
    loop: str = "auto"

    def fit(
        self,
        model,
        train,
        validation=None,
        class_weight: dict | None = None,
        initial_epoch: int = 0,
        source_files: dict | None = None,
    ) -> dict:
        """Train from `initial_epoch` up to `epochs`; return this call's history.

        `source_files` ({"train": n, "validation": n}) says how many files
        each dataset reads; with at least one file per worker, workers split
        the files between them instead of each reading all data and keeping
        its share of the examples.
        """
        import tensorflow as tf

        if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
            raise ValueError(f"Trainer.fit needs a compiled model. Received: {model.name} without an optimizer")
        distributed = self.loop == "distributed" or (self.loop == "auto" and is_multi_worker(self.strategy))
        if self.strategy.num_replicas_in_sync > 1 or distributed:
            _build_before_distributing(model, train, self.strategy)
        try:
            if distributed:
                return DistributedLoop(self.strategy, self.callbacks, self.epochs, self.verbose).run(
                    model, train, validation, class_weight, initial_epoch, source_files or {}
                )
            with self.strategy.scope():
                history = model.fit(
                    train,
                    validation_data=validation,
                    epochs=self.epochs,
                    initial_epoch=initial_epoch,
                    callbacks=list(self.callbacks),
                    class_weight=class_weight,
                    verbose=self.verbose,
                    shuffle=False,  # the input pipeline shuffles
                )
        except tf.errors.DataLossError as exc:
            raise DataError(f"training data is corrupt: {first_line(exc)}") from None
        except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.AbortedError, tf.errors.CancelledError) as exc:
            raise RunError(
                f"lost contact with another worker ({first_line(exc)}); restart every worker with "
                "`dlsuite train --resume RUN` to continue from the last checkpoint"
            ) from None
        except tf.errors.OpError as exc:
            if not distributed:
                raise
            raise RunError(f"distributed training failed: {first_line(exc)}") from None
        return {k: [float(v) for v in vals] for k, vals in history.history.items()}


class DistributedLoop:
    """An epoch loop over `strategy.run(model.train_step)` with Keras callbacks."""

    def __init__(self, strategy, callbacks, epochs: int, verbose: int):
        self.strategy = strategy
        self.callbacks = list(callbacks)
        self.epochs = epochs
        self.verbose = verbose

    def run(self, model, train, validation, class_weight, initial_epoch: int, source_files: dict) -> dict:
        import keras
        import tensorflow as tf

        strategy = self.strategy
        if class_weight:
            train = with_class_weight(train, class_weight)
        train_dist, steps = self.distribute(train, source_files.get("train", 0), repeat=True)
        val_dist = self.distribute(validation, 0)[0] if validation is not None else None
        train_iterator = iter(train_dist) if steps else None
        jit = model.jit_compile is True

        def replica_step(step_fn):
            inner = tf.function(step_fn, jit_compile=True, reduce_retracing=True) if jit else step_fn

            @tf.function(reduce_retracing=True)
            def step(batch):
                strategy.run(inner, args=(batch,))
                # Read in cross-replica context: every replica's (and worker's) state, aggregated.
                return model.get_metrics_result()

            return step

        train_step, test_step = replica_step(model.train_step), replica_step(model.test_step)
        history = keras.callbacks.History()
        callbacks = keras.callbacks.CallbackList(
            self.callbacks + [history],
            add_history=False,
            add_progbar=self.verbose != 0,
            verbose=self.verbose,
            epochs=self.epochs,
            steps=steps,
            model=model,
        )
        model.stop_training = False
        callbacks.on_train_begin()
        start = agreed_epoch(strategy, model._initial_epoch or initial_epoch)
        logs: dict = {}
        epoch_logs: dict = {}
        for epoch in range(start, self.epochs):
            model.reset_metrics()
            callbacks.on_epoch_begin(epoch)
            batches = (next(train_iterator) for _ in range(steps)) if steps else train_dist
            for step, batch in enumerate(batches):
                callbacks.on_train_batch_begin(step)
                logs = _floats(train_step(batch))
                callbacks.on_train_batch_end(step, logs)
                if model.stop_training:
                    break
            if not logs:
                raise DataError("the training split produced no batches on this worker")
            epoch_logs = dict(logs)
            if val_dist is not None:
                model.reset_metrics()
                callbacks.on_test_begin()
                val_logs: dict = {}
                for vstep, batch in enumerate(val_dist):
                    callbacks.on_test_batch_begin(vstep)
                    val_logs = _floats(test_step(batch))
                    callbacks.on_test_batch_end(vstep, val_logs)
                callbacks.on_test_end(val_logs)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            average_local_state(strategy, model)
            callbacks.on_epoch_end(epoch, epoch_logs)
            if model.stop_training:
                break
        model._initial_epoch = None
        callbacks.on_train_end(logs=epoch_logs)
        return {k: [float(v) for v in vals] for k, vals in history.history.items()}

    def distribute(self, dataset, files: int, repeat: bool = False):
        """Split a batched dataset across workers; return it and its steps per epoch.

        Every replica must get examples at every step: batch normalization
        over an empty batch gives NaN statistics. So batches smaller than
        the replica count are dropped (fewer examples than replicas, once per
        epoch). When each worker gets at least one file, workers read their
        own files (by-file sharding), which leaves them with unequal numbers
        of batches; the training set then repeats and every worker takes the
        same number of steps, that of one pass over the data. Otherwise each
        worker keeps its share of every batch and steps are None (one pass).
        """
        import tensorflow as tf

        replicas = self.strategy.num_replicas_in_sync
        batches = int(dataset.cardinality())
        by_file = repeat and files >= worker_count(self.strategy) and batches > 0
        dataset = dataset.filter(lambda *batch: tf.shape(tf.nest.flatten(batch)[0])[0] >= replicas)
        if by_file:
            dataset = dataset.repeat()
        policy = tf.data.experimental.AutoShardPolicy
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = policy.FILE if by_file else policy.DATA
        return self.strategy.experimental_distribute_dataset(dataset.with_options(options)), (batches if by_file else None)


def average_local_state(strategy, model) -> None:
    """Average non-trainable float state (batch-norm moving statistics) over replicas.

    Gradients are summed across replicas, so trainable weights stay equal
    everywhere; moving statistics are updated from each replica's own
    batches and drift apart. Averaging them at every epoch end leaves every
    worker with the same model, and checkpoints with the cluster's estimate.
    """
    import tensorflow as tf

    state = [v for v in model.non_trainable_variables if "float" in str(v.dtype)]
    if not state or strategy.num_replicas_in_sync == 1:
        return
    # One collective for all of them: flatten, average, split back.
    def flat():
        return tf.concat([tf.reshape(tf.cast(v.value, tf.float32), [-1]) for v in state], 0)

    local = _on_every_replica(strategy, flat)
    means = tf.split(strategy.reduce("MEAN", local, axis=None), [int(tf.size(v.value)) for v in state])
    for variable, mean in zip(state, means):
        variable.assign(tf.cast(tf.reshape(mean, variable.shape), variable.dtype))


def detach_from_cluster(model) -> None:
    """Make `predict`/`evaluate` run locally on each worker after multi-worker training.

    Under MultiWorkerMirroredStrategy, Keras would split prediction inputs
    between workers, so each worker's scores would cover only part of the
    data it iterates. Weights are identical on every worker after training,
    so each scores the whole set on its own (`keras_compat.detach_strategy`).
    """
    from shared.keras_compat import detach_strategy

    detach_strategy(model)


def weights_fingerprint(model) -> str:
    """SHA-256 over every weight's name and bytes: equal on workers that agree."""
    import hashlib

    import numpy as np

    digest = hashlib.sha256()
    for weight in model.weights:
        digest.update(weight.path.encode())
        digest.update(np.ascontiguousarray(weight.numpy()).tobytes())
    return digest.hexdigest()[:16]


def _floats(logs) -> dict:
    return {k: float(v) for k, v in logs.items()}


def agreed_epoch(strategy, epoch: int) -> int:
    """The epoch every worker resumes from; refuses to go on if they differ.

    Workers restore from the run directory's backup; a worker that cannot
    see it (the directory is not on storage they share) would start over and
    train out of step with the others.
    """
    if not is_multi_worker(strategy):
        return int(epoch)
    import tensorflow as tf

    # Only SUM and MEAN reduce across workers: n * sum(e^2) == sum(e)^2 holds
    # exactly when all n values are equal.
    value = tf.constant([float(epoch), float(epoch) ** 2], tf.float64)
    local = _on_every_replica(strategy, lambda: tf.identity(value))
    total, squares = strategy.reduce("SUM", local, axis=None).numpy()
    if strategy.num_replicas_in_sync * squares != total**2:
        raise RunError(
            f"workers would resume from different epochs (this one from {int(epoch)}): put the run directory "
            "on storage every worker shares (NFS, GCS) so that all restore the same checkpoint"
        )
    return int(epoch)


def _on_every_replica(strategy, fn):
    """`strategy.run(fn)` inside a graph (eager runs warn of their overhead)."""
    import tensorflow as tf

    @tf.function(autograph=False)
    def run():
        return strategy.run(fn)

    return run()


def with_class_weight(dataset, class_weight: dict):
    """Append per-example weights looked up from integer class labels."""
    import tensorflow as tf

    table = tf.constant([float(class_weight.get(i, 1.0)) for i in range(int(max(class_weight)) + 1)], tf.float32)

    def add(*example):
        if len(example) != 2:
            raise ValueError("class weights need (inputs, labels) batches without sample weights of their own")
        x, y = example
        index = tf.cast(tf.reshape(y, [tf.shape(y)[0], -1])[:, 0], tf.int32)
        return x, y, tf.gather(table, index)

    return dataset.map(add)


def _build_before_distributing(model, dataset, strategy) -> None:
    """Build training state from one local batch before a multi-replica fit (`keras_compat.build_from_local_batch`)."""
    from shared.keras_compat import build_from_local_batch

    build_from_local_batch(model, next(iter(dataset)), strategy)
