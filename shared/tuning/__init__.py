"""Hyperparameter search: `space` (the tune: section), `search` (keras-tuner oracles, trials through the engine)."""
