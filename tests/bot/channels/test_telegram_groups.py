"""Telegram groups and supergroups: only commands, mentions of the bot and replies to it
are answered, the mention is removed from the question; private chats are unchanged.
Parsing with the real python-telegram-bot, the whole flow against the fake Bot API."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from bot.channels.telegram import SECRET_HEADER, TelegramAdapter
from tests.bot.channels.fake_telegram import SECRET, TOKEN, USER_ID, BotAPI, replies
from tests.bot.channels.harness import FakeAnswerer, FakePlatform, Harness, mounted

BOT_ID = int(TOKEN.split(":")[0])
GROUP_ID = -1001234567890
_next_id = iter(range(50_000, 60_000))


def group_update(
    text: str | None,
    *,
    chat_type: str = "supergroup",
    entities: list[dict[str, Any]] | None = None,
    reply_to_bot: bool = False,
    **content: Any,
) -> bytes:
    message: dict[str, Any] = {
        "message_id": next(_next_id),
        "date": 1_700_000_000,
        "chat": {"id": GROUP_ID, "type": chat_type, "title": "Tổ dân phố 5"},
        "from": {"id": USER_ID, "is_bot": False, "first_name": "An"},
        **content,
    }
    if text is not None:
        message["text"] = text
    if entities:
        message["entities"] = entities
    if reply_to_bot:
        message["reply_to_message"] = {
            "message_id": 7,
            "date": 1_699_999_000,
            "chat": message["chat"],
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "TTHC", "username": "tthc"},
            "text": "Lệ phí đăng ký khai sinh: miễn phí.",
        }
    return json.dumps({"update_id": next(_next_id), "message": message}).encode()


def mention(text: str, name: str) -> dict[str, Any]:
    """A ``mention`` entity over the first ``@name`` (offsets in UTF-16 code units)."""
    start = text.index(f"@{name}")
    offset = len(text[:start].encode("utf-16-le")) // 2
    return {"type": "mention", "offset": offset, "length": len(name) + 1}


def adapter(username: str = "tthc") -> TelegramAdapter:
    return TelegramAdapter(token=TOKEN, webhook_secret=SECRET, username=username)


def texts_of(adapter: TelegramAdapter, body: bytes) -> list[str]:
    return [event.text for event in adapter.parse(body)]


@pytest.mark.parametrize("chat_type", ["group", "supergroup"])
@pytest.mark.parametrize("text", ["ok", "haha", "Lệ phí khai sinh bao nhiêu?", "@someone hi"])
def test_group_chatter_is_ignored(chat_type: str, text: str) -> None:
    entities = [mention(text, "someone")] if "@someone" in text else None
    body = group_update(text, chat_type=chat_type, entities=entities)
    assert adapter().parse(body) == []


def test_the_same_chatter_in_a_private_chat_is_answered() -> None:
    body = group_update("ok", chat_type="private")
    assert texts_of(adapter(), body) == ["ok"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/start", "/start"),
        ("/help", "/start"),
        ("/help@tthc", "/start"),
        ("/HELP@TTHC", "/start"),
        ("/subscribe", "/subscribe"),
        ("/unsubscribe@tthc", "/unsubscribe"),
        ("/human", "/human"),
    ],
)
def test_known_commands_are_answered_in_groups(text: str, expected: str) -> None:
    assert texts_of(adapter(), group_update(text)) == [expected]


@pytest.mark.parametrize("text", ["/start@OtherBot", "/help@other_bot", "/weather", "/ban 5"])
def test_commands_for_other_bots_or_unknown_ones_are_ignored(text: str) -> None:
    assert adapter().parse(group_update(text)) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@tthc lệ phí khai sinh?", "lệ phí khai sinh?"),
        ("@TTHC, lệ phí khai sinh?", "lệ phí khai sinh?"),
        ("Cho hỏi @tthc lệ phí khai sinh?", "Cho hỏi lệ phí khai sinh?"),
        ("lệ phí khai sinh @tthc", "lệ phí khai sinh"),
        ("🙏 @tthc: căn cước mất bao lâu?", "🙏 căn cước mất bao lâu?"),  # UTF-16 offsets
        ("@tthc", "/start"),
        ("@tthc /help", "/start"),
    ],
)
def test_a_mention_is_answered_without_the_mention(text: str, expected: str) -> None:
    body = group_update(text, entities=[mention(text, text.split("@")[1][:4])])
    assert texts_of(adapter(), body) == [expected]


def test_a_text_mention_of_the_bot_user_counts() -> None:
    text = "Trợ lý ơi, lệ phí khai sinh?"
    entity = {
        "type": "text_mention",
        "offset": 0,
        "length": len("Trợ lý ơi"),
        "user": {"id": BOT_ID, "is_bot": True, "first_name": "Trợ lý"},
    }
    assert texts_of(adapter(), group_update(text, entities=[entity])) == ["lệ phí khai sinh?"]
    other = {**entity, "user": {"id": 42, "is_bot": False, "first_name": "Bình"}}
    assert adapter().parse(group_update(text, entities=[other])) == []


def test_a_mention_needs_the_username() -> None:
    text = "@tthc lệ phí khai sinh?"
    body = group_update(text, entities=[mention(text, "tthc")])
    assert adapter(username="").parse(body) == []  # unknown name: not recognised
    assert texts_of(adapter(username="@tthc"), body) == ["lệ phí khai sinh?"]


def test_a_reply_to_the_bot_is_answered() -> None:
    body = group_update("còn làm online được không?", reply_to_bot=True)
    assert texts_of(adapter(), body) == ["còn làm online được không?"]
    sticker = {
        "sticker": {
            "file_id": "CAAD",
            "file_unique_id": "AgAD",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
    }
    [event] = adapter().parse(group_update(None, reply_to_bot=True, **sticker))
    assert event.kind == "unsupported"
    assert adapter().parse(group_update(None, **sticker)) == []  # a sticker to the group


def test_the_username_comes_from_getme_when_not_configured() -> None:
    """Start-up asks getMe once; then mentions are recognised (fake Bot API: "tthc")."""
    text = "@tthc lệ phí khai sinh?"
    body = group_update(text, entities=[mention(text, "tthc")])

    async def main() -> tuple[list[str], list[str], list[str]]:
        with FakePlatform(BotAPI()).running() as platform:
            telegram = TelegramAdapter(
                token=TOKEN,
                webhook_secret=SECRET,
                api_base_url=f"{platform.base_url}/bot",
                transport=httpx.AsyncHTTPTransport(),
            )
            before = texts_of(telegram, body)
            await telegram.learn_username()
            after = texts_of(telegram, body)
            await telegram.stop()
            return before, after, [r.path.rsplit("/", 1)[-1] for r in platform.requests]

    before, after, calls = asyncio.run(main())
    assert (before, after) == ([], ["lệ phí khai sinh?"])
    assert calls == ["getMe"]


def test_learn_username_survives_an_unreachable_api(caplog: pytest.LogCaptureFixture) -> None:
    telegram = TelegramAdapter(
        token=TOKEN,
        webhook_secret=SECRET,
        api_base_url="http://127.0.0.1:9/bot",
        transport=httpx.AsyncHTTPTransport(),
    )
    asyncio.run(telegram.learn_username())
    assert telegram.username == ""
    assert "TELEGRAM_BOT_USERNAME" in caplog.text
    assert TOKEN not in caplog.text


def test_in_a_group_only_the_addressed_message_gets_a_reply() -> None:
    """Webhook → dispatcher → engine → Bot API, for real; the fake answerer records."""
    answerer = FakeAnswerer("Lệ phí: miễn phí.")
    chatter = [group_update(t) for t in ("ok", "haha", "cảm ơn mọi người")]
    question = "@tthc lệ phí khai sinh?"
    addressed = group_update(question, entities=[mention(question, "tthc")])

    async def main() -> list[str]:
        with FakePlatform(BotAPI()).running() as platform:
            telegram = TelegramAdapter(
                token=TOKEN,
                webhook_secret=SECRET,
                api_base_url=f"{platform.base_url}/bot",
                transport=httpx.AsyncHTTPTransport(),
                username="tthc",
            )
            with mounted(telegram, answerer) as (app, queue):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                    harness = Harness(client, answerer, queue)
                    for body in [*chatter, addressed]:
                        response = await harness.post(
                            "/webhooks/telegram", body, {SECRET_HEADER: SECRET}
                        )
                        assert response.status_code == 200
            await telegram.stop()
            return replies(platform)

    sent = asyncio.run(main())
    assert [q.text for q in answerer.questions] == ["lệ phí khai sinh?"]
    assert sent == ["Lệ phí: miễn phí."]
