"""Reply jobs on procrastinate: PostgreSQL in production, the same jobs in-process on SQLite.

Why procrastinate: the production database is already PostgreSQL, so the queue needs
no other service; it gives retries with a per-exception decision (a platform's
``retry_after`` becomes the job's ``retry_in``), per-chat ``lock`` (one chat's events
are answered in order, whichever worker takes them), periodic jobs and stalled-worker
detection.

Durability does not rest on the queue alone: the inbox row is committed before the
webhook answers 200, and the periodic ``tthc.recover`` job (also run at start-up)
re-queues every row that is not final and has not moved for ``lease`` seconds, and
retries jobs whose worker died. On the embedded SQLite default the queue lives in
memory (procrastinate's ``InMemoryConnector``) inside ``tthc serve``: a crash loses
the queue, never the inbox, and start-up re-queues what was left.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import procrastinate
from procrastinate import exceptions as queue_errors
from procrastinate import testing as queue_testing
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy, RetryDecision
from sqlalchemy.exc import OperationalError

from bot.channels.base import PlatformRateLimited, PlatformUnavailable, TokenExpired
from bot.channels.inbox import Inbox

logger = logging.getLogger(__name__)

Handler = Callable[[int, bool], Awaitable[None]]
#: Sends one announcement (``bot.channels.announcements.AnnouncementSender.run``).
AnnounceRunner = Callable[[int], Awaitable[bool]]


class ReplyRetry(BaseRetryStrategy):
    """When a reply job is tried again.

    A 429 waits exactly what the platform asked (however long); a network error, a 5xx,
    an expired token or a database that is locked or down back off exponentially with
    jitter up to ``cap`` seconds. Anything else is not retried. After ``max_attempts``
    the job stops (the handler has marked the inbox row failed on its last attempt).
    """

    def __init__(self, *, max_attempts: int, base: float, cap: float) -> None:
        self.max_attempts = max_attempts
        self._base = base
        self._cap = cap

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if job.attempts + 1 >= self.max_attempts:
            return None
        if isinstance(exception, PlatformRateLimited):
            return _retry_in(max(0.0, exception.retry_after))
        if isinstance(exception, PlatformUnavailable | TokenExpired | OperationalError):
            delay = min(self._cap, self._base * 2**job.attempts)
            return _retry_in(random.uniform(delay / 2, delay))
        return None


def _retry_in(seconds: float) -> RetryDecision:
    return RetryDecision(retry_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds))


class JobQueue:
    """The reply and recovery jobs, the announcement jobs (``tthc.announce`` for one
    announcement, the periodic ``tthc.announce_due`` that queues the due ones), and the
    worker that runs them.

    ``durable`` tells whether the queue itself survives a crash (PostgreSQL); when it
    does not (in memory), :meth:`start` re-queues every unfinished inbox row at once.
    """

    def __init__(
        self,
        *,
        connector: Any,
        inbox: Inbox,
        durable: bool,
        max_attempts: int = 25,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
        lease_seconds: float = 60.0,
        stalled_seconds: float = 30.0,
        concurrency: int = 8,
        recover_cron: str = "* * * * * */15",
        polling_interval: float | None = None,
    ) -> None:
        self.app = procrastinate.App(connector=connector)
        self.durable = durable
        self._inbox = inbox
        self._handler: Handler | None = None
        self._lease = lease_seconds
        self._stalled = stalled_seconds
        self._concurrency = concurrency
        self._polling = polling_interval if polling_interval is not None else (
            1.0 if durable else 0.05
        )
        self._worker: asyncio.Task[None] | None = None
        self._opened = False
        self._open_lock = asyncio.Lock()
        self._retry = ReplyRetry(max_attempts=max_attempts, base=backoff_base, cap=backoff_cap)

        @self.app.task(name="tthc.reply", pass_context=True, retry=self._retry)
        async def reply(context: procrastinate.JobContext, inbox_id: int) -> None:
            if self._handler is None:
                raise RuntimeError("the job queue has no handler bound")
            attempts = context.job.attempts if context.job is not None else 0
            await self._handler(inbox_id, attempts + 1 >= max_attempts)

        # No queueing locks: a stalled job put back to "todo" would collide with one
        # queued meanwhile for the same row. Duplicates are prevented by looking at the
        # queue in ``recover`` and made harmless by ``process`` (a row answered once).
        @self.app.periodic(cron=recover_cron)
        @self.app.task(name="tthc.recover")
        async def recover(timestamp: int) -> None:
            await self.recover(older_than=self._lease)

        self._reply_task = reply
        self._announce_runner: AnnounceRunner | None = None
        self._announce_due: Callable[[], list[int]] | None = None

        @self.app.task(name="tthc.announce", pass_context=True, retry=self._retry)
        async def announce(context: procrastinate.JobContext, announcement_id: int) -> None:
            if self._announce_runner is None:
                raise RuntimeError("the job queue has no announcement sender bound")
            await self._announce_runner(announcement_id)

        # Scheduled announcements go out at their time, and a run a crash stopped
        # resumes, whichever process is alive.
        @self.app.periodic(cron=recover_cron)
        @self.app.task(name="tthc.announce_due")
        async def announce_due(timestamp: int) -> None:
            await self.queue_due_announcements()

        self._announce_task = announce

    @staticmethod
    def durable_for(url: str) -> bool:
        """Whether :meth:`for_database` gives a queue shared by processes (PostgreSQL)."""
        return url.startswith("postgresql")

    @classmethod
    def for_database(cls, url: str, *, inbox: Inbox, **options: Any) -> JobQueue:
        """PostgreSQL (a SQLAlchemy URL) → the shared queue; anything else → in memory."""
        if cls.durable_for(url):
            conninfo = url.replace("postgresql+psycopg://", "postgresql://", 1)
            connector: Any = procrastinate.PsycopgConnector(
                conninfo=conninfo, min_size=1, max_size=4
            )
            return cls(connector=connector, inbox=inbox, durable=True, **options)
        return cls(
            connector=queue_testing.InMemoryConnector(), inbox=inbox, durable=False, **options
        )

    def bind(self, handler: Handler) -> None:
        """The coroutine that answers one inbox row: ``handler(inbox_id, last_attempt)``."""
        self._handler = handler

    def bind_announcements(self, runner: AnnounceRunner, due: Callable[[], list[int]]) -> None:
        """What sends one announcement, and what lists the ids due now (synchronous)."""
        self._announce_runner = runner
        self._announce_due = due

    async def defer_announcement(self, announcement_id: int) -> bool:
        """Queue the send job of one announcement unless one is already waiting or running.

        One job per announcement at a time (its lock), so two workers never send the
        same announcement side by side. Returns whether a job was queued.
        """
        await self.open()
        for status in ("todo", "doing"):
            for job in await self.app.job_manager.list_jobs_async(
                task="tthc.announce", status=status
            ):
                if job.task_kwargs.get("announcement_id") == announcement_id:
                    return False
        key = f"announce:{announcement_id}"
        try:
            await self._announce_task.configure(lock=key, queueing_lock=key).defer_async(
                announcement_id=announcement_id
            )
        except queue_errors.AlreadyEnqueued:
            return False
        return True

    async def queue_due_announcements(self) -> int:
        """Queue every announcement whose time came or whose run stopped; returns how many."""
        if self._announce_due is None:
            return 0
        await self.open()
        # A job whose worker died stays "doing": retried here, it resumes the run.
        await self._retry_stalled("tthc.announce")
        ids = await asyncio.to_thread(self._announce_due)
        queued = 0
        for announcement_id in ids:
            queued += await self.defer_announcement(announcement_id)
        return queued

    async def open(self) -> None:
        """Open the queue's connections (call once per process, inside its event loop)."""
        async with self._open_lock:
            if not self._opened:
                await self.app.open_async()
                self._opened = True

    async def close(self) -> None:
        """Stop the worker if it runs, then close the connections."""
        await self.stop_worker()
        if self._opened:
            self._opened = False
            await self.app.close_async()

    async def defer(self, inbox_id: int, chat: str) -> None:
        """Queue the reply job of one inbox row (its lock is the chat: in order)."""
        await self.open()
        await self._reply_task.configure(lock=chat).defer_async(inbox_id=inbox_id)

    async def _retry_stalled(self, task_name: str) -> None:
        """Shared queue only: retry ``task_name`` jobs whose worker stopped beating."""
        if not self.durable:
            return
        manager = self.app.job_manager
        stalled = await manager.get_stalled_jobs(
            task_name=task_name, seconds_since_heartbeat=self._stalled
        )
        for job in stalled:
            logger.warning("retrying job %s left by a stopped worker", job.id)
            try:
                await manager.retry_job(job)
            except queue_errors.ProcrastinateException:  # another worker did it
                logger.info("job %s was already retried", job.id)

    async def recover(self, *, older_than: float) -> int:
        """Retry reply jobs of dead workers, re-queue inbox rows no job is answering.

        Returns how many rows were re-queued (rows with a job waiting or running are
        left to it).
        """
        await self.open()
        manager = self.app.job_manager
        await self._retry_stalled("tthc.reply")
        queued: set[int] = set()
        for status in ("todo", "doing"):
            for job in await manager.list_jobs_async(task="tthc.reply", status=status):
                inbox_id = job.task_kwargs.get("inbox_id")
                if isinstance(inbox_id, int):
                    queued.add(inbox_id)
        rows = await asyncio.to_thread(self._inbox.unfinished, older_than=older_than)
        missing = [(inbox_id, chat) for inbox_id, chat in rows if inbox_id not in queued]
        for inbox_id, chat in missing:
            await self.defer(inbox_id, chat)
        if missing:
            logger.info("re-queued %d unanswered events", len(missing))
        return len(missing)

    async def start_worker(self) -> None:
        """Run the worker in the background of this process (``tthc serve``)."""
        if not self.durable:
            await self.recover(older_than=0)  # the in-memory queue starts empty
            await self.queue_due_announcements()
        self._worker = asyncio.get_running_loop().create_task(self.run_worker(wait=True))

    async def stop_worker(self, timeout: float = 10.0) -> None:
        """Stop the background worker: running jobs get ``timeout`` seconds to finish.

        What does not finish stays in the inbox (and, on PostgreSQL, in the queue) and
        is resumed by the next worker.
        """
        worker, self._worker = self._worker, None
        if worker is None:
            return
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(worker, timeout=timeout + 5)

    async def run_worker(self, *, wait: bool) -> None:
        """Run jobs until stopped (``wait``), or until none is ready now."""
        await self.open()
        await self.app.run_worker_async(
            concurrency=self._concurrency,
            wait=wait,
            install_signal_handlers=False,
            fetch_job_polling_interval=self._polling,
            listen_notify=self.durable,
            shutdown_graceful_timeout=10.0,
            update_heartbeat_interval=max(1.0, self._stalled / 3),
            stalled_worker_timeout=self._stalled,
            delete_jobs="successful",
        )

    async def drain(self, timeout: float = 30.0) -> bool:
        """Run jobs until every inbox row is final (tests, polling mode); False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            await self.run_worker(wait=False)
            if not await asyncio.to_thread(self._inbox.unfinished, older_than=0):
                return True
            if loop.time() >= deadline:
                return False
            await self.recover(older_than=0)
            await asyncio.sleep(0.05)
