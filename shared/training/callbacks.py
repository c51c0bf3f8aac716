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


def standard_callbacks(cfg, run_dir: Path, phase: str = "train") -> list:
    """Callbacks for one run directory, chosen from the trainer config."""
    import keras

    t = cfg.trainer
    ckpt = run_dir / "checkpoints"
    ckpt.mkdir(parents=True, exist_ok=True)
    callbacks = [
        # Restores weights, optimizer state and epoch after an interruption;
        # double_checkpoint keeps the previous copy if a kill lands mid-save.
        keras.callbacks.BackupAndRestore(str(ckpt / f"backup-{phase}"), double_checkpoint=True),
        ResumeNotice.make(),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=True),
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
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run_dir / "logs"), profile_batch=0))
    return callbacks
