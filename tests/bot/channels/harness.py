"""Shared pieces of every channel's tests: a fake platform server on loopback, the
fake answerer (from ``tests.fakes``), and the one contract each channel must pass
(``check_contract``)."""

from __future__ import annotations

import json
import socket
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.channels.base import (
    ChannelAdapter,
    InboundEvent,
    PlatformRateLimited,
    PlatformUnavailable,
)
from bot.channels.dispatch import Dispatcher
from bot.channels.inbox import SqlInbox
from bot.channels.jobs import JobQueue
from bot.channels.routes import webhook_routes
from bot.ratelimit import RateLimiter
from knowledge import migrate
from knowledge.db import make_engine, make_session_factory
from tests.fakes import FakeAnswerer as FakeAnswerer  # re-exported for the channel tests

T = TypeVar("T")
Responder = Callable[[str, dict[str, Any]], tuple[int, dict[str, Any]]]


@dataclass
class Recorded:
    """One request the fake platform received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any]
    status: int = 0


class FakePlatform:
    """A real HTTP server on 127.0.0.1 that records calls and answers like a platform.

    ``responder(path, body) -> (status, json)`` gives the normal answer;
    ``queue(status, json)`` makes the next call(s) answer something else (429, 5xx, ...).
    """

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.requests: list[Recorded] = []
        self._queued: list[tuple[int, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self.base_url = ""

    def queue(self, status: int, body: dict[str, Any]) -> None:
        with self._lock:
            self._queued.append((status, body))

    async def _handle(self, request: Request) -> Response:
        raw = await request.body()
        content_type = request.headers.get("content-type", "")
        body: dict[str, Any]
        if "json" in content_type and raw:
            body = json.loads(raw)
        elif raw:
            body = dict(httpx.QueryParams(raw.decode()))
        else:
            body = {}
        with self._lock:
            queued = self._queued.pop(0) if self._queued else None
        status, payload = queued or self.responder(request.url.path, body)
        self.requests.append(
            Recorded(
                request.method,
                request.url.path,
                dict(request.query_params),
                dict(request.headers),
                body,
                status,
            )
        )
        return JSONResponse(payload, status_code=status)

    @contextmanager
    def running(self) -> Iterator[FakePlatform]:
        app = Starlette(
            routes=[Route("/{path:path}", self._handle, methods=["GET", "POST", "DELETE"])]
        )
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        self.base_url = f"http://127.0.0.1:{port}"
        try:
            yield self
        finally:
            server.should_exit = True
            thread.join(timeout=10)


@dataclass
class ChannelSpec:
    """How the contract talks to one channel."""

    adapter: ChannelAdapter
    platform: FakePlatform
    sign: Callable[[bytes], dict[str, str]]
    text_event: Callable[[str, str], bytes]  # (event id, text) -> webhook body
    non_text_event: Callable[[str], bytes]
    #: Reply texts the platform accepted (requests it answered with a 2xx).
    replies: Callable[[FakePlatform], list[str]]
    rate_limited: tuple[int, dict[str, Any]] = (429, {})
    extra_headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Harness:
    """An ASGI app with one channel mounted, a fake answerer and the reply job queue."""

    client: httpx.AsyncClient
    answerer: FakeAnswerer
    queue: JobQueue

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        response = await self.client.post(path, content=body, headers=headers)
        assert await self.queue.drain(timeout=20)
        return response


def delivery(
    adapter: ChannelAdapter,
    answerer: FakeAnswerer,
    *,
    on_feedback: Callable[[InboundEvent, str, str], Awaitable[None]] | None = None,
    database_url: str = "",
    ack_timeout: float = 0.9,
    **queue_options: Any,
) -> tuple[Dispatcher, JobQueue, SqlInbox]:
    """A dispatcher over a real inbox and job queue: a fresh SQLite file with the
    in-memory queue, or ``database_url`` (PostgreSQL: procrastinate's own tables)."""
    if not database_url:
        folder = Path(tempfile.mkdtemp(prefix="tthc-inbox-"))
        database_url = f"sqlite:///{folder / 'inbox.db'}"
    database = make_engine(database_url)
    migrate.upgrade(database)
    inbox = SqlInbox(factory=make_session_factory(database))
    options: dict[str, Any] = {"backoff_base": 0.05, "backoff_cap": 0.2} | queue_options
    queue = JobQueue.for_database(database_url, inbox=inbox, **options)
    dispatcher = Dispatcher(
        engine=answerer,
        inbox=inbox,
        queue=queue,
        adapters=[adapter],
        limiter=RateLimiter(limit=1000),
        on_feedback=on_feedback,
        ack_timeout=ack_timeout,
    )
    queue.bind(dispatcher.process)
    return dispatcher, queue, inbox


@contextmanager
def mounted(
    adapter: ChannelAdapter, answerer: FakeAnswerer
) -> Iterator[tuple[Starlette, JobQueue]]:
    dispatcher, queue, _ = delivery(adapter, answerer)
    yield Starlette(routes=webhook_routes(adapter, dispatcher)), queue


async def check_contract(spec: ChannelSpec) -> None:
    """The behaviour every channel shares (the issue's "one shared contract")."""
    path = f"/webhooks/{spec.adapter.name}"
    answerer = FakeAnswerer()
    with mounted(spec.adapter, answerer) as (app, queue):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bot"
        ) as client:
            harness = Harness(client, answerer, queue)
            body = spec.text_event("evt-1", "lệ phí đăng ký thường trú")
            # Forged and missing signatures: 403 and no engine call.
            forged = {k: ("0" * len(v) if v else "x") for k, v in spec.sign(body).items()}
            assert (await harness.post(path, body, forged | spec.extra_headers)).status_code == 403
            assert (await harness.post(path, body, spec.extra_headers)).status_code == 403
            assert answerer.questions == []
            # Malformed JSON with a valid signature: 400.
            broken = b"{not json"
            response = await harness.post(path, broken, spec.sign(broken) | spec.extra_headers)
            assert response.status_code == 400
            # A good event, then the same event again: exactly one reply.
            before = len(spec.replies(spec.platform))
            for _ in range(2):
                response = await harness.post(path, body, spec.sign(body) | spec.extra_headers)
                assert response.status_code == 200
            assert len(answerer.questions) == 1
            assert answerer.questions[0].text == "lệ phí đăng ký thường trú"
            assert spec.replies(spec.platform)[before:] == [answerer.text]
            # A 10,000-character answer: split, every part within the limit, nothing lost.
            answerer.text = ("Câu trả lời rất dài về thủ tục hành chính. " * 240)[:10_000]
            before = len(spec.replies(spec.platform))
            body = spec.text_event("evt-2", "câu hỏi dài")
            assert (
                await harness.post(path, body, spec.sign(body) | spec.extra_headers)
            ).status_code == 200
            parts = spec.replies(spec.platform)[before:]
            assert len(parts) >= 2
            assert all(len(p) <= spec.adapter.text_limit for p in parts)
            assert (
                "".join(p.replace(" …", "") for p in parts).replace(" ", "")[:300]
                == (answerer.text.replace(" ", "")[:300])
            )
            # A sticker/image: a polite "please type".
            from bot.engine import texts

            before = len(spec.replies(spec.platform))
            body = spec.non_text_event("evt-3")
            assert (
                await harness.post(path, body, spec.sign(body) | spec.extra_headers)
            ).status_code == 200
            assert spec.replies(spec.platform)[before:] == [texts.PLEASE_TYPE]
            # The platform says 429 once: one reply is delivered after the retry.
            answerer.text = "Trả lời sau khi bị giới hạn."
            spec.platform.queue(*spec.rate_limited)
            before = len(spec.replies(spec.platform))
            body = spec.text_event("evt-4", "hỏi lại")
            assert (
                await harness.post(path, body, spec.sign(body) | spec.extra_headers)
            ).status_code == 200
            assert spec.replies(spec.platform)[before:] == [answerer.text]


async def with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int = 4,
    sleep: Callable[[float], Awaitable[None]],
) -> T:
    """Drive one adapter call the way the reply job's retry decision does (``ReplyRetry``):
    a 429 waits what the platform asked, a 5xx or network error is tried again, a
    rejection is raised at once. For the adapters' own tests, without a queue."""
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except PlatformRateLimited as exc:
            if attempt == attempts:
                raise
            await sleep(exc.retry_after)
        except PlatformUnavailable:
            if attempt == attempts:
                raise
            await sleep(0.0)
    raise AssertionError("unreachable")
