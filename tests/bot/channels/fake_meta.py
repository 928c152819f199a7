"""A fake Meta Graph API and signed Messenger/comment webhook bodies, shared by the
Messenger tests, the end-to-end test and bench/webhooks.py."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from typing import Any

from tests.bot.channels.harness import FakePlatform, Recorded, Responder

PAGE_ID = "104857600000001"
PAGE_TOKEN = "EAAG-page-access-token-for-tests"
APP_SECRET = "app-secret-for-tests"
VERIFY_TOKEN = "verify-token-for-tests"
PSID = "2399011234567890"
PATH = "/webhooks/messenger"
SERVICE_URL = "https://dichvucong.gov.vn/p/home/dvc-chi-tiet-thu-tuc-hanh-chinh.html?ma=1.0"


# ---------------------------------------------------------------- the fake Graph API


def graph_error(
    code: int, message: str = "error", error_type: str = "OAuthException"
) -> dict[str, Any]:
    """Graph's error envelope (Messenger "Common Error Codes")."""
    return {
        "error": {
            "message": message,
            "type": error_type,
            "code": code,
            "fbtrace_id": "AbCdEfGh123",
        }
    }


def graph_responder() -> Responder:
    """Answers like the Send API and the comments edge; anything else is a Graph 404."""
    counter = itertools.count(1)

    def respond(path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        number = next(counter)
        if path.endswith("/messages"):
            recipient = body.get("recipient", {})
            return 200, {
                "recipient_id": recipient.get("id", PSID),
                "message_id": f"m_AbCd{number:04d}",
            }
        if path.endswith("/comments"):
            return 200, {"id": f"{path.split('/')[-2]}_{number}"}
        return 404, graph_error(803, "Unknown path")

    return respond


def message_text(body: dict[str, Any]) -> str:
    """The text of one Send API ``message``: plain text or a button template's text."""
    message = body.get("message", {})
    if "text" in message:
        return str(message["text"])
    return str(message["attachment"]["payload"]["text"])


def sends(platform: FakePlatform) -> list[Recorded]:
    """Send API calls (to a PSID or as private replies)."""
    return [r for r in platform.requests if r.path.endswith("/messages")]


def comment_replies(platform: FakePlatform) -> list[Recorded]:
    return [r for r in platform.requests if r.path.endswith("/comments")]


def accepted_texts(platform: FakePlatform) -> list[str]:
    """What ``ChannelSpec.replies`` needs: texts of message sends the platform accepted."""
    return [message_text(r.body) for r in sends(platform) if r.status < 300]


# ---------------------------------------------------------------- webhook bodies


def sign(body: bytes) -> dict[str, str]:
    digest = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def page_body(*entries: dict[str, Any]) -> bytes:
    return json.dumps({"object": "page", "entry": list(entries)}, ensure_ascii=False).encode()


def messaging_entry(*items: dict[str, Any]) -> dict[str, Any]:
    return {"id": PAGE_ID, "time": 1458692752478, "messaging": list(items)}


def text_item(mid: str, text: str, sender: str = PSID, **extra: Any) -> dict[str, Any]:
    return {
        "sender": {"id": sender},
        "recipient": {"id": PAGE_ID},
        "timestamp": 1458692752478,
        "message": {"mid": mid, "text": text, **extra},
    }


def image_item(mid: str) -> dict[str, Any]:
    return {
        "sender": {"id": PSID},
        "recipient": {"id": PAGE_ID},
        "timestamp": 1458692752478,
        "message": {
            "mid": mid,
            "attachments": [
                {"type": "image", "payload": {"url": "https://scontent.xx.fbcdn.net/x.jpg"}}
            ],
        },
    }


def postback_item(mid: str, title: str, payload: str) -> dict[str, Any]:
    return {
        "sender": {"id": PSID},
        "recipient": {"id": PAGE_ID},
        "timestamp": 1458692752478,
        "postback": {"mid": mid, "title": title, "payload": payload},
    }


def comment_entry(
    comment_id: str,
    author: str,
    text: str = "Cho hỏi thủ tục đăng ký thường trú",
    verb: str = "add",
) -> dict[str, Any]:
    post_id = f"{PAGE_ID}_555000111"
    return {
        "id": PAGE_ID,
        "time": 1700000000,
        "changes": [
            {
                "field": "feed",
                "value": {
                    "item": "comment",
                    "verb": verb,
                    "comment_id": comment_id,
                    "post_id": post_id,
                    "parent_id": post_id,
                    "from": {"id": author, "name": "Nguyễn Văn A"},
                    "message": text,
                    "created_time": 1700000000,
                    "post": {
                        "permalink_url": "https://www.facebook.com/p/555000111",
                        "error_type": "added_photos",
                        "is_published": True,
                    },
                },
            }
        ],
    }
