"""Small text rules shared by the portal importers (empty markers, list splitting)."""

from __future__ import annotations

import re
import unicodedata

#: The portal's literal "no information" marker counts as empty.
EMPTY_MARKERS = {"", "không có thông tin", "none", "null"}

_STEP = re.compile(r"(?=^\s*Bước\s*\d+\s*[:.)-])", re.MULTILINE | re.IGNORECASE)


def clean(value: object) -> str:
    """NFC text with the portal's empty markers turned into ``""``."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value)).strip()
    return "" if text.lower() in EMPTY_MARKERS else text


def split_groups(value: str) -> list[str]:
    """Split "A (x, y), B, C" on top-level commas that start a new capitalised item.

    Target groups and levels are comma-joined, but a single group may itself contain
    commas ("Cán bộ, công chức, viên chức"); only a comma followed by a capital letter
    outside parentheses starts a new item.
    """
    text = clean(value)
    if not text:
        return []
    items: list[str] = []
    depth, start = 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            rest = text[i + 1 :].lstrip()
            if rest[:1].isupper():
                items.append(text[start:i].strip())
                start = i + 1
    items.append(text[start:].strip())
    return [i for i in items if i]


def split_lines(value: str) -> list[str]:
    """Non-empty lines of a multi-line cell (e.g. agencies listed one per line)."""
    return [line.strip() for line in clean(value).splitlines() if line.strip()]


def split_steps(value: str) -> list[str]:
    """Steps (trình tự thực hiện): one item per "Bước N", else the whole text as one."""
    text = clean(value)
    if not text:
        return []
    parts = [p.strip() for p in _STEP.split(text) if p.strip()]
    return parts or [text]
