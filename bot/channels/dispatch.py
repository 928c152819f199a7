"""Webhook handling shared by every channel: verify, parse, store, ack; answer in a job.

A webhook request verifies the signature, parses, stores each new event in the inbox
(the unique key is the claim; a redelivery is skipped) and queues its reply job; it
answers 200 only once the events are committed (Zalo retries after ~2 s). The job asks
the engine (in a thread pool sized to the cores), stores the rendered parts once and
sends them one by one, recording each part the platform accepted, so a retry or a
crash resumes at the first unsent part and nothing is sent twice.

Ambiguous outcomes (decision, per platform): none of Telegram, Zalo OA, Zalo Bot or
Messenger's Send API takes an idempotency key. A request that surely did not reach
the platform (connection refused, connect timeout, a 5xx or a 429 answer) is retried;
one whose answer was lost (read timeout, connection dropped after sending) is counted
as delivered and not sent again, and so is a part a crash left "in flight": a
duplicate in the citizen's chat is worse than a lost part of a long answer, which
always ends with the link to the full procedure.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from bot.channels import inflight
from bot.channels.base import (
    ChannelAdapter,
    ChannelError,
    DeliveryUncertain,
    InboundEvent,
    OutboundMessage,
    PlatformRateLimited,
    PlatformUnavailable,
    TokenExpired,
    answer_to_message,
)
from bot.channels.inbox import ANSWERED, FAILED, Inbox, InboxRow
from bot.engine import texts
from bot.engine.model import Answerer, Question
from bot.engine_process import EnginePool
from bot.ratelimit import RateLimiter

logger = logging.getLogger(__name__)


class StorageUnavailable(Exception):
    """The inbox could not take the events in time: the webhook answers 503."""


class ReplyQueue(Protocol):
    """Queues the reply job of one inbox row (see ``bot.channels.jobs.JobQueue``)."""

    async def defer(self, inbox_id: int, chat: str) -> None: ...


class Subscriptions(Protocol):
    """Keeps who wants update notifications."""

    def add(self, channel: str, user_id: str) -> bool: ...

    def remove(self, channel: str, user_id: str) -> bool: ...


class Dispatcher:
    """Stores inbound events, then answers them as jobs and sends the rendered replies."""

    def __init__(
        self,
        *,
        engine: Answerer,
        inbox: Inbox,
        queue: ReplyQueue,
        adapters: Iterable[ChannelAdapter],
        limiter: RateLimiter,
        on_feedback: Callable[[InboundEvent, str, str], Awaitable[None]] | None = None,
        subscriptions: Subscriptions | None = None,
        ack_timeout: float = 0.9,
        engine_threads: int | None = None,
        engine_processes: EnginePool | None = None,
    ) -> None:
        self._engine = engine
        self._inbox = inbox
        self._queue = queue
        self._adapters = {adapter.name: adapter for adapter in adapters}
        self._limiter = limiter
        self._on_feedback = on_feedback
        self._subscriptions = subscriptions
        self._ack_timeout = ack_timeout
        self._pool = ThreadPoolExecutor(
            max_workers=engine_threads or os.cpu_count() or 2, thread_name_prefix="engine"
        )
        #: When given, questions go to these processes (``bot.engine_process``).
        self._processes = engine_processes
        # Acknowledgements get threads of their own: they never queue behind the reply
        # jobs' database writes in asyncio's default pool.
        self._ack_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="inbox-ack")

    async def accept(self, adapter: ChannelAdapter, events: list[InboundEvent]) -> int:
        """Store the new events and queue their replies; returns how many were new.

        Raises :class:`StorageUnavailable` when the database does not take them within
        ``ack_timeout`` seconds (locked or down): nothing was acknowledged, so the
        platform's redelivery brings them back.
        """
        if not events:
            return 0
        self._adapters.setdefault(adapter.name, adapter)
        try:
            loop = asyncio.get_running_loop()
            new = await asyncio.wait_for(
                loop.run_in_executor(self._ack_pool, self._inbox.store, events),
                timeout=self._ack_timeout,
            )
        except TimeoutError as exc:
            # The insert may still commit later; the redelivery then finds the row, and
            # the recovery job queues its reply.
            raise StorageUnavailable("the inbox did not answer in time") from exc
        except Exception as exc:
            logger.warning("storing %s events failed: %s", adapter.name, type(exc).__name__)
            raise StorageUnavailable(type(exc).__name__) from exc
        for inbox_id, chat in new:
            try:
                await self._queue.defer(inbox_id, chat)
            except Exception:  # stored is acknowledged: the recovery job queues it
                logger.warning("queueing the reply of inbox row %s failed", inbox_id)
        return len(new)

    async def process(self, inbox_id: int, last_attempt: bool = False) -> None:
        """The reply job of one inbox row; safe to run again at any point.

        Raises a retryable ``ChannelError`` (or a database error) for the job queue to
        retry; on ``last_attempt`` the row is marked failed instead.
        """
        row = await asyncio.to_thread(self._inbox.load, inbox_id)
        if row is None or row.status in (ANSWERED, FAILED):
            return
        adapter = self._adapters.get(row.event.channel)
        if adapter is None:
            logger.error("no adapter for channel %s (inbox row %s)", row.event.channel, inbox_id)
            await asyncio.to_thread(self._inbox.finish, inbox_id, FAILED, "channel not configured")
            return
        parts = row.reply
        if parts is None:
            message = await self._message_for(row.event)
            if message is None:
                await asyncio.to_thread(self._inbox.finish, inbox_id, ANSWERED)
                return
            rendered = adapter.render(message)
            parts = await asyncio.to_thread(self._inbox.save_reply, inbox_id, rendered)
        try:
            await self._deliver(adapter, row, parts)
        except (PlatformRateLimited, PlatformUnavailable, TokenExpired) as exc:
            if last_attempt:
                logger.error("giving up on inbox row %s: %s", inbox_id, type(exc).__name__)
                await asyncio.to_thread(self._inbox.finish, inbox_id, FAILED, str(exc))
                return
            raise
        except ChannelError as exc:  # refused (blocked bot, deleted chat): no retry helps
            logger.warning("%s refused the reply of row %s: %s", adapter.name, inbox_id, exc)
            await asyncio.to_thread(self._inbox.finish, inbox_id, FAILED, str(exc))
            return
        await asyncio.to_thread(self._inbox.finish, inbox_id, ANSWERED)

    async def _deliver(
        self, adapter: ChannelAdapter, row: InboxRow, parts: list[dict[str, Any]]
    ) -> None:
        steps = _delivery_steps(row.event, parts)
        for index in range(row.parts_sent, len(steps)):
            if index == row.in_flight:
                # A previous run started this part and died before learning its fate.
                logger.warning("part %d of inbox row %s may have been sent; not resent",
                               index, row.id)
                await asyncio.to_thread(self._inbox.mark_sent, row.id, index, uncertain=True)
                continue

            async def mark(index: int = index) -> None:
                await asyncio.to_thread(self._inbox.mark_in_flight, row.id, index)

            try:
                # In flight from the moment the request's first byte goes out (not before:
                # a crash in between would leave a part that never left counted as sent).
                with inflight.before_first_byte(mark):
                    await adapter.send(row.event, steps[index])
            except DeliveryUncertain:
                logger.warning("%s: no answer for part %d of row %s; counted as sent",
                               adapter.name, index, row.id)
                await asyncio.to_thread(self._inbox.mark_sent, row.id, index, uncertain=True)
                continue
            except ChannelError as exc:
                await asyncio.to_thread(self._inbox.release, row.id, str(exc))
                raise
            await asyncio.to_thread(self._inbox.mark_sent, row.id, index)

    async def _message_for(self, event: InboundEvent) -> OutboundMessage | None:
        try:
            return await self._reply_for(event)
        except Exception:  # the citizen gets the apology; the log gets the traceback
            logger.exception("answering on %s failed", event.channel)
            return OutboundMessage(texts.APOLOGY)

    async def _reply_for(self, event: InboundEvent) -> OutboundMessage | None:
        # Every message counts, stickers and 👍/👎 too; over the limit the citizen is
        # told once per window and then not answered until it passes.
        verdict = await asyncio.to_thread(
            self._limiter.verdict, f"{event.channel}:{event.account_id}:{event.user_id}"
        )
        if verdict == "notice":
            return OutboundMessage(texts.RATE_LIMITED)
        if verdict == "silent":
            return None
        if event.payload.startswith("fb:"):
            _, answer_id, value = ([*event.payload.split(":", 2), "", ""])[:3]
            if self._on_feedback is not None:
                await self._on_feedback(event, answer_id, value)
            return OutboundMessage("Cảm ơn bạn đã phản hồi!")
        if event.kind == "unsupported":
            return OutboundMessage(texts.PLEASE_TYPE)
        if event.kind == "follow":
            return OutboundMessage(texts.WELCOME)
        text = event.text
        command = text.strip().lower()
        if command in ("/subscribe", "/unsubscribe") and self._subscriptions is not None:
            if command == "/subscribe":
                await asyncio.to_thread(self._subscriptions.add, event.channel, event.user_id)
                return OutboundMessage(texts.SUBSCRIBED)
            await asyncio.to_thread(self._subscriptions.remove, event.channel, event.user_id)
            return OutboundMessage(texts.UNSUBSCRIBED)
        picked = parse_choice_payload(event.payload)
        if picked is not None:
            text = str(picked[1])
        question = Question(text=text, channel=event.channel, user_id=event.user_id, choice=picked)
        loop = asyncio.get_running_loop()
        if self._processes is not None:
            answer = await self._processes.answer(question)
        else:
            answer = await loop.run_in_executor(self._pool, self._engine.answer, question)
        return answer_to_message(answer, feedback_id=event.event_key[:20])

    def close(self) -> None:
        """Release the engine's threads (at shutdown)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._ack_pool.shutdown(wait=False, cancel_futures=True)
        if self._processes is not None:
            self._processes.shutdown(wait=False, cancel_futures=True)


def _delivery_steps(event: InboundEvent, parts: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """What is sent in one request: each part alone, but a comment's reply at once
    (a private reply to a comment is one-shot: all its parts go in that one message)."""
    if event.kind == "comment":
        return [parts] if parts else []
    return [[part] for part in parts]


def parse_choice_payload(payload: str) -> tuple[str, int] | None:
    """``choice:<list id>:<number>`` → ``(list id, number)``; anything else → None.

    The older ``choice:<number>`` form (buttons sent before list ids existed) is read
    with an empty list id, which the engine answers as expired.
    """
    if not payload.startswith("choice:"):
        return None
    parts = payload.split(":")
    list_id, number = (parts[1], parts[2]) if len(parts) == 3 else ("", parts[-1])
    if not number.isdigit() or len(number) > 3:
        return None
    return list_id, int(number)
