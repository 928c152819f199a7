"""A conversation history with known counts (quarter IV of 2026, and its neighbours).

Every figure the reports must show for 2026-Q4 is in :data:`EXPECTED`; the times are
written in Vietnam's time, including rows a few minutes either side of the quarter's
bounds (UTC+7 midnight), which belong to the neighbouring periods.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.engine.model import ANSWER_STATUSES
from knowledge.db import transaction
from knowledge.models import (
    AnswerExchange,
    AnswerFeedback,
    Handoff,
    Procedure,
    PromoClick,
    PromoLink,
    UnansweredQuestion,
)

VN = dt.timezone(dt.timedelta(hours=7))
P1, P2, P3 = "1.004222", "2.000001", "1.001612"
PROCEDURES = {
    P1: ("Đăng ký thường trú", ["Đăng ký, quản lý cư trú"], "toan_trinh"),
    P2: ("Đăng ký kết hôn", ["Hộ tịch"], "none"),
    P3: ("Cấp giấy phép xây dựng", ["Xây dựng", "Quy hoạch"], "mot_phan"),
}
MID = dt.datetime(2026, 11, 15, 10, 0, tzinfo=VN)
FIRST_MINUTES = dt.datetime(2026, 10, 1, 0, 30, tzinfo=VN)  # 2026-09-30 17:30 UTC: Q4
LAST_MINUTES = dt.datetime(2026, 12, 31, 23, 30, tzinfo=VN)  # 2026-12-31 16:30 UTC: Q4
BEFORE = dt.datetime(2026, 9, 30, 23, 30, tzinfo=VN)  # Q3
AFTER = dt.datetime(2027, 1, 1, 0, 10, tzinfo=VN)  # 2027

#: (channel, status, procedures, promoted, at) of the Q4 messages.
Q4: list[tuple[str, str, list[str], str, dt.datetime]] = [
    ("telegram", "answered", [P1], "toan_trinh", FIRST_MINUTES),
    *[("telegram", "answered", [P1], "toan_trinh", MID)] * 3,
    *[("telegram", "answered", [P2], "", MID)] * 2,
    *[("telegram", "clarify", [], "", MID)] * 2,
    ("telegram", "no_answer", [], "", MID),
    ("telegram", "smalltalk", [], "", MID),
    ("telegram", "command", [], "", MID),
    ("telegram", "rate_limited", [], "", MID),
    ("zalo-oa", "answered", [P3], "mot_phan", MID),
    *[("zalo-oa", "answered", [P1], "toan_trinh", MID)] * 2,
    ("zalo-oa", "no_answer", [], "", MID),
    ("zalo-oa", "error", [], "", MID),
    ("zalo-oa", "out_of_scope", [], "", MID),
    ("zalo-oa", "officer_thread", [], "", MID),
    *[("web", "answered", [P2], "", MID)] * 2,
    ("web", "clarify", [], "", LAST_MINUTES),
    ("web", "too_long", [], "", MID),
]

EXPECTED: dict[str, Any] = {
    "channels": {
        # channel: messages, questions, answered, clarified, unanswered, other,
        #          promotions, clicks, up, down, handoffs
        "telegram": (12, 10, 6, 2, 1, 1, 4, 3, 3, 1, 1),
        "zalo-oa": (7, 6, 3, 0, 2, 1, 3, 3, 0, 0, 1),
        "web": (4, 4, 2, 1, 1, 0, 0, 0, 1, 0, 0),
    },
    "total": (23, 20, 11, 3, 4, 2, 7, 6, 4, 1, 2),
    "promotions_full": 6,
    "procedures": [(P1, 6, 6, 4), (P2, 4, 0, 0), (P3, 1, 1, 2)],
    "fields": [("Đăng ký, quản lý cư trú", 6), ("Hộ tịch", 4), ("Quy hoạch", 1), ("Xây dựng", 1)],
    "latency": (1000, 1900),
    "previous_questions": 6,
    "topics": [("thủ tục nuôi ong", 2), ("cấp phép bay flycam", 1)],
}


def seed(factory: sessionmaker[Session]) -> None:
    """Write the history (procedures, exchanges, links, clicks, feedback, handoffs)."""
    with transaction(factory) as session:
        for code, (name, fields, level) in PROCEDURES.items():
            session.add(Procedure(code=code, name=name, fields=fields, online_level=level))
        latency = 0
        questions = set(ANSWER_STATUSES)
        for i, (channel, status, codes, promoted, at) in enumerate(Q4):
            if status in questions:
                latency += 100
            session.add(
                _exchange(
                    i, channel, status, codes, promoted, at, latency if status in questions else 0
                )
            )
        # The neighbours: Q3 (5 + 1 at its last minutes) and the first minutes of 2027.
        for i in range(5):
            session.add(
                _exchange(
                    100 + i,
                    "telegram",
                    "answered",
                    [P2],
                    "",
                    dt.datetime(2026, 8, 10, 9, 0, tzinfo=VN),
                    50,
                )
            )
        session.add(_exchange(200, "telegram", "answered", [P1], "toan_trinh", BEFORE, 50))
        session.add(_exchange(201, "web", "no_answer", [], "", AFTER, 50))
        links = {}
        for key in ((P1, "telegram"), (P1, "zalo-oa"), (P3, "zalo-oa")):
            link = PromoLink(
                token=f"tok{len(links)}",
                procedure_code=key[0],
                channel=key[1],
                target_url=f"https://dichvucong.gov.vn/p/{key[0]}",
            )
            session.add(link)
            links[key] = link
        session.flush()
        for key, times in (
            ((P1, "telegram"), [MID, MID, LAST_MINUTES, BEFORE]),
            ((P1, "zalo-oa"), [MID, AFTER]),
            ((P3, "zalo-oa"), [MID, FIRST_MINUTES]),
        ):
            for at in times:
                session.add(PromoClick(link_id=links[key].id, at=at.astimezone(dt.UTC)))
        for channel, value, at in (
            *[("telegram", "up", MID)] * 3,
            ("telegram", "down", MID),
            ("web", "up", MID),
            ("web", "down", BEFORE),
        ):
            session.add(
                AnswerFeedback(
                    channel=channel, answer_id="a", value=value, created_at=at.astimezone(dt.UTC)
                )
            )
        for channel, at in (("zalo-oa", MID), ("telegram", MID), ("telegram", AFTER)):
            session.add(
                Handoff(
                    channel=channel,
                    user_id="u",
                    reply_target="u",
                    state="closed",
                    reason="asked",
                    created_at=at.astimezone(dt.UTC),
                    last_activity_at=at,
                    last_citizen_at=at,
                )
            )
        for question, at in (
            ("thủ tục nuôi ong", MID),
            ("Thủ tục NUÔI ONG?", MID),
            ("cấp phép bay flycam", MID),
            ("nuôi cá sấu", AFTER),
        ):
            session.add(
                UnansweredQuestion(
                    channel="telegram",
                    status="no_answer",
                    question=question,
                    created_at=at.astimezone(dt.UTC),
                )
            )


def _exchange(
    i: int,
    channel: str,
    status: str,
    codes: list[str],
    promoted: str,
    at: dt.datetime,
    latency: int,
) -> AnswerExchange:
    fields: list[str] = []
    for code in codes:
        fields += PROCEDURES[code][1]
    return AnswerExchange(
        channel=channel,
        account_id="",
        user_id=f"u{i % 5}",
        answer_id=f"a{i}",
        question=f"câu hỏi {i}",
        answer="",
        status=status,
        cited=",".join(codes),
        intent="procedure" if codes else "",
        procedures=codes,
        fields=fields,
        promoted=promoted,
        latency_ms=latency,
        handoff=False,
        at=at.astimezone(dt.UTC),
    )
