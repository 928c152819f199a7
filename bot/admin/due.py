"""Publishing approved changes on their effective date by itself (xuất bản theo ngày hiệu lực).

:class:`DuePublisher` runs :func:`publish_due_once` once at start-up and then every
``interval`` seconds in the serving process's event loop (started and stopped by
:func:`bot.app.build_web_app`'s lifespan hooks when the admin is mounted). Several
processes may run it at once: :func:`knowledge.workflow.publish_due` takes the due rows
with ``FOR UPDATE SKIP LOCKED``, so each change is published by exactly one of them.
Each publish is audited with the actor :data:`SYSTEM_ACTOR` and asks the index refresh
for a rebuild after the commit.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from bot.periodic import PeriodicTask
from knowledge.db import transaction
from knowledge.refresh import IndexRefresh
from knowledge.workflow import Actor, publish_due

logger = logging.getLogger(__name__)

#: Who publishes in the audit log.
SYSTEM_ACTOR = Actor("hệ thống", "admin", "")
DEFAULT_INTERVAL_SECONDS = 60.0


def publish_due_once(
    factory: sessionmaker[Session], refresh: IndexRefresh, today: dt.date
) -> list[tuple[str, str]]:
    """Publish every approved change due on or before ``today`` (Vietnamese calendar
    day) in one transaction, then request an index refresh per record. Returns the
    ``(kind, key)`` published by this call."""
    with transaction(factory) as session:
        published = publish_due(session, today=today, actor=SYSTEM_ACTOR)
    for kind, key in published:
        try:
            refresh.request(f"{kind} {key} published (effective date)")
        except Exception:
            logger.exception("index refresh request failed")
    return published


class DuePublisher(PeriodicTask):
    """The periodic task; ``start()`` / ``stop()`` are lifespan hooks (async)."""

    name = "tthc-due-publisher"

    def __init__(
        self,
        factory: sessionmaker[Session],
        refresh: IndexRefresh,
        *,
        interval: float = DEFAULT_INTERVAL_SECONDS,
        today: Callable[[], dt.date] | None = None,
    ) -> None:
        from bot.admin.changes import today as local_today

        super().__init__(interval)
        self.factory, self.refresh = factory, refresh
        self.today = today or local_today

    def run_once(self) -> None:
        """Publish what is due today."""
        published = publish_due_once(self.factory, self.refresh, self.today())
        if published:
            logger.info("published %d due change(s)", len(published))
