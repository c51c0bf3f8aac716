"""Transfer learning's control: the pretrained backbone's own architecture, trained from random weights.

A run that starts from a pretrained backbone (`ModelSpec(pretrained=True)`)
shows what pretraining bought by training the same network from scratch on
the same data for the same number of epochs. That is only possible when the
backbone's architecture is known: the suite's offline backbones
(`shared.hub.offline.RECIPES`). A tfhub.dev or Kaggle handle is reported as
skipped.

Example:

```python
trained = train_scratch_twin(cfg, data, lambda extractor: build_twin(cfg.model, data, extractor))
if trained.model is not None:
    probs = trained.model.predict(x_test)
```
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class ScratchTwin:
    """The from-scratch model (None when skipped), why it was skipped, the epochs it trained for and its training seconds."""

    model: Any
    skipped: str | None
    epochs: int
    seconds: float = 0.0
    epochs_run: int = 0  # fewer than `epochs` when early stopping ended it


def train_scratch_twin(cfg, data, build: Callable[[Any], Any], loss: Any = None, metrics: list | None = None) -> ScratchTwin:
    """Build `build(extractor)` on a randomly initialised copy of the backbone and fit it like the transfer run.

    Args:
        cfg: the run config. Reads `model.handle`, `model.head_epochs`,
            `model.fine_tune_epochs`, `optimizer`, `trainer.early_stopping`
            and `run.seed`.
        data: the run's `DataBundle` (train, validation, class weights).
        build: callable. `build(extractor) -> keras.Model`, the transfer
            model's head around `extractor`.
        loss: the loss. Defaults to sparse categorical cross-entropy.
        metrics: list or None. Compiled metrics. Defaults to `["accuracy"]`.
    """
    import keras
    import tensorflow as tf

    from shared.errors import UnknownNameError
    from shared.hub import offline
    from shared.training.engine import Trainer
    from shared.training.optimizers import make_optimizer

    epochs = cfg.model.head_epochs + cfg.model.fine_tune_epochs
    try:
        recipe = offline.get_recipe(cfg.model.handle)
    except UnknownNameError:  # a tfhub.dev/Kaggle handle: its architecture is not ours to rebuild
        return ScratchTwin(None, f"architecture of {cfg.model.handle!r} is not known to the suite", epochs)
    keras.utils.set_random_seed(cfg.run.seed)
    twin = build(offline.build_feature_extractor(recipe))
    twin.compile(optimizer=make_optimizer(cfg.optimizer), loss=loss or keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"] if metrics is None else metrics)
    callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.trainer.early_stopping.patience, restore_best_weights=True)]
    start = time.perf_counter()
    history = Trainer(tf.distribute.get_strategy(), callbacks=callbacks, epochs=epochs, verbose=0).fit(twin, data.train, data.validation, class_weight=data.class_weight)
    ran = len(getattr(history, "history", {}).get("loss", [])) or epochs
    return ScratchTwin(twin, None, epochs, round(time.perf_counter() - start, 1), ran)
