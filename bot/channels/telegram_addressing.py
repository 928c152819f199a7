"""Which Telegram group messages are meant for the bot, and their text without the mention.

In a private chat every message is a question. In a group or supergroup people talk to
each other ("ok", "haha"), so only these are answered: a known command (``/start``,
``/help``, ``/subscribe``...; ``/cmd@OtherBot`` is someone else's), a message that
mentions the bot (``@username`` as a ``mention`` entity, or a ``text_mention`` entity of
the bot's user id) and a reply to one of the bot's own messages. The mention is removed
from the question ("@tthc_bot lệ phí khai sinh?" asks "lệ phí khai sinh?").
"""

from __future__ import annotations

import re
from collections.abc import Container

from telegram import Message, MessageEntity

# "/cmd", "/cmd@SomeBot", "/cmd args": a bot command at the start of a message.
COMMAND = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?(?:\s+(.*))?", re.DOTALL)
# Where a mention was cut out, with the "," or ":" that addressed it ("@tthc, ...").
_CUT = "\x00"
_CUT_MARK = re.compile(r"\s*\x00[,:;]?")
_SPACES = re.compile(r"\s+")


def addressed_text(
    message: Message, *, bot_id: int, username: str, commands: Container[str]
) -> str | None:
    """The message's text meant for the bot, or ``None`` when it is not addressed to it.

    A message addressed only by a bare mention ("@tthc_bot") gives "/start" (a greeting).
    Non-text messages give "" when addressed (the caller answers "please type").
    """
    text = message.text or ""
    spans = _mention_spans(message, bot_id=bot_id, username=username)
    command = COMMAND.fullmatch(text.strip())
    ours = False
    if command is not None and command.group(1).lower() in commands:
        target = command.group(2)  # "/help@tthc_bot": for that bot only
        ours = target is None or (bool(username) and target.lower() == username.lower())
    if not (ours or spans or _replies_to(message, bot_id)):
        return None
    if message.text is None:
        return ""
    if spans:
        text = _SPACES.sub(" ", _CUT_MARK.sub(" ", _without(text, spans))).strip()
        return text or "/start"
    return text


def _replies_to(message: Message, bot_id: int) -> bool:
    replied = message.reply_to_message
    return replied is not None and replied.from_user is not None and replied.from_user.id == bot_id


def _mention_spans(message: Message, *, bot_id: int, username: str) -> list[tuple[int, int]]:
    """UTF-16 ``(offset, length)`` of every mention of the bot in the text."""
    spans: list[tuple[int, int]] = []
    wanted = f"@{username}".lower() if username else ""
    for entity in message.entities:
        if entity.type == MessageEntity.TEXT_MENTION:
            if entity.user is not None and entity.user.id == bot_id:
                spans.append((entity.offset, entity.length))
        elif (
            entity.type == MessageEntity.MENTION
            and wanted
            and message.parse_entity(entity).lower() == wanted
        ):
            spans.append((entity.offset, entity.length))
    return spans


def _without(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with each UTF-16 span (Telegram's offsets) replaced by a cut mark."""
    encoded = text.encode("utf-16-le")
    mark = _CUT.encode("utf-16-le")
    for offset, length in sorted(spans, reverse=True):
        encoded = encoded[: offset * 2] + mark + encoded[(offset + length) * 2 :]
    return encoded.decode("utf-16-le", "replace")
