"""What every channel adapter shares: events, messages, errors, splitting, rendering.

Adapters never import each other; they all speak these types. The engine never sees
any of them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import httpx

from bot.engine import texts
from bot.engine.model import Answer

#: Postback of the "Gặp cán bộ" button.
HANDOFF_PAYLOAD = "handoff"
#: Postback of the "Nhận thông báo" button (subscribe to announcements).
SUBSCRIBE_PAYLOAD = "subscribe"

#: ``echo``: a message the account itself sent, seen by its webhook (ours, or a person's
#: typed on the platform: the dispatcher tells them apart). ``officer``: not inbound at
#: all, an officer's reply queued through the inbox (``payload`` = its message tag).
#: ``announce``: not inbound either, one recipient of an announcement
#: (``bot.channels.announcements``). ``follow`` / ``unfollow``: a Zalo OA follower
#: came or left (subscribed to announcements / unsubscribed).
EventKind = Literal[
    "text",
    "button",
    "comment",
    "follow",
    "unfollow",
    "unsupported",
    "echo",
    "officer",
    "announce",
]


@dataclass(frozen=True)
class InboundEvent:
    """One platform event, normalised.

    ``event_key`` is the platform's id for idempotency (Telegram update_id, Zalo msg_id,
    Messenger mid, comment id); ``reply_target`` is where the answer goes (chat id, user
    id, PSID, comment id).
    """

    channel: str
    account_id: str
    event_key: str
    user_id: str
    reply_target: str
    kind: EventKind
    text: str = ""
    payload: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Button:
    """A reply button: opens a URL, or sends ``value`` back as a postback."""

    kind: Literal["url", "postback"]
    title: str
    value: str


@dataclass(frozen=True)
class OutboundMessage:
    """Channel-neutral reply: plain text plus optional buttons (rendered per channel)."""

    text: str
    buttons: tuple[Button, ...] = ()


class ChannelError(Exception):
    """Base of our own exception tree for platform calls."""


class PlatformRateLimited(ChannelError):
    """The platform said "too many requests" (429); retry after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PlatformUnavailable(ChannelError):
    """A network error or a 5xx: worth retrying with backoff."""


class DeliveryUncertain(PlatformUnavailable):
    """The request left, but its answer was lost (read timeout, dropped connection).

    The platform may have delivered the message: it is not sent again (see
    ``bot.channels.dispatch`` for the decision).
    """


#: Transport failures after the request was written: the platform may have acted on it.
_AFTER_SENDING = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError)


def transport_failure(exc: Exception, what: str) -> PlatformUnavailable:
    """Our exception for an httpx transport error: uncertain once the request has left.

    Only the exception's class name goes into the message: URLs can hold tokens.
    """
    if isinstance(exc, httpx.RemoteProtocolError) and "without sending a response" in str(exc):
        # A kept-alive connection the server had already closed as idle: it never read
        # the request (no byte of an answer came), so sending again cannot double it.
        return PlatformUnavailable(f"{what}: connection closed before an answer")
    if isinstance(exc, _AFTER_SENDING):
        return DeliveryUncertain(f"{what}: no answer ({type(exc).__name__})")
    return PlatformUnavailable(f"{what} unreachable ({type(exc).__name__})")


class PlatformRejected(ChannelError):
    """A 4xx or an application error: retrying would not help."""


class OutsideWindow(PlatformRejected):
    """The platform refused because its messaging window or quota for this recipient is
    closed (Zalo OA -213/-230/-232/-234..., Messenger code 10 subcode 2018278): the
    recipient could not have been reached now, which is not a failure of ours."""


class TokenExpired(ChannelError):
    """The access token is no longer valid (refresh it, then retry once)."""


class ChannelAdapter(Protocol):
    """One platform. ``verify`` and ``parse`` run in the webhook request; the rest later."""

    name: str
    text_limit: int

    def verify(self, headers: Mapping[str, str], raw: bytes) -> bool: ...

    def handshake(self, query: Mapping[str, str]) -> str | None: ...

    def parse(self, raw: bytes) -> list[InboundEvent]: ...

    def render(self, message: OutboundMessage) -> list[dict[str, Any]]: ...

    async def send(self, event: InboundEvent, parts: list[dict[str, Any]]) -> list[str]: ...


def nfc(text: str) -> str:
    """Platforms count characters of composed text; decomposed input inflates lengths."""
    return unicodedata.normalize("NFC", text)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (how Telegram counts)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(
    text: str, limit: int, *, max_parts: int = 5, measure: Callable[[str], int] = len
) -> list[str]:
    """Split on paragraph, line, sentence, then word boundaries; every part ≤ ``limit``.

    Past ``max_parts`` the rest is cut and the last part ends with "…" (the answer always
    carries the link to the full page).
    """
    text = nfc(text).strip()
    parts: list[str] = []
    while text:
        if measure(text) <= limit:
            parts.append(text)
            break
        cut = _best_cut(text, limit, measure)
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if len(parts) > max_parts:
        last = parts[max_parts - 1]
        while measure(last + " …") > limit:
            last = last[: max(1, len(last) - 20)]
        parts = [*parts[: max_parts - 1], last.rstrip() + " …"]
    return [p for p in parts if p]


def _best_cut(text: str, limit: int, measure: Callable[[str], int]) -> int:
    hi = limit
    while hi > 1 and measure(text[:hi]) > limit:
        hi -= max(1, (measure(text[:hi]) - limit) // 2 or 1)
    window = text[:hi]
    for separator in ("\n\n", "\n", ". ", " "):
        position = window.rfind(separator)
        if position > hi // 3:
            return position + len(separator)
    return hi


def answer_to_message(answer: Answer, *, feedback_id: str = "") -> OutboundMessage:
    """Buttons from an answer: numbered choices, the online service link, 👍/👎."""
    buttons: list[Button] = [
        Button("postback", f"{c.number}. {c.label}"[:60], f"choice:{c.list_id}:{c.number}")
        for c in answer.choices
    ]
    if answer.online_service:
        buttons.append(Button("url", "Mở dịch vụ công trực tuyến", answer.online_service["url"]))
    if feedback_id and answer.status == "answered":
        buttons += [
            Button("postback", "👍 Hữu ích", f"fb:{feedback_id}:up"),
            Button("postback", "👎 Chưa đúng", f"fb:{feedback_id}:down"),
        ]
    if answer.status == "smalltalk" and answer.text == texts.WELCOME:
        # The greeting (/start, "xin chào") offers the opt-in to announcements.
        buttons.append(Button("postback", texts.SUBSCRIBE_BUTTON, SUBSCRIBE_PAYLOAD))
    if feedback_id and answer.status == "no_answer" and not answer.handoff:
        # Where the platform has buttons, a person is one tap away ("handoff" payload).
        buttons.append(Button("postback", texts.HANDOFF_BUTTON, HANDOFF_PAYLOAD))
    return OutboundMessage(text=answer.text, buttons=tuple(buttons))


def buttons_as_text(message: OutboundMessage) -> str:
    """Platforms without buttons: choices stay as numbered lines, links inline."""
    lines = [message.text]
    for button in message.buttons:
        if button.kind == "url" and button.value not in message.text:
            lines.append(f"{button.title}: {button.value}")
    return "\n".join(lines)
