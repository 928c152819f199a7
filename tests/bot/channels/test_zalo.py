"""Zalo OA and Zalo Bot adapters against fake platforms on loopback (docs/channels.md §2).

Webhook bodies copy the field names of the published examples; the fakes answer the way
the real APIs do (Zalo OA: HTTP 200 with ``error`` in the body; Zalo Bot: ``ok``/``result``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
from typing import Any

import httpx
import pytest

from bot.channels.base import (
    Button,
    ChannelError,
    InboundEvent,
    OutboundMessage,
    OutsideWindow,
    PlatformRateLimited,
    PlatformRejected,
    PlatformUnavailable,
    TokenExpired,
)
from bot.channels.zalo_bot import ZaloBotAdapter
from bot.channels.zalo_oa import InMemoryTokenStore, ZaloOAAdapter
from bot.engine import texts
from tests.bot.channels.fake_zalo import (
    APP_ID,
    APP_SECRET,
    CS_PATH,
    OA_ID,
    OA_SECRET_KEY,
    TOKEN_PATH,
    USER_ID,
    HeaderAwarePlatform,
    ZaloOAFake,
    oa_body,
    oa_follow_event,
    oa_sign,
    oa_sticker_event,
    oa_text_event,
    zalo_mac,
)
from tests.bot.channels.harness import (
    ChannelSpec,
    FakeAnswerer,
    FakePlatform,
    check_contract,
    mounted,
    with_retries,
)


def oa_adapter(
    platform: FakePlatform, client: httpx.AsyncClient, store: InMemoryTokenStore
) -> ZaloOAAdapter:
    return ZaloOAAdapter(
        app_id=APP_ID,
        oa_secret_key=OA_SECRET_KEY,
        app_secret=APP_SECRET,
        token_store=store,
        client=client,
        api_base_url=platform.base_url,
        oauth_base_url=platform.base_url,
        oa_id=OA_ID,
    )


def offline_oa_adapter() -> ZaloOAAdapter:
    """For verify/parse/render only: its client is never used."""
    return ZaloOAAdapter(
        app_id=APP_ID,
        oa_secret_key=OA_SECRET_KEY,
        app_secret=APP_SECRET,
        token_store=InMemoryTokenStore("a", "r"),
        client=httpx.AsyncClient(),
        api_base_url="http://127.0.0.1:9",
        oauth_base_url="http://127.0.0.1:9",
    )


def oa_event(user: str = USER_ID, key: str = "m1") -> InboundEvent:
    return InboundEvent(
        channel="zalo-oa",
        account_id=OA_ID,
        event_key=key,
        user_id=user,
        reply_target=user,
        kind="text",
        text="hỏi",
    )


def cs_requests(platform: FakePlatform) -> list[Any]:
    return [r for r in platform.requests if r.path == CS_PATH]


def token_requests(platform: FakePlatform) -> list[Any]:
    return [r for r in platform.requests if r.path == TOKEN_PATH]


async def no_sleep(_: float) -> None:
    return None


# -- Zalo OA: the shared contract -----------------------------------------------------------


def test_zalo_oa_contract() -> None:
    fake = ZaloOAFake()
    with HeaderAwarePlatform(fake).running() as platform:

        async def run() -> None:
            async with httpx.AsyncClient() as client:
                store = InMemoryTokenStore(fake.valid_access, fake.valid_refresh)
                await check_contract(
                    ChannelSpec(
                        adapter=oa_adapter(platform, client, store),
                        platform=platform,
                        sign=oa_sign,
                        text_event=oa_text_event,
                        non_text_event=oa_sticker_event,
                        replies=lambda _: list(fake.delivered),
                    )
                )

        asyncio.run(run())
    assert set(fake.recipients) == {USER_ID}
    assert fake.refresh_calls == 0
    sent = cs_requests(platform)
    assert all(r.headers["access_token"] == "access-0" for r in sent)
    assert all(r.headers["content-type"] == "application/json" for r in sent)
    assert all(set(r.body) == {"recipient", "message"} for r in sent)


# -- Zalo OA: signature ---------------------------------------------------------------------


def test_oa_signature_matches_the_documented_algorithm() -> None:
    adapter = offline_oa_adapter()
    raw = oa_text_event("cb31dff1c39642cc1b83", "Chào A4B")
    expected = hashlib.sha256(
        (APP_ID + raw.decode() + "1699003881354" + OA_SECRET_KEY).encode()
    ).hexdigest()
    assert adapter.verify({"X-ZEvent-Signature": f"mac={expected}"}, raw)
    assert adapter.verify({"X-ZEvent-Signature": expected}, raw)  # some deliveries: no prefix
    assert adapter.verify({"x-zevent-signature": f"MAC={expected.upper()}"}, raw)
    assert adapter.verify(httpx.Headers({"x-zevent-signature": f"mac={expected}"}), raw)


def test_oa_signature_rejects_the_wrong_inputs() -> None:
    adapter = offline_oa_adapter()
    raw = oa_text_event("cb31dff1c39642cc1b83", "Chào A4B")
    good = zalo_mac(raw, "1699003881354")
    assert not adapter.verify({}, raw)
    assert not adapter.verify({"X-ZEvent-Signature": ""}, raw)
    assert not adapter.verify({"X-ZEvent-Signature": "mac="}, raw)
    # The App Secret is not the key; neither is an HMAC of the body.
    assert not adapter.verify(
        {"X-ZEvent-Signature": "mac=" + zalo_mac(raw, "1699003881354", APP_SECRET)}, raw
    )
    hmac_variant = hmac.new(OA_SECRET_KEY.encode(), raw, hashlib.sha256).hexdigest()
    assert not adapter.verify({"X-ZEvent-Signature": hmac_variant}, raw)
    # The raw bytes are hashed: a re-serialised body with the same content fails.
    reserialised = json.dumps(json.loads(raw)).encode()
    assert reserialised != raw
    assert not adapter.verify({"X-ZEvent-Signature": f"mac={good}"}, reserialised)
    # The timestamp comes from the body: changing it breaks the signature.
    tampered = raw.replace(b"1699003881354", b"1699003881355")
    assert not adapter.verify({"X-ZEvent-Signature": f"mac={good}"}, tampered)
    assert not adapter.verify({"X-ZEvent-Signature": "mac=ünïcode"}, raw)


def test_oa_without_a_secret_rejects_everything() -> None:
    adapter = ZaloOAAdapter(
        app_id=APP_ID,
        oa_secret_key="",
        app_secret=APP_SECRET,
        token_store=InMemoryTokenStore("a", "r"),
        client=httpx.AsyncClient(),
    )
    raw = oa_text_event("m", "x")
    assert not adapter.verify({"X-ZEvent-Signature": zalo_mac(raw, "1699003881354", "")}, raw)


# -- Zalo OA: parse and render --------------------------------------------------------------


def test_oa_parse_text_event() -> None:
    [event] = offline_oa_adapter().parse(oa_text_event("cb31dff1c39642cc1b83", "Chào A4B"))
    assert event.channel == "zalo-oa"
    assert event.kind == "text"
    assert event.text == "Chào A4B"
    assert event.event_key == "cb31dff1c39642cc1b83"
    assert event.user_id == event.reply_target == USER_ID
    assert event.account_id == OA_ID


def test_oa_parse_follow_and_non_text_events() -> None:
    adapter = offline_oa_adapter()
    [follow] = adapter.parse(oa_follow_event())
    assert follow.kind == "follow"
    assert follow.user_id == follow.reply_target == USER_ID
    assert follow.event_key == f"follow:{USER_ID}:1699003890000"
    assert follow.account_id == OA_ID
    for name in ("user_send_sticker", "user_send_image", "user_send_audio", "user_send_file"):
        body = json.loads(oa_sticker_event("m9"))
        body["event_name"] = name
        [event] = adapter.parse(oa_body(body))
        assert (event.kind, event.event_key, event.reply_target) == ("unsupported", "m9", USER_ID)


def test_oa_parse_ignores_own_and_unknown_events() -> None:
    adapter = offline_oa_adapter()
    echo = {
        "event_name": "oa_send_text",
        "app_id": APP_ID,
        "sender": {"id": OA_ID},
        "recipient": {"id": USER_ID},
        "message": {"text": "Trả lời của OA", "msg_id": "oa1"},
        "timestamp": "1699003881999",
    }
    # The OA's own text comes back as an echo event (ours, or typed in the OA console).
    [seen] = adapter.parse(oa_body(echo))
    assert (seen.kind, seen.user_id, seen.reply_target, seen.account_id, seen.text) == (
        "echo",
        USER_ID,
        USER_ID,
        OA_ID,
        "Trả lời của OA",
    )
    for name in ("oa_send_image", "user_seen_message", "user_received_message", "something_new"):
        assert adapter.parse(oa_body(echo | {"event_name": name})) == []
    # Unfollowing withdraws the follower's opt-in to announcements.
    [left] = adapter.parse(oa_follow_event("u-9", "unfollow"))
    assert (left.kind, left.user_id, left.event_key) == (
        "unfollow",
        "u-9",
        "unfollow:u-9:1699003890000",
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"[]",
        b'{"timestamp": "1"}',
        b'{"event_name": "user_send_text", "sender": {"id": "1"}}',
        b'{"event_name": "user_send_text", "message": {"text": "x", "msg_id": "m"}}',
        b'{"event_name": "user_send_text", "sender": {"id": "1"}, "message": {"msg_id": "m"}}',
        b'{"event_name": "follow", "timestamp": "1"}',
        b'{"event_name": "unfollow", "timestamp": "1"}',
    ],
)
def test_oa_parse_rejects_malformed_bodies(raw: bytes) -> None:
    with pytest.raises(ValueError):
        offline_oa_adapter().parse(raw)


def test_oa_render_degrades_buttons_and_splits() -> None:
    adapter = offline_oa_adapter()
    message = OutboundMessage(
        "1. Đăng ký thường trú\n2. Đăng ký tạm trú",
        (
            Button("postback", "1. Đăng ký thường trú", "choice:1"),
            Button("url", "Mở dịch vụ công trực tuyến", "https://dichvucong.gov.vn/p/1"),
            Button("postback", "👍 Hữu ích", "fb:abc:up"),
        ),
    )
    [part] = adapter.render(message)
    assert part == {
        "text": "1. Đăng ký thường trú\n2. Đăng ký tạm trú\n"
        "Mở dịch vụ công trực tuyến: https://dichvucong.gov.vn/p/1"
    }
    parts = adapter.render(OutboundMessage("Câu rất dài. " * 400))
    assert len(parts) >= 2
    assert all(len(p["text"]) <= 2000 for p in parts)


# -- Zalo OA: webhook behaviour -----------------------------------------------------------


async def _post_webhook(adapter: ZaloOAAdapter, answerer: FakeAnswerer, raw: bytes) -> int:
    with mounted(adapter, answerer) as (app, tasks):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bot"
        ) as client:
            response = await client.post("/webhooks/zalo-oa", content=raw, headers=oa_sign(raw))
            await tasks.drain(timeout=20)
            assert response.status_code == 200
            accepted: int = response.json()["accepted"]
            return accepted


def test_oa_follow_sends_the_welcome_text() -> None:
    fake = ZaloOAFake()
    answerer = FakeAnswerer()
    with HeaderAwarePlatform(fake).running() as platform:

        async def run() -> int:
            async with httpx.AsyncClient() as client:
                store = InMemoryTokenStore(fake.valid_access, fake.valid_refresh)
                adapter = oa_adapter(platform, client, store)
                return await _post_webhook(adapter, answerer, oa_follow_event("8888"))

        assert asyncio.run(run()) == 1
    assert fake.delivered == [texts.WELCOME]
    assert fake.recipients == ["8888"]
    assert answerer.questions == []


def test_oa_own_messages_are_not_answered() -> None:
    fake = ZaloOAFake()
    answerer = FakeAnswerer()
    echo = oa_body(
        {
            "event_name": "oa_send_text",
            "app_id": APP_ID,
            "sender": {"id": OA_ID},
            "recipient": {"id": USER_ID},
            "message": {"text": "Trả lời thử nghiệm.", "msg_id": "oa-echo-1"},
            "timestamp": "1699003881999",
        }
    )
    with HeaderAwarePlatform(fake).running() as platform:

        async def run() -> int:
            async with httpx.AsyncClient() as client:
                store = InMemoryTokenStore(fake.valid_access, fake.valid_refresh)
                return await _post_webhook(oa_adapter(platform, client, store), answerer, echo)

        assert asyncio.run(run()) == 1  # kept to tell a person's reply from ours
    assert platform.requests == []
    assert answerer.questions == []


# -- Zalo OA: tokens ------------------------------------------------------------------------


def test_oa_expired_token_is_refreshed_once_then_the_send_retried() -> None:
    fake = ZaloOAFake()
    with HeaderAwarePlatform(fake).running() as platform:
        store = InMemoryTokenStore(fake.valid_access, fake.valid_refresh)
        platform.queue(200, {"error": -216, "message": "Access token is invalid"})

        async def run() -> list[str]:
            async with httpx.AsyncClient() as client:
                adapter = oa_adapter(platform, client, store)
                return await adapter.send(oa_event(), [{"text": "Xin chào"}])

        ids = asyncio.run(run())
        pair = asyncio.run(store.get())
    assert ids == ["msg1"]
    assert fake.delivered == ["Xin chào"]
    assert fake.refresh_calls == 1
    [refresh] = token_requests(platform)
    assert refresh.method == "POST"
    assert refresh.headers["secret_key"] == APP_SECRET
    assert refresh.headers["content-type"] == "application/x-www-form-urlencoded"
    assert refresh.body == {
        "refresh_token": "refresh-0",
        "app_id": APP_ID,
        "grant_type": "refresh_token",
    }
    first, retry = cs_requests(platform)
    assert first.headers["access_token"] == "access-0"
    assert retry.headers["access_token"] == "access-1"
    assert pair == ("access-1", "refresh-1")  # the single-use refresh token was replaced


def test_oa_concurrent_sends_share_one_refresh() -> None:
    fake = ZaloOAFake()
    with HeaderAwarePlatform(fake).running() as platform:
        store = InMemoryTokenStore("access-expired", fake.valid_refresh)

        async def run() -> list[list[str]]:
            async with httpx.AsyncClient() as client:
                adapter = oa_adapter(platform, client, store)
                return list(
                    await asyncio.gather(
                        adapter.send(oa_event("u1", "k1"), [{"text": "một"}]),
                        adapter.send(oa_event("u2", "k2"), [{"text": "hai"}]),
                        adapter.send(oa_event("u3", "k3"), [{"text": "ba"}]),
                    )
                )

        results = asyncio.run(run())
        pair = asyncio.run(store.get())
    assert fake.refresh_calls == 1  # the single-use refresh token was spent once
    assert sorted(fake.delivered) == ["ba", "hai", "một"]
    assert all(len(ids) == 1 and ids[0].startswith("msg") for ids in results)
    stale = [r for r in cs_requests(platform) if r.headers["access_token"] == "access-expired"]
    assert len(stale) == 3
    assert pair == ("access-1", "refresh-1")


def test_oa_gives_up_when_the_fresh_token_is_rejected_too() -> None:
    fake = ZaloOAFake()
    fake.reject_all_tokens = True
    with HeaderAwarePlatform(fake).running() as platform:
        store = InMemoryTokenStore(fake.valid_access, fake.valid_refresh)

        async def run() -> None:
            async with httpx.AsyncClient() as client:
                adapter = oa_adapter(platform, client, store)
                await adapter.send(oa_event(), [{"text": "x"}])

        with pytest.raises(TokenExpired):
            asyncio.run(run())
    assert fake.refresh_calls == 1
    assert len(cs_requests(platform)) == 2
    assert fake.delivered == []


def test_oa_spent_refresh_token_surfaces_as_token_expired() -> None:
    fake = ZaloOAFake()
    with HeaderAwarePlatform(fake).running() as platform:
        store = InMemoryTokenStore("access-expired", "refresh-already-used")

        async def run() -> None:
            async with httpx.AsyncClient() as client:
                await oa_adapter(platform, client, store).send(oa_event(), [{"text": "x"}])

        with pytest.raises(TokenExpired) as caught:
            asyncio.run(run())
        pair = asyncio.run(store.get())
    assert "refresh-already-used" not in str(caught.value)
    assert pair == ("access-expired", "refresh-already-used")  # nothing half-saved
    assert len(cs_requests(platform)) == 1


# -- Zalo OA: errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (429, {}, PlatformRateLimited),
        (200, {"error": -32, "message": "Your application reached limit call api"}, None),
        (503, {}, PlatformUnavailable),
        (200, {"error": -230, "message": "User has not interacted with the OA"}, None),
        (200, {"error": -213, "message": "User has not followed OA"}, None),
        (200, {"error": -211, "message": "Out of quota"}, None),
        (200, {"error": -201, "message": "message is invalid"}, None),
        (400, {"error": -201, "message": "message is invalid"}, PlatformRejected),
    ],
)
def test_oa_error_mapping(
    status: int, body: dict[str, Any], expected: type[ChannelError] | None
) -> None:
    by_code: dict[int, type[ChannelError]] = {
        -32: PlatformRateLimited,
        -230: OutsideWindow,
        -213: OutsideWindow,
        -211: OutsideWindow,
        -201: PlatformRejected,
    }
    wanted = expected or by_code[body["error"]]
    fake = ZaloOAFake()
    with HeaderAwarePlatform(fake).running() as platform:
        platform.queue(status, body)

        async def run() -> None:
            async with httpx.AsyncClient() as client:
                store = InMemoryTokenStore(fake.valid_access, fake.valid_refresh)
                await oa_adapter(platform, client, store).send(oa_event(), [{"text": "x"}])

        with pytest.raises(ChannelError) as caught:
            asyncio.run(run())
    assert type(caught.value) is wanted
    assert fake.refresh_calls == 0


def test_oa_window_error_is_not_retried() -> None:
    fake = ZaloOAFake()
    sleeps: list[float] = []

    async def record_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    with HeaderAwarePlatform(fake).running() as platform:
        platform.queue(200, {"error": -230, "message": "User has not interacted with the OA"})

        async def run() -> None:
            async with httpx.AsyncClient() as client:
                store = InMemoryTokenStore(fake.valid_access, fake.valid_refresh)
                adapter = oa_adapter(platform, client, store)
                await with_retries(
                    lambda: adapter.send(oa_event(), [{"text": "x"}]), sleep=record_sleep
                )

        with pytest.raises(PlatformRejected):
            asyncio.run(run())
    assert len(cs_requests(platform)) == 1
    assert sleeps == []
    assert fake.delivered == []


def test_oa_throttle_error_is_retried() -> None:
    fake = ZaloOAFake()
    sleeps: list[float] = []

    async def record_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    with HeaderAwarePlatform(fake).running() as platform:
        platform.queue(200, {"error": -32, "message": "Your application reached limit call api"})

        async def run() -> list[str]:
            async with httpx.AsyncClient() as client:
                store = InMemoryTokenStore(fake.valid_access, fake.valid_refresh)
                adapter = oa_adapter(platform, client, store)
                return await with_retries(
                    lambda: adapter.send(oa_event(), [{"text": "x"}]), sleep=record_sleep
                )

        assert asyncio.run(run()) == ["msg1"]
    assert len(sleeps) == 1
    assert fake.delivered == ["x"]


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_oa_network_error_is_platform_unavailable() -> None:
    async def run() -> None:
        async with httpx.AsyncClient() as client:
            adapter = ZaloOAAdapter(
                app_id=APP_ID,
                oa_secret_key=OA_SECRET_KEY,
                app_secret=APP_SECRET,
                token_store=InMemoryTokenStore("secret-access", "secret-refresh"),
                client=client,
                api_base_url=_closed_port_url(),
            )
            await adapter.send(oa_event(), [{"text": "x"}])

    with pytest.raises(PlatformUnavailable) as caught:
        asyncio.run(run())
    assert isinstance(caught.value.__cause__, httpx.TransportError)
    assert "secret-access" not in str(caught.value)


# -- Zalo Bot -------------------------------------------------------------------------------

BOT_TOKEN = "1234567890:AbCdEfGhIjKlMnOpQrStUvWxYz"
BOT_SECRET = "webhook-secret-token-123"
CHAT_ID = "a1b2c3d4e5f6"
SEND_MESSAGE_PATH = f"/bot{BOT_TOKEN}/sendMessage"


class ZaloBotFake:
    """bot-api.zaloplatforms.com: ``{"ok": true, "result": ...}`` answers."""

    def __init__(self) -> None:
        self.delivered: list[str] = []

    def __call__(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if path != SEND_MESSAGE_PATH:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        text = body.get("text")
        if not body.get("chat_id") or not isinstance(text, str) or not 1 <= len(text) <= 2000:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request"}
        self.delivered.append(text)
        return 200, {
            "ok": True,
            "result": {"message_id": f"bm{len(self.delivered)}", "date": 1733800000000},
        }


def bot_update(message_id: str, event_name: str, **fields: Any) -> dict[str, Any]:
    return {
        "event_name": event_name,
        "message": {
            "message_id": message_id,
            "date": 1733800000000,
            "chat": {"id": CHAT_ID, "chat_type": "PRIVATE"},
            "from": {"id": "u-42", "display_name": "Nguyễn Văn A", "is_bot": False},
            **fields,
        },
    }


def bot_text_event(message_id: str, text: str) -> bytes:
    update = bot_update(message_id, "message.text.received", text=text)
    return json.dumps({"ok": True, "result": update}, ensure_ascii=False).encode()


def bot_sticker_event(message_id: str) -> bytes:
    update = bot_update(message_id, "message.sticker.received", sticker="bfe4b0d5c1")
    return json.dumps({"ok": True, "result": update}).encode()


def bot_sign(_: bytes) -> dict[str, str]:
    return {"X-Bot-Api-Secret-Token": BOT_SECRET}


def bot_adapter(base_url: str, client: httpx.AsyncClient) -> ZaloBotAdapter:
    return ZaloBotAdapter(
        token=BOT_TOKEN, webhook_secret=BOT_SECRET, client=client, api_base_url=base_url
    )


def bot_event() -> InboundEvent:
    return InboundEvent(
        channel="zalo-bot",
        account_id="1234567890",
        event_key="bm-in",
        user_id="u-42",
        reply_target=CHAT_ID,
        kind="text",
        text="hỏi",
    )


def test_zalo_bot_contract() -> None:
    fake = ZaloBotFake()
    with FakePlatform(fake).running() as platform:

        async def run() -> None:
            async with httpx.AsyncClient() as client:
                await check_contract(
                    ChannelSpec(
                        adapter=bot_adapter(platform.base_url, client),
                        platform=platform,
                        sign=bot_sign,
                        text_event=bot_text_event,
                        non_text_event=bot_sticker_event,
                        replies=lambda _: list(fake.delivered),
                        rate_limited=(
                            429,
                            {"ok": False, "error_code": 429, "description": "Too Many Requests"},
                        ),
                    )
                )

        asyncio.run(run())
    sent = [r for r in platform.requests if r.status == 200]
    assert sent
    assert all(r.path == SEND_MESSAGE_PATH and r.method == "POST" for r in sent)
    assert all(r.body["chat_id"] == CHAT_ID and set(r.body) == {"chat_id", "text"} for r in sent)


def test_bot_verify_secret_header() -> None:
    adapter = bot_adapter("http://127.0.0.1:9", httpx.AsyncClient())
    raw = bot_text_event("m1", "x")
    assert adapter.verify({"X-Bot-Api-Secret-Token": BOT_SECRET}, raw)
    assert adapter.verify({"x-bot-api-secret-token": BOT_SECRET}, raw)
    assert adapter.verify(httpx.Headers({"x-bot-api-secret-token": BOT_SECRET}), raw)
    assert not adapter.verify({}, raw)
    assert not adapter.verify({"X-Bot-Api-Secret-Token": ""}, raw)
    assert not adapter.verify({"X-Bot-Api-Secret-Token": BOT_SECRET + "x"}, raw)
    assert not adapter.verify({"X-Bot-Api-Secret-Token": BOT_SECRET.upper()}, raw)
    assert not adapter.verify({"X-Bot-Api-Secret-Token": "bí mật"}, raw)
    assert adapter.handshake({"hub.challenge": "1"}) is None


@pytest.mark.parametrize("secret", ["", "short", "x" * 257])
def test_bot_secret_must_be_acceptable_to_set_webhook(secret: str) -> None:
    with pytest.raises(ValueError):
        ZaloBotAdapter(token=BOT_TOKEN, webhook_secret=secret, client=httpx.AsyncClient())


def test_bot_parse_both_envelopes() -> None:
    adapter = bot_adapter("http://127.0.0.1:9", httpx.AsyncClient())
    [wrapped] = adapter.parse(bot_text_event("m1", "lệ phí hộ chiếu"))
    bare = json.dumps(bot_update("m1", "message.text.received", text="lệ phí hộ chiếu"))
    [plain] = adapter.parse(bare.encode())
    for event in (wrapped, plain):
        assert event.channel == "zalo-bot"
        assert event.kind == "text"
        assert event.text == "lệ phí hộ chiếu"
        assert event.event_key == "m1"
        assert event.user_id == "u-42"
        assert event.reply_target == CHAT_ID
        assert event.account_id == "1234567890"
        assert BOT_TOKEN.split(":")[1] not in event.account_id


def test_bot_parse_non_text_bots_and_unknown() -> None:
    adapter = bot_adapter("http://127.0.0.1:9", httpx.AsyncClient())
    for name, fields in [
        ("message.image.received", {"photo_url": "https://example.invalid/p.jpg"}),
        ("message.sticker.received", {"sticker": "bfe4b0d5c1"}),
        ("message.unsupported.received", {}),
    ]:
        [event] = adapter.parse(json.dumps(bot_update("m2", name, **fields)).encode())
        assert (event.kind, event.text, event.event_key) == ("unsupported", "", "m2")
    from_bot = bot_update("m3", "message.text.received", text="echo")
    from_bot["message"]["from"]["is_bot"] = True
    assert adapter.parse(json.dumps(from_bot).encode()) == []
    assert adapter.parse(b'{"ok": true, "result": {"event_name": "something.else"}}') == []
    other = bot_update("m4", "bot.added.to.group", text="x")
    assert adapter.parse(json.dumps(other).encode()) == []


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"[1]",
        b'{"ok": true, "result": [1]}',
        b'{"message": "text"}',
        b'{"event_name": "message.text.received", "message": {"message_id": "m"}}',
        json.dumps(bot_update("m", "message.text.received")).encode(),  # no text
        json.dumps(bot_update("", "message.text.received", text="x")).encode(),
    ],
)
def test_bot_parse_rejects_malformed_bodies(raw: bytes) -> None:
    with pytest.raises(ValueError):
        bot_adapter("http://127.0.0.1:9", httpx.AsyncClient()).parse(raw)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (429, {"ok": False, "error_code": 429, "description": "Too Many Requests"}, None),
        (200, {"ok": False, "error_code": 429, "description": "Too Many Requests"}, None),
        (401, {"ok": False, "error_code": 401, "description": "Unauthorized"}, TokenExpired),
        (502, {}, PlatformUnavailable),
        (400, {"ok": False, "error_code": 400, "description": "Bad Request"}, PlatformRejected),
        (200, {"ok": False, "error_code": 403, "description": "Forbidden"}, PlatformRejected),
        (200, {"unexpected": True}, PlatformRejected),
    ],
)
def test_bot_error_mapping(
    status: int, body: dict[str, Any], expected: type[ChannelError] | None
) -> None:
    wanted = expected or PlatformRateLimited
    fake = ZaloBotFake()
    with FakePlatform(fake).running() as platform:
        platform.queue(status, body)

        async def run() -> None:
            async with httpx.AsyncClient() as client:
                await bot_adapter(platform.base_url, client).send(bot_event(), [{"text": "x"}])

        with pytest.raises(ChannelError) as caught:
            asyncio.run(run())
    assert type(caught.value) is wanted
    assert BOT_TOKEN not in str(caught.value)
    assert fake.delivered == []


def test_bot_rejection_is_not_retried() -> None:
    fake = ZaloBotFake()
    sleeps: list[float] = []

    async def record_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    with FakePlatform(fake).running() as platform:
        platform.queue(400, {"ok": False, "error_code": 400, "description": "Bad Request"})

        async def run() -> None:
            async with httpx.AsyncClient() as client:
                adapter = bot_adapter(platform.base_url, client)
                await with_retries(
                    lambda: adapter.send(bot_event(), [{"text": "x"}]), sleep=record_sleep
                )

        with pytest.raises(PlatformRejected):
            asyncio.run(run())
    assert len(platform.requests) == 1
    assert sleeps == []


def test_bot_send_returns_message_ids_and_hides_the_token_on_network_errors() -> None:
    fake = ZaloBotFake()
    with FakePlatform(fake).running() as platform:

        async def run() -> list[str]:
            async with httpx.AsyncClient() as client:
                adapter = bot_adapter(platform.base_url, client)
                return await adapter.send(bot_event(), [{"text": "một"}, {"text": "hai"}])

        assert asyncio.run(run()) == ["bm1", "bm2"]
    assert fake.delivered == ["một", "hai"]

    async def offline() -> None:
        async with httpx.AsyncClient() as client:
            await bot_adapter(_closed_port_url(), client).send(bot_event(), [{"text": "x"}])

    with pytest.raises(PlatformUnavailable) as caught:
        asyncio.run(offline())
    assert BOT_TOKEN not in str(caught.value)
