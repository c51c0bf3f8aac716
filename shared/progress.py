"""Progress display for long steps: numbered stages and running counts on stderr, and tqdm bars."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

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

    def note(self, line: str) -> None:
        """Print one indented line about the current stage, e.g. which split was chosen."""
        print(f"      {line}", file=self.stream, flush=True)


def track(items: Iterable[T], desc: str, total: int | None = None, unit: str = "it") -> Iterable[T]:
    """Wrap an iterable in a tqdm bar on stderr (plain lines when not a TTY)."""
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, total=total, unit=unit, file=sys.stderr, mininterval=1.0, disable=None)


class RunningCount:
    """Prints a running count on stderr, such as `packed 1,200,000 rows (...)`.

    One line at most every `interval` seconds, plus the final one from
    `done`, so logs stay short however long the job runs.

    Args:
        what: str. The verb and unit, e.g. `"packed {:,} rows"`; formatted
            with the count.
        interval: float. Seconds between lines. Defaults to `2.0`.
        stream: file object. Where to print. Defaults to `sys.stderr`.
    """

    def __init__(self, what: str, interval: float = 2.0, stream=None):
        self.what = what
        self.interval = interval
        self.stream = stream or sys.stderr
        self.count = 0
        self._shown = 0
        self._last = time.perf_counter()

    def add(self, n: int, detail: str = "") -> None:
        self.count += n
        if time.perf_counter() - self._last >= self.interval:
            self._print(detail)

    def done(self, detail: str = "") -> None:
        if self.count != self._shown or not self.count:
            self._print(detail)

    def _print(self, detail: str) -> None:
        self._last = time.perf_counter()
        self._shown = self.count
        suffix = f" ({detail})" if detail else ""
        print(self.what.format(self.count) + suffix, file=self.stream, flush=True)


def keras_verbosity(setting) -> int:
    """Progress bar on a terminal, one line per epoch in logs and CI."""
    if setting != "auto":
        return int(setting)
    return 1 if sys.stderr.isatty() else 2
