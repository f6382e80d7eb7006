"""The CPU the bot spends on its database per update, measured where it is spent.

``python -m benchmarks conversation`` reads it from the running bot: a quick press
(``storage.quick_drafts``) is timed around its statements only, the rest of the updates
around their whole transaction (which includes the work done inside it, so that figure is
an upper bound). A clock read at each end costs about a microsecond, so it stays on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Tally:
    seconds: float = 0.0
    """Thread CPU time."""
    count: int = 0


@dataclass
class DatabaseCpu:
    quick: Tally = field(default_factory=Tally)
    """Quick presses: their statements, the begin and the commit."""
    full: Tally = field(default_factory=Tally)
    """Other transactions of an update, whole."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @contextmanager
    def timing(self, tally: Tally, *, count: bool = True) -> Iterator[None]:
        """Add the thread CPU time spent inside to ``tally`` (and one to its count)."""
        started = time.thread_time()
        try:
            yield
        finally:
            self.add(tally, time.thread_time() - started, count=count)

    def add(self, tally: Tally, seconds: float, *, count: bool = True) -> None:
        with self._lock:
            tally.seconds += seconds
            tally.count += count

    def as_dict(self) -> dict[str, float]:
        with self._lock:
            return {
                "quick_seconds": self.quick.seconds,
                "quick_count": self.quick.count,
                "full_seconds": self.full.seconds,
                "full_count": self.full.count,
            }


class Stopwatch:
    """Thread CPU time spent inside ``with stopwatch:``, summed over its uses: the part of
    a quick transaction that is not the database's."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __enter__(self) -> None:
        self._started = time.thread_time()

    def __exit__(self, *exc: object) -> None:
        self.seconds += time.thread_time() - self._started
