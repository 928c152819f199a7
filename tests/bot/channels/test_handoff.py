"""Live handoff through the real adapters, dispatcher, inbox and job queue, against fake
platform servers on loopback: the bot stays silent while a person holds a conversation,
an officer's reply reaches the citizen exactly once, and the bot comes back on release
or timeout. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from bot.analytics import SqlExchangeLog, SqlFeedbackSink
from bot.channels.base import ChannelAdapter, InboundEvent
from bot.channels.dispatch import Dispatcher
from bot.channels.inbox import SqlInbox
from bot.channels.jobs import JobQueue
from bot.channels.messenger import MessengerAdapter
from bot.channels.routes import webhook_routes
from bot.channels.zalo_oa import InMemoryTokenStore, ZaloOAAdapter
from bot.engine import texts
from bot.engine.conversation import InMemoryConversationStore
from bot.engine.engine import AnswerEngine
from bot.handoff import (
    HUMAN_AGENT,
    HandoffConflict,
    HandoffService,
    OfficeHours,
    ReplyWindowClosed,
)
from bot.ratelimit import RateLimiter
from knowledge import migrate
from knowledge.db import make_engine, make_session_factory
from knowledge.models import AnswerFeedback, Handoff, HandoffMessage
from tests.bot.channels import fake_meta
from tests.bot.channels.fake_zalo import (
    APP_ID,
    APP_SECRET,
    OA_ID,
    OA_SECRET_KEY,
    USER_ID,
    HeaderAwarePlatform,
    ZaloOAFake,
    oa_body,
    oa_sign,
    oa_text_event,
)
from tests.bot.channels.harness import FakePlatform

#: A Wednesday, 09:00 in Hà Nội: inside the default office hours.
WEDNESDAY_9AM = dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC)
PROVINCE_LINE = {
    "scope": "province",
    "area": "Đà Nẵng",
    "name": "Tổng đài 1022 Đà Nẵng",
    "phones": ["0236 1022"],
    "email": "",
    "hours": "24/7",
    "source": "https://1022.danang.gov.vn",
    "verified_at": "2026-11-20",
}
NO_ANSWER_QUESTION = "thủ tục cấp giấy phép nuôi rồng"
OTHER_NO_ANSWER = "hồ sơ xin giấy phép bay lên mặt trăng"
PAGE_INBOX_APP = "263902037430900"
OUR_META_APP = "1517776481860111"


class EmptyKnowledge:
    """An index that finds nothing: every procedure question is a no-answer."""

    def search(self, query: str, *, k: int = 10, kinds: Any = None) -> list[Any]:
        return []

    def record(self, kind: str, record_id: str) -> dict[str, Any] | None:
        return None


class StaticHotlines:
    def __init__(self, *records: dict[str, Any]) -> None:
        self.records = list(records)

    def published(self) -> list[dict[str, Any]]:
        return self.records


@dataclass
class World:
    client: httpx.AsyncClient
    queue: JobQueue
    handoffs: HandoffService
    factory: Any
    clock: list[dt.datetime]
    path: str

    async def post(self, body: bytes, headers: dict[str, str]) -> None:
        response = await self.client.post(self.path, content=body, headers=headers)
        assert response.status_code == 200, response.text
        assert await self.queue.drain(timeout=20)

    def thread(self, handoff_id: int) -> list[tuple[str, str, str]]:
        with self.factory() as session:
            rows = session.execute(
                select(HandoffMessage)
                .where(HandoffMessage.handoff_id == handoff_id)
                .order_by(HandoffMessage.id)
            ).scalars()
            return [(m.direction, m.text, m.author) for m in rows]

    def handoff_rows(self) -> list[Handoff]:
        with self.factory() as session:
            return list(session.execute(select(Handoff).order_by(Handoff.id)).scalars())


@asynccontextmanager
async def world(
    db_url: str, adapter: ChannelAdapter, *, hours: str = "Mon-Fri 07:30-11:30,13:30-17:00"
) -> AsyncIterator[World]:
    database = make_engine(db_url)
    migrate.upgrade(database)
    factory = make_session_factory(database)
    clock = [WEDNESDAY_9AM]
    inbox = SqlInbox(factory=factory)
    queue = JobQueue.for_database(db_url, inbox=inbox, backoff_base=0.05, backoff_cap=0.2)
    engine = AnswerEngine(
        knowledge=EmptyKnowledge(),
        conversations=InMemoryConversationStore(),
        hotlines=StaticHotlines(PROVINCE_LINE),
    )
    handoffs = HandoffService(
        factory=factory,
        hours=OfficeHours.parse(hours),
        timeout=dt.timedelta(minutes=30),
        clock=lambda: clock[0],
    )
    exchanges = SqlExchangeLog(factory=factory)
    feedback = SqlFeedbackSink(factory=factory, exchanges=exchanges)

    async def on_feedback(event: InboundEvent, answer_id: str, value: str) -> None:
        await asyncio.to_thread(
            feedback.rate, channel=event.channel, answer_id=answer_id, value=value
        )

    dispatcher = Dispatcher(
        engine=engine,
        inbox=inbox,
        queue=queue,
        adapters=[adapter],
        limiter=RateLimiter(limit=1000),
        on_feedback=on_feedback,
        handoffs=handoffs,
        exchanges=exchanges,
        hotlines=engine.hotline_text,
    )
    handoffs.bind_outbox(dispatcher)
    queue.bind(dispatcher.process)
    app = Starlette(routes=webhook_routes(adapter, dispatcher))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bot"
        ) as client:
            yield World(client, queue, handoffs, factory, clock, f"/webhooks/{adapter.name}")
    finally:
        await queue.close()
        dispatcher.close()
        database.dispose()


# ------------------------------------------------------------------------------ Zalo OA


@pytest.fixture
def zalo() -> Iterator[tuple[ZaloOAFake, FakePlatform]]:
    fake = ZaloOAFake()
    with HeaderAwarePlatform(fake).running() as platform:
        yield fake, platform


def oa_adapter(platform: FakePlatform, client: httpx.AsyncClient) -> ZaloOAAdapter:
    return ZaloOAAdapter(
        app_id=APP_ID,
        oa_secret_key=OA_SECRET_KEY,
        app_secret=APP_SECRET,
        token_store=InMemoryTokenStore("access-0", "refresh-0"),
        client=client,
        api_base_url=platform.base_url,
        oauth_base_url=platform.base_url,
        oa_id=OA_ID,
    )


def oa_echo(msg_id: str, text: str) -> bytes:
    """``oa_send_text``: a text the OA sent to the user (ours, or typed in the console)."""
    return oa_body(
        {
            "event_name": "oa_send_text",
            "app_id": APP_ID,
            "sender": {"id": OA_ID},
            "recipient": {"id": USER_ID},
            "message": {"text": text, "msg_id": msg_id},
            "timestamp": "1699003889999",
        }
    )


async def citizen(w: World, msg_id: str, text: str) -> None:
    body = oa_text_event(msg_id, text)
    await w.post(body, oa_sign(body))


def test_zalo_handoff_officer_reply_reaches_the_citizen_exactly_once(
    db_url: str, zalo: tuple[ZaloOAFake, FakePlatform]
) -> None:
    fake, platform = zalo

    async def scenario() -> None:
        async with httpx.AsyncClient() as http, world(db_url, oa_adapter(platform, http)) as w:
            await citizen(w, "z1", "gặp cán bộ")
            assert fake.delivered == [texts.HANDOFF_OPEN]  # inside hours: an officer answers
            await citizen(w, "z2", "hồ sơ đất của tôi, sđt 0905123456")
            assert fake.delivered == [texts.HANDOFF_OPEN]  # silent: a person will answer
            [open_one] = w.handoffs.list_open()
            assert (open_one.state, open_one.reason, open_one.channel) == (
                "waiting",
                "asked",
                "zalo-oa",
            )
            thread = w.thread(open_one.id)
            assert thread[0][:2] == ("citizen", "gặp cán bộ")
            assert thread[-1][0] == "citizen" and "0905123456" not in thread[-1][1]
            assert "hồ sơ đất của tôi" in thread[-1][1]

            w.handoffs.claim(open_one.id, "can.bo.a")
            with pytest.raises(HandoffConflict):
                w.handoffs.claim(open_one.id, "can.bo.b")
            answer = "Chào anh/chị, hồ sơ đất nộp tại Bộ phận Một cửa UBND phường."
            receipt = await w.handoffs.reply(open_one.id, "can.bo.a", answer)
            assert receipt.tag == ""
            assert await w.queue.drain(timeout=20)
            await w.queue.recover(older_than=0)  # a recovery pass never sends it again
            assert await w.queue.drain(timeout=20)
            assert fake.delivered == [texts.HANDOFF_OPEN, answer]
            assert fake.recipients[-1] == USER_ID

            # Zalo echoes our own send: recognised, the officer keeps the conversation.
            await w.post(oa_echo("e1", answer), oa_sign(oa_echo("e1", answer)))
            [held] = w.handoffs.list_open()
            assert (held.state, held.officer) == ("officer", "can.bo.a")
            assert [m[2] for m in w.thread(held.id) if m[0] == "officer"] == ["can.bo.a"]

            history = w.handoffs.history(held.id)
            assert [m.direction for m in history.messages] == [
                "citizen",
                "bot",
                "citizen",
                "officer",
            ]

            # Released: the bot answers the next message again.
            w.handoffs.release(held.id, "can.bo.a")
            assert w.handoffs.list_open() == []
            await citizen(w, "z3", "cho tôi xin số hotline")
            assert "0236 1022" in fake.delivered[-1]
            assert len(fake.delivered) == 3

    asyncio.run(scenario())


def test_oa_console_reply_puts_the_conversation_in_a_persons_hands(
    db_url: str, zalo: tuple[ZaloOAFake, FakePlatform]
) -> None:
    fake, platform = zalo

    async def scenario() -> None:
        async with httpx.AsyncClient() as http, world(db_url, oa_adapter(platform, http)) as w:
            await citizen(w, "c1", "cho tôi xin số hotline")
            bot_reply = fake.delivered[-1]
            # The echo of the bot's own reply changes nothing.
            await w.post(oa_echo("e1", bot_reply), oa_sign(oa_echo("e1", bot_reply)))
            assert w.handoffs.list_open() == []
            # A staff member types in the OA console: a person holds the chat now.
            typed = "Chào bạn, mình là cán bộ Một cửa, bạn cần hỏi gì?"
            await w.post(oa_echo("e2", typed), oa_sign(oa_echo("e2", typed)))
            [held] = w.handoffs.list_open()
            assert (held.state, held.reason, held.officer) == (
                "officer",
                "human_echo",
                "oa-console",
            )
            sent = len(fake.delivered)
            await citizen(w, "c2", "tôi muốn hỏi về đăng ký khai sinh")
            assert len(fake.delivered) == sent  # the bot does not talk over the person
            assert w.thread(held.id)[-1][:2] == ("citizen", "tôi muốn hỏi về đăng ký khai sinh")

            # 31 minutes without a message: back to the bot on the next message.
            w.clock[0] += dt.timedelta(minutes=31)
            await citizen(w, "c3", "cho tôi xin số hotline")
            assert len(fake.delivered) == sent + 1
            assert "0236 1022" in fake.delivered[-1]
            [row] = w.handoff_rows()
            assert (row.state, row.close_reason, row.open_key) == ("closed", "timeout", None)

    asyncio.run(scenario())


def test_failing_twice_hands_off_and_the_citizen_can_go_back_to_the_bot(
    db_url: str, zalo: tuple[ZaloOAFake, FakePlatform]
) -> None:
    fake, platform = zalo

    async def scenario() -> None:
        # Saturday 20:00 in Hà Nội: outside office hours.
        async with httpx.AsyncClient() as http, world(db_url, oa_adapter(platform, http)) as w:
            w.clock[0] = dt.datetime(2026, 12, 5, 13, 0, tzinfo=dt.UTC)
            await citizen(w, "f1", NO_ANSWER_QUESTION)
            assert fake.delivered[-1].startswith(texts.NO_ANSWER)
            assert "0236 1022" in fake.delivered[-1]  # the province's line in a "don't know"
            assert w.handoffs.list_open() == []
            await citizen(w, "f2", OTHER_NO_ANSWER)
            second = fake.delivered[-1]
            assert second.startswith(texts.HANDOFF_FAILED_TWICE)
            assert "ngoài giờ làm việc" in second and "07:30 Thứ Hai, 07/12/2026" in second
            assert "0236 1022" in second  # outside hours: the hotline meanwhile
            [open_one] = w.handoffs.list_open()
            assert (open_one.state, open_one.reason) == ("waiting", "failed_twice")
            count = len(fake.delivered)
            await citizen(w, "f3", "còn giấy tờ gì nữa không")
            assert len(fake.delivered) == count
            await citizen(w, "f4", "gặp trợ lý")
            assert fake.delivered[-1] == texts.HANDOFF_BACK_TO_BOT
            assert w.handoffs.list_open() == []
            [row] = w.handoff_rows()
            assert row.close_reason == "citizen"

    asyncio.run(scenario())


def test_zalo_reply_outside_the_interaction_window_is_refused(
    db_url: str, zalo: tuple[ZaloOAFake, FakePlatform]
) -> None:
    fake, platform = zalo

    async def scenario() -> None:
        async with httpx.AsyncClient() as http, world(db_url, oa_adapter(platform, http)) as w:
            w.handoffs.timeout = dt.timedelta(days=30)
            await citizen(w, "w1", "gặp cán bộ")
            [open_one] = w.handoffs.list_open()
            w.clock[0] += dt.timedelta(days=8)
            with pytest.raises(ReplyWindowClosed, match="7 ngày"):
                await w.handoffs.reply(open_one.id, "can.bo.a", "Trả lời muộn")
            assert await w.queue.drain(timeout=20)
            assert fake.delivered == [texts.HANDOFF_OPEN]

    asyncio.run(scenario())


# ---------------------------------------------------------------------------- Messenger


@pytest.fixture
def meta() -> Iterator[FakePlatform]:
    with FakePlatform(fake_meta.graph_responder()).running() as running:
        yield running


def messenger_adapter(platform: FakePlatform, client: httpx.AsyncClient) -> MessengerAdapter:
    return MessengerAdapter(
        page_id=fake_meta.PAGE_ID,
        page_access_token=fake_meta.PAGE_TOKEN,
        app_secret=fake_meta.APP_SECRET,
        verify_token=fake_meta.VERIFY_TOKEN,
        client=client,
        graph_base_url=platform.base_url,
        app_id=OUR_META_APP,
    )


def page_echo(mid: str, text: str, app_id: str, **extra: Any) -> bytes:
    item = fake_meta.text_item(mid, text, is_echo=True, app_id=int(app_id), **extra)
    item["sender"], item["recipient"] = {"id": fake_meta.PAGE_ID}, {"id": fake_meta.PSID}
    return fake_meta.page_body(fake_meta.messaging_entry(item))


async def psid_says(w: World, mid: str, text: str, **extra: Any) -> None:
    body = fake_meta.page_body(fake_meta.messaging_entry(fake_meta.text_item(mid, text, **extra)))
    await w.post(body, fake_meta.sign(body))


def test_messenger_human_echo_silences_the_bot_and_late_replies_carry_human_agent(
    db_url: str, meta: FakePlatform
) -> None:
    async def scenario() -> None:
        async with httpx.AsyncClient() as http, world(db_url, messenger_adapter(meta, http)) as w:
            await psid_says(w, "m1", "cho tôi xin số hotline")
            assert len(fake_meta.sends(meta)) == 1
            ours = fake_meta.message_text(fake_meta.sends(meta)[0].body)
            # Our app's echo is dropped; a page admin's reply (Page Inbox app) is a person.
            await w.post(
                page_echo("e1", ours, OUR_META_APP),
                fake_meta.sign(page_echo("e1", ours, OUR_META_APP)),
            )
            assert w.handoffs.list_open() == []
            # Our sends carry metadata, echoed back: known as ours whatever the app id says.
            sent_body = fake_meta.sends(meta)[0].body
            assert sent_body["message"]["metadata"] == "tthc-bot"
            marked = page_echo("e0", ours, PAGE_INBOX_APP, metadata="tthc-bot")
            await w.post(marked, fake_meta.sign(marked))
            assert w.handoffs.list_open() == []
            typed = "Chào bạn, Trang xin hỗ trợ trực tiếp."
            body = page_echo("e2", typed, PAGE_INBOX_APP)
            await w.post(body, fake_meta.sign(body))
            [held] = w.handoffs.list_open()
            assert (held.state, held.officer) == ("officer", "page-inbox")
            await psid_says(w, "m2", "cảm ơn, tôi hỏi tiếp về khai sinh")
            assert len(fake_meta.sends(meta)) == 1  # silent while the admin answers

            # An officer answers through the service two days later: HUMAN_AGENT tag.
            w.handoffs.timeout = dt.timedelta(days=3)
            w.clock[0] += dt.timedelta(days=2)
            receipt = await w.handoffs.reply(held.id, "can.bo.a", "Bạn mang theo CCCD nhé.")
            assert receipt.tag == HUMAN_AGENT
            assert await w.queue.drain(timeout=20)
            last = fake_meta.sends(meta)[-1].body
            assert (last["messaging_type"], last["tag"]) == ("MESSAGE_TAG", HUMAN_AGENT)
            assert fake_meta.message_text(last) == "Bạn mang theo CCCD nhé."
            assert len(fake_meta.sends(meta)) == 2

            w.handoffs.release(held.id, "can.bo.a")
            w.clock[0] += dt.timedelta(minutes=1)
            await psid_says(w, "m3", "cho tôi xin số hotline")
            assert len(fake_meta.sends(meta)) == 3

    asyncio.run(scenario())


def test_feedback_records_the_question_and_answer_it_rates(db_url: str, meta: FakePlatform) -> None:
    async def scenario() -> None:
        async with httpx.AsyncClient() as http, world(db_url, messenger_adapter(meta, http)) as w:
            await psid_says(w, "q1", "số đường dây nóng, sđt của tôi 0905123456")
            sent = fake_meta.sends(meta)[-1].body
            payloads = json.dumps(sent, ensure_ascii=False)
            assert "fb:q1:up" in payloads
            await psid_says(w, "q2", "👍 Hữu ích", quick_reply={"payload": "fb:q1:up"})
            with w.factory() as session:
                [row] = session.execute(select(AnswerFeedback)).scalars().all()
            assert (row.channel, row.answer_id, row.value, row.status) == (
                "messenger",
                "q1",
                "up",
                "answered",
            )
            assert row.question.startswith("số đường dây nóng") and "0905123456" not in row.question
            assert "0236 1022" in row.answer
            assert row.cited == "province|Đà Nẵng|Tổng đài 1022 Đà Nẵng"

    asyncio.run(scenario())
