"""Masking personal numbers before anything is stored or logged.

:func:`mask_personal_data` replaces, in a citizen's text:

* e-mail addresses, also written ``a.b @ gmail.com``, ``a.b(at)gmail(dot)com``,
  ``a.b [at] gmail . com``, ``a.b at gmail dot com`` or ``a.b a còng gmail chấm com``,
  by ``[email đã ẩn]``;
* personal numbers by ``[số đã ẩn]``: identity numbers (CCCD, 12 digits; CMND, 9), phone
  numbers (``0xxxxxxxxx``, ``+84``/``84``/``(+84)``, landlines ``(024) 3825 1234``),
  social-insurance numbers (mã số BHXH, 10), tax codes (mã số thuế, 10 or 10-3), card
  and bank account numbers (14–19 digits anywhere; 6–19 digits after "số tài khoản",
  "STK", "TK" or a bank's name), whatever the separators (spaces, dots, dashes,
  brackets) and digits (full-width ``０９１２…`` and other Unicode digits count).

What citizens legitimately write about procedures stays: procedure codes (``1.001193``,
``2.000889.000.00.00.H56``), amounts (``1.000.000 đồng``, ``50.000đ``, ``1.000.000.000
đồng``), dates (``12/05/2024``, ``12.05.2024``), years, legal document numbers
(``123/2015/NĐ-CP``), durations, and toll-free hotlines (``1900 1234``, ``1800 1096``):
those are public numbers of agencies, never a citizen's. Other phone numbers are masked
even when they are an agency's landline: the masker cannot tell them from a citizen's.

The placeholders avoid words the intent rules look for ("số điện thoại" would read as a
hotline request) and contain no digit, so masking twice changes nothing.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

EMAIL_MASK = "[email đã ẩn]"
NUMBER_MASK = "[số đã ẩn]"

_AT = r"(?:\s*@\s*|\s*[(\[{]\s*(?:at|a còng)\s*[)\]}]\s*|\s+(?:at|a còng)\s+)"
_DOT = r"(?:\s*\.\s*|\s*[(\[{]\s*(?:dot|chấm)\s*[)\]}]\s*|\s+(?:dot|chấm)\s+)"
_EMAIL = re.compile(
    rf"[A-Za-z0-9._%+\-]+{_AT}[A-Za-z0-9\-]+(?:{_DOT}[A-Za-z0-9\-]+)*{_DOT}[A-Za-z]{{2,10}}\b",
    re.IGNORECASE,
)

#: Plain "name@host" without a dot in the host still names a mailbox (or a handle).
_EMAIL_PLAIN = re.compile(r"[A-Za-z0-9._%+\-]+ ?@ ?[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*")

_SPACE = r"[ \t\u00a0\u202f]"
_BLANKS = " \t\u00a0\u202f"
#: A run of digit groups joined by one separator each: spaces, a dot (not ". " which
#: ends a sentence), a dash, a bracket; a leading "+" or "(" belongs to it.
_DASH = r"[.\-–—_·]"
_BRACKETS = rf"[()\[\]](?:{_SPACE}?[()\[\]])?"
_BRACKET_SEP = rf"{_SPACE}?(?:{_BRACKETS}{_SPACE}?{_DASH}?|{_DASH}{_SPACE}?{_BRACKETS}){_SPACE}?"
_CHUNK = re.compile(
    rf"[(\[]?{_SPACE}?\+?{_SPACE}?\d+"
    rf"(?:(?:{_SPACE}{{1,2}}|\.|{_SPACE}?[\-–—_·]{_SPACE}?|{_BRACKET_SEP})\d+)*"
)
_GROUP = re.compile(r"\d+")

#: Spans never masked: procedure codes and dates (their digits could add up to a length
#: of a personal number when they stand next to other digits).
_PROTECTED = [
    re.compile(r"(?<![\d.])\d\.\d{6}(?:\.\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2})?(?![\d])"),
    re.compile(r"(?<!\d)\d{1,2}[./\-]\d{1,2}[./\-](?:19|20)\d{2}(?!\d)"),
]
_UNIT_AFTER = re.compile(
    r"\s*(?:đồng|đ\b|đ/|vnđ|vnd|₫|nghìn|ngàn|triệu|tỷ|tỉ|usd|\$|%|lần|người|trang|bản)",
    re.IGNORECASE,
)
_FEE_BEFORE = re.compile(
    r"(?:phí|giá|tiền|mức thu|lương|thu nhập|vốn)[^.?!\n]{0,25}$", re.IGNORECASE
)
_BANK_NAMES = (
    r"(?:số\s*tài\s*khoản|tài\s*khoản|\bstk\b|\bTK\b|ngân\s*hàng|\bbank\b|vietcombank|\bvcb\b|"
    r"bidv|agribank|techcombank|\btcb\b|mb\s*bank|\bmbb?\b|vietinbank|\bacb\b|sacombank|"
    r"vpbank|tpbank|\bshb\b|hdbank|\bvib\b|\bocb\b|seabank|\bmsb\b|eximbank|lpbank|"
    r"lienvietpostbank|kienlongbank|abbank|pvcombank|\bscb\b|\bncb\b|saigonbank|oceanbank|"
    r"shinhan|woori|hsbc|citibank|\buob\b|momo|zalopay|ví\s*điện\s*tử)"
)
#: Words naming a personal number just before it (then 1900…/1800… is no hotline).
_ID_BEFORE = re.compile(
    r"(?:bhxh|bảo\s*hiểm|mã\s*số\s*thuế|\bmst\b|cccd|cmnd|căn\s*cước|chứng\s*minh|"
    r"định\s*danh|hộ\s*chiếu|sđt|số\s*điện\s*thoại|điện\s*thoại\s*của\s*(?:tôi|em|mình))"
    r"[^.?!\n]{0,40}$",
    re.IGNORECASE,
)
_BANK_BEFORE = re.compile(_BANK_NAMES + r"[^.?!\n]{0,40}$", re.IGNORECASE)
#: A bank's name just after the number ("1234 5678 901234 Vietcombank").
_BANK_AFTER = re.compile(
    r"[^.?!\n\d]{0,25}?(?:ngân\s*hàng|\bbank\b|vietcombank|\bvcb\b|bidv|agribank|techcombank|"
    r"\btcb\b|mb\s*bank|vietinbank|\bacb\b|sacombank|vpbank|tpbank|hdbank)",
    re.IGNORECASE,
)


def _fold(text: str) -> str:
    """The text with full-width forms (U+FF01–FF5E, the ideographic space) and every
    Unicode decimal digit turned into ASCII, character for character (same length)."""
    out = []
    for char in text:
        code = ord(char)
        if 0xFF01 <= code <= 0xFF5E:
            out.append(chr(code - 0xFEE0))
        elif code == 0x3000:
            out.append(" ")
        elif char.isdigit() and not char.isascii():
            value = unicodedata.decimal(char, None)
            out.append(str(value) if value is not None else char)
        else:
            out.append(char)
    return "".join(out)


def _splice(text: str, spans: list[tuple[int, int]], mask: str) -> str:
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + mask + text[end:]
    return text


def _amount_shaped(groups: list[str], seps: list[str]) -> bool:
    """1–3 digits then groups of three, one separator throughout: 1.000.000, 5 000 000."""
    return (
        len(groups) > 1
        and 1 <= len(groups[0]) <= 3
        and groups[0][0] != "0"
        and all(len(g) == 3 for g in groups[1:])
        and len(set(seps)) == 1
        and seps[0].strip(" \u00a0\u202f") in (".", "", ",")
    )


def _personal(
    work: str, start: int, end: int, groups: list[str], seps: list[str], plus: bool
) -> bool:
    """Whether the digit groups at ``work[start:end]`` are a personal number."""
    digits = "".join(groups)
    size = len(digits)
    if _UNIT_AFTER.match(work, end) and not plus:
        return False  # an amount, a count, a percentage
    if _amount_shaped(groups, seps) and _FEE_BEFORE.search(work, 0, start):
        return False
    named = _ID_BEFORE.search(work, max(0, start - 60), start) or _bank_near(work, start, end)
    if digits.startswith(("1800", "1900")) and size in (8, 10) and not named:
        return False  # toll-free hotline of an agency
    years = all(len(g) == 4 and g.startswith(("19", "20")) for g in groups)
    if len(groups) > 1 and years and not named:
        return False  # years: 2021 2025
    if 9 <= size <= 19 or (plus and size >= 9):
        return True
    return 6 <= size <= 19 and _bank_near(work, start, end)


def _bank_near(work: str, start: int, end: int) -> bool:
    """Bank words in the 80 characters before the number, or a bank's name just after."""
    return bool(
        _BANK_BEFORE.search(work, max(0, start - 80), start) or _BANK_AFTER.match(work, end)
    )


def _card(work: str, start: int, end: int, groups: list[str]) -> bool:
    """A card number (4-4-4-4…) or an account next to bank words."""
    return all(len(g) == 4 for g in groups) or _bank_near(work, start, end)


def _number_spans(work: str) -> list[tuple[int, int]]:
    for pattern in _PROTECTED:
        work = pattern.sub(lambda m: "\x00" * len(m.group()), work)
    spans: list[tuple[int, int]] = []
    for chunk in _CHUNK.finditer(work):
        found = list(_GROUP.finditer(work, chunk.start(), chunk.end()))
        groups = [m.group() for m in found]
        seps = [work[a.end() : b.start()] for a, b in itertools.pairwise(found)]
        plus = "+" in work[chunk.start() : found[0].start()]
        if (len(groups) == 1 or _amount_shaped(groups, seps)) and not _personal(
            work, found[0].start(), found[-1].end(), groups, seps, plus
        ):
            continue  # an amount as a whole: none of its parts is a number of its own
        i = 0
        while i < len(found):
            # The longest run of groups from i that is a personal number wins; runs of
            # 14+ digits in several groups only as a card (4-4-4-4) or after bank words.
            for j in range(len(found), i, -1):
                start, end = found[i].start(), found[j - 1].end()
                run, between = groups[i:j], seps[i : j - 1]
                if sum(map(len, run)) > 13 and j - i > 1 and not _card(work, start, end, run):
                    continue
                if _personal(work, start, end, run, between, plus and i == 0):
                    if i == 0:  # a leading "+" or bracket goes too (a lone "(" stays)
                        lead = work[chunk.start() : start].lstrip(_BLANKS)
                        if lead[:1] in ("(", "[") and not re.search(r"[)\]]", work[start:end]):
                            lead = lead[1:].lstrip(_BLANKS)
                        start -= len(lead)
                    spans.append((start, end))
                    i = j
                    break
            else:
                i += 1
    return spans


def mask_personal_data(text: str) -> str:
    """The text with e-mails and personal numbers replaced by :data:`EMAIL_MASK` and
    :data:`NUMBER_MASK` (see the module docstring for the forms). Idempotent; never raises."""
    for pattern in (_EMAIL, _EMAIL_PLAIN):
        text = _splice(text, [m.span() for m in pattern.finditer(_fold(text))], EMAIL_MASK)
    return _splice(text, _number_spans(_fold(text)), NUMBER_MASK)
