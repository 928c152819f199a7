"""Webhook handling shared by every channel: verify, parse, claim, ack; answer later.

A webhook request only verifies the signature, parses, claims each event id once and
schedules the work; it returns 200 at once (Zalo retries after ~2 s). The scheduled
task asks the engine (in a thread), renders for the platform and sends with retries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import (
    ChannelAdapter,
    ChannelError,
    InboundEvent,
    OutboundMessage,
    answer_to_message,
    with_retries,
)
from bot.engine import texts
from bot.engine.model import Answerer, Question
from bot.ratelimit import RateLimiter
from knowledge.db import transaction
from knowledge.models import ProcessedEvent

logger = logging.getLogger(__name__)


class EventClaims(Protocol):
    """Claims an event id once across all processes."""

    def claim(self, key: str) -> bool: ...

    def release(self, key: str) -> None: ...


class SqlEventClaims:
    """A unique row per event id in the database shared by every bot process."""

    def __init__(self, *, factory: sessionmaker[Session]) -> None:
        self._factory = factory

    def claim(self, key: str) -> bool:
        try:
            with transaction(self._factory) as session:
                session.add(ProcessedEvent(key=key[:255]))
        except IntegrityError:
            return False
        return True

    def release(self, key: str) -> None:
        with transaction(self._factory) as session:
            session.query(ProcessedEvent).filter(ProcessedEvent.key == key[:255]).delete()


class Subscriptions(Protocol):
    """Keeps who wants update notifications."""

    def add(self, channel: str, user_id: str) -> bool: ...

    def remove(self, channel: str, user_id: str) -> bool: ...


class TaskRunner:
    """Background tasks whose references are kept, and drained on shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for the tasks still running (called at shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    @property
    def pending(self) -> int:
        return len(self._tasks)


class Dispatcher:
    """Runs the engine for inbound events and sends the rendered replies."""

    def __init__(
        self,
        *,
        engine: Answerer,
        claims: EventClaims,
        tasks: TaskRunner,
        limiter: RateLimiter,
        on_feedback: Callable[[InboundEvent, str, str], Awaitable[None]] | None = None,
        subscriptions: Subscriptions | None = None,
    ) -> None:
        self._engine = engine
        self._claims = claims
        self._tasks = tasks
        self._limiter = limiter
        self._on_feedback = on_feedback
        self._subscriptions = subscriptions

    def accept(self, adapter: ChannelAdapter, events: list[InboundEvent]) -> int:
        """Claim and schedule events; returns how many were new."""
        accepted = 0
        for event in events:
            key = f"{event.channel}:{event.account_id}:{event.event_key}"
            if not self._claims.claim(key):
                continue  # a redelivery: it was (or is being) answered already
            accepted += 1
            self._tasks.spawn(self._process(adapter, event, key))
        return accepted

    async def _process(self, adapter: ChannelAdapter, event: InboundEvent, key: str) -> None:
        sent = False
        try:
            message = await self._reply_for(event)
            if message is None:
                return
            parts = adapter.render(message)
            await with_retries(lambda: adapter.send(event, parts))
            sent = True
        except ChannelError:
            logger.exception("sending on %s failed", event.channel)
        except Exception:
            logger.exception("answering on %s failed", event.channel)
            try:
                await with_retries(
                    lambda: adapter.send(event, adapter.render(OutboundMessage(texts.APOLOGY)))
                )
                sent = True
            except Exception:
                logger.exception("even the apology could not be sent on %s", event.channel)
        finally:
            if not sent:
                self._claims.release(key)  # nothing went out: let the platform retry

    async def _reply_for(self, event: InboundEvent) -> OutboundMessage | None:
        if event.payload.startswith("fb:"):
            _, answer_id, value = ([*event.payload.split(":", 2), "", ""])[:3]
            if self._on_feedback is not None:
                await self._on_feedback(event, answer_id, value)
            return OutboundMessage("Cảm ơn bạn đã phản hồi!")
        if event.kind == "unsupported":
            return OutboundMessage(texts.PLEASE_TYPE)
        if event.kind == "follow":
            return OutboundMessage(texts.WELCOME)
        if not self._limiter.allow(f"{event.channel}:{event.user_id}"):
            return OutboundMessage(texts.RATE_LIMITED)
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
        answer = await asyncio.to_thread(
            self._engine.answer,
            Question(text=text, channel=event.channel, user_id=event.user_id, choice=picked),
        )
        return answer_to_message(answer, feedback_id=event.event_key[:20])


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
