"""What a citizen's message must be before the engine works on it: composed (NFC), free
of combining-mark floods, and no longer than :data:`MAX_QUESTION_CHARS`.

Every channel reaches the engine through :meth:`AnswerEngine.answer`, which applies these
rules first, so a 200 KB Zalo message or 2,000 stacked accents cost a length check, not a
search. The web chat checks the same limit itself to answer 413.
"""

from __future__ import annotations

import re
import unicodedata

#: Longest question answered (characters after NFC); ``texts.TOO_LONG`` names this number.
MAX_QUESTION_CHARS = 2000
#: Combining marks kept in a row: NFC Vietnamese needs none, decomposed input at most two.
MAX_COMBINING_RUN = 2

_COMBINING_CLASS_RANGES = (
    "\u0300-\u036f"  # combining diacritical marks
    "\u1ab0-\u1aff"  # extended
    "\u1dc0-\u1dff"  # supplement
    "\u20d0-\u20ff"  # for symbols
    "\ufe20-\ufe2f"  # half marks
)
_COMBINING_FLOOD = re.compile(
    f"([{_COMBINING_CLASS_RANGES}]{{{MAX_COMBINING_RUN}}})[{_COMBINING_CLASS_RANGES}]+"
)


def clean_question(text: str) -> str:
    """NFC, with runs of combining marks cut to :data:`MAX_COMBINING_RUN`."""
    composed = unicodedata.normalize("NFC", text)
    return _COMBINING_FLOOD.sub(r"\1", composed)


def too_long(text: str) -> bool:
    """Whether a message is over the length a question may have (counted after NFC,
    before marks are cut: a flood counts against the sender)."""
    if len(text) <= MAX_QUESTION_CHARS:
        return False  # NFC never lengthens Vietnamese; skip the work for ordinary text
    return len(unicodedata.normalize("NFC", text).strip()) > MAX_QUESTION_CHARS
