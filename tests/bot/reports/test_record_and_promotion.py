"""The conversation record and the counted online-service links, on the real dispatcher
(real inbox and job queue) and the real web chat app, over SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette

from bot.analytics import Exchange, SqlExchangeLog, SqlFeedbackSink
from bot.channels.base import InboundEvent, OutboundMessage, buttons_as_text
from bot.channels.dispatch import Dispatcher
from bot.channels.inbox import SqlInbox
from bot.channels.jobs import JobQueue
from bot.channels.subscriptions import SqlSubscriptions
from bot.engine.model import Answer, Citation
from bot.promotion import PromoLinks, redirect_routes
from bot.ratelimit import RateLimiter
from bot.reports.figures import compute
from bot.reports.periods import between
from bot.web import create_app
from knowledge.db import transaction
from knowledge.models import AnswerExchange, Procedure, PromoClick, PromoLink
from tests.fakes import FakeAnswerer

BASE = "https://tthc.example.gov.vn"
PORTAL = "https://dichvucong.gov.vn/p/dvc-1.004222"
CODE = "1.004222"
ONLINE = Answer(
    question="",
    status="answered",
    text=f"Đăng ký thường trú ... Nộp trực tuyến toàn trình tại: {PORTAL}",
    citations=[Citation("procedure", CODE, "Đăng ký thường trú", PORTAL)],
    online_service={"level": "toàn trình", "url": PORTAL},
    aspect="online",
)
SCRIPT = {"thường trú online": ONLINE}


def _procedure(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        session.add(
            Procedure(
                code=CODE,
                name="Đăng ký thường trú",
                fields=["Đăng ký, quản lý cư trú"],
                online_level="toan_trinh",
            )
        )


class RecordingAdapter:
    """A channel with no platform: what it would send is kept (plain text, links inline)."""

    name = "zalo-oa"
    text_limit = 2000

    def __init__(self) -> None:
        self.sent: list[str] = []

    def verify(self, headers: Mapping[str, str], raw: bytes) -> bool:
        return True

    def handshake(self, query: Mapping[str, str]) -> str | None:
        return None

    def parse(self, raw: bytes) -> list[InboundEvent]:
        return []

    def render(self, message: OutboundMessage) -> list[dict[str, Any]]:
        return [{"text": buttons_as_text(message)}]

    async def send(self, event: InboundEvent, parts: list[dict[str, Any]]) -> list[str]:
        self.sent += [p["text"] for p in parts]
        return ["ok"]


def _event(key: str, text: str = "", kind: str = "text") -> InboundEvent:
    return InboundEvent(
        channel="zalo-oa",
        account_id="oa",
        event_key=key,
        user_id="citizen-1",
        reply_target="citizen-1",
        kind=kind,
        text=text,
    )  # type: ignore[arg-type]


def test_every_channel_message_is_recorded_and_links_are_counted(
    db_url: str, factory: sessionmaker[Session]
) -> None:
    _procedure(factory)
    adapter = RecordingAdapter()
    inbox = SqlInbox(factory=factory)
    queue = JobQueue.for_database("sqlite://", inbox=inbox, backoff_base=0.05, backoff_cap=0.2)
    links = PromoLinks(factory=factory, base_url=BASE)
    dispatcher = Dispatcher(
        engine=FakeAnswerer(script=SCRIPT),
        inbox=inbox,
        queue=queue,
        adapters=[adapter],
        limiter=RateLimiter(limit=4),
        exchanges=SqlExchangeLog(factory=factory),
        promotions=links,
        subscriptions=SqlSubscriptions(factory=factory),
    )
    queue.bind(dispatcher.process)

    async def run() -> None:
        events = [
            _event("e1", "thường trú online"),
            _event("e2", "CCCD của tôi 0123 4567 8901, hỏi gì đó"),
            _event("e3", kind="unsupported"),
            _event("e4", "/subscribe"),
            _event("e5", "hỏi nữa"),  # the fifth message in a minute: rate limited
        ]
        for event in events:
            await dispatcher.accept(adapter, [event])
            assert await queue.drain(timeout=20)
        await queue.close()

    asyncio.run(run())
    dispatcher.close()
    with factory() as session:
        rows = session.execute(select(AnswerExchange).order_by(AnswerExchange.id)).scalars().all()
        token = session.execute(select(PromoLink.token)).scalar_one()
    assert [r.status for r in rows] == [
        "answered",
        "answered",
        "unsupported",
        "command",
        "rate_limited",
    ]
    first = rows[0]
    assert (first.procedures, first.fields, first.promoted, first.intent) == (
        [CODE],
        ["Đăng ký, quản lý cư trú"],
        "toan_trinh",
        "online",
    )
    assert first.latency_ms >= 0 and first.channel == "zalo-oa"
    assert "0123 4567 8901" not in rows[1].question and "[số đã ẩn]" in rows[1].question
    # The citizen got the counted link, not the portal's; the token holds nothing personal.
    assert f"{BASE}/r/{token}" in adapter.sent[0] and PORTAL not in adapter.sent[0]
    assert len(token) == 12 and "citizen" not in token


def test_web_chat_records_promotes_and_the_redirect_counts_clicks(
    factory: sessionmaker[Session],
) -> None:
    _procedure(factory)
    links = PromoLinks(factory=factory, base_url=BASE)
    app: Starlette = create_app(
        engine=FakeAnswerer(script=SCRIPT),
        feedback=SqlFeedbackSink(factory=factory),
        ready=lambda: {},
        exchanges=SqlExchangeLog(factory=factory),
        promotions=links,
        extra_routes=list(redirect_routes(links)),
    )

    async def run() -> dict[str, Any]:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bot"
        ) as client:
            first = (
                await client.post(
                    "/api/chat", json={"message": "thường trú online", "session_id": "s1"}
                )
            ).json()
            again = (
                await client.post(
                    "/api/chat", json={"message": "thường trú online", "session_id": "s2"}
                )
            ).json()
            assert again["online_service"]["url"] == first["online_service"]["url"]
            path = first["online_service"]["url"].removeprefix(BASE)
            assert path.startswith("/r/") and first["online_service"]["url"] in first["text"]
            assert PORTAL not in first["text"]
            clicked = await client.get(path)
            assert clicked.status_code == 302 and clicked.headers["location"] == PORTAL
            assert (await client.head(path)).status_code == 302  # not counted
            robot = await client.get(path, headers={"user-agent": "TelegramBot (like TwitterBot)"})
            assert robot.status_code == 302  # redirected, not counted
            unknown = await client.get("/r/nothing-here")
            assert unknown.status_code == 404 and "Không tìm thấy liên kết" in unknown.text
            assert (await client.get("/r/" + "x" * 200)).status_code == 404
            await client.post(
                "/api/feedback", json={"answer_id": first["answer_id"], "value": "up"}
            )
            return dict(first)

    asyncio.run(run())
    with factory() as session:
        clicks = session.execute(select(func.count(PromoClick.id))).scalar_one()
        rows = session.execute(select(AnswerExchange)).scalars().all()
        today = dt.datetime.now(dt.UTC).date()
        figures = compute(
            session, between(today - dt.timedelta(days=1), today + dt.timedelta(days=1))
        )
    assert clicks == 1
    assert [(r.channel, r.user_id, r.promoted, r.procedures) for r in rows] == [
        ("web", "s1", "toan_trinh", [CODE]),
        ("web", "s2", "toan_trinh", [CODE]),
    ]
    web = figures.channels[0]
    assert (web.channel, web.questions, web.promotions, web.clicks, web.thumbs_up) == (
        "web",
        2,
        2,
        1,
        1,
    )
    assert figures.procedures[0].clicks == 1


def test_without_a_public_address_answers_keep_the_portal_link(
    factory: sessionmaker[Session],
) -> None:
    links = PromoLinks(factory=factory, base_url="")
    answer = links.promote(ONLINE, "telegram")
    assert answer is ONLINE and not links.enabled
    with factory() as session:
        assert session.execute(select(func.count(PromoLink.id))).scalar_one() == 0


def test_conversation_rows_join_the_feedback(factory: sessionmaker[Session]) -> None:
    from bot.reports.record import COLUMNS, conversation_rows

    log = SqlExchangeLog(factory=factory)
    sink = SqlFeedbackSink(factory=factory, exchanges=log)
    for key, status in (("a1", "answered"), ("a2", "no_answer")):
        log.record(
            channel="telegram",
            account_id="",
            user_id="u1",
            answer_id=key,
            exchange=Exchange(f"gọi 0912345678 về {key}", "…", status, ""),
        )
    sink.rate(channel="telegram", answer_id="a1", value="down")
    sink.rate(channel="telegram", answer_id="a1", value="up")  # changed their mind
    today = dt.datetime.now(dt.UTC).date()
    with factory() as session:
        rows = list(
            conversation_rows(
                session, between(today - dt.timedelta(days=1), today + dt.timedelta(days=1))
            )
        )
    assert [tuple(r) for r in rows] == [COLUMNS, COLUMNS]
    assert [(r["status"], r["feedback"]) for r in rows] == [("answered", "up"), ("no_answer", "")]
    assert "0912345678" not in rows[0]["question"]
