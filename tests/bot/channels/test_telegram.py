"""Telegram adapter: the real python-telegram-bot talks HTTP to a fake Bot API on loopback."""

from __future__ import annotations

import asyncio
import html
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from bot.channels.base import (
    Button,
    InboundEvent,
    OutboundMessage,
    PlatformRateLimited,
    PlatformRejected,
    PlatformUnavailable,
    utf16_len,
)
from bot.channels.routes import webhook_routes
from bot.channels.telegram import SECRET_HEADER, SENT_KEY, TelegramAdapter
from tests.bot.channels.fake_telegram import (
    CHAT_ID,
    SECRET,
    TOKEN,
    TOO_MANY,
    USER_ID,
    BotAPI,
    callback_update,
    calls,
    message_update,
    methods,
    replies,
    signed,
    sticker_update,
    text_update,
    update_id,
)
from tests.bot.channels.harness import (
    ChannelSpec,
    FakeAnswerer,
    FakePlatform,
    check_contract,
    delivery,
    with_retries,
)

# PTB's RetryAfter reads its own deprecated ``retry_after`` while building its message.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*`retry_after`.*:telegram.warnings.PTBDeprecationWarning"
)


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    with FakePlatform(BotAPI()).running() as running:
        yield running


def make_adapter(platform: FakePlatform, **kwargs: Any) -> TelegramAdapter:
    # An explicit transport: plain HTTP to loopback, ignoring any proxy settings.
    return TelegramAdapter(
        token=TOKEN,
        webhook_secret=SECRET,
        api_base_url=f"{platform.base_url}/bot",
        transport=httpx.AsyncHTTPTransport(),
        **kwargs,
    )


def run_with(adapter: TelegramAdapter, body: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``body`` between the adapter's start and stop, in a fresh event loop."""

    async def main() -> Any:
        async with adapter:
            return await body()

    return asyncio.run(main())


def text_event(text: str = "hi") -> InboundEvent:
    return InboundEvent(
        channel="telegram",
        account_id="123456",
        event_key="1",
        user_id=str(USER_ID),
        reply_target=str(CHAT_ID),
        kind="text",
        text=text,
    )


# -- the shared contract ------------------------------------------------------------------


def test_contract(platform: FakePlatform) -> None:
    adapter = make_adapter(platform)
    spec = ChannelSpec(
        adapter=adapter,
        platform=platform,
        sign=signed,
        text_event=text_update,
        non_text_event=sticker_update,
        replies=replies,
        rate_limited=(429, TOO_MANY),
    )
    run_with(adapter, lambda: check_contract(spec))
    # PTB checked the token first, every reply went out as HTML, and the 429 was retried.
    assert methods(platform)[0] == "getMe"
    assert {body["parse_mode"] for body in calls(platform, "sendMessage")} == {"HTML"}
    assert [r.status for r in platform.requests].count(429) == 1


# -- verify / parse -----------------------------------------------------------------------


def test_verify_needs_the_exact_secret_header() -> None:
    adapter = TelegramAdapter(token=TOKEN, webhook_secret=SECRET)
    assert adapter.verify({SECRET_HEADER: SECRET}, b"{}")
    assert adapter.verify({SECRET_HEADER.lower(): SECRET}, b"{}")
    assert not adapter.verify({SECRET_HEADER: SECRET + "x"}, b"{}")
    assert not adapter.verify({SECRET_HEADER: "sécret"}, b"{}")  # non-ASCII: no TypeError
    assert not adapter.verify({}, b"{}")
    assert adapter.handshake({"hub.challenge": "1"}) is None


def test_constructor_rejects_bad_settings_without_echoing_the_token() -> None:
    with pytest.raises(ValueError) as bad_token:
        TelegramAdapter(token="not-a-token-value", webhook_secret=SECRET)
    assert "not-a-token-value" not in str(bad_token.value)
    with pytest.raises(ValueError):
        TelegramAdapter(token=TOKEN, webhook_secret="has space")
    with pytest.raises(ValueError):
        TelegramAdapter(token=TOKEN, webhook_secret="")
    TelegramAdapter(token=TOKEN, webhook_secret=SECRET)
    assert logging.getLogger("httpx").level == logging.WARNING  # URLs carry the token


def test_parse_text_message() -> None:
    adapter = TelegramAdapter(token=TOKEN, webhook_secret=SECRET)
    [event] = adapter.parse(text_update("p-1", "Lệ phí cấp căn cước?"))
    assert (event.channel, event.account_id, event.kind) == ("telegram", "123456", "text")
    assert event.event_key == str(update_id("p-1"))
    assert (event.user_id, event.reply_target) == (str(USER_ID), str(CHAT_ID))
    assert event.text == "Lệ phí cấp căn cước?"
    assert event.raw["message"]["text"] == "Lệ phí cấp căn cước?"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/start", "/start"),
        ("/start ref-campaign", "/start"),
        ("/help", "/start"),
        ("/help@tthc_bot", "/start"),
        ("/human", "/human"),
        ("/subscribe", "/subscribe"),
        ("/unsubscribe@tthc_bot", "/unsubscribe"),
        ("/subscribe thường trú", "/subscribe thường trú"),
        ("/other thing", "/other thing"),
    ],
)
def test_parse_commands(text: str, expected: str) -> None:
    adapter = TelegramAdapter(token=TOKEN, webhook_secret=SECRET)
    [event] = adapter.parse(text_update(f"cmd-{text}", text))
    assert (event.kind, event.text) == ("text", expected)


def test_parse_callback_query() -> None:
    adapter = TelegramAdapter(token=TOKEN, webhook_secret=SECRET)
    [event] = adapter.parse(callback_update("cb-1", "fb:1001:up"))
    assert (event.kind, event.payload, event.text) == ("button", "fb:1001:up", "")
    assert (event.user_id, event.reply_target) == (str(USER_ID), str(CHAT_ID))
    assert event.event_key == str(update_id("cb-1"))


@pytest.mark.parametrize(
    "content",
    [
        {"photo": [{"file_id": "p", "file_unique_id": "pu", "width": 90, "height": 90}]},
        {"voice": {"file_id": "v", "file_unique_id": "vu", "duration": 3}},
        {"document": {"file_id": "d", "file_unique_id": "du", "file_name": "to-khai.pdf"}},
        {
            "photo": [{"file_id": "p", "file_unique_id": "pu", "width": 9, "height": 9}],
            "caption": "ảnh giấy tờ",
        },
    ],
)
def test_parse_non_text_is_unsupported(content: dict[str, Any]) -> None:
    adapter = TelegramAdapter(token=TOKEN, webhook_secret=SECRET)
    [event] = adapter.parse(message_update(f"media-{sorted(content)}", **content))
    assert event.kind == "unsupported"
    [sticker] = adapter.parse(sticker_update("media-sticker"))
    assert sticker.kind == "unsupported"


def test_parse_ignores_what_it_does_not_answer() -> None:
    adapter = TelegramAdapter(token=TOKEN, webhook_secret=SECRET)
    join = message_update(
        "join", new_chat_members=[{"id": 9, "is_bot": False, "first_name": "Bình"}]
    )
    assert adapter.parse(join) == []
    edited = {
        "update_id": 77,
        "edited_message": {
            "message_id": 1,
            "date": 1,
            "edit_date": 2,
            "chat": {"id": 1, "type": "private"},
            "text": "x",
        },
    }
    assert adapter.parse(json.dumps(edited).encode()) == []


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b"[" * 1000, b"1" * 4301])
def test_parse_non_json_raises_value_error(raw: bytes) -> None:
    adapter = TelegramAdapter(token=TOKEN, webhook_secret=SECRET)
    with pytest.raises(ValueError):
        adapter.parse(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"[1, 2]",
        b'{"message": {}}',
        b'{"update_id": 5, "message": 3}',
        # No chat: Telegram would redeliver a non-2xx answer for ever, so it is ignored.
        b'{"update_id": 6, "message": {"message_id": 1, "date": 1, "text": "hi"}}',
        b'{"update_id": 7, "message": {"message_id": 1, "date": 1, "chat": 5, "text": "x"}}',
        b'{"update_id": 8, "callback_query": {"id": "1"}}',
        b'{"update_id": 9, "message": {"message_id": 1, "date": 1, "chat": {"id": 1}}}',
    ],
)
def test_parse_ignores_json_that_is_not_a_usable_update(raw: bytes) -> None:
    adapter = TelegramAdapter(token=TOKEN, webhook_secret=SECRET)
    assert adapter.parse(raw) == []


# -- render / send ------------------------------------------------------------------------

KEYBOARD_BUTTONS = (
    Button("postback", "1. Đăng ký thường trú", "choice:1"),
    Button("postback", "2. Đăng ký tạm trú", "choice:2"),
    Button("url", "Mở dịch vụ công trực tuyến", "https://dichvucong.gov.vn/p/1"),
    Button("postback", "👍 Hữu ích", "fb:1001:up"),
    Button("postback", "👎 Chưa đúng", "fb:1001:down"),
)


def test_html_is_escaped_in_an_answer(platform: FakePlatform) -> None:
    adapter = make_adapter(platform)
    parts = adapter.render(OutboundMessage("Giấy tờ <b>& lệ phí</b> > 0"))
    assert parts == [
        {"text": "Giấy tờ &lt;b&gt;&amp; lệ phí&lt;/b&gt; &gt; 0", "parse_mode": "HTML"}
    ]
    ids = run_with(adapter, lambda: adapter.send(text_event(), parts))
    [body] = calls(platform, "sendMessage")
    assert body["text"] == "Giấy tờ &lt;b&gt;&amp; lệ phí&lt;/b&gt; &gt; 0"
    assert body["parse_mode"] == "HTML"
    assert body["chat_id"] == str(CHAT_ID)
    assert "reply_markup" not in body
    assert ids == ["101"]


def test_long_answer_is_split_with_the_keyboard_on_the_last_part(platform: FakePlatform) -> None:
    # Emoji are two UTF-16 units and "&" grows to "&amp;": the split must count
    # UTF-16 units of the unescaped text.
    text = ("Hồ sơ & lệ phí 📄 theo quy định hiện hành. " * 300)[:10_000]
    adapter = make_adapter(platform)
    parts = adapter.render(OutboundMessage(text, KEYBOARD_BUTTONS))
    assert len(parts) >= 3
    assert all(utf16_len(html.unescape(p["text"])) <= 4096 for p in parts)
    assert ["reply_markup" in p for p in parts] == [False] * (len(parts) - 1) + [True]
    assert parts[-1]["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "1. Đăng ký thường trú", "callback_data": "choice:1"}],
            [{"text": "2. Đăng ký tạm trú", "callback_data": "choice:2"}],
            [{"text": "Mở dịch vụ công trực tuyến", "url": "https://dichvucong.gov.vn/p/1"}],
            [
                {"text": "👍 Hữu ích", "callback_data": "fb:1001:up"},
                {"text": "👎 Chưa đúng", "callback_data": "fb:1001:down"},
            ],
        ]
    }

    ids = run_with(adapter, lambda: adapter.send(text_event(), parts))
    sent = calls(platform, "sendMessage")
    assert len(ids) == len(sent) == len(parts)
    assert all(utf16_len(html.unescape(str(b["text"]))) <= 4096 for b in sent)
    assert ["reply_markup" in b for b in sent] == [False] * (len(sent) - 1) + [True]
    # PTB posts the keyboard as a JSON string inside the form body.
    keyboard = json.loads(str(sent[-1]["reply_markup"]))["inline_keyboard"]
    assert [[b.get("callback_data") or b["url"] for b in row] for row in keyboard] == [
        ["choice:1"],
        ["choice:2"],
        ["https://dichvucong.gov.vn/p/1"],
        ["fb:1001:up", "fb:1001:down"],
    ]


def test_render_drops_buttons_telegram_would_reject() -> None:
    adapter = TelegramAdapter(token=TOKEN, webhook_secret=SECRET)
    [part] = adapter.render(
        OutboundMessage(
            "x",
            (
                Button("postback", "too long", "choice:" + "9" * 60),
                Button("url", "bad link", "javascript:alert(1)"),
                Button("postback", "ok", "choice:1"),
            ),
        )
    )
    assert part["reply_markup"] == {
        "inline_keyboard": [[{"text": "ok", "callback_data": "choice:1"}]]
    }
    assert adapter.render(OutboundMessage("")) == []
    # Telegram needs some text to carry a keyboard.
    [only_keyboard] = adapter.render(OutboundMessage("", (Button("postback", "ok", "choice:1"),)))
    assert only_keyboard["text"] and "reply_markup" in only_keyboard


def test_a_retried_send_does_not_repeat_the_parts_already_sent() -> None:
    api = BotAPI()
    sends = 0

    def flaky(path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        nonlocal sends
        if path.endswith("/sendMessage"):
            sends += 1
            if sends == 2:  # the second part hits flood control once
                return 429, TOO_MANY
        return api(path, body)

    with FakePlatform(flaky).running() as platform:
        adapter = make_adapter(platform)
        parts = adapter.render(OutboundMessage("Một. " * 2000))
        assert len(parts) == 3

        async def no_sleep(_: float) -> None:
            return None

        ids = run_with(
            adapter, lambda: with_retries(lambda: adapter.send(text_event(), parts), sleep=no_sleep)
        )
    assert len(calls(platform, "sendMessage")) == 3
    assert ids == [str(p[SENT_KEY]) for p in parts]
    assert len(set(ids)) == 3


def test_callback_query_is_answered_and_the_dispatcher_gets_the_payload(
    platform: FakePlatform,
) -> None:
    adapter = make_adapter(platform)
    answerer = FakeAnswerer()
    feedback: list[tuple[str, str, str]] = []

    async def on_feedback(event: InboundEvent, answer_id: str, value: str) -> None:
        feedback.append((event.payload, answer_id, value))

    async def scenario() -> list[int]:
        from starlette.applications import Starlette

        dispatcher, queue, _ = delivery(adapter, answerer, on_feedback=on_feedback)
        app = Starlette(routes=webhook_routes(adapter, dispatcher))
        statuses = []
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bot"
        ) as client:
            for body in (
                callback_update("cb-fb", "fb:1001:up", query_id="q-fb"),
                callback_update("cb-choice", "choice:2", query_id="q-choice"),
            ):
                response = await client.post(
                    "/webhooks/telegram", content=body, headers=signed(body)
                )
                statuses.append(response.status_code)
                assert await queue.drain(timeout=20)
        return statuses

    assert run_with(adapter, scenario) == [200, 200]
    # Each press: answerCallbackQuery first (stops the spinner), then the reply.
    assert methods(platform) == [
        "getMe",
        "answerCallbackQuery",
        "sendMessage",
        "answerCallbackQuery",
        "sendMessage",
    ]
    assert [b["callback_query_id"] for b in calls(platform, "answerCallbackQuery")] == [
        "q-fb",
        "q-choice",
    ]
    assert feedback == [("fb:1001:up", "1001", "up")]
    assert [q.text for q in answerer.questions] == ["2"]  # "choice:2" asks for choice 2
    assert replies(platform) == ["Cảm ơn bạn đã phản hồi!", answerer.text]


def test_a_callback_query_is_answered_once_even_when_the_send_is_retried(
    platform: FakePlatform,
) -> None:
    adapter = make_adapter(platform)
    event = adapter.parse(callback_update("cb-retry", "choice:1", query_id="q-retry"))[0]
    parts = adapter.render(OutboundMessage("ok"))

    async def twice() -> list[str]:
        bad_gateway = {"ok": False, "error_code": 502, "description": "Bad Gateway"}
        platform.queue(502, bad_gateway)  # answerCallbackQuery: logged, not fatal
        platform.queue(502, bad_gateway)  # sendMessage: the dispatcher would retry
        with pytest.raises(PlatformUnavailable):
            await adapter.send(event, parts)
        return await adapter.send(event, parts)

    assert run_with(adapter, twice) == ["101"]
    assert methods(platform) == ["getMe", "answerCallbackQuery", "sendMessage", "sendMessage"]
    assert [r.status for r in platform.requests] == [200, 502, 502, 200]


def test_set_webhook_sends_the_secret_and_allowed_updates(platform: FakePlatform) -> None:
    adapter = make_adapter(platform)
    assert run_with(
        adapter, lambda: adapter.set_webhook("https://bot.example.vn/webhooks/telegram")
    )
    [body] = calls(platform, "setWebhook")
    assert body["url"] == "https://bot.example.vn/webhooks/telegram"
    assert body["secret_token"] == SECRET
    assert json.loads(str(body["allowed_updates"])) == ["message", "callback_query"]


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reply", "expected"),
    [
        (429, TOO_MANY, PlatformRateLimited),
        (
            400,
            {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
            PlatformRejected,
        ),
        (
            403,
            {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked"},
            PlatformRejected,
        ),
        (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}, PlatformUnavailable),
        (500, {"ok": False, "error_code": 500, "description": "Internal"}, PlatformUnavailable),
    ],
)
def test_send_maps_bot_api_errors(
    platform: FakePlatform, status: int, reply: dict[str, Any], expected: type[Exception]
) -> None:
    adapter = make_adapter(platform)

    async def send_once() -> BaseException:
        platform.queue(status, reply)
        with pytest.raises(expected) as caught:
            await adapter.send(text_event(), adapter.render(OutboundMessage("x")))
        return caught.value

    error = run_with(adapter, send_once)
    assert error.__cause__ is not None  # raised "from" PTB's error
    if isinstance(error, PlatformRateLimited):
        assert error.retry_after == 1


def test_network_failures_are_unavailable() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/getMe"):
            return httpx.Response(200, json=BotAPI()("/getMe", {})[1])
        raise httpx.ReadTimeout("slow", request=request)

    adapter = TelegramAdapter(
        token=TOKEN,
        webhook_secret=SECRET,
        api_base_url="http://fake-bot-api.invalid/bot",
        transport=httpx.MockTransport(timeout),
    )

    async def send_once() -> None:
        with pytest.raises(PlatformUnavailable):
            await adapter.send(text_event(), adapter.render(OutboundMessage("x")))

    run_with(adapter, send_once)


def test_a_refused_connection_is_unavailable() -> None:
    with FakePlatform(BotAPI()).running() as stopped:
        base_url = stopped.base_url  # the port is closed once the server stopped
    adapter = TelegramAdapter(
        token=TOKEN,
        webhook_secret=SECRET,
        api_base_url=f"{base_url}/bot",
        transport=httpx.AsyncHTTPTransport(),
    )
    with pytest.raises(PlatformUnavailable):
        asyncio.run(adapter.start())


def test_a_rejected_token_never_reaches_the_error_message() -> None:
    def unauthorized(path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}

    with FakePlatform(unauthorized).running() as platform:
        adapter = make_adapter(platform)
        with pytest.raises(PlatformRejected) as caught:
            asyncio.run(adapter.start())
    assert TOKEN not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_no_token_or_message_text_is_logged_at_info(
    platform: FakePlatform, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    adapter = make_adapter(platform)
    parts = adapter.render(OutboundMessage("Nội dung bí mật của công dân"))
    run_with(adapter, lambda: adapter.send(text_event(), parts))
    assert len(calls(platform, "sendMessage")) == 1
    assert TOKEN not in caplog.text
    assert "bí mật" not in caplog.text
