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
import time
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, cast

from bot.analytics import Exchange, exchange_of
from bot.channels import inflight
from bot.channels.base import (
    HANDOFF_PAYLOAD,
    SUBSCRIBE_PAYLOAD,
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
from bot.channels.inbox import ANSWERED, FAILED, Inbox, InboxRow, chat_key
from bot.engine import texts
from bot.engine.intents import asks_for_bot
from bot.engine.model import Answer, Answerer, Question
from bot.engine_process import EnginePool
from bot.handoff import HandoffError, HandoffService
from bot.handoff.service import OA_CONSOLE, PAGE_INBOX
from bot.ratelimit import RateLimiter

logger = logging.getLogger(__name__)


class StorageUnavailable(Exception):
    """The inbox could not take the events in time: the webhook answers 503."""


class ReplyQueue(Protocol):
    """Queues the reply job of one inbox row (see ``bot.channels.jobs.JobQueue``)."""

    async def defer(self, inbox_id: int, chat: str) -> None: ...


class Subscriptions(Protocol):
    """Keeps who wants update notifications."""

    def add(self, channel: str, user_id: str, source: str = "command") -> bool: ...

    def remove(self, channel: str, user_id: str) -> bool: ...


class ExchangeLog(Protocol):
    """The conversation record: every citizen message (``bot.analytics.SqlExchangeLog``)."""

    def record(
        self, *, channel: str, account_id: str, user_id: str, answer_id: str, exchange: Exchange
    ) -> None: ...


class Promotions(Protocol):
    """Rewrites an answer's online-service link to the counted redirect
    (``bot.promotion.PromoLinks``)."""

    def promote(self, answer: Answer, channel: str) -> Answer: ...


#: An echo is ours when a reply stored this recently for the chat holds its text.
ECHO_WINDOW_SECONDS = 3600.0
_PASS = object()


class Dispatcher:
    """Stores inbound events, then answers them as jobs and sends the rendered replies.

    With ``handoffs``, a conversation an officer holds (or waits for) gets no bot
    answer: the citizen's messages go to its thread and the inbox row is answered with
    no parts. ``hotlines`` gives the lines added to the apology.
    """

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
        handoffs: HandoffService | None = None,
        exchanges: ExchangeLog | None = None,
        hotlines: Callable[[], str] | None = None,
        promotions: Promotions | None = None,
    ) -> None:
        self._engine = engine
        self._promotions = promotions
        self._handoffs = handoffs
        self._exchanges = exchanges
        self._hotlines = hotlines
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
                logger.warning(
                    "part %d of inbox row %s may have been sent; not resent", index, row.id
                )
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
                logger.warning(
                    "%s: no answer for part %d of row %s; counted as sent",
                    adapter.name,
                    index,
                    row.id,
                )
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
            await self._note(event, "error")
            return OutboundMessage("\n".join(x for x in (texts.APOLOGY, self._hotline_text()) if x))

    async def _note(
        self, event: InboundEvent, status: str, intent: str = "", handoff: bool = False
    ) -> None:
        """Record a message the engine did not answer (rate limited, a command, ...)."""
        if self._exchanges is None:
            return
        said = event.text or event.payload
        await asyncio.to_thread(
            self._exchanges.record,
            channel=event.channel,
            account_id=event.account_id,
            user_id=event.user_id,
            answer_id=event.event_key[:20],
            exchange=Exchange(
                question=said, answer="", status=status, cited="", intent=intent, handoff=handoff
            ),
        )

    def _hotline_text(self) -> str:
        if self._hotlines is None:
            return ""
        try:
            return self._hotlines()
        except Exception:  # the apology goes out without them
            logger.exception("reading the hotlines for the apology failed")
            return ""

    async def send_officer_reply(
        self,
        *,
        channel: str,
        account_id: str,
        user_id: str,
        reply_target: str,
        key: str,
        text: str,
        tag: str,
    ) -> int:
        """Queue an officer's ``text`` to a citizen (``bot.handoff.OfficerOutbox``).

        The message becomes an inbox row born with its rendered parts, so the reply job
        delivers it exactly once (retried on 429/5xx, resumed after a crash). ``key`` is
        unique per message; ``tag`` is the platform's message tag ("" for none).
        Returns the inbox row id; raises ``HandoffError`` when the channel is not served.
        """
        adapter = self._adapters.get(channel)
        if adapter is None:
            raise HandoffError(f"Kênh {channel} chưa được cấu hình nên không gửi được tin.")
        event = InboundEvent(
            channel=channel,
            account_id=account_id,
            event_key=key,
            user_id=user_id,
            reply_target=reply_target,
            kind="officer",
            payload=tag,
        )
        parts = adapter.render(OutboundMessage(text))
        inbox_id = await asyncio.to_thread(self._inbox.store_outbound, event, parts)
        try:
            await self._queue.defer(inbox_id, chat_key(event))
        except Exception:  # stored is enough: the recovery job queues it
            logger.warning("queueing officer reply row %s failed", inbox_id)
        return inbox_id

    def _handoff_gate(self, event: InboundEvent) -> Any:
        """Runs in a thread: ``_PASS`` lets the bot answer; otherwise the reply (None:
        silence) while a person holds the conversation or an echo was seen."""
        handoffs = self._handoffs
        if event.kind == "echo":
            if handoffs is None or self._inbox.sent_recently(
                chat_key(event), event.text, within=ECHO_WINDOW_SECONDS
            ):
                return None  # our own send coming back
            handoffs.human_echo(
                channel=event.channel,
                account_id=event.account_id,
                user_id=event.user_id,
                reply_target=event.reply_target,
                text=event.text,
                author=PAGE_INBOX if event.channel == "messenger" else OA_CONSOLE,
            )
            logger.info("a person answered %s on the platform; the bot stays silent", event.channel)
            return None
        if handoffs is None or event.kind in ("comment", "officer"):
            return _PASS
        active = handoffs.active(event.channel, event.account_id, event.user_id)
        if active is None:
            return _PASS
        if asks_for_bot(event.text):
            handoffs.back_to_bot(active.id)
            return OutboundMessage(texts.HANDOFF_BACK_TO_BOT)
        said = event.text or event.payload or texts.HANDOFF_NOT_TEXT
        handoffs.citizen_message(active.id, said)
        return None

    def _start_handoff(self, event: InboundEvent, reason: str, question: str) -> str:
        """Runs in a thread: open the handoff and say what happens next."""
        assert self._handoffs is not None
        view = self._handoffs.start(
            channel=event.channel,
            account_id=event.account_id,
            user_id=event.user_id,
            reply_target=event.reply_target,
            reason=reason,
            text=question,
        )
        lead = texts.HANDOFF_FAILED_TWICE if reason == "failed_twice" else ""
        text = "\n".join(x for x in (lead, self._handoffs.notice(self._hotline_text())) if x)
        self._handoffs.bot_message(view.id, text)
        return text

    async def _reply_for(self, event: InboundEvent) -> OutboundMessage | None:
        if event.kind == "echo":  # the account's own message: never limited, never answered
            await asyncio.to_thread(self._handoff_gate, event)
            return None
        if event.kind == "unfollow":  # no more announcements; nothing can be sent any more
            if self._subscriptions is not None:
                await asyncio.to_thread(self._subscriptions.remove, event.channel, event.user_id)
            return None
        # Every message counts, stickers and 👍/👎 too; over the limit the citizen is
        # told once per window and then not answered until it passes.
        verdict = await asyncio.to_thread(
            self._limiter.verdict, f"{event.channel}:{event.account_id}:{event.user_id}"
        )
        if verdict in ("notice", "silent"):
            await self._note(event, "rate_limited")
            return OutboundMessage(texts.RATE_LIMITED) if verdict == "notice" else None
        gate = await asyncio.to_thread(self._handoff_gate, event)
        if gate is not _PASS:
            if event.kind not in ("follow",) and not event.payload.startswith("fb:"):
                back = gate is not None  # "back to the bot": the officer thread ends
                await self._note(
                    event,
                    "command" if back else "officer_thread",
                    intent="back_to_bot" if back else "handoff",
                    handoff=True,
                )
            return cast("OutboundMessage | None", gate)
        if event.payload.startswith("fb:"):
            _, answer_id, value = ([*event.payload.split(":", 2), "", ""])[:3]
            if self._on_feedback is not None:
                await self._on_feedback(event, answer_id, value)
            return OutboundMessage("Cảm ơn bạn đã phản hồi!")
        if event.kind == "unsupported":
            await self._note(event, "unsupported", intent="sticker")
            return OutboundMessage(texts.PLEASE_TYPE)
        if event.kind == "follow":
            if self._subscriptions is None:
                return OutboundMessage(texts.WELCOME)
            # Following the OA is the opt-in to its announcements (unsubscribe any time).
            await asyncio.to_thread(self._subscriptions.add, event.channel, event.user_id, "follow")
            return OutboundMessage(f"{texts.WELCOME}\n{texts.FOLLOW_SUBSCRIBED}")
        text = event.text
        command = text.strip().lower()
        if event.payload == SUBSCRIBE_PAYLOAD and self._subscriptions is not None:
            await self._note(event, "command", intent="subscribe")
            await asyncio.to_thread(self._subscriptions.add, event.channel, event.user_id, "button")
            return OutboundMessage(texts.SUBSCRIBED)
        if command in ("/subscribe", "/unsubscribe") and self._subscriptions is not None:
            await self._note(event, "command", intent=command[1:])
            if command == "/subscribe":
                await asyncio.to_thread(self._subscriptions.add, event.channel, event.user_id)
                return OutboundMessage(texts.SUBSCRIBED)
            await asyncio.to_thread(self._subscriptions.remove, event.channel, event.user_id)
            return OutboundMessage(texts.UNSUBSCRIBED)
        picked = parse_choice_payload(event.payload)
        if picked is not None:
            text = str(picked[1])
        if event.payload == HANDOFF_PAYLOAD:
            text = "/human"
        question = Question(text=text, channel=event.channel, user_id=event.user_id, choice=picked)
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        if self._processes is not None:
            answer = await self._processes.answer(question)
        else:
            answer = await loop.run_in_executor(self._pool, self._engine.answer, question)
        latency_ms = (time.perf_counter() - started) * 1000
        if self._promotions is not None:
            answer = await asyncio.to_thread(self._promotions.promote, answer, event.channel)
        feedback_id = event.event_key[:20]
        handing_off = (
            bool(answer.handoff) and self._handoffs is not None and event.kind != "comment"
        )
        if self._exchanges is not None:
            await asyncio.to_thread(
                self._exchanges.record,
                channel=event.channel,
                account_id=event.account_id,
                user_id=event.user_id,
                answer_id=feedback_id,
                exchange=exchange_of(answer, latency_ms=latency_ms, handoff=handing_off),
            )
        if handing_off:
            said = await asyncio.to_thread(
                self._start_handoff, event, answer.handoff, answer.question
            )
            return OutboundMessage(said)
        return answer_to_message(answer, feedback_id=feedback_id)

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
