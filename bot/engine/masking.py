"""Masking personal numbers before anything is stored or logged.

The placeholders avoid words the intent rules look for ("số điện thoại" would read as a
hotline request)."""

from __future__ import annotations

import re

# 12-digit citizen id (CCCD), 9-digit old id (CMND), phone numbers (0xxxxxxxxx or +84),
# e-mail addresses. Separators inside numbers (spaces, dots) are common when typing.
_PATTERNS = [
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"), "[email đã ẩn]"),
    (re.compile(r"(?<!\d)(?:\+?84|0)(?:[\s.-]?\d){9,10}(?!\d)"), "[số đã ẩn]"),
    (re.compile(r"(?<!\d)\d(?:[\s.]?\d){11}(?!\d)"), "[số đã ẩn]"),
    (re.compile(r"(?<!\d)\d{9}(?!\d)"), "[số đã ẩn]"),
]


def mask_personal_data(text: str) -> str:
    """The text with e-mails, phone numbers and 9/12-digit personal ids replaced."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
