"""Live handoff: a citizen's conversation passes from the bot to an officer and back.

States: no row (the bot answers) → ``waiting`` (asked, or the engine failed twice) →
``officer`` (claimed, or a person answered on the platform itself: human echo) →
``closed`` (released, timed out, or the citizen went back to the bot). While a handoff
is open the bot is silent on that conversation and keeps the citizen's messages in its
thread. It returns to the bot lazily (on the conversation's next message, and whenever
the open list is read; no periodic job needed) once past its deadline: ``timeout`` of
inactivity for a conversation a person holds; for one still waiting, not before the
end of the office session in which (or after which) it was opened, so a citizen who
asked in the evening is answered the next morning.

Every method is synchronous SQLAlchemy (call it from a thread in async code) except
:meth:`HandoffService.reply`, which queues the delivery job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.engine import texts
from bot.engine.masking import mask_personal_data
from bot.handoff.errors import HandoffConflict, HandoffNotFound
from bot.handoff.hours import OfficeHours
from bot.handoff.windows import reply_tag
from knowledge.db import transaction
from knowledge.models import AnswerExchange, Handoff, HandoffMessage

WAITING, OFFICER, CLOSED = "waiting", "officer", "closed"
OPEN_STATES = (WAITING, OFFICER)
#: Officer names used for replies typed on the platform itself.
PAGE_INBOX, OA_CONSOLE = "page-inbox", "oa-console"


@dataclass(frozen=True)
class HandoffView:
    """One handoff as the officer inbox shows it (times are aware, UTC)."""

    id: int
    channel: str
    account_id: str
    user_id: str
    reply_target: str
    state: str
    reason: str
    officer: str
    created_at: dt.datetime
    claimed_at: dt.datetime | None
    last_activity_at: dt.datetime
    last_citizen_at: dt.datetime
    closed_at: dt.datetime | None
    close_reason: str


@dataclass(frozen=True)
class ThreadMessage:
    """A message of the thread: ``direction`` citizen | officer | bot, text masked."""

    direction: str
    text: str
    author: str
    at: dt.datetime


@dataclass(frozen=True)
class HandoffHistory:
    """The handoff, its thread (oldest first) and the bot's last exchanges before it."""

    handoff: HandoffView
    messages: list[ThreadMessage]
    #: ``ThreadMessage`` pairs (citizen question, bot answer) from before the handoff.
    before: list[ThreadMessage]


@dataclass(frozen=True)
class ReplyReceipt:
    """An officer's reply queued for delivery: its inbox row and the tag it carries."""

    handoff_id: int
    inbox_id: int
    tag: str


class OfficerOutbox(Protocol):
    """Queues an officer's text to a citizen on its own channel, delivered exactly once
    by the reply jobs (``bot.channels.dispatch.Dispatcher.send_officer_reply``)."""

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
    ) -> int: ...


def _aware(moment: dt.datetime) -> dt.datetime:
    # SQLite gives back naive datetimes; everything stored is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _view(row: Handoff) -> HandoffView:
    return HandoffView(
        id=row.id,
        channel=row.channel,
        account_id=row.account_id,
        user_id=row.user_id,
        reply_target=row.reply_target,
        state=row.state,
        reason=row.reason,
        officer=row.officer,
        created_at=_aware(row.created_at),
        claimed_at=_aware(row.claimed_at) if row.claimed_at else None,
        last_activity_at=_aware(row.last_activity_at),
        last_citizen_at=_aware(row.last_citizen_at),
        closed_at=_aware(row.closed_at) if row.closed_at else None,
        close_reason=row.close_reason,
    )


def _open_key(channel: str, account_id: str, user_id: str) -> str:
    return f"{channel}|{account_id}|{user_id}"[:255]


class HandoffService:
    """The officer side (list, history, claim, reply, release) and the bot side
    (:meth:`active`, :meth:`start`, :meth:`citizen_message`, :meth:`human_echo`,
    :meth:`back_to_bot`) of live handoff, over the knowledge database."""

    def __init__(
        self,
        *,
        factory: sessionmaker[Session],
        hours: OfficeHours,
        timeout: dt.timedelta,
        outbox: OfficerOutbox | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._factory = factory
        self.hours = hours
        self.timeout = timeout
        self._outbox = outbox
        self._clock = clock

    def bind_outbox(self, outbox: OfficerOutbox) -> None:
        """Where replies go (the dispatcher, built after this service)."""
        self._outbox = outbox

    # ------------------------------------------------------------------ officer side

    def list_open(self) -> list[HandoffView]:
        """Open handoffs, waiting ones first, oldest first; stale ones are closed first."""
        self.expire()
        with self._factory() as session:
            rows = session.execute(
                select(Handoff).where(Handoff.state.in_(OPEN_STATES)).order_by(Handoff.id)
            ).scalars()
            views = [_view(row) for row in rows]
        return sorted(views, key=lambda v: (v.state != WAITING, v.created_at))

    def get(self, handoff_id: int) -> HandoffView:
        """One handoff, open or closed; raises :class:`HandoffNotFound`."""
        with self._factory() as session:
            row = session.get(Handoff, handoff_id)
            if row is None:
                raise HandoffNotFound(f"Không có cuộc chuyển cán bộ số {handoff_id}.")
            return _view(row)

    def history(self, handoff_id: int, *, before: int = 10) -> HandoffHistory:
        """The thread and up to ``before`` bot exchanges of this citizen before it."""
        view = self.get(handoff_id)
        with self._factory() as session:
            messages = [
                ThreadMessage(m.direction, m.text, m.author, _aware(m.at))
                for m in session.execute(
                    select(HandoffMessage)
                    .where(HandoffMessage.handoff_id == handoff_id)
                    .order_by(HandoffMessage.id)
                ).scalars()
            ]
            exchanges = list(
                session.execute(
                    select(AnswerExchange)
                    .where(
                        AnswerExchange.channel == view.channel,
                        AnswerExchange.user_id == view.user_id,
                        AnswerExchange.at <= view.created_at + dt.timedelta(seconds=5),
                        # The conversation record also holds messages the bot never
                        # answered (to an officer's thread, rate limited): not "before".
                        AnswerExchange.status != "officer_thread",
                    )
                    .order_by(AnswerExchange.id.desc())
                    .limit(before)
                ).scalars()
            )
        earlier: list[ThreadMessage] = []
        for exchange in reversed(exchanges):
            at = _aware(exchange.at)
            earlier.append(ThreadMessage("citizen", exchange.question, "", at))
            if exchange.answer:
                earlier.append(ThreadMessage("bot", exchange.answer, "", at))
        return HandoffHistory(handoff=view, messages=messages, before=earlier)

    def claim(self, handoff_id: int, officer: str) -> HandoffView:
        """``officer`` takes the conversation (waiting → officer).

        Raises :class:`HandoffNotFound` (no such open handoff) or
        :class:`HandoffConflict` (another officer holds it).
        """
        now = self._clock()
        with transaction(self._factory) as session:
            row = self._open_row(session, handoff_id)
            # A reply typed on the platform holds no claim: any officer may take it over.
            if row.state == OFFICER and row.officer not in ("", officer, PAGE_INBOX, OA_CONSOLE):
                raise HandoffConflict(f"Cán bộ {row.officer} đang trả lời cuộc trò chuyện này.")
            row.state, row.officer = OFFICER, officer[:64]
            row.claimed_at = row.claimed_at or now
            row.last_activity_at = now
            session.flush()
            return _view(row)

    async def reply(self, handoff_id: int, officer: str, text: str) -> ReplyReceipt:
        """Send ``text`` to the citizen on their own channel as ``officer``.

        Claims an unclaimed handoff; raises :class:`HandoffConflict` when another
        officer holds it, :class:`HandoffNotFound` when closed, ``ReplyWindowClosed``
        when the platform no longer allows a reply (reason in Vietnamese), ValueError
        for an empty text. The delivery itself is a reply job: exactly once, retried
        on 429/5xx.
        """
        import asyncio

        text = text.strip()
        if not text:
            raise ValueError("Nội dung trả lời đang trống.")
        if self._outbox is None:
            raise RuntimeError("the handoff service has no outbox bound")
        view, message_id, tag = await asyncio.to_thread(
            self._record_reply, handoff_id, officer, text
        )
        inbox_id = await self._outbox.send_officer_reply(
            channel=view.channel,
            account_id=view.account_id,
            user_id=view.user_id,
            reply_target=view.reply_target,
            key=f"handoff-{handoff_id}-{message_id}",
            text=text,
            tag=tag,
        )
        return ReplyReceipt(handoff_id=handoff_id, inbox_id=inbox_id, tag=tag)

    def _record_reply(
        self, handoff_id: int, officer: str, text: str
    ) -> tuple[HandoffView, int, str]:
        view = self.claim(handoff_id, officer)
        tag = reply_tag(view.channel, view.last_citizen_at, self._clock())
        message_id = self._add(handoff_id, "officer", text, officer)
        return view, message_id, tag

    def release(self, handoff_id: int, officer: str) -> HandoffView:
        """Give the conversation back to the bot. Raises :class:`HandoffConflict` when
        another officer holds it, :class:`HandoffNotFound` when it is not open."""
        with transaction(self._factory) as session:
            row = self._open_row(session, handoff_id)
            if row.state == OFFICER and row.officer not in ("", officer, PAGE_INBOX, OA_CONSOLE):
                raise HandoffConflict(f"Cán bộ {row.officer} đang trả lời cuộc trò chuyện này.")
            self._close(row, "released")
            session.flush()
            return _view(row)

    def expire(self) -> int:
        """Close every open handoff past its deadline; returns how many."""
        now = self._clock()
        with transaction(self._factory) as session:
            rows = session.execute(select(Handoff).where(Handoff.state.in_(OPEN_STATES))).scalars()
            stale = [row for row in rows if self._deadline(row) < now]
            for row in stale:
                self._close(row, "timeout")
            return len(stale)

    def _deadline(self, row: Handoff) -> dt.datetime:
        """When an open handoff returns to the bot (module docstring)."""
        idle = _aware(row.last_activity_at) + self.timeout
        if row.state != WAITING:
            return idle
        return max(idle, self.hours.session_end(_aware(row.created_at)))

    # ---------------------------------------------------------------------- bot side

    def active(self, channel: str, account_id: str, user_id: str) -> HandoffView | None:
        """The open handoff of this conversation, or None (closing it if it timed out)."""
        with transaction(self._factory) as session:
            row = session.execute(
                select(Handoff).where(Handoff.open_key == _open_key(channel, account_id, user_id))
            ).scalar()
            if row is None:
                return None
            if self._deadline(row) < self._clock():
                self._close(row, "timeout")
                return None
            return _view(row)

    def start(
        self,
        *,
        channel: str,
        account_id: str,
        user_id: str,
        reply_target: str,
        reason: str,
        text: str = "",
        state: str = WAITING,
        officer: str = "",
    ) -> HandoffView:
        """Open a handoff (or return the open one), with ``text`` as the citizen's first
        message of the thread when given."""
        now = self._clock()
        key = _open_key(channel, account_id, user_id)
        try:
            with transaction(self._factory) as session:
                row = Handoff(
                    channel=channel,
                    account_id=account_id[:255],
                    user_id=user_id[:128],
                    reply_target=reply_target[:255],
                    state=state,
                    reason=reason,
                    officer=officer,
                    open_key=key,
                    created_at=now,
                    claimed_at=now if state == OFFICER else None,
                    last_activity_at=now,
                    last_citizen_at=now,
                    close_reason="",
                )
                session.add(row)
                session.flush()
                handoff_id = row.id
        except IntegrityError:  # opened meanwhile by another message of the same chat
            existing = self.active(channel, account_id, user_id)
            if existing is None:
                raise
            handoff_id = existing.id
        if text:
            self._add(handoff_id, "citizen", text, "")
        return self.get(handoff_id)

    def citizen_message(self, handoff_id: int, text: str) -> None:
        """Keep a citizen's message (masked) while a person holds the conversation."""
        self._add(handoff_id, "citizen", text, "", citizen=True)

    def bot_message(self, handoff_id: int, text: str) -> None:
        """Keep what the bot told the citizen about the handoff."""
        self._add(handoff_id, "bot", text, "")

    def human_echo(
        self,
        *,
        channel: str,
        account_id: str,
        user_id: str,
        reply_target: str,
        text: str,
        author: str,
    ) -> HandoffView:
        """A person answered on the platform itself (Page Inbox, OA console): the
        conversation is held by a human from now on, until released or timed out."""
        view = self.active(channel, account_id, user_id)
        if view is None:
            view = self.start(
                channel=channel,
                account_id=account_id,
                user_id=user_id,
                reply_target=reply_target,
                reason="human_echo",
                state=OFFICER,
                officer=author,
            )
        elif view.state == WAITING:
            view = self.claim(view.id, author)
        self._add(view.id, "officer", text, author)
        return view

    def back_to_bot(self, handoff_id: int) -> None:
        """The citizen asked for the bot again."""
        with transaction(self._factory) as session:
            row = session.get(Handoff, handoff_id)
            if row is not None and row.state in OPEN_STATES:
                self._close(row, "citizen")

    def notice(self, hotlines: str) -> str:
        """What the citizen is told when a handoff starts: inside office hours that an
        officer will answer here; outside them when, and ``hotlines`` meanwhile."""
        now = self._clock()
        if self.hours.is_open(now):
            return texts.HANDOFF_OPEN
        upcoming = self.hours.describe_moment(self.hours.next_open(now))
        closed = texts.HANDOFF_CLOSED_HOURS.format(hours=self.hours.describe(), next=upcoming)
        return "\n".join(x for x in (closed, hotlines) if x)

    # ------------------------------------------------------------------------ helpers

    def _open_row(self, session: Session, handoff_id: int) -> Handoff:
        row = session.get(Handoff, handoff_id)
        if row is None or row.state not in OPEN_STATES:
            raise HandoffNotFound(f"Cuộc chuyển cán bộ số {handoff_id} không còn mở.")
        if self._deadline(row) < self._clock():
            self._close(row, "timeout")
            session.commit()
            raise HandoffNotFound(
                f"Cuộc chuyển cán bộ số {handoff_id} đã hết hạn (không hoạt động quá "
                f"{int(self.timeout.total_seconds() // 60)} phút) và đã trả về trợ lý tự động."
            )
        return row

    def _close(self, row: Handoff, reason: str) -> None:
        row.state, row.open_key = CLOSED, None
        row.closed_at, row.close_reason = self._clock(), reason

    def _add(
        self, handoff_id: int, direction: str, text: str, author: str, *, citizen: bool = False
    ) -> int:
        now = self._clock()
        with transaction(self._factory) as session:
            message = HandoffMessage(
                handoff_id=handoff_id,
                direction=direction,
                text=mask_personal_data(text)[:4000],
                author=author[:64],
                at=now,
            )
            session.add(message)
            values: dict[str, dt.datetime] = {"last_activity_at": now}
            if citizen:
                values["last_citizen_at"] = now
            session.execute(update(Handoff).where(Handoff.id == handoff_id).values(**values))
            session.flush()
            return message.id
