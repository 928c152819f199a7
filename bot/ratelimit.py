"""Per-user rate limiting (a sliding window in memory)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """At most ``limit`` messages per ``window`` seconds for each key."""

    def __init__(
        self, *, limit: int = 10, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Record one message for ``key``; False when over the limit."""
        now = self._clock()
        with self._lock:
            times = self._seen.setdefault(key, deque())
            while times and now - times[0] > self._window:
                times.popleft()
            if len(times) >= self._limit:
                return False
            times.append(now)
            if len(self._seen) > 50_000:
                self._seen = {
                    k: v for k, v in self._seen.items() if v and now - v[-1] <= self._window
                }
            return True
