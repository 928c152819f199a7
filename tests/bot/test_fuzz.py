"""Fuzzing: no input gets a 5xx.

* ``/api/chat`` and ``/api/feedback`` with schemathesis, from the OpenAPI document the app
  publishes at ``/openapi.json``, against the real app under uvicorn on 127.0.0.1 (fake
  answerer, real SQLite feedback store): valid and invalid requests, each response held
  to the document (status code, content type, schema).
* Every channel's webhook with hypothesis: random bytes, random JSON and event-shaped JSON
  with random field values, each sent signed with the right secret and unsigned, through
  the real webhook route and the real delivery (inbox, queue, replies to a fake platform).

Examples are limited so the whole file runs in well under a minute.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any, cast

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.applications import Starlette

from bot.analytics import SqlFeedbackSink
from bot.ratelimit import RateLimiter
from bot.web import create_app
from knowledge import migrate
from knowledge.db import make_engine, make_session_factory
from tests.bot.channels import fake_zalo as zalo
from tests.bot.channels.harness import FakeAnswerer, Harness, mounted
from tests.bot.channels.signed_channels import NAMES, ZALO_BOT_CHAT, signed_channel

FUZZ = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# -- the web chat API, from its OpenAPI document ----------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = make_engine(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'web.sqlite3'}")
    migrate.upgrade(database)
    app = create_app(
        engine=FakeAnswerer(),
        feedback=SqlFeedbackSink(factory=make_session_factory(database)),
        ready=lambda: {"model_id": "fake"},
        limiter=RateLimiter(limit=1_000_000, window=60.0),
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    database.dispose()


@pytest.fixture(scope="module")
def web_api(served: str) -> Any:
    return schemathesis.openapi.from_url(f"{served}/openapi.json")


web_schema = schemathesis.pytest.from_fixture("web_api")


@web_schema.parametrize()
@FUZZ
def test_web_api_never_fails_and_keeps_its_document(case: Any) -> None:
    case.call_and_validate(
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ]
    )


def test_the_document_is_published(served: str) -> None:
    document = httpx.get(f"{served}/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {"/api/chat", "/api/feedback"}
    chat = document["paths"]["/api/chat"]["post"]
    assert {"200", "400", "413", "429"} <= set(chat["responses"])


# -- every webhook, signed and unsigned ---------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
TEXT = st.text(max_size=300) | st.sampled_from(["/start", "/help@tthc", "@tthc hỏi", "👍"])
ID = st.integers() | st.text(max_size=20) | JSON_VALUES


def anything_or(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the right kind of value, sometimes any JSON value."""
    return st.one_of(value, value, value, JSON_VALUES)


def _telegram_events() -> st.SearchStrategy[dict[str, Any]]:
    message = st.fixed_dictionaries(
        {
            "message_id": anything_or(st.integers(1, 10**6)),
            "date": anything_or(st.integers(0, 2**31)),
            "chat": anything_or(
                st.fixed_dictionaries(
                    {
                        "id": anything_or(st.integers(-(10**13), 10**13)),
                        "type": anything_or(st.sampled_from(["private", "group", "supergroup"])),
                    }
                )
            ),
            "from": anything_or(
                st.fixed_dictionaries(
                    {"id": ID, "is_bot": st.booleans(), "first_name": st.text(max_size=8)}
                )
            ),
        },
        optional={
            "text": anything_or(TEXT),
            "entities": anything_or(
                st.lists(
                    st.fixed_dictionaries(
                        {
                            "type": st.sampled_from(["mention", "text_mention", "bold"]),
                            "offset": st.integers(-5, 50),
                            "length": st.integers(-5, 50),
                        }
                    ),
                    max_size=3,
                )
            ),
            "reply_to_message": JSON_VALUES,
            "sticker": JSON_VALUES,
        },
    )
    callback = st.fixed_dictionaries(
        {"id": ID, "from": JSON_VALUES, "data": anything_or(st.text(max_size=64))},
        optional={"message": JSON_VALUES},
    )
    return st.fixed_dictionaries(
        {"update_id": anything_or(st.integers(0, 2**31))},
        optional={"message": anything_or(message), "callback_query": anything_or(callback)},
    )


def _zalo_oa_events() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "event_name": anything_or(
                st.sampled_from(["user_send_text", "user_send_sticker", "follow", "oa_send_text"])
            ),
            "app_id": anything_or(st.just(zalo.APP_ID)),
            "sender": anything_or(st.fixed_dictionaries({"id": ID})),
            "recipient": anything_or(st.fixed_dictionaries({"id": ID})),
            "message": anything_or(
                st.fixed_dictionaries({"text": anything_or(TEXT), "msg_id": ID})
            ),
            "timestamp": anything_or(st.text(alphabet="0123456789", min_size=1, max_size=13)),
        },
        optional={"follower": JSON_VALUES},
    )


def _zalo_bot_events() -> st.SearchStrategy[dict[str, Any]]:
    update = st.fixed_dictionaries(
        {
            "event_name": anything_or(
                st.sampled_from(["message.text.received", "message.sticker.received"])
            ),
            "message": anything_or(
                st.fixed_dictionaries(
                    {
                        "message_id": ID,
                        "chat": anything_or(
                            st.fixed_dictionaries({"id": anything_or(st.just(ZALO_BOT_CHAT))})
                        ),
                        "from": anything_or(
                            st.fixed_dictionaries({"id": ID, "is_bot": anything_or(st.booleans())})
                        ),
                        "text": anything_or(TEXT),
                    }
                )
            ),
        }
    )
    return st.one_of(update, st.fixed_dictionaries({"ok": st.booleans(), "result": update}))


def _messenger_events() -> st.SearchStrategy[dict[str, Any]]:
    item = st.fixed_dictionaries(
        {
            "sender": anything_or(st.fixed_dictionaries({"id": ID})),
            "timestamp": anything_or(st.integers(0, 2**41)),
        },
        optional={
            "message": anything_or(
                st.fixed_dictionaries(
                    {"mid": ID, "text": anything_or(TEXT)},
                    optional={"quick_reply": JSON_VALUES, "is_echo": JSON_VALUES},
                )
            ),
            "postback": anything_or(
                st.fixed_dictionaries({"title": TEXT, "payload": anything_or(TEXT)})
            ),
        },
    )
    change = st.fixed_dictionaries(
        {
            "field": anything_or(st.just("feed")),
            "value": anything_or(
                st.fixed_dictionaries(
                    {
                        "item": anything_or(st.just("comment")),
                        "verb": anything_or(st.just("add")),
                        "comment_id": ID,
                        "from": anything_or(st.fixed_dictionaries({"id": ID})),
                        "message": anything_or(TEXT),
                    }
                )
            ),
        }
    )
    entry = st.fixed_dictionaries(
        {"id": anything_or(st.just("104857600000001"))},
        optional={
            "messaging": anything_or(st.lists(anything_or(item), max_size=2)),
            "changes": anything_or(st.lists(anything_or(change), max_size=2)),
        },
    )
    return st.fixed_dictionaries(
        {"object": anything_or(st.just("page")), "entry": anything_or(st.lists(entry, max_size=2))}
    )


SHAPED = {
    "telegram": _telegram_events(),
    "zalo-oa": _zalo_oa_events(),
    "zalo-bot": _zalo_bot_events(),
    "messenger": _messenger_events(),
}


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


BODIES = st.one_of(
    st.binary(max_size=512),
    st.integers(1, 3000).map(lambda n: b"[" * n),
    st.integers(60, 70).map(lambda n: b'{"a": ' * n + b"1" + b"}" * n),
    st.integers(4290, 4310).map(lambda n: b'{"update_id": ' + b"9" * n + b"}"),
    JSON_VALUES.map(_dumps),
)


@pytest.mark.parametrize("name", NAMES)
def test_webhooks_never_answer_5xx(name: str) -> None:
    loop = asyncio.new_event_loop()
    statuses: list[tuple[bool, int]] = []

    async def open_client(app: Starlette) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot")

    try:
        platform_client = httpx.AsyncClient()
        with (
            signed_channel(name, platform_client) as channel,
            mounted(channel.adapter, FakeAnswerer()) as (app, queue),
        ):
            client = loop.run_until_complete(open_client(app))
            harness = Harness(client, cast(Any, None), queue)

            def send(body: bytes) -> None:
                for signed in (True, False):
                    headers = channel.sign(body) if signed else {}
                    response = loop.run_until_complete(
                        harness.post(f"/webhooks/{name}", body, headers)
                    )
                    statuses.append((signed, response.status_code))
                    assert response.status_code < 500, (signed, body[:200])
                    assert signed or response.status_code == 403

            given(BODIES | SHAPED[name].map(_dumps))(FUZZ(send))()
            loop.run_until_complete(client.aclose())
            stop = getattr(channel.adapter, "stop", None)
            if stop is not None:
                loop.run_until_complete(stop())
        loop.run_until_complete(platform_client.aclose())
    finally:
        loop.close()
    # The fuzzing reached past the signature check: some signed bodies were accepted.
    assert any(signed and status == 200 for signed, status in statuses)
    assert any(signed and status == 400 for signed, status in statuses)
