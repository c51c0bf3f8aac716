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

    def fit(self, model, train, validation=None, class_weight: dict | None = None, initial_epoch: int = 0) -> dict:
        """Train from `initial_epoch` up to `epochs`; return this call's history."""
        if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
            raise ValueError(f"Trainer.fit needs a compiled model. Received: {model.name} without an optimizer")
        if self.strategy.num_replicas_in_sync > 1:
            _build_before_distributing(model, train, self.strategy)
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
        return {k: [float(v) for v in vals] for k, vals in history.history.items()}


def _build_before_distributing(model, dataset, strategy) -> None:
    """Build training state from one local batch before a multi-replica fit.

    Keras 3.15's TensorFlow trainer learns input shapes by averaging one
    distributed batch across replicas (`_maybe_symbolic_build`), which fails
    for string inputs ("AddN ... string"), i.e. for every model that takes raw
    text or categories. Building from a local batch gives the same state, and
    the averaging step is then skipped for this model.
    """
    batch = next(iter(dataset))
    with strategy.scope():
        model._symbolic_build(data_batch=batch)
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None
