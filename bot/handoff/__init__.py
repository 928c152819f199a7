"""Live handoff of a citizen's conversation to an officer (cán bộ) and back.

Public interface: :class:`HandoffService` (officer side: ``list_open``, ``history``,
``claim``, ``reply``, ``release``), :class:`OfficeHours`, the errors, and
:func:`reply_tag` (each platform's late-reply rule).
"""

from bot.handoff.errors import HandoffConflict, HandoffError, HandoffNotFound
from bot.handoff.hours import OfficeHours
from bot.handoff.service import (
    CLOSED,
    OFFICER,
    WAITING,
    HandoffHistory,
    HandoffService,
    HandoffView,
    OfficerOutbox,
    ReplyReceipt,
    ThreadMessage,
)
from bot.handoff.windows import HUMAN_AGENT, ReplyWindowClosed, reply_tag

__all__ = [
    "CLOSED",
    "HUMAN_AGENT",
    "OFFICER",
    "WAITING",
    "HandoffConflict",
    "HandoffError",
    "HandoffHistory",
    "HandoffNotFound",
    "HandoffService",
    "HandoffView",
    "OfficeHours",
    "OfficerOutbox",
    "ReplyReceipt",
    "ReplyWindowClosed",
    "ThreadMessage",
    "reply_tag",
]
