"""Facebook fanpage: Messenger Platform messages and comment auto-replies (Graph API).

One adapter serves both inbound sources of a page:

* ``entry[].messaging[]``: messages, quick-reply taps and postbacks; the reply goes to the
  sender's PSID through the Send API.
* ``entry[].changes[]`` with ``field == "feed"``: new comments on the page's posts; the reply
  is one private message (Messenger "private reply", one-shot per comment) followed by one
  short, non-personal public reply under the comment.

See docs/channels.md §3 for the payload shapes and limits this module relies on.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import httpx

from bot import bounded_json
from bot.channels.base import (
    Button,
    EventKind,
    InboundEvent,
    OutboundMessage,
    OutsideWindow,
    PlatformRateLimited,
    PlatformRejected,
    PlatformUnavailable,
    TokenExpired,
    split_text,
    transport_failure,
)

logger = logging.getLogger(__name__)
#: Put on every message we send: Messenger echoes it back (``message.metadata``), so our
#: own echoes are known even without the app id (a page admin's have none).
OUR_METADATA = "tthc-bot"

SIGNATURE_HEADER = "X-Hub-Signature-256"
#: Button template limits (send-messages/template/button).
TEMPLATE_TEXT_LIMIT = 640
MAX_TEMPLATE_BUTTONS = 3
BUTTON_TITLE_LIMIT = 20
POSTBACK_PAYLOAD_LIMIT = 1000
#: Text of the extra template message when the last chunk is too long to carry buttons.
BUTTONS_INTRO = "Bạn có thể:"
#: The public reply under a comment: short, generic, nothing personal (privacy).
DEFAULT_COMMENT_REPLY = "Trợ lý đã gửi tin nhắn riêng cho bạn."
#: Graph error codes meaning "throttled" (app, user, page and custom rate limits).
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613})
INVALID_TOKEN_CODE = 190
#: "(#10) This message is sent outside of allowed window." (code, error_subcode).
OUTSIDE_WINDOW = (10, 2018278)
#: Outcomes remembered per send step so a retry never sends the same thing twice.
_MEMORY_SIZE = 4096
_UNKNOWN = "?"


class MessengerAdapter:
    """Messenger + page comments over the Graph API, for one page."""

    name: str = "messenger"
    text_limit: int = 2000

    def __init__(
        self,
        *,
        page_id: str,
        page_access_token: str,
        app_secret: str,
        verify_token: str,
        client: httpx.AsyncClient,
        graph_base_url: str = "https://graph.facebook.com",
        graph_version: str = "v25.0",
        comment_reply_text: str = DEFAULT_COMMENT_REPLY,
        app_id: str = "",
    ) -> None:
        self._page_id = str(page_id)
        #: Our Meta app's id: echoes of our own sends carry it (``TTHC_MESSENGER_APP_ID``).
        self._app_id = str(app_id)
        self._token = page_access_token
        self._app_secret = app_secret
        self._verify_token = verify_token
        self._client = client
        self._graph = f"{graph_base_url.rstrip('/')}/{graph_version.strip('/')}"
        self._comment_reply_text = comment_reply_text
        # Step key -> platform id (or _UNKNOWN). The dispatcher retries a whole send(); this
        # makes a retry resume where the failed attempt stopped instead of repeating parts.
        self._done: OrderedDict[str, str] = OrderedDict()

    # ------------------------------------------------------------------ webhook side

    def handshake(self, query: Mapping[str, str]) -> str | None:
        """Meta's subscription check: echo ``hub.challenge`` when our verify token matches."""
        if query.get("hub.mode") != "subscribe" or not self._verify_token:
            return None
        given = query.get("hub.verify_token", "")
        if not hmac.compare_digest(given.encode(), self._verify_token.encode()):
            return None
        challenge = query.get("hub.challenge", "")
        return challenge or None

    def verify(self, headers: Mapping[str, str], raw: bytes) -> bool:
        """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>``."""
        if not self._app_secret:
            return False  # an empty key would let anyone compute a valid signature
        header = _header(headers, SIGNATURE_HEADER).strip()
        if not header.startswith("sha256="):
            return False
        expected = hmac.new(self._app_secret.encode(), raw, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), header[7:].lower().encode())

    def parse(self, raw: bytes) -> list[InboundEvent]:
        """Every messaging item and every new comment of every entry, in order."""
        body = _obj(bounded_json.loads(raw), "body")
        if body.get("object") != "page":
            raise ValueError("not a page webhook")
        entries = body.get("entry", [])
        if not isinstance(entries, list):
            raise TypeError("entry must be a list")
        events: list[InboundEvent] = []
        for entry in entries:
            entry = _obj(entry, "entry")
            entry_page = str(entry.get("id", self._page_id))
            if entry_page != self._page_id:
                # Another page of the same app: this adapter's token cannot answer it.
                logger.warning("messenger event for another page ignored")
                continue
            for item in _list(entry.get("messaging", [])):
                event = self._messaging_event(_obj(item, "messaging item"))
                if event is not None:
                    events.append(event)
            for change in _list(entry.get("changes", [])):
                event = self._comment_event(_obj(change, "change"))
                if event is not None:
                    events.append(event)
        return events

    def _messaging_event(self, item: dict[str, Any]) -> InboundEvent | None:
        sender = str(_obj(item["sender"], "sender")["id"])
        if sender == self._page_id:
            return self._echo_event(item)  # the page's own message: never answered
        if "message" in item:
            message = _obj(item["message"], "message")
            if message.get("is_echo"):
                return self._echo_event(item)
            mid = str(message["mid"])
            text = message.get("text")
            quick_reply = message.get("quick_reply")
            if isinstance(quick_reply, dict) and quick_reply.get("payload"):
                return self._event(
                    mid, sender, "button", str(text or ""), str(quick_reply["payload"]), item
                )
            if isinstance(text, str) and text.strip():
                return self._event(mid, sender, "text", text, "", item)
            # Stickers, images, audio, files, locations: answered with "please type".
            return self._event(mid, sender, "unsupported", "", "", item)
        if "postback" in item:
            postback = _obj(item["postback"], "postback")
            # Older deliveries have no postback.mid; sender + timestamp is still unique.
            key = str(postback.get("mid") or f"postback:{sender}:{item.get('timestamp', '')}")
            return self._event(
                key,
                sender,
                "button",
                str(postback.get("title", "")),
                str(postback.get("payload", "")),
                item,
            )
        return None  # delivery, read, reaction, referral...: nothing to answer

    def _echo_event(self, item: dict[str, Any]) -> InboundEvent | None:
        """A text the page sent (``message_echoes``): an echo whose ``app_id`` is ours is
        dropped here; any other (a page admin typing in the Page Inbox, or ours when our
        app id is not configured) goes on as an ``echo`` event, which the dispatcher
        checks against the replies it stored before a person is said to hold the chat."""
        message = item.get("message")
        if not isinstance(message, dict) or not message.get("is_echo"):
            return None
        if self._app_id and str(message.get("app_id", "")) == self._app_id:
            return None
        if message.get("metadata") == OUR_METADATA:
            return None  # marked by our own send (the echo returns the metadata)
        text = message.get("text")
        recipient = item.get("recipient")
        user = str(recipient.get("id", "")) if isinstance(recipient, dict) else ""
        if not isinstance(text, str) or not text.strip() or not user or "mid" not in message:
            return None
        return self._event(f"echo:{message['mid']}", user, "echo", text, "", item)

    def _comment_event(self, change: dict[str, Any]) -> InboundEvent | None:
        if change.get("field") != "feed":
            return None
        value = _obj(change.get("value", {}), "change value")
        if value.get("item") != "comment" or value.get("verb") != "add":
            return None  # posts, reactions, edits and removals are not questions
        comment_id = str(value["comment_id"])
        author = value.get("from")
        author_id = str(author.get("id", "")) if isinstance(author, dict) else ""
        if not author_id:
            # Without an author we cannot rule out the page itself, so answering could loop.
            logger.warning("page comment without an author ignored")
            return None
        if author_id == self._page_id:
            return None  # the page's own comment (our public reply): answering it would loop
        text = value.get("message")
        if not isinstance(text, str) or not text.strip():
            return None  # a sticker/photo-only comment: a public "please type" would be spam
        return InboundEvent(
            channel=self.name,
            account_id=self._page_id,
            event_key=comment_id,
            user_id=author_id,
            reply_target=comment_id,
            kind="comment",
            text=text,
            raw=change,
        )

    def _event(
        self,
        key: str,
        sender: str,
        kind: EventKind,
        text: str,
        payload: str,
        raw: dict[str, Any],
    ) -> InboundEvent:
        return InboundEvent(
            channel=self.name,
            account_id=self._page_id,
            event_key=key,
            user_id=sender,
            reply_target=sender,
            kind=kind,
            text=text,
            payload=payload,
            raw=raw,
        )

    # ------------------------------------------------------------------ sending side

    def render(self, message: OutboundMessage) -> list[dict[str, Any]]:
        """Send API ``message`` objects: text chunks, buttons (≤ 3) on the last one only."""
        kept, spilled = _partition_buttons(message)
        text = "\n".join([message.text, *spilled]) if spilled else message.text
        parts: list[dict[str, Any]] = [
            {"text": chunk} for chunk in split_text(text, self.text_limit)
        ]
        if not kept:
            return parts
        last = parts[-1]["text"] if parts else ""
        if last and len(last) <= TEMPLATE_TEXT_LIMIT:
            parts[-1] = _button_template(last, kept)
        else:
            # The template text is capped at 640: keep the chunk as text, buttons after it.
            parts.append(_button_template(BUTTONS_INTRO, kept))
        return parts

    async def send(self, event: InboundEvent, parts: list[dict[str, Any]]) -> list[str]:
        """Deliver ``parts``; returns the platform ids (message ids, comment id)."""
        if event.kind == "comment":
            return await self._reply_to_comment(event, parts)
        ids: list[str] = []
        for index, part in enumerate(parts):
            step = f"msg:{event.event_key}:{index}:{_digest(part)}"
            if step not in self._done:
                body: dict[str, Any] = {
                    "recipient": {"id": event.reply_target},
                    "messaging_type": "RESPONSE",
                    "message": {**part, "metadata": OUR_METADATA},
                }
                if event.kind == "announce":
                    # Proactive, inside the 24 h window (the sender skips the others).
                    body["messaging_type"] = "UPDATE"
                if event.kind == "officer" and event.payload:
                    # An officer's reply after the 24 h window: the HUMAN_AGENT tag (7 days).
                    body["messaging_type"], body["tag"] = "MESSAGE_TAG", event.payload
                data = await self._post(f"{self._page_id}/messages", body)
                self._remember(step, str(data.get("message_id", "")))
            if self._done[step]:
                ids.append(self._done[step])
        return ids

    async def _reply_to_comment(
        self, event: InboundEvent, parts: list[dict[str, Any]]
    ) -> list[str]:
        """One private reply first, then the public pointer to it.

        The private reply comes first so the public text ("sent you a message") is only
        posted when it is true. A private reply is one-shot per comment, so it is never
        sent twice, not even when its outcome is unknown.
        """
        comment_id = event.reply_target
        if not parts:
            return []
        private_step = f"private:{comment_id}"
        done = self._done.get(private_step)
        if done == _UNKNOWN:
            raise PlatformRejected("private reply outcome unknown earlier; not sent again")
        if done is None:
            body = {
                "recipient": {"comment_id": comment_id},
                "message": {"text": _private(parts), "metadata": OUR_METADATA},
            }
            try:
                data = await self._post(f"{self._page_id}/messages", body)
            except PlatformUnavailable as exc:
                if not isinstance(exc.__cause__, httpx.ConnectError | httpx.ConnectTimeout):
                    # It may have been delivered: retrying could break the one-shot rule.
                    self._remember(private_step, _UNKNOWN)
                    raise PlatformRejected("private reply outcome unknown; not retried") from exc
                raise
            done = str(data.get("message_id", ""))
            self._remember(private_step, done)
        ids = [done] if done else []
        public_step = f"public:{comment_id}"
        if public_step not in self._done:
            try:
                data = await self._post(
                    f"{comment_id}/comments", {"message": self._comment_reply_text}
                )
            except PlatformRejected as exc:
                # The answer already reached the person privately; the public pointer is a
                # courtesy, so a refusal (comment deleted, replies closed) is not a failure.
                logger.warning("public comment reply refused: %s", exc)
                self._remember(public_step, "")
            else:
                self._remember(public_step, str(data.get("id", "")))
        if self._done[public_step]:
            ids.append(self._done[public_step])
        return ids

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._client.post(
                f"{self._graph}/{path}", params={"access_token": self._token}, json=body
            )
        except httpx.RequestError as exc:
            # The exception text never carries the URL, which holds the access token.
            raise transport_failure(exc, "Graph API") from exc
        return _check(response)

    def _remember(self, step: str, value: str) -> None:
        self._done[step] = value
        self._done.move_to_end(step)
        while len(self._done) > _MEMORY_SIZE:
            self._done.popitem(last=False)


def _check(response: httpx.Response) -> dict[str, Any]:
    """The JSON body of a success, or our exception for a Graph error envelope."""
    try:
        data = response.json()
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    error = data.get("error")
    status = response.status_code
    if status < 300 and not isinstance(error, dict):
        return data
    error = error if isinstance(error, dict) else {}
    code = _int(error.get("code"))
    detail = (
        f"Graph API HTTP {status}, code {code}, subcode {_int(error.get('error_subcode'))},"
        f" type {error.get('type', '')}, fbtrace_id {error.get('fbtrace_id', '')}:"
        f" {str(error.get('message', ''))[:200]}"
    )
    if status == 429 or code in RATE_LIMIT_CODES:
        raise PlatformRateLimited(detail, retry_after=_retry_after(response))
    if code == INVALID_TOKEN_CODE:
        raise TokenExpired(detail)
    if status >= 500:
        raise PlatformUnavailable(detail)
    if code == OUTSIDE_WINDOW[0] and _int(error.get("error_subcode")) == OUTSIDE_WINDOW[1]:
        raise OutsideWindow(detail)
    raise PlatformRejected(detail)


def _partition_buttons(message: OutboundMessage) -> tuple[list[Button], list[str]]:
    """The (≤ 3) buttons the template carries, in their order, and the others as text lines.

    Link buttons are kept first: a link is what a private reply (text only) must still
    carry, and numbered choices are already written in the answer text. A spilled URL
    becomes a plain link (Messenger links it); a spilled numbered choice becomes its title,
    since typing the number does what the button would (the dispatcher answers "choice:N"
    as the text "N"). Other postbacks cannot be typed and are dropped.
    """
    usable = [
        i
        for i, b in enumerate(message.buttons)
        if b.kind == "url" or len(b.value) <= POSTBACK_PAYLOAD_LIMIT
    ]
    ranked = sorted(usable, key=lambda i: message.buttons[i].kind != "url")
    chosen = set(ranked[:MAX_TEMPLATE_BUTTONS])
    kept: list[Button] = []
    lines: list[str] = []
    for index, button in enumerate(message.buttons):
        if index in chosen:
            kept.append(button)
        elif button.kind == "url":
            if button.value not in message.text:
                lines.append(f"{button.title}: {button.value}")
        elif button.value.startswith("choice:") and button.title not in message.text:
            lines.append(button.title)
    return kept, lines


def _button_template(text: str, buttons: list[Button]) -> dict[str, Any]:
    rendered: list[dict[str, str]] = []
    for button in buttons:
        title = _short(button.title)
        if button.kind == "url":
            rendered.append({"type": "web_url", "url": button.value, "title": title})
        else:
            rendered.append({"type": "postback", "title": title, "payload": button.value})
    return {
        "attachment": {
            "type": "template",
            "payload": {"template_type": "button", "text": text, "buttons": rendered},
        }
    }


def _private(parts: list[dict[str, Any]]) -> str:
    """The one text a private reply may carry: the first chunk plus every link button."""
    texts = [_part_text(part) for part in parts]
    first = next((t for t in texts if t and t != BUTTONS_INTRO), "")
    links = [url for part in parts for url in _template_urls(part) if url not in first]
    if not links:
        return first
    tail = "\n".join(links)
    room = 2000 - len(tail) - 1
    if len(first) > room:
        first = split_text(first, max(room, 1), max_parts=1)[0] if room > 0 else ""
    return f"{first}\n{tail}" if first else tail


def _part_text(part: Mapping[str, Any]) -> str:
    if isinstance(part.get("text"), str):
        return str(part["text"])
    payload = part.get("attachment", {}).get("payload", {})
    return str(payload.get("text", "")) if isinstance(payload, dict) else ""


def _template_urls(part: Mapping[str, Any]) -> list[str]:
    payload = part.get("attachment", {}).get("payload", {})
    buttons = payload.get("buttons", []) if isinstance(payload, dict) else []
    return [str(b["url"]) for b in buttons if isinstance(b, dict) and b.get("type") == "web_url"]


def _short(title: str) -> str:
    """Messenger cuts button titles at 20 characters; cut them ourselves, visibly."""
    return title if len(title) <= BUTTON_TITLE_LIMIT else title[: BUTTON_TITLE_LIMIT - 1] + "…"


def _digest(part: Mapping[str, Any]) -> str:
    encoded = json.dumps(part, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return 1.0


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _header(headers: Mapping[str, str], name: str) -> str:
    """Case-insensitive lookup that also works on a plain dict."""
    value = headers.get(name)
    if value is None:
        wanted = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == wanted), "")
    return value


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"{what} must be an object")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError("expected a list")
    return value
