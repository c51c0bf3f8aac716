"""Progress display for long steps: numbered stages on stderr, and tqdm bars."""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


class Stages:
    """Prints `[i/n] what ... done (1.2 s)` around each stage of a long job.

    Args:
        total: int. Number of stages, shown as the denominator.
        stream: file object. Where to print. Defaults to `sys.stderr`.
    """

    def __init__(self, total: int, stream=None):
        self.total = total
        self.index = 0
        self.stream = stream or sys.stderr

    @contextlib.contextmanager
    def stage(self, what: str) -> Iterator[None]:
        self.index += 1
        start = time.perf_counter()
        print(f"[{self.index}/{self.total}] {what} ...", file=self.stream, flush=True)
        yield
        elapsed = time.perf_counter() - start
        print(f"[{self.index}/{self.total}] {what}: done ({elapsed:.1f} s)", file=self.stream, flush=True)


def track(items: Iterable[T], desc: str, total: int | None = None, unit: str = "it") -> Iterable[T]:
    """Wrap an iterable in a tqdm bar on stderr (plain lines when not a TTY)."""
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, total=total, unit=unit, file=sys.stderr, mininterval=1.0, disable=None)


def keras_verbosity(setting) -> int:
    """Progress bar on a terminal, one line per epoch in logs and CI."""
    if setting != "auto":
        return int(setting)
    return 1 if sys.stderr.isatty() else 2
