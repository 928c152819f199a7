"""Zalo Official Account (OA) Open API v3 adapter.

Inbound: the OA webhook (``X-ZEvent-Signature`` = SHA-256 of app id + raw body + body
timestamp + OA secret key). Outbound: customer-service ("tư vấn") text messages through
``POST /v3.0/oa/message/cs`` with the OA access token in a header named ``access_token``.
Access tokens last about 25 h and refresh tokens are single-use, so a rejected token is
refreshed once, under a lock, and the new pair is stored before anything else uses it.
See docs/channels.md §2a.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from itertools import islice
from typing import Any, Protocol

import httpx

from bot import bounded_json
from bot.channels.base import (
    EventKind,
    InboundEvent,
    OutboundMessage,
    OutsideWindow,
    PlatformRateLimited,
    PlatformRejected,
    PlatformUnavailable,
    TokenExpired,
    buttons_as_text,
    split_text,
    transport_failure,
)

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-ZEvent-Signature"
DEFAULT_API_BASE_URL = "https://openapi.zalo.me"
DEFAULT_OAUTH_BASE_URL = "https://oauth.zaloapp.com"
SEND_PATH = "/v3.0/oa/message/cs"
REFRESH_PATH = "/v4/oa/access_token"

#: User messages we cannot read; the user is asked to type instead.
UNSUPPORTED_EVENTS = frozenset(
    {
        "user_send_image",
        "user_send_gif",
        "user_send_link",
        "user_send_audio",
        "user_send_video",
        "user_send_sticker",
        "user_send_location",
        "user_send_file",
        "user_send_business_card",
    }
)
#: "Access token is invalid" / "access_token is expired or removed": refresh, retry once.
TOKEN_ERRORS = frozenset({-216, -220})
#: "Your application reached limit call api": back off and retry.
THROTTLE_ERRORS = frozenset({-32})
#: Listed as retryable by the Chatwoot-fork client (channels.md §4.3; meaning unconfirmed).
TRANSIENT_ERRORS = frozenset({-100})
#: The recipient is out of reach now (channels.md "Windows, quotas and errors", the
#: Chatwoot-fork ``WINDOW_CODES``): not following, blocked, inactive, no interaction in
#: 7 days, expired interaction, night curfew 22h-6h, message type restricted; and the
#: OA's message quota used up (-211, -218).
WINDOW_ERRORS = frozenset({-211, -213, -217, -218, -227, -230, -232, -234, -244})
# ``"timestamp": "<string>"`` or ``"timestamp": <number>`` anywhere in a webhook body.
_TIMESTAMP_FIELD = re.compile(rb'"timestamp"\s*:\s*("(?:[^"\\]|\\[\s\S])*"|[-+0-9.eE]+)')
_MAX_TIMESTAMPS = 4
#: Zalo's throttle counts calls per minute (secondary sources), so a 1 s pause would
#: probably hit it again; the reply job is retried after this many seconds.
THROTTLE_RETRY_AFTER = 5.0


class TokenStore(Protocol):
    """Where the OA access/refresh token pair lives.

    ``refresh_lock`` serialises refreshes: the refresh token is single-use, so two callers
    refreshing at once would spend it twice and the second would fail. A store shared by
    several processes should return a cross-process lock (a DB row lock, a Redis lock).
    """

    async def get(self) -> tuple[str, str]:
        """The current ``(access_token, refresh_token)``."""
        ...

    async def save(self, access: str, refresh: str) -> None:
        """Store a new pair, both tokens together."""
        ...

    def refresh_lock(self) -> AbstractAsyncContextManager[Any]:
        """Held while a refresh runs; the pair is re-read after acquiring it."""
        ...


class InMemoryTokenStore:
    """One process's token pair (tests, single-worker deployments)."""

    def __init__(self, access: str, refresh: str) -> None:
        self._access = access
        self._refresh = refresh
        self._lock = asyncio.Lock()

    async def get(self) -> tuple[str, str]:
        """The current pair."""
        return self._access, self._refresh

    async def save(self, access: str, refresh: str) -> None:
        """Replace the pair."""
        self._access, self._refresh = access, refresh

    def refresh_lock(self) -> asyncio.Lock:
        """An asyncio lock: enough while a single event loop owns the tokens."""
        return self._lock


def compute_signature(app_id: str, raw: bytes, timestamp: str, oa_secret_key: str) -> str:
    """Lowercase hex SHA-256 of ``app_id + raw body + timestamp + OA secret key``.

    A plain hash of the concatenation, not an HMAC (Zalo's ``MacUtils.buildMac``).
    """
    data = app_id.encode() + raw + timestamp.encode() + oa_secret_key.encode()
    return hashlib.sha256(data).hexdigest()


class ZaloOAAdapter:
    """The Zalo OA channel: webhook in, customer-service text messages out."""

    name = "zalo-oa"
    text_limit = 2000

    def __init__(
        self,
        *,
        app_id: str,
        oa_secret_key: str,
        app_secret: str,
        token_store: TokenStore,
        client: httpx.AsyncClient,
        api_base_url: str = DEFAULT_API_BASE_URL,
        oauth_base_url: str = DEFAULT_OAUTH_BASE_URL,
        oa_id: str = "",
    ) -> None:
        self._app_id = app_id
        self._oa_secret_key = oa_secret_key
        self._app_secret = app_secret
        self._tokens = token_store
        self._client = client
        self._api_base_url = api_base_url.rstrip("/")
        self._oauth_base_url = oauth_base_url.rstrip("/")
        self._oa_id = oa_id

    # -- webhook -------------------------------------------------------------------------

    def verify(self, headers: Mapping[str, str], raw: bytes) -> bool:
        """Check ``X-ZEvent-Signature`` (with or without the ``mac=`` prefix)."""
        if not self._app_id or not self._oa_secret_key:
            return False  # an empty secret would make the hash computable by anyone
        header = _header(headers, SIGNATURE_HEADER)
        if not header:
            return False
        got = header.strip()
        if got[:4].lower() == "mac=":
            got = got[4:].strip()
        received = got.lower().encode("utf-8", "replace")
        matches = [
            hmac.compare_digest(
                compute_signature(self._app_id, raw, timestamp, self._oa_secret_key).encode(),
                received,
            )
            for timestamp in _body_timestamps(raw)
        ]
        return any(matches)

    def handshake(self, query: Mapping[str, str]) -> str | None:
        """Zalo has no GET handshake (the domain is verified in the developer console)."""
        return None

    def parse(self, raw: bytes) -> list[InboundEvent]:
        """One webhook body → zero or one event; raises ValueError when malformed."""
        body = bounded_json.loads(raw)
        if not isinstance(body, dict):
            raise ValueError("Zalo OA webhook body is not a JSON object")
        event_name = body.get("event_name")
        if not isinstance(event_name, str) or not event_name:
            raise ValueError("Zalo OA webhook body has no event_name")
        if event_name == "oa_send_text":
            return self._echo_event(body)
        if event_name.startswith("oa_"):
            return []  # other echoes of the OA's sends: nothing to answer, nothing to learn
        if event_name == "user_send_text":
            message = _object(body, "message")
            text = message.get("text")
            if not isinstance(text, str):
                raise ValueError("user_send_text without a text")
            return [self._user_event(body, message, "text", text)]
        if event_name in UNSUPPORTED_EVENTS:
            return [self._user_event(body, _object(body, "message"), "unsupported", "")]
        if event_name in ("follow", "unfollow"):
            # Following opts in to announcements; unfollowing withdraws it.
            follower = _id(_object(body, "follower"), "id")
            timestamp = str(body.get("timestamp", ""))
            return [
                InboundEvent(
                    channel=self.name,
                    account_id=_optional_id(body.get("oa_id")) or self._oa_id,
                    event_key=f"{event_name}:{follower}:{timestamp}",
                    user_id=follower,
                    reply_target=follower,
                    kind="follow" if event_name == "follow" else "unfollow",
                    raw=body,
                )
            ]
        # delivery/seen receipts, anonymous chats, anything new: nothing to say.
        return []

    def _echo_event(self, body: dict[str, Any]) -> list[InboundEvent]:
        """A text the OA sent: ours (the dispatcher finds it among our stored replies) or
        typed by a staff member in the OA console, which puts the conversation in a
        person's hands. Never answered either way."""
        message = _object(body, "message")
        text = message.get("text")
        user = _optional_id(_object(body, "recipient").get("id"))
        if not isinstance(text, str) or not user:
            return []
        sender = body.get("sender")
        account = _optional_id(sender.get("id")) if isinstance(sender, dict) else ""
        return [
            InboundEvent(
                channel=self.name,
                account_id=account or self._oa_id,
                event_key=f"echo:{_id(message, 'msg_id')}",
                user_id=user,
                reply_target=user,
                kind="echo",
                text=text,
            )
        ]

    def _user_event(
        self, body: dict[str, Any], message: dict[str, Any], kind: EventKind, text: str
    ) -> InboundEvent:
        sender = _id(_object(body, "sender"), "id")
        recipient = body.get("recipient")
        account = _optional_id(recipient.get("id")) if isinstance(recipient, dict) else ""
        return InboundEvent(
            channel=self.name,
            account_id=account or self._oa_id,
            event_key=_id(message, "msg_id"),
            user_id=sender,
            reply_target=sender,
            kind=kind,
            text=text,
            raw=body,
        )

    # -- outbound ------------------------------------------------------------------------

    def render(self, message: OutboundMessage) -> list[dict[str, Any]]:
        """Plain text parts ≤ 2000 characters; buttons become numbered lines and links."""
        return [{"text": part} for part in split_text(buttons_as_text(message), self.text_limit)]

    async def send(self, event: InboundEvent, parts: list[dict[str, Any]]) -> list[str]:
        """Send each part as a cs message to the user; returns Zalo's message ids."""
        return [await self._send_text(event.reply_target, str(part["text"])) for part in parts]

    async def _send_text(self, user_id: str, text: str) -> str:
        access, _ = await self._tokens.get()
        try:
            return await self._post_cs(access, user_id, text)
        except TokenExpired:
            logger.info("Zalo OA access token rejected; refreshing it")
            access = await self._fresh_access(stale=access)
        # A second rejection right after a refresh propagates: retrying cannot fix it.
        return await self._post_cs(access, user_id, text)

    async def _post_cs(self, access: str, user_id: str, text: str) -> str:
        payload = {"recipient": {"user_id": user_id}, "message": {"text": text}}
        try:
            response = await self._client.post(
                self._api_base_url + SEND_PATH, json=payload, headers={"access_token": access}
            )
        except httpx.TransportError as exc:
            raise transport_failure(exc, "Zalo OA send") from exc
        _raise_for_http_status(response, "Zalo OA send")
        body = _json_object(response, "Zalo OA send")
        code = _error_code(body)
        if code == 0:
            data = body.get("data")
            message_id = data.get("message_id") if isinstance(data, dict) else None
            return "" if message_id is None else str(message_id)
        raise _error_for_code(code, str(body.get("message", "")))

    async def _fresh_access(self, *, stale: str) -> str:
        """A valid access token, refreshing at most once however many callers wait."""
        async with self._tokens.refresh_lock():
            access, refresh = await self._tokens.get()
            if access != stale:
                return access  # another caller refreshed while we waited for the lock
            access, refresh = await self._refresh(refresh)
            await self._tokens.save(access, refresh)
            logger.info("Zalo OA access token refreshed")
            return access

    async def _refresh(self, refresh_token: str) -> tuple[str, str]:
        try:
            response = await self._client.post(
                self._oauth_base_url + REFRESH_PATH,
                data={
                    "refresh_token": refresh_token,
                    "app_id": self._app_id,
                    "grant_type": "refresh_token",
                },
                headers={"secret_key": self._app_secret},
            )
        except httpx.TransportError as exc:
            raise PlatformUnavailable(f"Zalo OAuth unreachable ({type(exc).__name__})") from exc
        status = response.status_code
        if status == 429:
            raise PlatformRateLimited("Zalo OAuth: HTTP 429", _retry_after(response))
        if status >= 500:
            raise PlatformUnavailable(f"Zalo OAuth: HTTP {status}")
        body = _json_object(response, "Zalo OAuth")
        access, refresh = body.get("access_token"), body.get("refresh_token")
        if status >= 400 or not isinstance(access, str) or not isinstance(refresh, str):
            # Usually a spent or expired refresh token: only re-authorising the OA helps.
            raise TokenExpired(
                f"Zalo OA token refresh failed (HTTP {status}, error {body.get('error')!r}); "
                "re-authorise the OA"
            )
        if not access or not refresh:
            raise TokenExpired("Zalo OA token refresh returned an empty token")
        return access, refresh


# -- helpers -------------------------------------------------------------------------------


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


def _body_timestamps(raw: bytes) -> list[str]:
    """The body's ``timestamp`` values as sent (normally one), found without parsing it.

    The signature is checked before any JSON parsing, so ``[`` ×100,000 costs a regex
    scan, not a ``RecursionError``. The top-level field is one of the few ``"timestamp"``
    keys tried; trying a nested one too gives a forger nothing, since every candidate
    hash still needs the OA secret key. "" is tried last: Zalo hashes a body without a
    top-level timestamp with "" (a signed but malformed body then reaches ``parse`` → 400).
    """
    values = [
        text
        for match in islice(_TIMESTAMP_FIELD.finditer(raw), _MAX_TIMESTAMPS)
        if (text := _json_scalar_text(match.group(1))) is not None
    ]
    return [*values, ""]


def _json_scalar_text(token: bytes) -> str | None:
    """A number's text as sent, or a string literal's decoded value."""
    if not token.startswith(b'"'):
        return token.decode("ascii")
    try:
        value = json.loads(token)  # a single string literal: nothing nested, no numbers
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def _object(container: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = container.get(key)
    if not isinstance(value, dict):
        raise ValueError(f"field {key!r} is missing or not an object")
    return value


def _optional_id(value: Any) -> str:
    """Ids are strings; numbers are accepted (exact in Python) and turned into strings."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return str(value)


def _id(container: Mapping[str, Any], key: str) -> str:
    value = _optional_id(container.get(key))
    if not value:
        raise ValueError(f"field {key!r} is missing or not an id")
    return value


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("retry-after", "1")))
    except ValueError:
        return 1.0


def _raise_for_http_status(response: httpx.Response, what: str) -> None:
    status = response.status_code
    if status == 429:
        raise PlatformRateLimited(f"{what}: HTTP 429", _retry_after(response))
    if status == 401:
        raise TokenExpired(f"{what}: HTTP 401")
    if status >= 500:
        raise PlatformUnavailable(f"{what}: HTTP {status}")
    if status >= 400:
        raise PlatformRejected(f"{what}: HTTP {status}")


def _json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        # The request may have gone through; retrying could answer the user twice.
        raise PlatformRejected(f"{what}: response is not JSON") from exc
    if not isinstance(body, dict):
        raise PlatformRejected(f"{what}: response is not a JSON object")
    return body


def _error_code(body: Mapping[str, Any]) -> int | None:
    value = body.get("error")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def _error_for_code(
    code: int | None, message: str
) -> PlatformRateLimited | PlatformUnavailable | PlatformRejected | TokenExpired:
    """Zalo answers HTTP 200 on failures; the body's ``error`` decides what to do."""
    detail = f"Zalo OA error {code}: {message[:200]}"
    if code in TOKEN_ERRORS:
        return TokenExpired(detail)
    if code in THROTTLE_ERRORS:
        return PlatformRateLimited(detail, THROTTLE_RETRY_AFTER)
    if code in TRANSIENT_ERRORS:
        return PlatformUnavailable(detail)
    if code in WINDOW_ERRORS:
        return OutsideWindow(detail)
    # Validation (-201...) and anything unknown: a retry within seconds cannot succeed.
    return PlatformRejected(detail)
