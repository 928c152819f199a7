"""Which of the staff-entered hotlines answer a question (pure functions, no I/O).

A line named by the question or the citizen's area comes first: its area is named
("đường dây nóng Đà Nẵng"), or its agency or field is ("tổng đài công an"). When none
is named, the province's and the national lines answer, except a province line of an
area other than the one the citizen named.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from bot.engine.intents import content_words, fold

#: At most this many lines go into one reply.
MAX_LINES = 4
#: Words of the hotline request itself, never a name ("số điện thoại", "liên hệ ở đâu").
REQUEST_WORDS = frozenset(
    [
        "so",
        "dien",
        "thoai",
        "duong",
        "day",
        "nong",
        "hotline",
        "sdt",
        "tong",
        "dai",
        "lien",
        "he",
        "ho",
        "tro",
        "o",
        "dau",
        "nao",
        "xin",
        "cho",
        "toi",
        "biet",
        "goi",
        "hoi",
        "dt",
        "zalo",
    ]
)
#: Words that are in nearly every hotline name and tell nothing apart.
_COMMON_NAME_WORDS = frozenset(
    [
        "duong",
        "day",
        "nong",
        "tong",
        "dai",
        "ho",
        "tro",
        "so",
        "dien",
        "thoai",
        "trung",
        "tam",
        "phuc",
        "vu",
        "hanh",
        "chinh",
        "cong",
        "bo",
        "phan",
        "mot",
        "cua",
        "cua",
    ]
)
_FALLBACK_ORDER = {"province": 0, "national": 1}
_SPECIFIC_ORDER = {"commune": 0, "agency": 1, "field": 2, "province": 3, "national": 4}


def pick_hotlines(
    records: Iterable[dict[str, Any]], text: str, area: str = "", *, asks_for_line: bool = True
) -> list[dict[str, Any]]:
    """The lines for ``text`` (already masked) from a citizen of ``area`` ("" unknown).

    ``asks_for_line``: the message asks for a number, so its other words name the line
    wanted; otherwise (a "don't know") they are a procedure's words and only a named
    area counts.

    Returns at most :data:`MAX_LINES` records, most specific first; an empty list when
    no line fits (no province/national line either).
    """
    lines = list(records)
    text = re.sub(r"\[(?:số|email) đã ẩn\]", " ", text)  # masking placeholders name nothing
    asked = f" {fold(f'{text} {area}')} "
    wanted = set(content_words(f"{text} {area}")) - REQUEST_WORDS
    named: list[dict[str, Any]] = []
    for record in lines:
        line_area = fold(str(record.get("area") or ""))
        area_named = bool(line_area) and f" {line_area} " in asked
        if line_area and not area_named:
            continue  # a line of one area never answers for another
        name_words = set(fold(str(record.get("name") or "")).split()) - _COMMON_NAME_WORDS
        if area_named or (wanted and wanted & name_words):
            named.append(record)
    if named:
        named.sort(key=lambda r: _SPECIFIC_ORDER.get(str(r.get("scope")), 9))
        return named[:MAX_LINES]
    # Named words that match no line ("Hà Nội" in a deployment with no Hà Nội line): the
    # province lines, whose area was not named, are for somewhere else.
    names_place = bool(wanted) and asks_for_line
    fallback = [
        record
        for record in lines
        if record.get("scope") in _FALLBACK_ORDER
        and not (record.get("scope") == "province" and record.get("area") and names_place)
    ]
    fallback.sort(key=lambda r: _FALLBACK_ORDER[str(r.get("scope"))])
    return fallback[:MAX_LINES]
