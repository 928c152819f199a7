"""Personal data on request and by retention (``bot.privacy``, ``tthc privacy``) on SQLite
and PostgreSQL: two citizens (and one more on another channel) with data in every table."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.announcements import DELIVERY_STATES, AnnouncementStore
from bot.cli import main
from bot.conversations import RedisConversationStore
from bot.engine.conversation import ConversationState
from bot.privacy import TABLES, RetentionPurger, erase_citizen, export_citizen, purge, purge_once
from bot.reports.figures import compute
from bot.reports.periods import parse
from bot.settings import PrivacySettings
from knowledge.db import transaction
from knowledge.models import (
    Announcement,
    AnnouncementDelivery,
    AnswerExchange,
    AnswerFeedback,
    Base,
    ConversationRecord,
    Handoff,
    HandoffMessage,
    InboxEvent,
    Subscription,
    UnansweredQuestion,
)
from tests.bot.reports.seed import MID, seed
from tests.bot.test_shared_state import REDIS_URL as SHARED_REDIS_URL
from tests.bot.test_shared_state import _redis

NOW = dt.datetime.now(dt.UTC)
OLD = NOW - dt.timedelta(days=400)
RECENT = NOW - dt.timedelta(days=1)
A, B, Z = ("telegram", "555"), ("telegram", "777"), ("zalo-oa", "555")
_ZERO = dict.fromkeys(DELIVERY_STATES, 0)


def _history(session: Session, who: tuple[str, str], when: dt.datetime, tag: str) -> None:
    """One exchange, its 👎, the unanswered question it left, a finished inbox row and
    a closed handoff with one message, all at ``when``; texts carry ``tag``."""
    channel, user = who
    question = f"câu hỏi {tag} [số đã ẩn]"
    answer_id = uuid.uuid4().hex  # as the web chat and the channels make them
    session.add(
        AnswerExchange(
            channel=channel,
            user_id=user,
            answer_id=answer_id,
            question=question,
            answer=f"trả lời {tag}",
            status="no_answer",
            procedures=[],
            fields=[],
            at=when,
        )
    )
    session.add(
        AnswerFeedback(
            channel=channel,
            answer_id=answer_id,
            value="down",
            question=question,
            answer=f"trả lời {tag}",
            created_at=when,
        )
    )
    session.add(
        UnansweredQuestion(
            channel=channel,
            status="no_answer",
            question=question,
            created_at=when + dt.timedelta(seconds=1),
        )
    )
    session.add(
        InboxEvent(
            key=f"{channel}:oa:{tag}",
            channel=channel,
            chat_key=f"{channel}:oa:{user}",
            event={"channel": channel, "user_id": user, "text": question},
            status="answered",
            reply=[{"text": f"trả lời {tag}"}],
            created_at=when,
            updated_at=when,
        )
    )
    handoff = Handoff(
        channel=channel,
        user_id=user,
        reply_target=user,
        state="closed",
        reason="asked",
        created_at=when,
        last_activity_at=when,
        last_citizen_at=when,
        closed_at=when,
    )
    session.add(handoff)
    session.flush()
    session.add(HandoffMessage(handoff_id=handoff.id, direction="in", text=f"tin {tag}", at=when))


def _citizens(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        for who, tag in ((A, "A"), (B, "B")):
            _history(session, who, OLD, f"{tag}-cũ")
            _history(session, who, RECENT, f"{tag}-mới")
            session.add(Subscription(channel=who[0], user_id=who[1], created_at=OLD))
        # One old announcement reached A and B; a pending one still waits for A.
        sent = Announcement(text="Thông báo cũ", channels=["telegram"], state="done")
        waiting = Announcement(text="Thông báo mới", channels=["telegram"], state="sending")
        session.add_all([sent, waiting])
        session.flush()
        for who in (A, B):
            session.add(
                AnnouncementDelivery(
                    announcement_id=sent.id,
                    channel=who[0],
                    user_id=who[1],
                    state="sent",
                    updated_at=OLD,
                )
            )
        session.add(
            AnnouncementDelivery(
                announcement_id=waiting.id,
                channel=A[0],
                user_id=A[1],
                state="pending",
                updated_at=RECENT,
            )
        )
        _history(session, Z, RECENT, "Z-mới")
        # The same question from someone else an hour later is not A's.
        session.add(
            UnansweredQuestion(
                channel="telegram",
                status="no_answer",
                question="câu hỏi A-mới [số đã ẩn]",
                created_at=RECENT + dt.timedelta(hours=1),
            )
        )
        session.add(
            ConversationRecord(
                channel="telegram", user_id="555", state={"t": "A"}, updated_at=RECENT
            )
        )
        session.add(
            ConversationRecord(channel="telegram", user_id="777", state={"t": "B"}, updated_at=OLD)
        )
        open_a = Handoff(
            channel="telegram",
            user_id="555",
            reply_target="555",
            state="officer",
            reason="asked",
            open_key="telegram::555",
            created_at=RECENT,
            last_activity_at=RECENT,
            last_citizen_at=RECENT,
        )
        session.add(open_a)
        session.flush()
        session.add(
            HandoffMessage(handoff_id=open_a.id, direction="in", text="tin A-mở", at=RECENT)
        )


def _export(factory: sessionmaker[Session], channel: str, user_id: str) -> dict[str, Any]:
    with factory() as session:
        return export_citizen(session, channel, user_id)


def _dump(factory: sessionmaker[Session]) -> str:
    """Every row of every table as text (to look for a citizen's traces)."""
    out = []
    with factory() as session:
        for table in Base.metadata.sorted_tables:
            out += [repr(tuple(row)) for row in session.execute(select(table))]
    return "\n".join(out)


def _figures(factory: sessionmaker[Session], label: str, *, topics: bool = False) -> dict[str, Any]:
    with factory() as session:
        figures = dataclasses.asdict(compute(session, parse(label)))
    figures.pop("generated_at")
    if not topics:
        figures.pop("unanswered_topics")
    return figures


def test_export_holds_exactly_one_citizens_data(factory: sessionmaker[Session]) -> None:
    _citizens(factory)
    data = _export(factory, *A)
    tables = data["tables"]
    assert list(tables) == list(TABLES)
    assert {k: len(v) for k, v in tables.items()} == {
        "answer_exchanges": 2,
        "answer_feedback": 2,
        "unanswered_questions": 2,
        "conversations": 1,
        "handoffs": 3,
        "handoff_messages": 3,
        "inbox_events": 2,
        "subscriptions": 1,
        "announcement_deliveries": 2,
    }
    text = json.dumps(data, ensure_ascii=False)
    assert "A-cũ" in text and "A-mới" in text and "tin A-mở" in text
    assert "B-" not in text and "Z-" not in text and "777" not in text
    assert all(
        r["channel"] == "telegram"
        for name in TABLES
        if name != "handoff_messages"
        for r in tables[name]
    )
    # Complete rows: every column, times in ISO 8601.
    exchange = tables["answer_exchanges"][0]
    assert set(exchange) == {c.name for c in AnswerExchange.__table__.columns}
    assert dt.datetime.fromisoformat(exchange["at"]).tzinfo is not None
    unanswered_times = sorted(r["created_at"] for r in tables["unanswered_questions"])
    assert all(
        t[:10] in (OLD.date().isoformat(), RECENT.date().isoformat()) for t in unanswered_times
    )
    assert _export(factory, "telegram", "nobody")["tables"] == {key: [] for key in TABLES}


def test_erase_removes_one_citizen_keeps_the_other_and_the_report(
    factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    seed(factory)
    _citizens(factory)
    with transaction(factory) as session:  # A also asked in the reported quarter
        _history(session, A, MID.astimezone(dt.UTC), "A-quý")
    before = {p: _figures(factory, p) for p in ("2026-Q4", "2026-Q3", "2027")}
    others = [_export(factory, *who)["tables"] for who in (B, Z)]
    announced = [(v.text, v.report) for v in AnnouncementStore(factory=factory).recent()]
    assert sorted(announced) == [
        ("Thông báo cũ", {"telegram": {**_ZERO, "sent": 2}}),
        ("Thông báo mới", {"telegram": {**_ZERO, "pending": 1}}),
    ]
    caplog.set_level(logging.DEBUG)
    with transaction(factory) as session:
        removed = erase_citizen(session, *A)
    assert removed.rows == {
        "answer_exchanges": 3,
        "answer_feedback": 3,
        "unanswered_questions": 3,
        "conversations": 1,
        "handoffs": 4,
        "handoff_messages": 4,
        "inbox_events": 3,
        "subscriptions": 1,
        "announcement_deliveries": 2,
    }
    assert _export(factory, *A)["tables"] == {key: [] for key in TABLES}
    dump = _dump(factory)
    assert dump.count("A-") == 1 and "'câu hỏi A-mới [số đã ẩn]'" in dump  # someone else's
    mine = re.compile(r"['\":]555['\"]")  # the id as a value, or at the end of a chat key
    assert not [row for row in dump.splitlines() if mine.search(row) and "zalo-oa" not in row]
    assert mine.search(dump)  # (user 555 of Zalo OA is still there)
    # The announcements' delivery reports count the same; A's rows name no one.
    store = AnnouncementStore(factory=factory)
    assert [(v.text, v.report) for v in store.recent()] == announced
    with factory() as session:
        recipients = session.execute(select(AnnouncementDelivery.user_id)).scalars().all()
    assert sorted(r.split("-")[0] for r in recipients) == ["777", "erased", "erased"]
    # The other citizens (B, and user 555 on another channel) are untouched.
    assert [_export(factory, *who)["tables"] for who in (B, Z)] == others
    # The report of every period counts the same; A's open handoff is closed.
    assert {p: _figures(factory, p) for p in before} == before
    with factory() as session:
        states = session.execute(
            select(Handoff.state, Handoff.close_reason).where(Handoff.user_id == "")
        ).all()
        assert ("closed", "erased") in states and all(s == "closed" for s, _ in states)
        # The someone-else question of the same words an hour later is still there.
        left = session.execute(select(UnansweredQuestion.question)).scalars().all()
        assert left.count("câu hỏi A-mới [số đã ẩn]") == 1
    assert not [r for r in caplog.records if "555" in r.getMessage() or "A-" in r.getMessage()]


def test_purge_removes_only_data_older_than_the_retention(
    factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    _citizens(factory)
    expected = {
        "answer_exchanges": 2,
        "answer_feedback": 2,
        "unanswered_questions": 2,
        "conversations": 1,
        "handoffs": 2,
        "handoff_messages": 2,
        "inbox_events": 2,
        "subscriptions": 0,
        "announcement_deliveries": 2,
    }
    snapshot = _dump(factory)
    assert purge_once(factory, 365, dry_run=True).rows == expected
    assert _dump(factory) == snapshot  # a dry run changes nothing
    caplog.set_level(logging.DEBUG)
    assert purge_once(factory, 365).rows == expected
    assert purge_once(factory, 365).total == 0  # idempotent
    assert purge_once(factory, 0).total == 0  # 0 keeps everything
    dump = _dump(factory)
    assert "-cũ" not in dump
    for tag in ("A-mới", "B-mới", "Z-mới", "A-mở"):
        assert tag in dump
    for who in (A, B):
        tables = _export(factory, *who)["tables"]
        assert len(tables["answer_exchanges"]) == 1 and len(tables["subscriptions"]) == 1
        assert len(tables["inbox_events"]) == 1
    with factory() as session:
        assert (
            session.execute(select(AnswerExchange).where(AnswerExchange.user_id == ""))
            .scalars()
            .all()
        )
        assert {c for (c,) in session.execute(select(ConversationRecord.user_id))} == {"555"}
        # Old final deliveries name no one; A's pending one still names A.
        deliveries = session.execute(
            select(AnnouncementDelivery.state, AnnouncementDelivery.user_id)
        ).all()
        assert sorted((state, user[:7]) for state, user in deliveries) == [
            ("pending", "555"),
            ("sent", "erased-"),
            ("sent", "erased-"),
        ]
    assert all(
        "555" not in r.getMessage() and "câu hỏi" not in r.getMessage() for r in caplog.records
    )


def test_report_figures_are_identical_after_purging_everything(
    factory: sessionmaker[Session],
) -> None:
    seed(factory)
    periods = ("2026-Q4", "2026-Q3", "2026-H2", "2026", "2027")
    before = {p: _figures(factory, p) for p in periods}
    assert before["2026-Q4"]["total"]["questions"] == 20
    with transaction(factory) as session:
        removed = purge(session, before=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    assert removed.rows["answer_exchanges"] == 30 and removed.rows["handoffs"] == 3
    assert {p: _figures(factory, p) for p in periods} == before
    with factory() as session:
        assert not session.execute(
            select(AnswerExchange).where(AnswerExchange.question != "")
        ).first()
        assert not session.execute(select(Handoff).where(Handoff.user_id != "")).first()
    # Only the unanswered topics (texts) of a purged period are gone.
    assert _figures(factory, "2026-Q4", topics=True)["unanswered_topics"] == []


def test_cli_export_erase_purge(
    db_url: str, factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _citizens(factory)
    monkeypatch.setenv("TTHC_DATABASE_URL", db_url)
    runner = CliRunner()
    out = tmp_path / "a.json"
    result = runner.invoke(
        main, ["privacy", "export", "--channel", "telegram", "--user", "555", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert f"Đã ghi 18 dòng dữ liệu vào {out}" in result.output
    assert json.loads(out.read_text(encoding="utf-8"))["user_id"] == "555"
    result = runner.invoke(main, ["privacy", "export", "--channel", "zalo-oa", "--user", "555"])
    assert (
        result.exit_code == 0
        and json.loads(result.stdout)["tables"]["answer_exchanges"][0]["question"]
        == "câu hỏi Z-mới [số đã ẩn]"
    )

    result = runner.invoke(
        main, ["privacy", "erase", "--channel", "telegram", "--user", "555"], input="n\n"
    )
    assert result.exit_code == 2 and "Đã hủy." in result.output
    result = runner.invoke(
        main, ["privacy", "erase", "--channel", "telegram", "--user", "555", "--yes"]
    )
    assert result.exit_code == 0, result.output
    assert "answer_exchanges: 2 dòng (xóa nội dung, giữ số liệu báo cáo)" in result.output
    assert "subscriptions: 1 dòng (đã xóa)" in result.output
    assert "Đã xóa dữ liệu cá nhân: 18 dòng." in result.output
    result = runner.invoke(
        main, ["privacy", "erase", "--channel", "telegram", "--user", "555", "--yes"]
    )
    assert result.exit_code == 1 and "Không có dữ liệu nào" in result.output
    result = runner.invoke(main, ["privacy", "erase", "--channel", "fax", "--user", "555", "--yes"])
    assert result.exit_code == 2

    result = runner.invoke(main, ["privacy", "purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Sẽ xóa dữ liệu cũ hơn 365 ngày: 8 dòng." in result.output
    result = runner.invoke(main, ["privacy", "purge"])
    assert "Đã xóa dữ liệu cũ hơn 365 ngày: 8 dòng." in result.output
    monkeypatch.setenv("TTHC_RETENTION_DAYS", "0")
    result = runner.invoke(main, ["privacy", "purge"])
    assert result.exit_code == 0 and "giữ dữ liệu vô thời hạn" in result.output
    monkeypatch.setenv("TTHC_RETENTION_DAYS", "-3")
    result = runner.invoke(main, ["privacy", "purge"])
    assert result.exit_code == 2 and "TTHC_RETENTION_DAYS không hợp lệ" in result.output


def test_retention_setting_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    assert PrivacySettings().retention_days == 365
    monkeypatch.setenv("TTHC_RETENTION_DAYS", "30")
    assert PrivacySettings().retention_days == 30
    for bad in ("-1", "abc", "40000"):
        monkeypatch.setenv("TTHC_RETENTION_DAYS", bad)
        with pytest.raises(ValidationError):
            PrivacySettings()


def test_the_server_purges_by_itself(factory: sessionmaker[Session]) -> None:
    _citizens(factory)

    async def run(days: int) -> int:
        purger = RetentionPurger(factory, days, interval=0.05)
        await purger.start()
        await asyncio.sleep(0.3)
        await purger.stop()
        return purger.rounds

    assert asyncio.run(run(0)) == 0  # keep forever: no loop at all
    assert "-cũ" in _dump(factory)
    assert asyncio.run(run(365)) >= 2
    assert "-cũ" not in _dump(factory) and "A-mới" in _dump(factory)


def test_cli_erase_forgets_the_conversation_in_redis(
    db_url: str, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    client: Any = _redis()
    store = RedisConversationStore(client=client, ttl=600)
    store.save("telegram", "555", ConversationState(topic_id="1.001193"))
    store.save("telegram", "777", ConversationState(topic_id="1.001193"))
    monkeypatch.setenv("TTHC_DATABASE_URL", db_url)
    monkeypatch.setenv("TTHC_REDIS_URL", SHARED_REDIS_URL)
    try:
        result = CliRunner().invoke(
            main, ["privacy", "erase", "--channel", "telegram", "--user", "555", "--yes"]
        )
        assert result.exit_code == 0, result.output
        assert "conversations: 1 dòng (đã xóa)" in result.output
        assert store.load("telegram", "555").topic_id == ""
        assert store.load("telegram", "777").topic_id == "1.001193"
    finally:
        client.delete("tthc:conversation:telegram:555", "tthc:conversation:telegram:777")
        client.close()
