"""The engine: fit a compiled model on datasets under a strategy.

The engine is handed every part — the model, the datasets, the strategy
and the callbacks — and builds none of them. Custom training steps belong
to the model (`train_step` / `compute_loss`), so GANs, CTC, seq2seq and
detection models train here without special cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence


@dataclass
class Trainer:
    """Runs `model.fit` with a strategy, callbacks and class weights.

    Args:
        strategy: tf.distribute.Strategy. The model must have been built and
            compiled inside `strategy.scope()`.
        callbacks: sequence of keras callbacks.
        epochs: int. Total epochs (a resumed run continues to this count).
        verbose: int. Keras verbosity (0 silent, 1 bar, 2 a line per epoch).
    """

    strategy: Any
    callbacks: Sequence[Any] = field(default_factory=list)
    epochs: int = 1
    verbose: int = 2

    def fit(self, model, train, validation=None, class_weight: dict | None = None) -> dict:
        """Train and return the history of this call as `{metric: [values]}`."""
        if model.optimizer is None:
            raise ValueError(f"Trainer.fit needs a compiled model. Received: {model.name} without an optimizer")
        with self.strategy.scope():
            history = model.fit(
                train,
                validation_data=validation,
                epochs=self.epochs,
                callbacks=list(self.callbacks),
                class_weight=class_weight,
                verbose=self.verbose,
                shuffle=False,  # the input pipeline shuffles
            )
        return {k: [float(v) for v in vals] for k, vals in history.history.items()}
