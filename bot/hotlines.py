"""The published hotlines staff entered, read from the database with a short cache.

Hotlines are few (a province's lines, its agencies', the national ones) and staff
change them by hand, so the bot reads them all and keeps them ``ttl`` seconds: an edit
reaches every bot process within that time without a restart or an index build.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.models import Hotline

logger = logging.getLogger(__name__)

#: Default seconds a read of the hotlines is reused (``TTHC_HOTLINE_CACHE_SECONDS``).
DEFAULT_TTL = 30.0


class SqlHotlineDirectory:
    """:class:`bot.engine.model.HotlineDirectory` over the knowledge database."""

    def __init__(
        self,
        *,
        factory: sessionmaker[Session],
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._factory = factory
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: list[dict[str, Any]] | None = None
        self._read_at = 0.0

    def published(self) -> list[dict[str, Any]]:
        """Every published hotline as a plain dict (shape in ``HotlineDirectory``).

        A failed read keeps serving the last good list (logged), or raises when there
        is none yet.
        """
        with self._lock:
            if self._cached is not None and self._clock() - self._read_at < self._ttl:
                return self._cached
            try:
                self._cached = self._read()
            except Exception:
                if self._cached is None:
                    raise
                logger.exception("reading the hotlines failed; the last list is kept")
            self._read_at = self._clock()
            return self._cached

    def _read(self) -> list[dict[str, Any]]:
        with self._factory() as session:
            rows = session.execute(
                select(Hotline).where(Hotline.status == "published").order_by(Hotline.id)
            ).scalars()
            return [
                {
                    "scope": row.scope,
                    "area": row.area or "",
                    "name": row.name,
                    "phones": [str(p) for p in (row.phones or [])],
                    "email": row.email or "",
                    "hours": row.hours or "",
                    "source": row.source or "",
                    "verified_at": row.verified_at.isoformat() if row.verified_at else "",
                }
                for row in rows
            ]
