"""A fake Telegram Bot API and update bodies, shared by the Telegram tests, the end-to-end
test and bench/webhooks.py."""

from __future__ import annotations

import html
import json
from typing import Any

from bot.channels.telegram import SECRET_HEADER
from tests.bot.channels.harness import FakePlatform

TOKEN = "123456:TEST-token_abc"
SECRET = "s3cret_Token-1"
CHAT_ID = 777
USER_ID = 555
TOO_MANY = {
    "ok": False,
    "error_code": 429,
    "description": "Too Many Requests: retry after 1",
    "parameters": {"retry_after": 1},
}


# -- a fake Bot API -----------------------------------------------------------------------


class BotAPI:
    """Answers like the Bot API for the methods the adapter uses."""

    def __init__(self) -> None:
        self.next_message_id = 100

    def __call__(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        method = path.rsplit("/", 1)[-1]
        if method == "getMe":
            return 200, {
                "ok": True,
                "result": {"id": 123456, "is_bot": True, "first_name": "TTHC", "username": "tthc"},
            }
        if method == "sendMessage":
            self.next_message_id += 1
            return 200, {
                "ok": True,
                "result": {
                    "message_id": self.next_message_id,
                    "date": 1_700_000_000,
                    "chat": {"id": int(body["chat_id"]), "type": "private"},
                    "text": html.unescape(str(body["text"])),
                },
            }
        if method in ("answerCallbackQuery", "setWebhook"):
            return 200, {"ok": True, "result": True}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}


def calls(platform: FakePlatform, method: str) -> list[dict[str, Any]]:
    """Bodies of the requests to one Bot API method that the fake answered with a 2xx."""
    return [
        r.body for r in platform.requests if r.path.endswith(f"/{method}") and 200 <= r.status < 300
    ]


def methods(platform: FakePlatform) -> list[str]:
    return [r.path.rsplit("/", 1)[-1] for r in platform.requests]


def replies(platform: FakePlatform) -> list[str]:
    """What users saw: accepted sendMessage texts, HTML entities decoded."""
    return [html.unescape(str(body["text"])) for body in calls(platform, "sendMessage")]


# -- updates ------------------------------------------------------------------------------

_ids: dict[str, int] = {}


def update_id(event_id: str) -> int:
    return _ids.setdefault(event_id, 1000 + len(_ids))


def message_update(event_id: str, **message: Any) -> bytes:
    return json.dumps(
        {
            "update_id": update_id(event_id),
            "message": {
                "message_id": 1,
                "date": 1_700_000_000,
                "chat": {"id": CHAT_ID, "type": "private"},
                "from": {"id": USER_ID, "is_bot": False, "first_name": "An"},
                **message,
            },
        }
    ).encode()


def text_update(event_id: str, text: str) -> bytes:
    return message_update(event_id, text=text)


def sticker_update(event_id: str) -> bytes:
    return message_update(
        event_id,
        sticker={
            "file_id": "CAAD",
            "file_unique_id": "AgAD",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        },
    )


def callback_update(event_id: str, data: str, query_id: str = "cbq-1") -> bytes:
    return json.dumps(
        {
            "update_id": update_id(event_id),
            "callback_query": {
                "id": query_id,
                "from": {"id": USER_ID, "is_bot": False, "first_name": "An"},
                "chat_instance": "42",
                "data": data,
                "message": {
                    "message_id": 9,
                    "date": 1_700_000_000,
                    "chat": {"id": CHAT_ID, "type": "private"},
                    "text": "Trả lời trước",
                },
            },
        }
    ).encode()


def signed(_: bytes) -> dict[str, str]:
    return {SECRET_HEADER: SECRET}
