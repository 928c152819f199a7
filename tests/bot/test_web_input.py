"""Hostile input on the web chat API: bodies capped before they are read in full, JSON
depth and number size bounded, composed text counted. The real ASGI app in-process (and
once under uvicorn on loopback), around a fake answerer."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import tracemalloc
import unicodedata
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine
from starlette.applications import Starlette

from bot.analytics import SqlFeedbackSink
from bot.engine import texts
from bot.ratelimit import RateLimiter
from bot.request_body import DEFAULT_MAX_BODY_BYTES
from bot.web import MAX_MESSAGE, create_app
from knowledge import migrate
from knowledge.db import make_engine, make_session_factory
from tests.fakes import FakeAnswerer

MB = 1024 * 1024
CHUNK = b"x" * 65536


@pytest.fixture
def answerer() -> FakeAnswerer:
    return FakeAnswerer()


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'web.sqlite3'}")
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def make_app(answerer: FakeAnswerer, database: Engine, **kwargs: Any) -> Starlette:
    return create_app(
        engine=answerer,
        feedback=SqlFeedbackSink(factory=make_session_factory(database)),
        ready=lambda: {"model_id": "fake"},
        limiter=RateLimiter(limit=1000, window=60.0),
        **kwargs,
    )


@pytest.fixture
def app(answerer: FakeAnswerer, database: Engine) -> Starlette:
    return make_app(answerer, database)


class CountingBody:
    """A streamed request body of ``size`` bytes that counts what was pulled from it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.size:
            self.sent += len(CHUNK)
            yield CHUNK


def post(app: Starlette, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(path, **kwargs)

    return asyncio.run(go())


@pytest.mark.parametrize("path", ["/api/chat", "/api/feedback"])
def test_a_declared_oversized_body_is_refused_without_reading_it(
    app: Starlette, answerer: FakeAnswerer, path: str
) -> None:
    body = CountingBody(100 * MB)
    response = post(app, path, content=body, headers={"Content-Length": str(body.size)})
    assert response.status_code == 413
    assert body.sent <= len(CHUNK)  # refused on the header (ASGITransport may pull one)
    assert answerer.questions == []


@pytest.mark.parametrize("path", ["/api/chat", "/api/feedback"])
def test_a_streamed_oversized_body_is_abandoned_at_the_cap(
    app: Starlette, answerer: FakeAnswerer, path: str
) -> None:
    body = CountingBody(100 * MB)  # no Content-Length: chunked
    response = post(app, path, content=body)
    assert response.status_code == 413
    assert body.sent <= DEFAULT_MAX_BODY_BYTES + 2 * len(CHUNK)
    assert answerer.questions == []


def test_four_100_mb_bodies_do_not_grow_memory(app: Starlette) -> None:
    async def go() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            responses = await asyncio.gather(
                *(client.post("/api/chat", content=CountingBody(100 * MB)) for _ in range(4))
            )
        return [r.status_code for r in responses]

    tracemalloc.start()
    try:
        codes = asyncio.run(go())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert codes == [413] * 4
    assert peak < 8 * MB, f"peak {peak / MB:.1f} MB while refusing 400 MB"


def test_the_chat_413_keeps_its_vietnamese_shape(app: Starlette) -> None:
    response = post(app, "/api/chat", content=CountingBody(1 * MB))
    data = response.json()
    assert response.status_code == 413
    assert (data["status"], data["text"], data["choices"]) == ("too_long", texts.TOO_LONG, [])


def test_the_cap_is_a_setting(answerer: FakeAnswerer, database: Engine) -> None:
    app = make_app(answerer, database, max_body_bytes=2048)
    message = {"message": "lệ phí khai sinh", "session_id": "s" * 10}
    assert post(app, "/api/chat", json=message).status_code == 200
    padded = {**message, "pad": "x" * 2048}
    assert post(app, "/api/chat", json=padded).status_code == 413
    assert post(app, "/api/feedback", json=padded).status_code == 413


@pytest.mark.parametrize("path", ["/api/chat", "/api/feedback"])
@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"[" * 100_000, "nested deeper"),
        (b'{"message": ' + b"[" * 100_000 + b"}", "nested deeper"),
        (b"1" * 4301, "number longer"),
        (b'{"message": "x", "choice": {"list_id": "a", "number": ' + b"9" * 4301 + b"}}", "number"),
        (b'{"message": "x", "n": 1e' + b"9" * 5000 + b"}", "number"),
        (b'{"message": NaN}', "NaN"),
        (b"\xff\xfe\xfa", "UTF-8"),
    ],
)
def test_deep_json_and_huge_numbers_are_400_with_a_clear_error(
    app: Starlette, answerer: FakeAnswerer, path: str, body: bytes, error: str
) -> None:
    response = post(app, path, content=body)
    assert response.status_code == 400
    assert error in response.json()["error"]
    assert answerer.questions == []


def test_the_length_cap_counts_composed_characters(app: Starlette, answerer: FakeAnswerer) -> None:
    composed = ("Lệ phí đăng ký thường trú ở Hòa Khánh bao nhiêu? " * 50)[:MAX_MESSAGE]
    decomposed = unicodedata.normalize("NFD", composed)
    assert len(decomposed) > MAX_MESSAGE
    assert post(app, "/api/chat", json={"message": decomposed}).status_code == 200
    over = post(app, "/api/chat", json={"message": composed + "à"})
    assert over.status_code == 413 and over.json()["text"] == texts.TOO_LONG
    assert len(answerer.questions) == 1


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_under_uvicorn_a_100_mb_post_is_refused_at_once(app: Starlette) -> None:
    port = _port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:

        async def go() -> list[int]:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                declared = CountingBody(100 * MB)
                chunked = CountingBody(100 * MB)
                responses = [
                    await client.post(
                        "/api/chat",
                        content=declared,
                        headers={"Content-Length": str(declared.size)},
                    ),
                    await client.post("/api/chat", content=chunked),
                    await client.post("/api/chat", json={"message": "lệ phí khai sinh"}),
                ]
            return [r.status_code for r in responses]

        tracemalloc.start()
        try:
            codes = asyncio.run(go())
            _, peak = tracemalloc.get_traced_memory()  # the server's thread is traced too
        finally:
            tracemalloc.stop()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert codes == [413, 413, 200]
    assert peak < 16 * MB, f"peak {peak / MB:.1f} MB"
