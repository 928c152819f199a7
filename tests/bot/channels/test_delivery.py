"""Durable replies: every acknowledged event is answered exactly once, whatever fails.

Real pieces throughout: the Starlette webhook route, the inbox in a real database
(SQLite; PostgreSQL where marked), procrastinate's worker, the Zalo Bot adapter over
real HTTP to a fake Bot API on loopback whose faults the tests switch on.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.channels import inflight
from bot.channels.dispatch import Dispatcher
from bot.channels.inbox import ANSWERED, SqlInbox
from bot.channels.jobs import JobQueue
from bot.channels.routes import webhook_routes
from bot.channels.zalo_bot import ZaloBotAdapter
from tests.bot.channels.harness import FakeAnswerer, FakePlatform, delivery

TOKEN = "1234567890:delivery-test-token"
SECRET = "delivery-webhook-secret"
PATH = "/webhooks/zalo-bot"
HEADERS = {"X-Bot-Api-Secret-Token": SECRET}


@dataclass
class Faults:
    """What the fake Bot API does to the next ``sendMessage`` calls."""

    delivered: list[str] = field(default_factory=list)
    #: ``(chat id, text)`` of each delivered message.
    to_chats: list[tuple[str, str]] = field(default_factory=list)
    calls: list[float] = field(default_factory=list)
    #: Answer 500 until this monotonic time.
    down_until: float = 0.0
    #: Answer 429 with this Retry-After once.
    retry_after: float | None = None
    #: Record the message, then answer only after this many seconds.
    delay: float = 0.0
    #: Answer 500 once to the first message containing this text.
    fail_once_on: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)


class FaultyBotAPI(FakePlatform):
    """bot-api.zaloplatforms.com on loopback, with switchable faults."""

    def __init__(self, faults: Faults) -> None:
        super().__init__(lambda path, body: (404, {}))
        self.faults = faults

    async def _handle(self, request: Request) -> Response:
        faults = self.faults
        body = json.loads(await request.body() or b"{}")
        text = str(body.get("text", ""))
        with faults.lock:
            faults.calls.append(time.monotonic())
            if time.monotonic() < faults.down_until:
                return JSONResponse({"ok": False, "error_code": 500}, status_code=500)
            if faults.retry_after is not None:
                wait, faults.retry_after = faults.retry_after, None
                return JSONResponse(
                    {"ok": False, "error_code": 429, "description": "Too Many Requests"},
                    status_code=429,
                    headers={"Retry-After": str(wait)},
                )
            if faults.fail_once_on and faults.fail_once_on in text:
                faults.fail_once_on = ""
                return JSONResponse({"ok": False, "error_code": 502}, status_code=502)
            faults.delivered.append(text)
            faults.to_chats.append((str(body.get("chat_id", "")), text))
            number = len(faults.delivered)
        if faults.delay:
            await asyncio.sleep(faults.delay)
        return JSONResponse({"ok": True, "result": {"message_id": f"m{number}"}})


def update(message_id: str, text: str, chat: str = "chat-1") -> bytes:
    message = {
        "message_id": message_id,
        "date": 1733800000000,
        "chat": {"id": chat, "chat_type": "PRIVATE"},
        "from": {"id": f"user-{chat}", "display_name": "Dân"},
        "text": text,
    }
    result = {"event_name": "message.text.received", "message": message}
    return json.dumps({"ok": True, "result": result}, ensure_ascii=False).encode()


@dataclass
class Rig:
    """A webhook app, its dispatcher and queue, the fake platform's faults."""

    client: httpx.AsyncClient
    dispatcher: Dispatcher
    queue: JobQueue
    inbox: SqlInbox
    faults: Faults
    answerer: FakeAnswerer

    async def post(self, message_id: str, text: str, chat: str = "chat-1") -> httpx.Response:
        return await self.client.post(PATH, content=update(message_id, text, chat), headers=HEADERS)


@asynccontextmanager
async def rig(
    answerer: FakeAnswerer | None = None,
    *,
    client_timeout: float = 5.0,
    database_url: str = "",
    before_request: Callable[[httpx.Request], Awaitable[None]] | None = None,
    **options: Any,
) -> AsyncIterator[Rig]:
    faults = Faults()
    answerer = answerer or FakeAnswerer()
    # The platform client as bot.app builds it (in-flight marks at the first byte);
    # ``before_request`` runs first (a slow connection, a crash before any byte).
    hooks = inflight.event_hooks()
    if before_request is not None:
        hooks["request"].insert(0, before_request)
    with FaultyBotAPI(faults).running() as platform:
        async with httpx.AsyncClient(timeout=client_timeout, event_hooks=hooks) as http:
            adapter = ZaloBotAdapter(
                token=TOKEN, webhook_secret=SECRET, client=http, api_base_url=platform.base_url
            )
            dispatcher, queue, inbox = delivery(
                adapter, answerer, database_url=database_url, **options
            )
            app = Starlette(routes=webhook_routes(adapter, dispatcher))
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bot"
            ) as client:
                try:
                    yield Rig(client, dispatcher, queue, inbox, faults, answerer)
                finally:
                    await queue.close()
                    dispatcher.close()


def long_answer(parts: int) -> str:
    """An answer the Zalo Bot adapter splits into ``parts`` messages (≤ 2,000 each)."""
    return "\n\n".join(f"Phần {n}: " + "nội dung thủ tục " * 110 for n in range(1, parts + 1))


def test_each_event_is_answered_once_though_delivered_twice() -> None:
    async def scenario() -> None:
        async with rig() as r:
            first = await asyncio.gather(*(r.post(f"m{n}", f"câu {n}") for n in range(20)))
            again = await asyncio.gather(*(r.post(f"m{n}", f"câu {n}") for n in range(20)))
            assert [x.status_code for x in first + again] == [200] * 40
            assert sum(x.json()["accepted"] for x in first + again) == 20
            assert await r.queue.drain(timeout=30)
            assert len(r.faults.delivered) == 20
            assert sorted(q.text for q in r.answerer.questions) == sorted(
                f"câu {n}" for n in range(20)
            )

    asyncio.run(scenario())


def test_a_platform_down_for_a_while_gets_every_reply_once_it_is_back() -> None:
    async def scenario() -> None:
        async with rig() as r:
            r.faults.down_until = time.monotonic() + 1.5
            for n in range(8):
                assert (await r.post(f"d{n}", f"hỏi {n}", chat=f"c{n}")).status_code == 200
            assert await r.queue.drain(timeout=30)
            assert len(r.faults.delivered) == 8
            assert len(r.faults.calls) > 8  # the 500s were retried, not dropped

    asyncio.run(scenario())


def test_retry_after_is_waited_in_full_even_past_the_backoff_cap() -> None:
    async def scenario() -> None:
        async with rig(backoff_cap=0.2) as r:
            r.faults.retry_after = 2.5
            assert (await r.post("r1", "hỏi")).status_code == 200
            assert await r.queue.drain(timeout=30)
            assert r.faults.delivered == [r.answerer.text]
            assert len(r.faults.calls) == 2
            assert r.faults.calls[1] - r.faults.calls[0] >= 2.4

    asyncio.run(scenario())


def test_a_platform_slower_than_the_client_timeout_gets_each_part_once() -> None:
    async def scenario() -> None:
        async with rig(FakeAnswerer(long_answer(3)), client_timeout=0.3) as r:
            r.faults.delay = 0.8
            assert (await r.post("s1", "hỏi dài")).status_code == 200
            assert await r.queue.drain(timeout=30)
            assert len(r.faults.delivered) == 3
            assert len(set(r.faults.delivered)) == 3
            assert [p.split(":")[0] for p in r.faults.delivered] == ["Phần 1", "Phần 2", "Phần 3"]

    asyncio.run(scenario())


def test_a_failed_second_part_resumes_there_and_never_resends_the_first() -> None:
    async def scenario() -> None:
        async with rig(FakeAnswerer(long_answer(3))) as r:
            r.faults.fail_once_on = "Phần 2:"
            assert (await r.post("p1", "hỏi dài")).status_code == 200
            assert await r.queue.drain(timeout=30)
            assert [p.split(":")[0] for p in r.faults.delivered] == ["Phần 1", "Phần 2", "Phần 3"]
            assert len(r.faults.calls) == 4  # one retry, of part 2 only

    asyncio.run(scenario())


def test_what_a_crash_left_is_answered_at_the_next_start(tmp_path: Any) -> None:
    """Events stored (acknowledged) by a process that died before answering: the next
    process answers each once, and a part left "in flight" by the crash is not resent."""
    url = f"sqlite:///{tmp_path / 'crash.db'}"

    async def scenario() -> None:
        async with rig(FakeAnswerer(long_answer(2)), database_url=url) as first:
            for n in range(5):
                response = await first.client.post(
                    PATH, content=update(f"k{n}", f"câu {n}", chat=f"c{n}"), headers=HEADERS
                )
                assert response.status_code == 200
            # The process "dies" here: its in-memory queue is gone, nothing was sent.
            assert first.faults.delivered == []
            # One reply had been rendered and its first part was on the wire.
            rows = first.inbox.unfinished(older_than=0)
            crashed = rows[0][0]
            first.inbox.save_reply(crashed, [{"text": "đã gửi trước sự cố"}, {"text": "phần sau"}])
            first.inbox.mark_in_flight(crashed, 0)
        async with rig(FakeAnswerer(long_answer(2)), database_url=url) as second:
            await second.queue.start_worker()  # re-queues what the inbox holds
            deadline = time.monotonic() + 30
            while second.inbox.unfinished(older_than=0) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert second.inbox.unfinished(older_than=0) == []
            assert second.faults.delivered.count("phần sau") == 1
            assert "đã gửi trước sự cố" not in second.faults.delivered
            assert len(second.faults.delivered) == 1 + 4 * 2
            assert len(second.answerer.questions) == 4

    asyncio.run(scenario())


def test_a_locked_database_gets_a_fast_503_and_the_redelivery_is_answered(tmp_path: Any) -> None:
    path = tmp_path / "locked.db"

    async def scenario() -> None:
        async with rig(database_url=f"sqlite:///{path}", ack_timeout=0.5) as r:
            holder = sqlite3.connect(path, timeout=0, check_same_thread=False)
            holder.execute("BEGIN IMMEDIATE")  # a staff import holding the write lock
            try:
                started = time.monotonic()
                response = await r.post("l1", "hỏi khi khoá")
                assert response.status_code == 503
                assert time.monotonic() - started < 1.5
                health = await asyncio.wait_for(asyncio.sleep(0, result="loop free"), 0.1)
                assert health == "loop free"
            finally:
                holder.rollback()
                holder.close()
            assert (await r.post("l1", "hỏi khi khoá")).status_code == 200
            assert await r.queue.drain(timeout=30)
            assert r.faults.delivered == [r.answerer.text]

    asyncio.run(scenario())


@pytest.mark.postgres
def test_postgres_queue_answers_each_event_once_and_in_order_per_chat(
    postgres_server_url: str,
) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(postgres_server_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()

    class Numbered(FakeAnswerer):
        def answer(self, question: Any) -> Any:
            self.text = f"trả lời {question.text}"
            return super().answer(question)

    async def scenario() -> None:
        async with rig(Numbered(), database_url=postgres_server_url) as r:
            assert r.queue.durable
            for n in range(6):
                assert (await r.post(f"pg{n}", f"{n}", chat="one-chat")).status_code == 200
            assert (await r.post("pg0", "0", chat="one-chat")).json()["accepted"] == 0
            assert await r.queue.drain(timeout=60)
            assert r.faults.delivered == [f"trả lời {n}" for n in range(6)]
            row = r.inbox.load(1)
            assert row is not None and row.status == ANSWERED

    asyncio.run(scenario())


def test_a_crash_before_the_first_byte_resends_and_after_it_does_not() -> None:
    """The part is marked in flight only when its request's first byte goes out. A job
    stopped before that (here: while its connection is slow to come) left no mark, so the
    next run sends the part (the citizen is not left without it); a job stopped after
    the platform read the request finds the mark and does not send it again."""
    slow = asyncio.Event()
    entered = asyncio.Event()

    async def slow_connection(request: httpx.Request) -> None:
        if not slow.is_set():
            entered.set()
            await asyncio.sleep(30)

    async def scenario() -> None:
        async with rig(before_request=slow_connection) as r:
            assert (await r.post("f1", "hỏi")).json()["accepted"] == 1  # queue not run
            [(row_id, _)] = r.inbox.unfinished(older_than=0)
            job = asyncio.create_task(r.dispatcher.process(row_id))
            await asyncio.wait_for(entered.wait(), 10)
            job.cancel()  # the worker dies before any byte left
            with pytest.raises(asyncio.CancelledError):
                await job
            row = r.inbox.load(row_id)
            assert row is not None and row.in_flight is None and row.parts_sent == 0
            assert r.faults.delivered == []
            slow.set()
            await r.dispatcher.process(row_id)
            row = r.inbox.load(row_id)
            assert row is not None and row.status == ANSWERED and row.parts_sent == 1
            assert r.faults.delivered == [r.answerer.text]

            # Now the platform reads the request and is slow to answer: the worker
            # dies after the first byte; the part is not sent a second time.
            r.faults.delay = 30.0
            assert (await r.post("f2", "hỏi tiếp")).json()["accepted"] == 1
            [(second, _)] = r.inbox.unfinished(older_than=0)
            job = asyncio.create_task(r.dispatcher.process(second))
            deadline = time.monotonic() + 10
            while len(r.faults.delivered) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            job.cancel()
            with pytest.raises(asyncio.CancelledError):
                await job
            row = r.inbox.load(second)
            assert row is not None and row.in_flight == 0
            r.faults.delay = 0.0
            await r.dispatcher.process(second)
            row = r.inbox.load(second)
            assert row is not None and row.status == ANSWERED and row.parts_sent == 1
            assert r.faults.delivered == [r.answerer.text] * 2

    asyncio.run(scenario())


def test_the_mark_runs_once_before_the_platform_reads_and_never_without_a_connection() -> None:
    """``inflight`` on its own: one mark per block, committed before the platform sees
    the request; none when no connection was made; a failing mark stops the request."""
    seen_marked: list[bool] = []
    marks: list[int] = []

    def responder(path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        seen_marked.append(bool(marks))
        return 200, {"ok": True}

    async def mark() -> None:
        await asyncio.sleep(0.05)  # a commit takes a while; the request must wait for it
        marks.append(1)

    async def broken_mark() -> None:
        raise RuntimeError("database down")

    async def scenario() -> None:
        with FakePlatform(responder).running() as platform:
            async with httpx.AsyncClient(event_hooks=inflight.event_hooks()) as http:
                with inflight.before_first_byte(mark) as marked:
                    await http.post(f"{platform.base_url}/refresh", json={})
                    await http.post(f"{platform.base_url}/send", json={})
                assert marked.done and marks == [1] and seen_marked == [True, True]
                await http.post(f"{platform.base_url}/outside", json={})
                assert marks == [1]
                with (
                    inflight.before_first_byte(broken_mark) as failed,
                    pytest.raises(RuntimeError, match="database down"),
                ):
                    await http.post(f"{platform.base_url}/never", json={})
                assert not failed.done
                assert [r.path for r in platform.requests] == ["/refresh", "/send", "/outside"]
                with socket.socket() as sock:  # a port nobody listens on
                    sock.bind(("127.0.0.1", 0))
                    closed = sock.getsockname()[1]
                with (
                    inflight.before_first_byte(mark) as refused,
                    pytest.raises(httpx.ConnectError),
                ):
                    await http.post(f"http://127.0.0.1:{closed}/send", json={})
                assert not refused.done and marks == [1]

    asyncio.run(scenario())


def test_only_a_request_that_may_have_been_read_counts_as_uncertain() -> None:
    from bot.channels.base import DeliveryUncertain, PlatformUnavailable, transport_failure

    idle_closed = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    assert not isinstance(transport_failure(idle_closed, "x"), DeliveryUncertain)
    assert isinstance(transport_failure(httpx.ConnectError("refused"), "x"), PlatformUnavailable)
    assert not isinstance(transport_failure(httpx.ConnectError("refused"), "x"), DeliveryUncertain)
    for after_sending in (httpx.ReadTimeout("slow"), httpx.ReadError("reset")):
        assert isinstance(transport_failure(after_sending, "x"), DeliveryUncertain)
