"""CPU-heavy work a serving process hands to a worker thread (an index build, a large export), without
making its requests wait for the GIL.

A request served meanwhile gives the GIL up at every I/O and every NumPy call, and with Python's default
switch interval (5 ms) waits that long each time to get it back from the busy thread: searches during a
bulk import's indexing went from p95 3 ms to 119 ms. While such work runs, threads switch every 0.2 ms
instead (13 ms p95; docs/PERFORMANCE.md, kb-import).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

WORKER_SWITCH_INTERVAL = 0.0002  # seconds; the process's own setting returns when the last such work ends

P = ParamSpec("P")
T = TypeVar("T")


class _ShortSwitchInterval:
    """Let threads take the GIL in turns more often while any such work runs (process-wide, then restored)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._default = sys.getswitchinterval()

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if not self._running:
                self._default = sys.getswitchinterval()
                sys.setswitchinterval(min(self._default, WORKER_SWITCH_INTERVAL))
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                if not self._running:
                    sys.setswitchinterval(self._default)


short_switch_interval = _ShortSwitchInterval()


async def in_worker_thread(work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run CPU-heavy work in a worker thread while the event loop keeps serving promptly."""
    with short_switch_interval():
        return await asyncio.to_thread(work, *args, **kwargs)
