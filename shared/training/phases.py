"""Training phases: one run, several `fit` calls with different settings.

Transfer learning trains in phases: first the new head on a frozen backbone,
then the top of the backbone at a lower learning rate. A task describes its
phases; the runner recompiles between them and keeps epoch numbering, logs
and checkpoints continuous, so a run interrupted in any phase resumes there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Phase:
    """One stage of training.

    Args:
        name: str. Short identifier used for checkpoints and logs.
        epochs: int. Epochs in this phase.
        prepare: callable or None. `prepare(model)` runs before the phase,
            e.g. to freeze or unfreeze layers. The model is recompiled after.
        learning_rate_scale: float. Multiplies the configured learning rate
            for this phase. Defaults to `1.0`.
    """

    name: str
    epochs: int
    prepare: Callable[[Any], None] | None = None
    learning_rate_scale: float = 1.0

    def __post_init__(self):
        if self.epochs < 0:
            raise ValueError(f"a phase needs epochs >= 0. Received: epochs={self.epochs}")
        if self.learning_rate_scale <= 0:
            raise ValueError(f"learning_rate_scale must be > 0. Received: learning_rate_scale={self.learning_rate_scale}")


def backbone_phases(cfg) -> list[Phase]:
    """Transfer learning's two phases for a model with a `HubBackbone` named `BACKBONE`.

    The head trains on the frozen backbone for `model.head_epochs`, then the
    backbone (or its top `model.fine_tune_from` variables) is fine-tuned for
    `model.fine_tune_epochs` at `model.fine_tune_learning_rate_scale` of the
    learning rate. Pass it as `ModelSpec(phases=backbone_phases)`.
    """
    from shared.layers.names import BACKBONE  # Keras-free module

    m = cfg.model

    def freeze(model):
        model.get_layer(BACKBONE).set_fine_tuning(False)

    def unfreeze_top(model):
        model.get_layer(BACKBONE).set_fine_tuning(True, m.fine_tune_from)

    return [
        Phase("head", m.head_epochs, prepare=freeze),
        Phase("fine_tune", m.fine_tune_epochs, prepare=unfreeze_top, learning_rate_scale=m.fine_tune_learning_rate_scale),
    ]
