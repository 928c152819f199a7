"""Per-user rate limiting on the ``limits`` library: in memory, or shared through Redis.

One process (the embedded default) keeps its counters in memory; several processes
set ``TTHC_REDIS_URL`` and share one moving window per user. Over the limit, the user
is told once per window ("slow down"); further messages in that window get no reply,
so a flood does not turn into a flood of outbound messages.
"""

from __future__ import annotations

from typing import Literal

from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

Verdict = Literal["allow", "notice", "silent"]


class RateLimiter:
    """At most ``limit`` messages per ``window`` seconds for each key.

    ``storage_uri`` is a ``limits`` storage: ``memory://`` (default) or a Redis URL
    (``redis://host:6379/0``).
    """

    def __init__(
        self, *, limit: int = 10, window: float = 60.0, storage_uri: str = "memory://"
    ) -> None:
        self._strategy = MovingWindowRateLimiter(storage_from_string(storage_uri))
        seconds = max(1, int(window))
        self._messages = RateLimitItemPerSecond(max(1, limit), seconds, namespace="tthc-msg")
        self._notices = RateLimitItemPerSecond(1, seconds, namespace="tthc-notice")

    def allow(self, key: str) -> bool:
        """Record one message for ``key``; False when over the limit."""
        return bool(self._strategy.hit(self._messages, key))

    def verdict(self, key: str) -> Verdict:
        """Record one message: allowed, over the limit (tell once), or over and told."""
        if self.allow(key):
            return "allow"
        return "notice" if self._strategy.hit(self._notices, key) else "silent"
