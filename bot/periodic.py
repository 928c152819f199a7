"""A periodic task in the serving process's event loop (lifespan hooks ``start``/``stop``).

Used by the effective-date publisher (:mod:`bot.admin.due`) and the retention purge
(:mod:`bot.privacy`): the work of a round runs in a thread (``asyncio.to_thread``) so the
loop never waits on the database; a failed round is logged and the next one runs anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

logger = logging.getLogger(__name__)


class PeriodicTask:
    """Runs :meth:`run_once` at ``start()`` and then every ``interval`` seconds."""

    #: The asyncio task's name.
    name = "tthc-periodic"

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        #: How many rounds ran (for the status and tests).
        self.rounds = 0

    def run_once(self) -> None:
        """One round (in a thread); subclasses do their work here."""
        raise NotImplementedError

    def enabled(self) -> bool:
        """Whether ``start()`` starts the loop at all."""
        return True

    async def start(self) -> None:
        """Start the loop (the first round runs at once)."""
        if self._task is None and self.enabled():
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Cancel the loop and wait for it."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:
                logger.exception("%s failed; retrying next round", self.name)
            self.rounds += 1
            await asyncio.sleep(self.interval)
