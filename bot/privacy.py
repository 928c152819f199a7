"""Citizens' personal data: the retention purge, and one citizen's export and erasure.

What the database keeps about a citizen (``knowledge.models``), and what happens to it:

* ``answer_exchanges``: ``user_id``, ``question``, ``answer`` — blanked;
* ``answer_feedback``: ``question``, ``answer`` (tied by ``answer_id``) — blanked;
* ``unanswered_questions``: ``question`` (masked; no user column) — deleted;
* ``conversations``: ``user_id``, ``state`` — deleted;
* ``handoffs``: ``user_id``, ``reply_target``, ``open_key`` — blanked;
* ``handoff_messages``: ``text`` — deleted;
* ``inbox_events``: ``key``, ``chat_key``, ``event``, ``reply`` — deleted;
* ``subscriptions``: ``user_id`` — kept by the purge (consent), deleted by ``erase``;
* ``announcement_deliveries``: ``user_id`` — replaced by ``erased-<row id>`` (by the
  purge once the row is final), so each announcement's delivery report keeps its counts.

"Blanked" rows stay with their non-personal columns (channel, time, status, intent,
procedures, fields, promotion, latency, handoff flag, feedback value): the quarterly and
yearly reports (``bot.reports.figures``) count them, so a purge or an erasure never
changes a report's counts. Only the list of unanswered topics of a purged period
shrinks: its texts are gone. An active subscription is the citizen's consent to
announcements and outlives the retention period; ``erase`` removes it.
``promo_clicks`` and ``promo_links`` hold no personal data (the redirect carries none).

Unanswered questions carry no user column: a citizen's are found as the rows of the same
channel with the same (masked) question, stored within :data:`MATCH_WINDOW` of one of
their exchanges. Log lines of this module carry counts only.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, cast, delete, literal, or_, select, update
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from bot.periodic import PeriodicTask
from knowledge.db import transaction
from knowledge.models import (
    AnnouncementDelivery,
    AnswerExchange,
    AnswerFeedback,
    ConversationRecord,
    Handoff,
    HandoffMessage,
    InboxEvent,
    Subscription,
    UnansweredQuestion,
)

logger = logging.getLogger(__name__)

#: How close an unanswered question must be to an exchange to be that citizen's.
MATCH_WINDOW = dt.timedelta(minutes=5)
#: Seconds between two purges in a serving process.
PURGE_INTERVAL_SECONDS = 3600.0
#: Inbox rows in these statuses are finished and may go.
_FINAL_INBOX = ("answered", "failed")
#: Tables in the order of :class:`Removed` and the export.
TABLES = (
    "answer_exchanges",
    "answer_feedback",
    "unanswered_questions",
    "conversations",
    "handoffs",
    "handoff_messages",
    "inbox_events",
    "subscriptions",
    "announcement_deliveries",
)
#: An announcement delivery row's recipient once erased: unique per row, so the
#: per-channel delivery report keeps its counts and no one can be recognised.
ERASED_RECIPIENT = "erased-"
#: Delivery states no run will touch again (a pending row is still to be decided).
_FINAL_DELIVERY = ("sent", "skipped_window", "unsubscribed", "failed")


@dataclass
class Removed:
    """Rows blanked or deleted per table name (:data:`TABLES`)."""

    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    def lines(self) -> list[str]:
        """One Vietnamese line per table: what was done to how many rows."""
        verbs = {
            "answer_exchanges": "xóa nội dung, giữ số liệu báo cáo",
            "answer_feedback": "xóa nội dung, giữ số liệu báo cáo",
            "handoffs": "xóa định danh, giữ số liệu báo cáo",
            "announcement_deliveries": "xóa định danh, giữ số liệu báo cáo",
        }
        return [
            f"{name}: {count} dòng ({verbs.get(name, 'đã xóa')})"
            for name, count in self.rows.items()
        ]


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _row(obj: DeclarativeBase) -> dict[str, Any]:
    """A model row as JSON-ready data (every column; times in ISO 8601, UTC)."""
    out: dict[str, Any] = {}
    for column in obj.__table__.columns:
        value = getattr(obj, column.key)
        if isinstance(value, dt.datetime):
            value = _utc(value).astimezone(dt.UTC).isoformat()
        elif isinstance(value, dt.date):
            value = value.isoformat()
        out[column.name] = value
    return out


# ----------------------------------------------------------------- one citizen


@dataclass
class _Citizen:
    """The ids of one citizen's rows, per table."""

    exchanges: list[int]
    feedback: list[int]
    unanswered: list[int]
    conversations: list[int]
    handoffs: list[int]
    messages: list[int]
    inbox: list[int]
    subscriptions: list[int]
    deliveries: list[int]


def _ids(session: Session, statement: Any) -> list[int]:
    return [int(i) for i in session.execute(statement).scalars()]


def _find(session: Session, channel: str, user_id: str) -> _Citizen:
    user = user_id[:128]
    exchanges = session.execute(
        select(
            AnswerExchange.id, AnswerExchange.answer_id, AnswerExchange.question, AnswerExchange.at
        )
        .where(AnswerExchange.channel == channel, AnswerExchange.user_id == user)
        .order_by(AnswerExchange.id)
    ).all()
    answer_ids = sorted({a for _, a, _, _ in exchanges if a})
    feedback = (
        _ids(
            session,
            select(AnswerFeedback.id)
            .where(AnswerFeedback.channel == channel, AnswerFeedback.answer_id.in_(answer_ids))
            .order_by(AnswerFeedback.id),
        )
        if answer_ids
        else []
    )
    unanswered: set[int] = set()
    for _, _, question, at in exchanges:
        if not question:
            continue
        moment = _utc(at)
        unanswered.update(
            _ids(
                session,
                select(UnansweredQuestion.id).where(
                    UnansweredQuestion.channel == channel,
                    UnansweredQuestion.question == question,
                    UnansweredQuestion.created_at >= moment - MATCH_WINDOW,
                    UnansweredQuestion.created_at <= moment + MATCH_WINDOW,
                ),
            )
        )
    handoffs = _ids(
        session,
        select(Handoff.id)
        .where(Handoff.channel == channel, Handoff.user_id == user)
        .order_by(Handoff.id),
    )
    messages = (
        _ids(
            session,
            select(HandoffMessage.id)
            .where(HandoffMessage.handoff_id.in_(handoffs))
            .order_by(HandoffMessage.id),
        )
        if handoffs
        else []
    )
    inbox = [
        row_id
        for row_id, event in session.execute(
            select(InboxEvent.id, InboxEvent.event)
            .where(InboxEvent.channel == channel)
            .order_by(InboxEvent.id)
            .execution_options(yield_per=500)
        )
        if isinstance(event, dict) and str(event.get("user_id", ""))[:128] == user
    ]
    return _Citizen(
        exchanges=[int(i) for i, _, _, _ in exchanges],
        feedback=feedback,
        unanswered=sorted(unanswered),
        conversations=_ids(
            session,
            select(ConversationRecord.id).where(
                ConversationRecord.channel == channel, ConversationRecord.user_id == user
            ),
        ),
        handoffs=handoffs,
        messages=messages,
        inbox=inbox,
        subscriptions=_ids(
            session,
            select(Subscription.id).where(
                Subscription.channel == channel, Subscription.user_id == user
            ),
        ),
        deliveries=_ids(
            session,
            select(AnnouncementDelivery.id)
            .where(AnnouncementDelivery.channel == channel, AnnouncementDelivery.user_id == user)
            .order_by(AnnouncementDelivery.id),
        ),
    )


def export_citizen(session: Session, channel: str, user_id: str) -> dict[str, Any]:
    """Everything stored about one citizen (``channel``, platform ``user_id``) as
    JSON-ready data: ``{"channel", "user_id", "exported_at", "tables": {name: [row]}}``
    with every column of every row of :data:`TABLES` (empty lists included)."""
    found = _find(session, channel, user_id)
    models: list[tuple[str, Any, list[int]]] = [
        ("answer_exchanges", AnswerExchange, found.exchanges),
        ("answer_feedback", AnswerFeedback, found.feedback),
        ("unanswered_questions", UnansweredQuestion, found.unanswered),
        ("conversations", ConversationRecord, found.conversations),
        ("handoffs", Handoff, found.handoffs),
        ("handoff_messages", HandoffMessage, found.messages),
        ("inbox_events", InboxEvent, found.inbox),
        ("subscriptions", Subscription, found.subscriptions),
        ("announcement_deliveries", AnnouncementDelivery, found.deliveries),
    ]
    tables: dict[str, list[dict[str, Any]]] = {}
    for name, model, ids in models:
        rows: list[Any] = []
        if ids:
            statement = select(model).where(model.id.in_(ids)).order_by(model.id)
            rows = list(session.execute(statement).scalars())
        tables[name] = [_row(r) for r in rows]
    return {
        "channel": channel,
        "user_id": user_id,
        "exported_at": dt.datetime.now(dt.UTC).isoformat(),
        "tables": tables,
    }


def _blank_handoffs(session: Session, ids: Iterable[int], now: dt.datetime) -> int:
    ids = list(ids)
    if not ids:
        return 0
    session.execute(
        update(Handoff)
        .where(Handoff.id.in_(ids), Handoff.state != "closed")
        .values(state="closed", closed_at=now, close_reason="erased")
    )
    result = session.execute(
        update(Handoff)
        .where(Handoff.id.in_(ids))
        .values(user_id="", reply_target="", open_key=None)
    )
    return _count(result)


def _count(result: Any) -> int:
    """Rows an UPDATE or DELETE touched."""
    return int(getattr(result, "rowcount", 0) or 0)


def _delete(session: Session, model: Any, ids: list[int]) -> int:
    if not ids:
        return 0
    return _count(session.execute(delete(model).where(model.id.in_(ids))))


def erase_citizen(session: Session, channel: str, user_id: str) -> Removed:
    """Remove one citizen's personal data (the caller commits): texts and identifiers
    blanked in the rows the reports count, every other row of theirs deleted, their
    subscription included. Returns the rows touched per table."""
    found = _find(session, channel, user_id)
    removed = Removed()
    rows = removed.rows
    if found.exchanges:
        rows["answer_exchanges"] = _count(
            session.execute(
                update(AnswerExchange)
                .where(AnswerExchange.id.in_(found.exchanges))
                .values(user_id="", question="", answer="")
            )
        )
    if found.feedback:
        rows["answer_feedback"] = _count(
            session.execute(
                update(AnswerFeedback)
                .where(AnswerFeedback.id.in_(found.feedback))
                .values(question="", answer="")
            )
        )
    rows["unanswered_questions"] = _delete(session, UnansweredQuestion, found.unanswered)
    rows["conversations"] = _delete(session, ConversationRecord, found.conversations)
    rows["handoff_messages"] = _delete(session, HandoffMessage, found.messages)
    rows["handoffs"] = _blank_handoffs(session, found.handoffs, dt.datetime.now(dt.UTC))
    rows["inbox_events"] = _delete(session, InboxEvent, found.inbox)
    rows["subscriptions"] = _delete(session, Subscription, found.subscriptions)
    # With the subscription gone, a pending delivery to the renamed recipient is
    # marked "unsubscribed" by the send job; sent ones keep counting in the report.
    rows["announcement_deliveries"] = _anonymise_deliveries(
        session, AnnouncementDelivery.id.in_(found.deliveries) if found.deliveries else None
    )
    logger.info("erased one citizen's data: %d rows", removed.total)
    return removed


# ----------------------------------------------------------------- retention


def purge(session: Session, *, before: dt.datetime) -> Removed:
    """Remove personal data stored before ``before`` (aware; the caller commits): the
    same blank-or-delete rule as :func:`erase_citizen`, open handoffs and subscriptions
    kept, inbox rows only once their reply finished. Returns the rows touched per table."""
    removed = Removed()
    rows = removed.rows
    rows["answer_exchanges"] = _count(
        session.execute(
            update(AnswerExchange)
            .where(
                AnswerExchange.at < before,
                or_(
                    AnswerExchange.user_id != "",
                    AnswerExchange.question != "",
                    AnswerExchange.answer != "",
                ),
            )
            .values(user_id="", question="", answer="")
        )
    )
    rows["answer_feedback"] = _count(
        session.execute(
            update(AnswerFeedback)
            .where(
                AnswerFeedback.created_at < before,
                or_(AnswerFeedback.question != "", AnswerFeedback.answer != ""),
            )
            .values(question="", answer="")
        )
    )
    rows["unanswered_questions"] = _count(
        session.execute(delete(UnansweredQuestion).where(UnansweredQuestion.created_at < before))
    )
    rows["conversations"] = _count(
        session.execute(delete(ConversationRecord).where(ConversationRecord.updated_at < before))
    )
    old_handoffs = select(Handoff.id).where(
        Handoff.state == "closed", Handoff.last_activity_at < before
    )
    rows["handoff_messages"] = _count(
        session.execute(delete(HandoffMessage).where(HandoffMessage.handoff_id.in_(old_handoffs)))
    )
    rows["handoffs"] = _count(
        session.execute(
            update(Handoff)
            .where(
                Handoff.id.in_(old_handoffs),
                or_(
                    Handoff.user_id != "", Handoff.reply_target != "", Handoff.open_key.is_not(None)
                ),
            )
            .values(user_id="", reply_target="", open_key=None)
            .execution_options(synchronize_session=False)
        )
    )
    rows["inbox_events"] = _count(
        session.execute(
            delete(InboxEvent).where(
                InboxEvent.created_at < before, InboxEvent.status.in_(_FINAL_INBOX)
            )
        )
    )
    rows["announcement_deliveries"] = _anonymise_deliveries(
        session,
        (AnnouncementDelivery.updated_at < before)
        & AnnouncementDelivery.state.in_(_FINAL_DELIVERY),
    )
    return removed


def _anonymise_deliveries(session: Session, where: Any) -> int:
    """Replace the recipient of the delivery rows ``where`` selects (None: none) by
    ``erased-<row id>``; rows already anonymised are left alone."""
    if where is None:
        return 0
    erased = literal(ERASED_RECIPIENT, String) + cast(AnnouncementDelivery.id, String)
    return _count(
        session.execute(
            update(AnnouncementDelivery)
            .where(where, ~AnnouncementDelivery.user_id.startswith(ERASED_RECIPIENT))
            .values(user_id=erased)
            .execution_options(synchronize_session=False)
        )
    )


def cutoff(retention_days: int, now: dt.datetime | None = None) -> dt.datetime | None:
    """The moment before which data goes, or None when ``retention_days`` is 0 (keep)."""
    if retention_days <= 0:
        return None
    return (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=retention_days)


def purge_once(
    factory: sessionmaker[Session], retention_days: int, *, dry_run: bool = False
) -> Removed:
    """One retention purge in one transaction (rolled back when ``dry_run``: the counts
    say what would go). Nothing happens when ``retention_days`` is 0."""
    before = cutoff(retention_days)
    if before is None:
        return Removed()
    if dry_run:
        with factory() as session:
            removed = purge(session, before=before)
            session.rollback()
        return removed
    with transaction(factory) as session:
        removed = purge(session, before=before)
    if removed.total:
        logger.info("retention purge: %d rows older than %d days", removed.total, retention_days)
    return removed


class RetentionPurger(PeriodicTask):
    """:func:`purge_once` at start-up and then every ``interval`` seconds in the serving
    process's event loop; ``start()`` / ``stop()`` are its lifespan hooks (async), and
    nothing starts when ``retention_days`` is 0.

    Every serving process may run it: a purge is idempotent (the second one finds
    nothing left), so no coordination is needed, on SQLite as on PostgreSQL.
    """

    name = "tthc-retention-purge"

    def __init__(
        self,
        factory: sessionmaker[Session],
        retention_days: int,
        *,
        interval: float = PURGE_INTERVAL_SECONDS,
    ) -> None:
        super().__init__(interval)
        self.factory, self.retention_days = factory, retention_days

    def enabled(self) -> bool:
        return self.retention_days > 0

    def run_once(self) -> None:
        purge_once(self.factory, self.retention_days)


__all__ = [
    "TABLES",
    "Removed",
    "RetentionPurger",
    "cutoff",
    "erase_citizen",
    "export_citizen",
    "purge",
    "purge_once",
]
