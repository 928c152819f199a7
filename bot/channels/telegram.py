"""Telegram through python-telegram-bot (PTB) 22.8, in webhook mode.

The webhook route (``bot.channels.routes``) checks the secret header and parses updates
here. Later the dispatcher renders and sends through PTB's ``Bot``, so PTB's request
layer, rate limiter and error types do the Bot API work. PTB's own update processing
(handlers, ``Updater``) is not used: our ``Dispatcher`` is the one place where events are
claimed and answered, for every channel alike.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import logging
import re
import warnings
from collections import OrderedDict
from collections.abc import Awaitable, Mapping
from datetime import timedelta
from typing import Any, TypeVar

import httpx
from telegram import Chat, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import AIORateLimiter, Application, ExtBot
from telegram.request import HTTPXRequest

from bot import bounded_json
from bot.channels import inflight
from bot.channels.base import (
    Button,
    ChannelError,
    EventKind,
    InboundEvent,
    OutboundMessage,
    PlatformRateLimited,
    PlatformRejected,
    PlatformUnavailable,
    split_text,
    transport_failure,
    utf16_len,
)
from bot.channels.telegram_addressing import COMMAND, addressed_text

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: The only update kinds we answer; Telegram then does not deliver the others.
ALLOWED_UPDATES = ("message", "callback_query")
#: Bot API limit on ``callback_data``, counted in UTF-8 bytes.
MAX_CALLBACK_DATA_BYTES = 64
#: Key that ``send`` adds to a rendered part once Telegram accepted it (see ``send``).
SENT_KEY = "sent_message_id"

# Telegram only accepts secret tokens of this shape (setWebhook docs).
_SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,256}")
# Commands the engine understands, under the name it expects. /help greets like /start.
_COMMANDS = {
    "start": "/start",
    "help": "/start",
    "human": "/human",
    "subscribe": "/subscribe",
    "unsubscribe": "/unsubscribe",
}
# Deep-link payloads ("/start ref123") are not questions: drop them for these.
_COMMANDS_WITHOUT_ARGS = frozenset({"start", "help", "human"})
# Telegram rejects a message without text, even when it only carries a keyboard.
_KEYBOARD_ONLY_TEXT = "👇"
# How many answered callback query ids to remember (to answer each one once).
_ANSWERED_MEMORY = 1024


class TelegramAdapter:
    """The Telegram channel: webhook verification, parsing, HTML rendering, sending via PTB.

    Call ``await start()`` once before sending (it runs PTB's ``initialize``, which asks
    the Bot API ``getMe``) and ``await stop()`` at shutdown; ``send`` starts the adapter
    lazily if the owner forgot.
    """

    name = "telegram"
    text_limit = 4096

    def __init__(
        self,
        *,
        token: str,
        webhook_secret: str,
        api_base_url: str = DEFAULT_API_BASE_URL,
        transport: httpx.AsyncBaseTransport | None = None,
        rate_limit: bool = True,
        username: str = "",
    ) -> None:
        """Build the PTB ``Application`` (no network yet).

        ``api_base_url`` is PTB's ``base_url``: the token and the method name are appended
        to it. ``transport`` replaces httpx's network transport (tests). ``rate_limit``
        adds PTB's ``AIORateLimiter`` so bursts stay under Telegram's flood limits.
        ``username`` (the bot's @name, "@" optional) lets group messages that mention it
        be answered; without it the name ``getMe`` returned is used once started.
        """
        bot_id, colon, _ = token.partition(":")
        if not (colon and bot_id.isdigit()):
            # Never echo the token itself: error messages end up in logs.
            raise ValueError("a Telegram bot token looks like '<bot id>:<secret>'")
        if not _SECRET_SHAPE.fullmatch(webhook_secret):
            raise ValueError("webhook_secret must be 1-256 characters of A-Z a-z 0-9 _ -")
        # httpx logs every request URL at INFO, and Telegram URLs contain the token.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self._bot_id = bot_id
        self._username = username.strip().lstrip("@")
        self._secret = webhook_secret
        self._started = False
        self._lifecycle = asyncio.Lock()
        self._answered: OrderedDict[str, None] = OrderedDict()
        builder: Any = (
            Application.builder()
            .token(token)
            .base_url(api_base_url)
            .request(_http_request(transport))
            .get_updates_request(_http_request(transport))
            .updater(None)
        )
        if rate_limit:
            # No retries inside PTB: the reply job's retry (bot.channels.jobs) waits out a 429
            # once, and PTB retrying too would double the wait and hide it.
            builder = builder.rate_limiter(AIORateLimiter(max_retries=0))
        self._app: Application[ExtBot[Any], Any, Any, Any, Any, Any] = builder.build()

    @property
    def application(self) -> Application[ExtBot[Any], Any, Any, Any, Any, Any]:
        """The PTB application (e.g. for polling in local development)."""
        return self._app

    @property
    def account_id(self) -> str:
        """The bot's numeric id, taken from the token (no ``getMe`` needed)."""
        return self._bot_id

    @property
    def username(self) -> str:
        """The bot's @username without "@": the setting, else ``getMe``'s once started."""
        if self._username or not self._started:
            return self._username
        return self._app.bot.username or ""

    async def learn_username(self) -> None:
        """At start-up, when no username is configured: one ``getMe`` (PTB's initialize)
        so that mentions in groups are recognised; a failure only costs mentions."""
        if self._username:
            return
        try:
            await self.start()
        except ChannelError as exc:
            logger.warning(
                "Telegram getMe failed (%s): @mentions in groups are not recognised until "
                "the first reply succeeds; set TELEGRAM_BOT_USERNAME to avoid this",
                type(exc).__name__,
            )

    # -- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Initialise PTB: open the HTTP clients and check the token with ``getMe``."""
        async with self._lifecycle:
            if self._started:
                return
            try:
                await self._app.initialize()
            except InvalidToken:
                await self._app.bot.shutdown()
                # ``from None``: PTB's message for this case quotes the whole token.
                raise PlatformRejected("Telegram rejected the bot token") from None
            except TelegramError as exc:
                await self._app.bot.shutdown()
                raise _translate(exc, "getMe") from exc
            self._started = True

    async def stop(self) -> None:
        """Close PTB's HTTP clients."""
        async with self._lifecycle:
            if not self._started:
                return
            await self._app.shutdown()
            self._started = False

    async def __aenter__(self) -> TelegramAdapter:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- inbound ----------------------------------------------------------------------

    def verify(self, headers: Mapping[str, str], raw: bytes) -> bool:
        """The secret header set with ``setWebhook`` must match (constant-time compare)."""
        received = _header(headers, SECRET_HEADER)
        if received is None:
            return False
        # Bytes, because compare_digest refuses non-ASCII str (a forged header may be).
        return hmac.compare_digest(received.encode(), self._secret.encode())

    def handshake(self, query: Mapping[str, str]) -> str | None:
        """Telegram has no GET verification handshake."""
        return None

    def parse(self, raw: bytes) -> list[InboundEvent]:
        """One update → at most one event; kinds we do not answer give none.

        Raises ``ValueError`` (``JSONRejected``) only when the body is not acceptable
        JSON. A signed body that is JSON but not a usable update (no ``chat``, wrong
        types, ...) gives no event: Telegram redelivers anything but a 2xx for ever.
        In groups only what is addressed to the bot gives an event (see
        :mod:`bot.channels.telegram_addressing`).
        """
        data = bounded_json.loads(raw)
        try:
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not a Telegram update")
            update = Update.de_json(data, self._app.bot)
            if update.callback_query is not None:
                return [self._button_event(update, data)]
            if update.message is not None:
                event = self._message_event(update, update.message, data)
                return [event] if event is not None else []
        except Exception as exc:
            # Type only: PTB's messages can quote the update, i.e. the citizen's text.
            logger.warning("Telegram update of unexpected shape ignored (%s)", type(exc).__name__)
        return []  # edited messages, polls, ...: not subscribed to, nothing to answer

    def _button_event(self, update: Update, data: Mapping[str, Any]) -> InboundEvent:
        query = update.callback_query
        assert query is not None  # checked by the caller
        # The message is missing for buttons under inline-mode messages; in a private
        # chat the chat id equals the user id, so answer there.
        chat_id = query.message.chat.id if query.message is not None else query.from_user.id
        return InboundEvent(
            channel=self.name,
            account_id=self._bot_id,
            event_key=str(update.update_id),
            user_id=str(query.from_user.id),
            reply_target=str(chat_id),
            # A game button has no callback data: nothing we can act on.
            kind="button" if query.data else "unsupported",
            payload=query.data or "",
            raw=data,
        )

    def _message_event(
        self, update: Update, message: Message, data: Mapping[str, Any]
    ) -> InboundEvent | None:
        kind: EventKind
        if message.text is not None:
            kind = "text"
            text = message.text
        elif message.effective_attachment is not None:
            kind, text = "unsupported", ""  # sticker, photo, voice, document, ...
        else:
            return None  # service messages (joins, pins, ...) must not get replies
        if message.chat.type != Chat.PRIVATE:
            # In a group only what is addressed to us is answered ("ok", "haha" are not).
            addressed = addressed_text(
                message, bot_id=int(self._bot_id), username=self.username, commands=_COMMANDS
            )
            if addressed is None:
                return None
            text = addressed if kind == "text" else ""
        if kind == "text":
            text = _normalise_command(text)
        sender = message.from_user
        return InboundEvent(
            channel=self.name,
            account_id=self._bot_id,
            event_key=str(update.update_id),
            user_id=str(sender.id if sender is not None else message.chat.id),
            reply_target=str(message.chat.id),
            kind=kind,
            text=text,
            raw=data,
        )

    # -- outbound ---------------------------------------------------------------------

    def render(self, message: OutboundMessage) -> list[dict[str, Any]]:
        """Bot API ``sendMessage`` fields per part: HTML text, keyboard on the last part.

        The text is split before escaping: Telegram counts the limit after entity
        parsing, so "&amp;" costs one character, and a cut can never land inside an
        entity.
        """
        texts = split_text(message.text, self.text_limit, measure=utf16_len)
        keyboard = _keyboard(message.buttons)
        if not texts and keyboard:
            texts = [_KEYBOARD_ONLY_TEXT]
        parts: list[dict[str, Any]] = [
            {"text": html.escape(text, quote=False), "parse_mode": ParseMode.HTML.value}
            for text in texts
        ]
        if parts and keyboard:
            parts[-1]["reply_markup"] = {"inline_keyboard": keyboard}
        return parts

    async def send(self, event: InboundEvent, parts: list[dict[str, Any]]) -> list[str]:
        """Answer a button press first, then send each part; returns Telegram message ids.

        Resumable: each accepted part is marked with ``SENT_KEY``, so when the
        dispatcher retries the same ``parts`` after a failure on part 3, parts 1-2 are
        not sent twice.
        """
        await self.start()
        if event.kind in ("button", "unsupported") and "callback_query" in event.raw:
            await self._answer_callback(event)
        ids: list[str] = []
        for part in parts:
            if SENT_KEY not in part:
                sent = await _guarded(self._send_part(event.reply_target, part), "sendMessage")
                part[SENT_KEY] = str(sent.message_id)
            ids.append(str(part[SENT_KEY]))
        return ids

    async def _send_part(self, chat_id: str, part: Mapping[str, Any]) -> Message:
        markup = part.get("reply_markup")
        return await self._app.bot.send_message(
            chat_id=chat_id,
            text=part["text"],
            parse_mode=part.get("parse_mode", ParseMode.HTML.value),
            reply_markup=InlineKeyboardMarkup.de_json(markup) if markup else None,
        )

    async def _answer_callback(self, event: InboundEvent) -> None:
        """Stop the client's progress bar; once per query, and never fatal for the reply."""
        query_id = str(event.raw["callback_query"].get("id", ""))
        if not query_id or query_id in self._answered:
            return
        # Remember before calling: a retried send must not answer again (Telegram
        # rejects a second answer), whatever happened to the first one.
        self._answered[query_id] = None
        while len(self._answered) > _ANSWERED_MEMORY:
            self._answered.popitem(last=False)
        try:
            await _guarded(self._app.bot.answer_callback_query(query_id), "answerCallbackQuery")
        except ChannelError as exc:
            logger.warning("answering a Telegram button press failed: %s", type(exc).__name__)

    async def set_webhook(self, url: str) -> bool:
        """Point Telegram at ``url`` with our secret header and the update kinds we answer."""
        await self.start()
        return await _guarded(
            self._app.bot.set_webhook(
                url=url, secret_token=self._secret, allowed_updates=list(ALLOWED_UPDATES)
            ),
            "setWebhook",
        )


def _http_request(transport: httpx.AsyncBaseTransport | None) -> HTTPXRequest:
    # An explicit transport also makes httpx ignore proxy environment variables.
    kwargs: dict[str, Any] = {"transport": transport} if transport is not None else {}
    # A reply part is marked in flight right before its request's first byte.
    kwargs["event_hooks"] = inflight.event_hooks()
    return HTTPXRequest(httpx_kwargs=kwargs)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive lookup (Starlette's headers are; a plain dict is not)."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def _normalise_command(text: str) -> str:
    """Known commands under the engine's name ("/help@Bot" → "/start"); text otherwise."""
    match = COMMAND.fullmatch(text.strip())
    if match is None:
        return text
    name = match.group(1).lower()
    if name not in _COMMANDS:
        return text  # an unknown command is answered like any question
    args = (match.group(3) or "").strip()
    if name in _COMMANDS_WITHOUT_ARGS or not args:
        return _COMMANDS[name]
    return f"{_COMMANDS[name]} {args}"


def _keyboard(buttons: tuple[Button, ...]) -> list[list[dict[str, str]]]:
    """Inline keyboard rows: one row per choice or link, 👍/👎 ("fb:" payloads) together."""
    rows: list[list[dict[str, str]]] = []
    feedback: list[dict[str, str]] = []
    for button in buttons:
        if button.kind == "url":
            if not button.value.startswith(("https://", "http://", "tg://")):
                # Telegram rejects the whole message for one bad URL button.
                logger.warning("dropping a Telegram URL button with an unsupported link")
                continue
            rows.append([{"text": button.title, "url": button.value}])
            continue
        if not 1 <= len(button.value.encode()) <= MAX_CALLBACK_DATA_BYTES:
            logger.warning("dropping a Telegram button: callback data must be 1-64 bytes")
            continue
        item = {"text": button.title, "callback_data": button.value}
        if button.value.startswith("fb:"):
            feedback.append(item)
        else:
            rows.append([item])
    if feedback:
        rows.append(feedback)
    return rows


async def _guarded(call: Awaitable[T], what: str) -> T:
    """Await a PTB call, turning its errors into our ``ChannelError`` tree."""
    try:
        return await call
    except TelegramError as exc:
        raise _translate(exc, what) from exc


def _translate(exc: TelegramError, what: str) -> ChannelError:
    # Order matters: BadRequest and TimedOut are subclasses of NetworkError.
    if isinstance(exc, RetryAfter):
        return PlatformRateLimited(f"Telegram {what}: flood control", _retry_seconds(exc))
    if isinstance(exc, BadRequest | Forbidden | InvalidToken | ChatMigrated | Conflict):
        return PlatformRejected(f"Telegram {what} rejected: {exc.message}")
    if isinstance(exc, EndPointNotFound):
        return PlatformRejected(f"Telegram {what}: unknown endpoint")
    if isinstance(exc, NetworkError) and isinstance(exc.__cause__, Exception):
        cause = exc.__cause__  # PTB keeps the httpx error: did the request leave?
        if isinstance(cause, httpx.TransportError):
            return transport_failure(cause, f"Telegram {what}")
    if isinstance(exc, NetworkError):  # also TimedOut, 5xx and 429 without retry_after
        return PlatformUnavailable(f"Telegram {what} unavailable: {exc.message}")
    # Anything else (e.g. an unparseable response from a proxy) is assumed transient.
    return PlatformUnavailable(f"Telegram {what} failed: {type(exc).__name__}")


def _retry_seconds(exc: RetryAfter) -> float:
    """Seconds to wait, without PTB's v22.2 deprecation warning on ``retry_after``."""
    # PTB keeps the value as a timedelta; the public attribute is an int unless
    # PTB_TIMEDELTA is set, and warns about the coming change on every read.
    value = getattr(exc, "_retry_after", None)
    if not isinstance(value, timedelta):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = exc.retry_after
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return max(0.0, seconds)
