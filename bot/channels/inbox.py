"""The durable inbox: verified events and the progress of their replies, in the database.

A webhook stores its events here (the unique key is the claim) before it answers 200;
the reply job reads them back, stores the rendered parts once and records each part
the platform accepted. Everything is synchronous SQLAlchemy, called from a thread
(``asyncio.to_thread``) so the event loop never waits on a database lock.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import InboundEvent
from bot.engine.masking import mask_personal_data
from knowledge.db import transaction
from knowledge.models import InboxEvent

#: Statuses a row moves through; the last two are final.
RECEIVED, REPLYING, ANSWERED, FAILED = "received", "replying", "answered", "failed"


@dataclass(frozen=True)
class InboxRow:
    """One stored event and how far its reply got."""

    id: int
    key: str
    chat_key: str
    event: InboundEvent
    status: str
    reply: list[dict[str, Any]] | None
    parts_sent: int
    in_flight: int | None


class Inbox(Protocol):
    """Where events wait for their reply (a database table shared by every process)."""

    def store(self, events: list[InboundEvent]) -> list[tuple[int, str]]: ...

    def load(self, inbox_id: int) -> InboxRow | None: ...

    def save_reply(self, inbox_id: int, parts: list[dict[str, Any]]) -> list[dict[str, Any]]: ...

    def mark_in_flight(self, inbox_id: int, index: int) -> None: ...

    def mark_sent(self, inbox_id: int, index: int, *, uncertain: bool = False) -> None: ...

    def release(self, inbox_id: int, error: str) -> None: ...

    def finish(self, inbox_id: int, status: str, error: str = "") -> None: ...

    def unfinished(self, *, older_than: float) -> list[tuple[int, str]]: ...

    def store_outbound(self, event: InboundEvent, parts: list[dict[str, Any]]) -> int: ...

    def sent_recently(self, chat: str, text: str, *, within: float) -> bool: ...


def event_key(event: InboundEvent) -> str:
    """The claim: one row per (channel, account, platform event id)."""
    return f"{event.channel}:{event.account_id}:{event.event_key}"[:255]


def chat_key(event: InboundEvent) -> str:
    """Events of one chat are answered in order: the job queue's lock name."""
    return f"{event.channel}:{event.account_id}:{event.reply_target}"[:255]


def encode_event(event: InboundEvent) -> dict[str, Any]:
    """The event as stored: personal numbers masked, the raw payload cut to what a send
    needs (Telegram's callback query id), so the inbox holds no more than it must."""
    data = asdict(event)
    data["text"] = mask_personal_data(event.text)
    query = event.raw.get("callback_query") if isinstance(event.raw, Mapping) else None
    data["raw"] = (
        {"callback_query": {"id": str(query.get("id", ""))}} if isinstance(query, Mapping) else {}
    )
    return data


def decode_event(data: Mapping[str, Any]) -> InboundEvent:
    """The inverse of :func:`encode_event`."""
    fields = {name: data[name] for name in InboundEvent.__dataclass_fields__ if name in data}
    return InboundEvent(**fields)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SqlInbox:
    """:class:`Inbox` on the knowledge database (SQLite or PostgreSQL)."""

    def __init__(self, *, factory: sessionmaker[Session]) -> None:
        self._factory = factory

    def store(self, events: list[InboundEvent]) -> list[tuple[int, str]]:
        """Insert the events not seen before, in one transaction.

        Returns ``(id, chat key)`` of the new rows; a redelivered event is skipped.
        """
        new: list[tuple[int, str]] = []
        with transaction(self._factory) as session:
            dialect = session.get_bind().dialect.name
            for event in events:
                values = {
                    "key": event_key(event),
                    "channel": event.channel,
                    "chat_key": chat_key(event),
                    "event": encode_event(event),
                    "status": RECEIVED,
                    "parts_sent": 0,
                    "uncertain_parts": 0,
                    "attempts": 0,
                    "last_error": "",
                    "created_at": _utcnow(),
                    "updated_at": _utcnow(),
                }
                insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(
                    InboxEvent
                )
                statement = (
                    insert.values(**values)
                    .on_conflict_do_nothing(index_elements=["key"])
                    .returning(InboxEvent.id)
                )
                inserted = session.execute(statement).scalar()
                if inserted is not None:
                    new.append((int(inserted), chat_key(event)))
        return new

    def load(self, inbox_id: int) -> InboxRow | None:
        """The row, or None when it does not exist."""
        with self._factory() as session:
            row = session.get(InboxEvent, inbox_id)
            if row is None:
                return None
            return InboxRow(
                id=row.id,
                key=row.key,
                chat_key=row.chat_key,
                event=decode_event(row.event),
                status=row.status,
                reply=row.reply,
                parts_sent=row.parts_sent,
                in_flight=row.in_flight,
            )

    def save_reply(self, inbox_id: int, parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Keep the rendered parts, unless a reply is already stored (then return that).

        Compare-and-set: two runs of the same job never end with two different replies.
        """
        with transaction(self._factory) as session:
            changed = session.execute(
                update(InboxEvent)
                .where(InboxEvent.id == inbox_id, InboxEvent.reply.is_(None))
                .values(reply=parts, status=REPLYING, updated_at=_utcnow())
            ).rowcount  # type: ignore[attr-defined]
            if changed:
                return parts
            stored = session.execute(
                select(InboxEvent.reply).where(InboxEvent.id == inbox_id)
            ).scalar()
            return list(stored or [])

    def mark_in_flight(self, inbox_id: int, index: int) -> None:
        """Part ``index`` is about to be sent (committed before the request leaves)."""
        self._set(inbox_id, in_flight=index, attempts=InboxEvent.attempts + 1)

    def mark_sent(self, inbox_id: int, index: int, *, uncertain: bool = False) -> None:
        """The platform accepted part ``index`` (or its fate is unknown: not re-sent)."""
        values: dict[str, Any] = {"parts_sent": index + 1, "in_flight": None}
        if uncertain:
            values["uncertain_parts"] = InboxEvent.uncertain_parts + 1
        self._set(inbox_id, **values)

    def release(self, inbox_id: int, error: str) -> None:
        """The send surely did not happen (refused, unreachable): it may be retried."""
        self._set(inbox_id, in_flight=None, last_error=error[:255])

    def finish(self, inbox_id: int, status: str, error: str = "") -> None:
        """Final state: answered, or failed with the reason (no more retries)."""
        values: dict[str, Any] = {"status": status, "in_flight": None}
        if status == ANSWERED:
            values["answered_at"] = _utcnow()
        if error:
            values["last_error"] = error[:255]
        self._set(inbox_id, **values)

    def unfinished(self, *, older_than: float) -> list[tuple[int, str]]:
        """``(id, chat key)`` of rows not final and untouched for ``older_than`` seconds,
        oldest first (what a crash left behind)."""
        cutoff = _utcnow() - dt.timedelta(seconds=older_than)
        with self._factory() as session:
            rows = session.execute(
                select(InboxEvent.id, InboxEvent.chat_key)
                .where(InboxEvent.status.in_((RECEIVED, REPLYING)))
                .where(InboxEvent.updated_at <= cutoff)
                .order_by(InboxEvent.id)
            ).all()
        return [(int(i), str(c)) for i, c in rows]

    def store_outbound(self, event: InboundEvent, parts: list[dict[str, Any]]) -> int:
        """A message we start (an officer's reply): a row born with its rendered parts,
        delivered by the same reply job as an answer. ``event.event_key`` must be unique
        (a second store of the same key returns the first row's id)."""
        with transaction(self._factory) as session:
            dialect = session.get_bind().dialect.name
            insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(InboxEvent)
            inserted = session.execute(
                insert.values(
                    key=event_key(event),
                    channel=event.channel,
                    chat_key=chat_key(event),
                    event=encode_event(event),
                    status=REPLYING,
                    reply=parts,
                    parts_sent=0,
                    uncertain_parts=0,
                    attempts=0,
                    last_error="",
                    created_at=_utcnow(),
                    updated_at=_utcnow(),
                )
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(InboxEvent.id)
            ).scalar()
            if inserted is None:
                inserted = session.execute(
                    select(InboxEvent.id).where(InboxEvent.key == event_key(event))
                ).scalar_one()
            return int(inserted)

    def sent_recently(self, chat: str, text: str, *, within: float) -> bool:
        """Whether a reply stored for ``chat`` in the last ``within`` seconds holds
        ``text`` as one of its parts: the platform's echo of our own send. Parts are
        stored before they are sent, so the echo always finds them."""
        wanted = _plain(text)
        if not wanted:
            return False
        cutoff = _utcnow() - dt.timedelta(seconds=within)
        with self._factory() as session:
            replies = session.execute(
                select(InboxEvent.reply).where(
                    InboxEvent.chat_key == chat[:255],
                    InboxEvent.created_at >= cutoff,
                    InboxEvent.reply.is_not(None),
                )
            ).scalars()
            return any(
                _plain(_part_text(part)) == wanted
                for reply in replies
                for part in (reply or [])
                if isinstance(part, Mapping)
            )

    def _set(self, inbox_id: int, **values: Any) -> None:
        with transaction(self._factory) as session:
            session.execute(
                update(InboxEvent)
                .where(InboxEvent.id == inbox_id)
                .values(updated_at=_utcnow(), **values)
            )


def _part_text(part: Mapping[str, Any]) -> str:
    """The text of a rendered part: plain, HTML (Telegram) or a Messenger template."""
    if isinstance(part.get("text"), str):
        return str(part["text"])
    attachment = part.get("attachment")
    payload = attachment.get("payload") if isinstance(attachment, Mapping) else None
    return str(payload.get("text", "")) if isinstance(payload, Mapping) else ""


def _plain(text: str) -> str:
    """Text compared across a platform's echo: NFC, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFC", text).split())
