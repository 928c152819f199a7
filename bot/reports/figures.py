"""The figures of one period: counted from the conversation record and its neighbours.

Definitions (the report's notes print them):

- a **message** (tin nhắn) is every citizen message recorded in ``answer_exchanges``;
- a **question** (câu hỏi) is a message the assistant had to answer: statuses
  :data:`QUESTION_STATUSES` (commands, stickers, rate-limited messages and messages
  to an officer's thread are messages, not questions);
- **answered** = ``answered``; **clarified** = ``clarify`` (the assistant asked which
  procedure); **unanswered** = ``no_answer``, ``too_long`` and ``error``; the rest of
  the questions (greetings, out of scope, asking for an officer) is **other**;
- a **promotion** is an answer that offered an online service (toàn trình / một phần);
  a **click** is a citizen's GET of ``/r/<token>`` (link-preview robots not counted);
- **handoffs** are conversations passed to an officer (``handoffs`` rows opened);
- **latency** is over questions, in milliseconds, nearest-rank percentiles.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.engine.model import ANSWER_STATUSES
from bot.reports.periods import VIETNAM, Period
from knowledge.models import (
    AnswerExchange,
    AnswerFeedback,
    Handoff,
    Procedure,
    PromoClick,
    PromoLink,
    UnansweredQuestion,
)

QUESTION_STATUSES = frozenset(ANSWER_STATUSES)
UNANSWERED_STATUSES = frozenset({"no_answer", "too_long", "error"})

#: Vietnamese names of the channels, as the reports print them.
CHANNEL_NAMES = {
    "telegram": "Telegram",
    "zalo-oa": "Zalo OA",
    "zalo-bot": "Zalo Bot",
    "messenger": "Facebook Messenger",
    "web": "Trang web (web chat)",
}

#: Vietnamese names of the statuses.
STATUS_NAMES = {
    "answered": "Đã trả lời",
    "clarify": "Hỏi lại để làm rõ",
    "no_answer": "Chưa trả lời được",
    "out_of_scope": "Ngoài phạm vi",
    "smalltalk": "Chào hỏi, trò chuyện",
    "handoff": "Xin gặp cán bộ",
    "too_long": "Tin quá dài",
    "error": "Lỗi hệ thống",
    "rate_limited": "Gửi quá nhanh",
    "command": "Lệnh (đăng ký, hủy...)",
    "officer_thread": "Tin gửi cán bộ",
    "unsupported": "Ảnh, nhãn dán",
}


def channel_name(channel: str) -> str:
    """The Vietnamese name of ``channel`` (its id when unknown)."""
    return CHANNEL_NAMES.get(channel, channel)


@dataclass
class ChannelFigures:
    """The counts of one channel (or of all: ``channel == ""``)."""

    channel: str
    messages: int = 0
    questions: int = 0
    answered: int = 0
    clarified: int = 0
    unanswered: int = 0
    other: int = 0
    promotions: int = 0
    promotions_full: int = 0
    clicks: int = 0
    thumbs_up: int = 0
    thumbs_down: int = 0
    handoffs: int = 0

    def share(self, count: int) -> float:
        """``count`` as a percentage of the questions (0 when there are none)."""
        return 100.0 * count / self.questions if self.questions else 0.0

    def add(self, other: ChannelFigures) -> None:
        """Add ``other``'s counts to these."""
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


_COUNTS = (
    "messages",
    "questions",
    "answered",
    "clarified",
    "unanswered",
    "other",
    "promotions",
    "promotions_full",
    "clicks",
    "thumbs_up",
    "thumbs_down",
    "handoffs",
)


@dataclass
class ProcedureFigures:
    """How often one procedure was cited, promoted and its link followed."""

    code: str
    name: str
    fields: list[str]
    questions: int = 0
    promotions: int = 0
    clicks: int = 0


@dataclass
class Topic:
    """A question asked and not answered (masked), how often, and the nearest record."""

    question: str
    count: int
    best: str


@dataclass
class Figures:
    """Everything a report or the dashboard shows for one period (and channel)."""

    period: Period
    channel: str
    channels: list[ChannelFigures]
    total: ChannelFigures
    #: day → channel → questions
    per_day: dict[dt.date, dict[str, int]]
    by_status: dict[str, int]
    procedures: list[ProcedureFigures]
    #: (field name, questions citing a procedure of it)
    fields: list[tuple[str, int]]
    unanswered_topics: list[Topic]
    latency_p50: int | None
    latency_p95: int | None
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(VIETNAM))

    @property
    def empty(self) -> bool:
        """Whether nothing at all was recorded in the period."""
        return self.total.messages == 0


def _utc(moment: dt.datetime) -> dt.datetime:
    # SQLite keeps the wall-clock digits only: every stored time is UTC.
    return moment.astimezone(dt.UTC)


def _local_day(session: Session) -> Any:
    """SQL for the Vietnam-time day of ``answer_exchanges.at`` (stored in UTC)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("Asia/Ho_Chi_Minh", AnswerExchange.at))
    return func.date(AnswerExchange.at, "+7 hours")  # SQLite keeps UTC wall-clock digits


def percentile(values: list[int], q: float) -> int | None:
    """Nearest-rank percentile ``q`` (0..100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def compute(session: Session, period: Period, channel: str = "", *, top: int = 20) -> Figures:
    """The figures of ``period`` (all channels, or only ``channel``).

    ``top``: how many procedures, fields and unanswered topics are listed.
    """
    start, end = _utc(period.start), _utc(period.end)
    where = [AnswerExchange.at >= start, AnswerExchange.at < end]
    if channel:
        where.append(AnswerExchange.channel == channel)
    per_channel: dict[str, ChannelFigures] = {}
    by_status: Counter[str] = Counter()
    # Counts are grouped by the database; only cited rows are read one by one.
    for ch, status, promoted, count in session.execute(
        select(
            AnswerExchange.channel,
            AnswerExchange.status,
            AnswerExchange.promoted,
            func.count(AnswerExchange.id),
        )
        .where(*where)
        .group_by(AnswerExchange.channel, AnswerExchange.status, AnswerExchange.promoted)
    ):
        n = int(count)
        figures = per_channel.setdefault(ch, ChannelFigures(ch))
        figures.messages += n
        by_status[status] += n
        if status not in QUESTION_STATUSES:
            continue
        figures.questions += n
        if status == "answered":
            figures.answered += n
        elif status == "clarify":
            figures.clarified += n
        elif status in UNANSWERED_STATUSES:
            figures.unanswered += n
        else:
            figures.other += n
        if promoted:
            figures.promotions += n
            figures.promotions_full += n if promoted == "toan_trinh" else 0

    asked = [*where, AnswerExchange.status.in_(QUESTION_STATUSES)]
    per_day: dict[dt.date, dict[str, int]] = {day: {} for day in period.days}
    day = _local_day(session)
    for ch, on, count in session.execute(
        select(AnswerExchange.channel, day, func.count(AnswerExchange.id))
        .where(*asked)
        .group_by(AnswerExchange.channel, day)
    ):
        date = on if isinstance(on, dt.date) else dt.date.fromisoformat(str(on))
        per_day.setdefault(date, {})[ch] = int(count)

    cited: Counter[str] = Counter()
    promoted_by_code: Counter[str] = Counter()
    by_field: Counter[str] = Counter()
    for codes, fields, promoted in session.execute(
        select(AnswerExchange.procedures, AnswerExchange.fields, AnswerExchange.promoted).where(
            *asked, AnswerExchange.cited != ""
        )
    ):
        for code in codes or []:
            cited[code] += 1
            if promoted:
                promoted_by_code[code] += 1
        for name in fields or []:
            by_field[name] += 1
    latencies = [
        int(v)
        for (v,) in session.execute(
            select(AnswerExchange.latency_ms).where(*asked, AnswerExchange.latency_ms > 0)
        )
    ]

    clicks_by_code: Counter[str] = Counter()
    click_where = [PromoClick.at >= start, PromoClick.at < end]
    if channel:
        click_where.append(PromoLink.channel == channel)
    for ch, code, count in session.execute(
        select(PromoLink.channel, PromoLink.procedure_code, func.count(PromoClick.id))
        .join(PromoLink, PromoLink.id == PromoClick.link_id)
        .where(*click_where)
        .group_by(PromoLink.channel, PromoLink.procedure_code)
    ):
        per_channel.setdefault(ch, ChannelFigures(ch)).clicks += int(count)
        clicks_by_code[code] += int(count)

    feedback_where = [AnswerFeedback.created_at >= start, AnswerFeedback.created_at < end]
    if channel:
        feedback_where.append(AnswerFeedback.channel == channel)
    for ch, value, count in session.execute(
        select(AnswerFeedback.channel, AnswerFeedback.value, func.count(AnswerFeedback.id))
        .where(*feedback_where)
        .group_by(AnswerFeedback.channel, AnswerFeedback.value)
    ):
        figures = per_channel.setdefault(ch, ChannelFigures(ch))
        if value == "up":
            figures.thumbs_up += int(count)
        elif value == "down":
            figures.thumbs_down += int(count)

    handoff_where = [Handoff.created_at >= start, Handoff.created_at < end]
    if channel:
        handoff_where.append(Handoff.channel == channel)
    for ch, count in session.execute(
        select(Handoff.channel, func.count(Handoff.id))
        .where(*handoff_where)
        .group_by(Handoff.channel)
    ):
        per_channel.setdefault(ch, ChannelFigures(ch)).handoffs += int(count)

    codes = set(cited) | set(clicks_by_code)
    names: dict[str, tuple[str, list[str]]] = {}
    if codes:
        for code, name, fields in session.execute(
            select(Procedure.code, Procedure.name, Procedure.fields).where(
                Procedure.code.in_(codes)
            )
        ):
            names[code] = (name, list(fields or []))
    procedures = [
        ProcedureFigures(
            code=code,
            name=names.get(code, (code, []))[0],
            fields=names.get(code, ("", []))[1],
            questions=cited[code],
            promotions=promoted_by_code[code],
            clicks=clicks_by_code[code],
        )
        for code in codes
    ]
    procedures.sort(key=lambda p: (-p.questions, -p.clicks, p.code))

    channels = sorted(per_channel.values(), key=lambda f: (-f.messages, f.channel))
    total = ChannelFigures("")
    for figures in channels:
        total.add(figures)
    return Figures(
        period=period,
        channel=channel,
        channels=channels,
        total=total,
        per_day=dict(sorted(per_day.items())),
        by_status=dict(by_status.most_common()),
        procedures=procedures[:top],
        fields=sorted(by_field.items(), key=lambda item: (-item[1], item[0]))[:top],
        unanswered_topics=_topics(session, start, end, channel, top),
        latency_p50=percentile(latencies, 50),
        latency_p95=percentile(latencies, 95),
    )


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.findall(r"[0-9a-z\[\]]+", stripped))


def _topics(
    session: Session, start: dt.datetime, end: dt.datetime, channel: str, top: int
) -> list[Topic]:
    """Unanswered questions grouped by their words (accents and case aside)."""
    where = [
        UnansweredQuestion.created_at >= start,
        UnansweredQuestion.created_at < end,
        UnansweredQuestion.status == "no_answer",
    ]
    if channel:
        where.append(UnansweredQuestion.channel == channel)
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for question, best in session.execute(
        select(UnansweredQuestion.question, UnansweredQuestion.best_candidate)
        .where(*where)
        .order_by(UnansweredQuestion.id)
    ):
        key = _fold(question)
        if key:
            groups[key].append((question, best))
    topics = [
        Topic(question=items[0][0][:300], count=len(items), best=items[0][1])
        for items in groups.values()
    ]
    topics.sort(key=lambda t: (-t.count, t.question))
    return topics[:top]
