"""The conversation record row by row, with the citizen's 👍/👎 joined from
``answer_feedback`` on ``(channel, answer_id)`` (for exports and audits)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from bot.reports.periods import VIETNAM, Period
from knowledge.models import AnswerExchange, AnswerFeedback

#: The keys of each row :func:`conversation_rows` yields, in order.
COLUMNS = (
    "at",
    "channel",
    "status",
    "intent",
    "procedures",
    "fields",
    "promoted",
    "latency_ms",
    "handoff",
    "feedback",
    "question",
)


def conversation_rows(
    session: Session, period: Period, channel: str = ""
) -> Iterator[dict[str, Any]]:
    """Each recorded message of ``period`` (oldest first): :data:`COLUMNS`, ``at`` in
    Vietnam time, ``feedback`` "up" | "down" | "" (the latest when rated twice),
    ``question`` masked as stored. No user id: this is for reading figures, not people.
    """
    where = [
        AnswerExchange.at >= period.start.astimezone(dt.UTC),
        AnswerExchange.at < period.end.astimezone(dt.UTC),
    ]
    if channel:
        where.append(AnswerExchange.channel == channel)
    query = (
        select(AnswerExchange, AnswerFeedback.value)
        .outerjoin(
            AnswerFeedback,
            and_(
                AnswerFeedback.channel == AnswerExchange.channel,
                AnswerFeedback.answer_id == AnswerExchange.answer_id,
                AnswerExchange.answer_id != "",
            ),
        )
        .where(*where)
        .order_by(AnswerExchange.at, AnswerExchange.id, AnswerFeedback.id)
    )
    pending: dict[str, Any] | None = None
    pending_id = -1
    for row, value in session.execute(query):
        if row.id == pending_id and pending is not None:
            pending["feedback"] = value or pending["feedback"]  # the later rating wins
            continue
        if pending is not None:
            yield pending
        at = row.at if row.at.tzinfo else row.at.replace(tzinfo=dt.UTC)
        pending_id = row.id
        pending = {
            "at": at.astimezone(VIETNAM),
            "channel": row.channel,
            "status": row.status,
            "intent": row.intent,
            "procedures": list(row.procedures or []),
            "fields": list(row.fields or []),
            "promoted": row.promoted,
            "latency_ms": row.latency_ms,
            "handoff": row.handoff,
            "feedback": value or "",
            "question": row.question,
        }
    if pending is not None:
        yield pending
