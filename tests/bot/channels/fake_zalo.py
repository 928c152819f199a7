"""A fake Zalo OA API (messages and token refresh) and signed webhook bodies, shared by the
Zalo tests, the end-to-end test and bench/webhooks.py."""

from __future__ import annotations

import hashlib
import json
from contextvars import ContextVar
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tests.bot.channels.harness import FakePlatform

# -- Zalo OA ----------------------------------------------------------------------------

APP_ID = "2553928453557884079"
OA_ID = "3662729599332560487"
USER_ID = "6142494823000000001"
OA_SECRET_KEY = "oa-secret-key-from-webhook-settings"
APP_SECRET = "app-secret-key-from-app-settings"
CS_PATH = "/v3.0/oa/message/cs"
TOKEN_PATH = "/v4/oa/access_token"

#: Headers of the request being answered (the harness passes only path and body).
_request_headers: ContextVar[dict[str, str] | None] = ContextVar("request_headers", default=None)


class HeaderAwarePlatform(FakePlatform):
    """A FakePlatform whose responder can see the request headers (the access token)."""

    async def _handle(self, request: Request) -> Response:
        _request_headers.set(dict(request.headers))
        return await super()._handle(request)


class ZaloOAFake:
    """openapi.zalo.me + oauth.zaloapp.com: one valid token pair, single-use refresh."""

    def __init__(self, access: str = "access-0", refresh: str = "refresh-0") -> None:
        self.valid_access = access
        self.valid_refresh = refresh
        self.generation = 0
        self.refresh_calls = 0
        self.delivered: list[str] = []
        self.recipients: list[str] = []
        #: Reject every send as expired, even with a freshly issued token.
        self.reject_all_tokens = False
        #: Users the OA may not message now (answered with error -230).
        self.out_of_window: set[str] = set()

    def __call__(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        headers = _request_headers.get() or {}
        if path == CS_PATH:
            if self.reject_all_tokens:
                return 200, {"error": -220, "message": "access_token is expired or removed"}
            if headers.get("access_token") != self.valid_access:
                return 200, {"error": -216, "message": "Access token is invalid"}
            if body["recipient"]["user_id"] in self.out_of_window:
                return 200, {
                    "error": -230,
                    "message": "User has not interacted with the OA in the past 7 days",
                }
            self.delivered.append(body["message"]["text"])
            self.recipients.append(body["recipient"]["user_id"])
            user = body["recipient"]["user_id"]
            return 200, {
                "error": 0,
                "message": "Success",
                "data": {"message_id": f"msg{len(self.delivered)}", "user_id": user},
            }
        if path == TOKEN_PATH:
            self.refresh_calls += 1
            if headers.get("secret_key") != APP_SECRET or body.get("app_id") != APP_ID:
                return 200, {"error": -14014, "error_name": "Invalid app secret"}
            if body.get("grant_type") != "refresh_token":
                return 200, {"error": -14003, "error_name": "Invalid grant type"}
            if body.get("refresh_token") != self.valid_refresh:
                return 200, {"error": -14020, "error_name": "Invalid refresh token"}
            self.generation += 1
            self.valid_access = f"access-{self.generation}"
            self.valid_refresh = f"refresh-{self.generation}"
            return 200, {
                "access_token": self.valid_access,
                "refresh_token": self.valid_refresh,
                "expires_in": "90000",
            }
        return 404, {"error": 404, "message": "not found"}


def zalo_mac(raw: bytes, timestamp: str, secret: str = OA_SECRET_KEY) -> str:
    """The documented algorithm, written out independently of the adapter."""
    return hashlib.sha256(APP_ID.encode() + raw + timestamp.encode() + secret.encode()).hexdigest()


def oa_sign(raw: bytes) -> dict[str, str]:
    try:
        timestamp = str(json.loads(raw)["timestamp"])
    except (ValueError, KeyError, TypeError):
        timestamp = ""  # a malformed body: Zalo would still hash its bytes
    return {"X-ZEvent-Signature": f"mac={zalo_mac(raw, timestamp)}"}


def oa_body(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode()


def oa_text_event(msg_id: str, text: str, *, user: str = USER_ID) -> bytes:
    return oa_body(
        {
            "event_name": "user_send_text",
            "app_id": APP_ID,
            "sender": {"id": user},
            "recipient": {"id": OA_ID},
            "message": {"text": text, "msg_id": msg_id},
            "timestamp": "1699003881354",
            "user_id_by_app": "979122185046046317",
        }
    )


def oa_sticker_event(msg_id: str) -> bytes:
    return oa_body(
        {
            "event_name": "user_send_sticker",
            "app_id": APP_ID,
            "sender": {"id": USER_ID},
            "recipient": {"id": OA_ID},
            "message": {
                "msg_id": msg_id,
                "attachments": [
                    {
                        "type": "sticker",
                        "payload": {"id": "7c5a", "url": "https://zalo-api.zadn.vn/sticker"},
                    }
                ],
            },
            "timestamp": "1699003882000",
            "user_id_by_app": "979122185046046317",
        }
    )


def oa_follow_event(follower: str = USER_ID, event_name: str = "follow") -> bytes:
    return oa_body(
        {
            "app_id": APP_ID,
            "follower": {"id": follower},
            "oa_id": OA_ID,
            "event_name": event_name,
            "source": "oa_profile",
            "timestamp": "1699003890000",
            "user_id_by_app": "979122185046046317",
        }
    )
