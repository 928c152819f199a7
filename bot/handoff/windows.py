"""Each platform's rule for a person's reply that comes late (channels.md §2a, §3.5).

- Messenger: a normal reply within 24 h of the citizen's last message; after that the
  ``HUMAN_AGENT`` message tag allows a human's reply up to 7 days; later, nothing.
- Zalo OA: consultation ("tư vấn", cs) messages only while the citizen interacted in
  the last 7 days (the API refuses with -230 after that). Inside 48 h the first 8
  replies are free "tin phản hồi"; later ones count as proactive messages of the OA's
  paid quota, which a reply an officer was asked for may use.
- Telegram and Zalo Bot: a bot may write to a chat that wrote to it at any time.
- Anything else (web chat, console): no way to reach the citizen later.
"""

from __future__ import annotations

import datetime as dt

from bot.handoff.errors import HandoffError

HUMAN_AGENT = "HUMAN_AGENT"
_MESSENGER_STANDARD = dt.timedelta(hours=24)
_MESSENGER_HUMAN_AGENT = dt.timedelta(days=7)
_ZALO_OA_INTERACTION = dt.timedelta(days=7)
_ANY_TIME = frozenset({"telegram", "zalo-bot"})


class ReplyWindowClosed(HandoffError):
    """The platform no longer lets us write to this citizen; ``str()`` is Vietnamese."""


def reply_tag(channel: str, last_citizen_at: dt.datetime, now: dt.datetime) -> str:
    """The message tag an officer's reply needs now ("" for a normal reply).

    Raises :class:`ReplyWindowClosed` with the reason (Vietnamese, for the officer)
    when the platform forbids the reply.
    """
    waited = now - last_citizen_at
    if channel in _ANY_TIME:
        return ""
    if channel == "messenger":
        if waited <= _MESSENGER_STANDARD:
            return ""
        if waited <= _MESSENGER_HUMAN_AGENT:
            return HUMAN_AGENT
        raise ReplyWindowClosed(
            "Đã quá 7 ngày kể từ tin nhắn cuối của người dân: Messenger không cho phép Trang "
            "gửi thêm tin. Vui lòng liên hệ người dân qua kênh khác (điện thoại, thư)."
        )
    if channel == "zalo-oa":
        if waited <= _ZALO_OA_INTERACTION:
            return ""
        raise ReplyWindowClosed(
            "Đã quá 7 ngày kể từ lần cuối người dân tương tác với Zalo OA: Zalo chỉ cho phép "
            "gửi tin tư vấn trong 7 ngày đó. Tin sẽ gửi được khi người dân nhắn lại."
        )
    raise ReplyWindowClosed(
        f"Kênh {channel} không nhận được tin nhắn gửi sau; cán bộ không thể trả lời qua kênh này."
    )
