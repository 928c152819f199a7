"""Ages stated in a question against the age ranges in procedure names.

Some procedures differ only by the applicant's age: "Cấp thẻ căn cước cho người dưới 14
tuổi" and "… cho người từ đủ 14 tuổi trở lên", the "liên thông" bundles for "trẻ em dưới
6 tuổi", the allowances for "người cao tuổi từ đủ 75 tuổi đến 80 tuổi". A citizen who
writes "con tôi 15 tuổi làm căn cước" has said which one applies, but the words "con" and
"tuổi" pull towards the under-14 record. This module reads both sides as ranges of years
and tells when a name's ranges all exclude the age the question states.

Everything works on folded syllables (:func:`indexer.textnorm.syllables`), so a question
typed without diacritics ("15 tuoi") is read the same. Ages in months or days ("20 ngày
tuổi", "36 tháng tuổi") and approximate ones ("khoảng 15 tuổi", "sắp đủ 25 tuổi") state
no range; a question stating two different ages states none either.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import TypeVar

from indexer.textnorm import syllables

T = TypeVar("T")

#: A range of ages in whole years, ``[low, high)``; ``high`` is ``math.inf`` when open.
AgeRange = tuple[float, float]

_OLDEST = 150
#: Words just before an age that make it approximate or future ("sắp", "gần", "khoảng",
#: "tầm", "chừng").
_VAGUE = frozenset(("sap", "gan", "khoang", "tam", "chung"))
#: "dưới 14 tuổi", "chưa đủ 13 tuổi", "chưa tới 6 tuổi": below the age.
_BELOW = (("duoi",), ("chua", "du"), ("chua", "toi"), ("chua", "den"), ("chua", "toi", "du"))
#: "từ đủ 14 tuổi", "đủ 18 tuổi", "trên 60 tuổi", "hơn 70 tuổi", "ngoài 60 tuổi": at or over.
_FROM = (("du",), ("tu",), ("tren",), ("hon",), ("ngoai",))
_GRANDPARENT = (("ong", "ngoai"), ("ba", "ngoai"))


def _mentions(words: Sequence[str]) -> list[tuple[int, int]]:
    """``(position, years)`` of every "<number> tuổi" (the number right before "tuổi")."""
    found = []
    for i in range(len(words) - 1):
        if words[i + 1] == "tuoi" and words[i].isdigit():
            years = int(words[i])
            if 0 < years <= _OLDEST:
                found.append((i, years))
    return found


def _ends_with(words: Sequence[str], end: int, phrases: Sequence[tuple[str, ...]]) -> bool:
    """Does ``words[:end]`` end with one of ``phrases``?"""
    return any(tuple(words[max(0, end - len(p)) : end]) == p for p in phrases)


def _upward(words: Sequence[str], at: int) -> bool:
    """Is the age at ``at`` a lower bound ("từ đủ 14 tuổi", "18 tuổi trở lên")?

    "ngoài 60 tuổi" is over 60, but "bà ngoại 80 tuổi" is a grandmother of 80.
    """
    if _ends_with(words, at, _GRANDPARENT):
        return tuple(words[at + 2 : at + 4]) == ("tro", "len")
    return _ends_with(words, at, _FROM) or tuple(words[at + 2 : at + 4]) == ("tro", "len")


def stated_age(question: str) -> AgeRange | None:
    """The age range a question states about the applicant, or ``None``.

    "15 tuổi" → ``(15, 16)``; "dưới 14 tuổi" → ``(0, 14)``; "đủ 18 tuổi", "trên 60
    tuổi" → ``(18, inf)``, ``(60, inf)``. ``None`` when no age in years is stated, when
    one is approximate ("sắp đủ 25 tuổi") or when two different ranges are stated.
    """
    words = syllables(question)
    ranges: set[AgeRange] = set()
    for at, years in _mentions(words):
        if _VAGUE.intersection(words[max(0, at - 2) : at]):
            return None
        if _ends_with(words, at, _BELOW):
            ranges.add((0, years))
        elif _upward(words, at):
            ranges.add((years, math.inf))
        else:
            ranges.add((years, years + 1))
    return ranges.pop() if len(ranges) == 1 else None


@functools.lru_cache(maxsize=8192)
def name_ages(name: str) -> tuple[AgeRange, ...]:
    """The age ranges a procedure name is limited to; ``()`` when it names none.

    "… cho người dưới 14 tuổi" → ``((0, 14),)``; "… từ đủ 70 tuổi đến dưới 75 tuổi;
    Người cao tuổi dưới 75 tuổi …" → ``((70, 75), (0, 75))``; "từ đủ 75 tuổi đến 80
    tuổi" → ``((75, 81),)``. A name with an age this cannot read as a bound ("… 40 tuổi
    …" alone) is treated as naming none, so it is never ruled out.
    """
    words = syllables(name)
    ranges: list[AgeRange] = []
    low: float | None = None
    for at, years in _mentions(words):
        if _ends_with(words, at, _BELOW):
            ranges.append((low if low is not None else 0, years))
            low = None
        elif _ends_with(words, at, (("den",),)) and low is not None:
            ranges.append((low, years + 1))  # "từ đủ 75 tuổi đến 80 tuổi": 80 included
            low = None
        elif _upward(words, at):
            if low is not None:
                ranges.append((low, math.inf))
            low = years
        else:
            return ()
    if low is not None:
        ranges.append((low, math.inf))
    return tuple(ranges)


def excludes(age: AgeRange, name: str) -> bool:
    """Do all of the name's age ranges exclude the stated ``age`` range?"""
    ranges = name_ages(name)
    return bool(ranges) and all(high <= age[0] or low >= age[1] for low, high in ranges)


def other_ages_last(question: str, hits: Sequence[T], name: Callable[[T], str | None]) -> list[T]:
    """``hits`` with every one whose name excludes the question's stated age moved last.

    Both groups keep their order; ``name`` gives a hit's procedure name (``None`` for
    records that are not procedures, which are never moved). Without a stated age the
    order is unchanged.
    """
    age = stated_age(question)
    if age is None:
        return list(hits)
    return sorted(hits, key=lambda hit: (title := name(hit)) is not None and excludes(age, title))
