"""Hostile input on every channel's webhook: the body is capped before it is read in full,
the signature is checked on the raw bytes before any parsing, JSON is bounded, and bad
input is a 4xx, never a 5xx. Telegram ignores (200) a signed update it cannot use, since
it redelivers anything else for ever. An over-long question reaches the citizen as
``TOO_LONG`` and never reaches the search.

The webhook routes are the real ones (``bot.channels.routes``) in a real Starlette app
driven over ``httpx.ASGITransport``; the last test runs the whole delivery with the real
engine over a knowledge base that records searches.
"""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any, cast

import httpx
import pytest
from starlette.applications import Starlette

from bot.channels.base import ChannelAdapter, InboundEvent
from bot.channels.routes import webhook_routes
from bot.engine import texts
from bot.engine.conversation import InMemoryConversationStore
from bot.engine.engine import AnswerEngine
from bot.engine.intake import MAX_QUESTION_CHARS
from bot.request_body import DEFAULT_MAX_BODY_BYTES
from tests.bot.channels.harness import Harness, mounted
from tests.bot.channels.signed_channels import NAMES, SignedChannel, signed_channel
from tests.bot.test_question_intake import RecordingKnowledge

MB = 1024 * 1024
CHUNK = b"[" * 65536


class RecordingDispatcher:
    """Stands in for the dispatcher: the events a webhook hands over, nothing else."""

    def __init__(self) -> None:
        self.events: list[InboundEvent] = []

    async def accept(self, adapter: ChannelAdapter, events: list[InboundEvent]) -> int:
        self.events += events
        return len(events)


class CountingBody:
    """A streamed body of ``size`` bytes that counts how much was pulled from it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.size:
            self.sent += len(CHUNK)
            yield CHUNK


@contextmanager
def webhook(name: str, **route_options: Any) -> Iterator[tuple[SignedChannel, Starlette, Any]]:
    with signed_channel(name, httpx.AsyncClient()) as channel:
        dispatcher = RecordingDispatcher()
        routes = webhook_routes(channel.adapter, cast(Any, dispatcher), **route_options)
        yield channel, Starlette(routes=routes), dispatcher


def post(app: Starlette, name: str, content: Any, headers: dict[str, str]) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
            return await client.post(f"/webhooks/{name}", content=content, headers=headers)

    return asyncio.run(go())


@pytest.mark.parametrize("name", NAMES)
def test_oversized_bodies_are_refused_before_the_signature_or_parsing(name: str) -> None:
    with webhook(name) as (channel, app, dispatcher):
        declared = CountingBody(100 * MB)
        headers = channel.sign(b"") | {"Content-Length": str(declared.size)}
        assert post(app, name, declared, headers).status_code == 413
        assert declared.sent <= len(CHUNK)
        streamed = CountingBody(100 * MB)  # chunked, no length announced
        assert post(app, name, streamed, channel.sign(b"")).status_code == 413
        assert streamed.sent <= DEFAULT_MAX_BODY_BYTES + 2 * len(CHUNK)
        # At the cap exactly the body is read (and then fails its signature).
        at_cap = b"x" * DEFAULT_MAX_BODY_BYTES
        assert post(app, name, at_cap, {}).status_code == 403
        assert post(app, name, at_cap + b"x", {}).status_code == 413
        assert dispatcher.events == []


def test_the_webhook_cap_is_a_setting() -> None:
    with webhook("zalo-bot", max_body_bytes=4096) as (channel, app, dispatcher):
        body = channel.text_body("m-1", "lệ phí khai sinh")
        assert post(app, "zalo-bot", body, channel.sign(body)).status_code == 200
        big = channel.text_body("m-2", "x" * 4096)
        assert post(app, "zalo-bot", big, channel.sign(big)).status_code == 413
        assert len(dispatcher.events) == 1


def test_four_100_mb_bodies_on_a_webhook_do_not_grow_memory() -> None:
    with webhook("messenger") as (channel, app, _):

        async def go() -> list[int]:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
                responses = await asyncio.gather(
                    *(
                        client.post(
                            "/webhooks/messenger",
                            content=CountingBody(100 * MB),
                            headers=channel.sign(b""),
                        )
                        for _ in range(4)
                    )
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


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [1000, 100_000])
def test_deep_json_is_403_unsigned_and_400_signed(name: str, size: int) -> None:
    body = b"[" * size
    with webhook(name) as (channel, app, dispatcher):
        # Any signature value: the check runs on the raw bytes, before any parsing.
        forged = {k: "mac=" + "0" * 64 for k in channel.sign(body)}
        assert post(app, name, body, forged).status_code == 403
        assert post(app, name, body, {}).status_code == 403
        signed = post(app, name, body, channel.sign(body))
        assert signed.status_code == 400
        assert "nested deeper than" in signed.json()["error"]
        assert dispatcher.events == []


@pytest.mark.parametrize("name", NAMES)
def test_a_4301_digit_number_is_400_with_a_clear_error(name: str) -> None:
    body = b'{"update_id": ' + b"7" * 4301 + b', "timestamp": "1", "object": "page"}'
    with webhook(name) as (channel, app, dispatcher):
        response = post(app, name, body, channel.sign(body))
        assert response.status_code == 400
        assert "number longer than" in response.json()["error"]
        assert post(app, name, body, {}).status_code == 403
        assert dispatcher.events == []


TELEGRAM_ODD_UPDATES = [
    {"update_id": 11, "message": {"message_id": 1, "date": 1, "text": "no chat"}},
    {"update_id": 12, "message": {"message_id": 1, "date": 1, "chat": "x", "text": "t"}},
    {"update_id": 13, "message": {"message_id": 1, "chat": {"id": 5, "type": "private"}}},
    {"update_id": 14, "callback_query": {"id": "q"}},
    {"update_id": 15, "message": [1, 2]},
    {"update_id": "16"},
    {"message": {"text": "no update id"}},
    [1, 2, 3],
    "a string",
]


@pytest.mark.parametrize("update", TELEGRAM_ODD_UPDATES, ids=range(len(TELEGRAM_ODD_UPDATES)))
def test_telegram_ignores_signed_updates_it_cannot_use(update: Any) -> None:
    body = json.dumps(update).encode()
    with webhook("telegram") as (channel, app, dispatcher):
        response = post(app, "telegram", body, channel.sign(body))
        assert response.status_code == 200  # anything else: Telegram redelivers for ever
        assert dispatcher.events == []
        assert post(app, "telegram", body, {}).status_code == 403


MALFORMED = {
    "zalo-oa": [b"{}", b'{"event_name": "user_send_text", "timestamp": "1"}', b"[]"],
    "zalo-bot": [b"[]", b'{"message": 5}', b'{"message": {"chat": {}}}'],
    "messenger": [b"{}", b'{"object": "page", "entry": 5}', b'{"object": "page", "entry": [7]}'],
}


@pytest.mark.parametrize(
    ("name", "body"), [(n, b) for n, bodies in MALFORMED.items() for b in bodies]
)
def test_malformed_signed_bodies_on_other_platforms_are_400(name: str, body: bytes) -> None:
    with webhook(name) as (channel, app, dispatcher):
        assert post(app, name, body, channel.sign(body)).status_code == 400
        assert post(app, name, body, {}).status_code == 403
        assert dispatcher.events == []


@pytest.mark.parametrize("name", NAMES)
def test_odd_bytes_and_headers_are_never_a_5xx(name: str) -> None:
    bodies = [b"", b"\xff\xfe\x00", b"\x00" * 10, b'"\\', b"{" * 70 + b'"', b'{"a": 1e999999}']
    with webhook(name) as (channel, app, _):
        for body in bodies:
            odd = {k: "mac=é\x7f\xff".encode("latin-1") for k in channel.sign(body)}
            for headers in (channel.sign(body), {}, odd):
                assert post(app, name, body, cast(Any, headers)).status_code < 500


@pytest.mark.parametrize("name", NAMES)
def test_an_over_long_question_gets_too_long_and_is_never_searched(name: str) -> None:
    """Through the real delivery (inbox, queue, dispatcher) to the fake platform."""
    knowledge = RecordingKnowledge()
    engine = AnswerEngine(knowledge=knowledge, conversations=InMemoryConversationStore(ttl=60))
    question = ("Cho hỏi thủ tục đăng ký khai sinh cho con cần giấy tờ gì? " * 40)[
        :MAX_QUESTION_CHARS
    ] + "à"  # 2,001 characters however they are trimmed

    async def run(channel: SignedChannel) -> None:
        with mounted(channel.adapter, cast(Any, engine)) as (app, queue):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
                harness = Harness(client, cast(Any, engine), queue)
                body = channel.text_body("long-1", question)
                response = await harness.post(f"/webhooks/{name}", body, channel.sign(body))
                assert response.status_code == 200

    async def main() -> list[str]:
        async with httpx.AsyncClient() as client:
            with signed_channel(name, client) as channel:
                await run(channel)
                await stop(channel.adapter)
                return channel.delivered()

    assert asyncio.run(main()) == [texts.TOO_LONG]
    assert knowledge.searches == []


async def stop(adapter: ChannelAdapter) -> None:
    close = getattr(adapter, "stop", None)  # Telegram holds PTB's HTTP clients open
    if close is not None:
        await close()
