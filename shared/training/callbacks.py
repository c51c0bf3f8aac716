"""Standard callbacks every run gets: resume, best weights, early stop, logs."""

from __future__ import annotations

from pathlib import Path


class ResumeNotice:
    """Tells the user when a run restarts from its backup checkpoint."""

    @staticmethod
    def make(stream=None):
        import sys

        import keras

        class _Notice(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                start = getattr(self.model, "_initial_epoch", None)
                if start and start > self.params.get("initial_epoch", 0):
                    print(f"resuming from checkpoint: epoch {start} of {self.params.get('epochs')} already done", file=stream or sys.stderr, flush=True)

        return _Notice()


def backup_and_restore(backup_dir: Path, restore_dir: Path | None = None):
    """Keras BackupAndRestore that may restore from another directory.

    A non-chief worker of a multi-worker run restores from the chief's
    backup in the shared run directory but saves into its own scratch copy:
    saving reads every variable, a collective step all workers must join,
    while only the chief's copy may land in the run directory.
    `double_checkpoint` keeps the previous copy if a kill lands mid-save.
    """
    import keras

    if restore_dir is None or Path(restore_dir) == Path(backup_dir):
        return keras.callbacks.BackupAndRestore(str(backup_dir), double_checkpoint=True)

    class RestoreElsewhere(keras.callbacks.BackupAndRestore):
        def __init__(self):
            super().__init__(str(backup_dir), double_checkpoint=True)
            self._source = keras.callbacks.BackupAndRestore(str(restore_dir), double_checkpoint=True)

        def set_model(self, model):
            super().set_model(model)
            self._source.set_model(model)

        def on_train_begin(self, logs=None):
            self._source.on_train_begin(logs)

    return RestoreElsewhere()


def standard_callbacks(cfg, run_dir: Path, phase: str = "train", out_dir: Path | None = None) -> list:
    """Callbacks for one run directory, chosen from the trainer config.

    `out_dir` receives what the callbacks write when it is not the run
    directory (a non-chief worker's scratch directory).
    """
    import keras

    t = cfg.trainer
    out_dir = out_dir or run_dir
    ckpt = out_dir / "checkpoints"
    ckpt.mkdir(parents=True, exist_ok=True)
    callbacks = [
        # Restores weights, optimizer state and epoch after an interruption.
        backup_and_restore(ckpt / f"backup-{phase}", run_dir / "checkpoints" / f"backup-{phase}"),
        ResumeNotice.make(),
        keras.callbacks.CSVLogger(str(out_dir / "history.csv"), append=True),
        keras.callbacks.TerminateOnNaN(),
    ]
    es = t.early_stopping
    if es.enabled:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=es.monitor,
                mode=es.mode,
                patience=es.patience,
                restore_best_weights=es.restore_best_weights,
                verbose=1,
            )
        )
    if t.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(out_dir / "logs"), profile_batch=0))
    return callbacks
