"""Zalo Bot Platform ("Zalo Bot Creator") adapter: a Telegram-like bot API.

Inbound: a webhook authenticated only by the shared secret registered with ``setWebhook``
(header ``X-Bot-Api-Secret-Token``). Outbound: ``POST /bot<TOKEN>/sendMessage`` with
``chat_id`` and ``text`` (1–2000 characters). No buttons exist, so they degrade to text.
The token is part of every URL: it never goes into our messages or logs. See
docs/channels.md §2b.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

import httpx

from bot import bounded_json
from bot.channels.base import (
    EventKind,
    InboundEvent,
    OutboundMessage,
    PlatformRateLimited,
    PlatformRejected,
    PlatformUnavailable,
    TokenExpired,
    buttons_as_text,
    split_text,
    transport_failure,
)

SECRET_HEADER = "X-Bot-Api-Secret-Token"
DEFAULT_API_BASE_URL = "https://bot-api.zaloplatforms.com"
TEXT_EVENT = "message.text.received"


class ZaloBotAdapter:
    """The Zalo Bot Platform channel: secret-header webhook in, ``sendMessage`` out."""

    name = "zalo-bot"
    text_limit = 2000

    def __init__(
        self,
        *,
        token: str,
        webhook_secret: str,
        client: httpx.AsyncClient,
        api_base_url: str = DEFAULT_API_BASE_URL,
    ) -> None:
        if not 8 <= len(webhook_secret) <= 256:
            # setWebhook refuses anything else, so such a secret can only be a config error.
            raise ValueError("the Zalo Bot webhook secret must be 8-256 characters")
        self._token = token
        self._webhook_secret = webhook_secret.encode()
        self._client = client
        self._api_base_url = api_base_url.rstrip("/")
        # The token is "{bot_id}:{access_token}"; only the public bot id names the account.
        self._account_id = token.partition(":")[0]

    # -- webhook -------------------------------------------------------------------------

    def verify(self, headers: Mapping[str, str], raw: bytes) -> bool:
        """The secret header must equal the secret given to ``setWebhook``."""
        got = _header(headers, SECRET_HEADER)
        if got is None:
            return False
        return hmac.compare_digest(self._webhook_secret, got.encode("utf-8", "replace"))

    def handshake(self, query: Mapping[str, str]) -> str | None:
        """No GET handshake on this platform."""
        return None

    def parse(self, raw: bytes) -> list[InboundEvent]:
        """One update → zero or one event; raises ValueError when malformed.

        Sources disagree on the envelope (a bare update or ``{"ok": true, "result": ...}``),
        so both are accepted.
        """
        body = bounded_json.loads(raw)
        if not isinstance(body, dict):
            raise ValueError("Zalo Bot webhook body is not a JSON object")
        update = body.get("result", body) if "result" in body else body
        if not isinstance(update, dict):
            raise ValueError("Zalo Bot update is not a JSON object")
        message = update.get("message")
        if message is None:
            return []  # not a message update: nothing to answer
        if not isinstance(message, dict):
            raise ValueError("Zalo Bot update has a malformed message")
        sender = _object(message, "from")
        if sender.get("is_bot") is True:
            return []  # another bot (or ourselves): answering could loop
        chat_id = _id(_object(message, "chat"), "id")
        event_name = update.get("event_name")
        text = message.get("text")
        kind: EventKind
        if event_name == TEXT_EVENT or (event_name is None and isinstance(text, str)):
            if not isinstance(text, str):
                raise ValueError("text message without a text")
            kind = "text"
        elif event_name is None or (
            isinstance(event_name, str) and event_name.startswith("message.")
        ):
            kind, text = "unsupported", ""  # image, sticker, voice, document...
        else:
            return []
        return [
            InboundEvent(
                channel=self.name,
                account_id=self._account_id,
                event_key=_id(message, "message_id"),
                user_id=_id(sender, "id"),
                reply_target=chat_id,
                kind=kind,
                text=text,
                raw=body,
            )
        ]

    # -- outbound ------------------------------------------------------------------------

    def render(self, message: OutboundMessage) -> list[dict[str, Any]]:
        """Plain text parts ≤ 2000 characters; buttons become numbered lines and links."""
        return [{"text": part} for part in split_text(buttons_as_text(message), self.text_limit)]

    async def send(self, event: InboundEvent, parts: list[dict[str, Any]]) -> list[str]:
        """``sendMessage`` per part; returns the platform's message ids."""
        return [await self._send_text(event.reply_target, str(part["text"])) for part in parts]

    async def _send_text(self, chat_id: str, text: str) -> str:
        url = f"{self._api_base_url}/bot{self._token}/sendMessage"
        try:
            response = await self._client.post(url, json={"chat_id": chat_id, "text": text})
        except httpx.TransportError as exc:
            # Only the class name in our message: the URL holds the token.
            raise transport_failure(exc, "Zalo Bot sendMessage") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {}
        status = response.status_code
        if 200 <= status < 300 and body.get("ok") is True:
            result = body.get("result")
            message_id = result.get("message_id") if isinstance(result, dict) else None
            return "" if message_id is None else str(message_id)
        code = body.get("error_code")
        if isinstance(code, bool) or not isinstance(code, int):
            code = status
        description = str(body.get("description", ""))[:200]
        raise _error_for(code, status, description, response)


def _error_for(
    code: int, status: int, description: str, response: httpx.Response
) -> PlatformRateLimited | PlatformUnavailable | PlatformRejected | TokenExpired:
    detail = f"Zalo Bot API error {code} (HTTP {status}): {description}"
    if code == 429 or status == 429:
        return PlatformRateLimited(detail, _retry_after(response))
    if code == 401 or status == 401:
        # Bot tokens do not refresh: the operator must paste a new one.
        return TokenExpired(detail)
    if code >= 500 or status >= 500:
        return PlatformUnavailable(detail)
    if 200 <= status < 300 and code == status:
        # HTTP 200 without "ok": true and without an error code: the outcome is unknown and a
        # retry could answer twice.
        return PlatformRejected(f"Zalo Bot API: unexpected response (HTTP {status})")
    return PlatformRejected(detail)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive lookup that also works for plain dicts."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None


def _object(container: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = container.get(key)
    if not isinstance(value, dict):
        raise ValueError(f"field {key!r} is missing or not an object")
    return value


def _id(container: Mapping[str, Any], key: str) -> str:
    value = container.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise ValueError(f"field {key!r} is missing or not an id")
    return str(value)


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("retry-after", "1")))
    except ValueError:
        return 1.0
