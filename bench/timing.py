"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import time


def best_epoch_seconds(model, feeds: dict, rounds: int) -> dict:
    """Best seconds of one `fit` epoch per feed, after a warm-up epoch of each.

    Feeds are timed alternately, so that other load on the machine hits them
    alike; the warm-up traces the model and fills any in-memory cache.
    """
    for feed in feeds.values():
        model.fit(feed, epochs=1, verbose=0)
    best = dict.fromkeys(feeds, float("inf"))
    for _ in range(rounds):
        for name, feed in feeds.items():
            start = time.perf_counter()
            model.fit(feed, epochs=1, verbose=0)
            best[name] = min(best[name], time.perf_counter() - start)
    return best
