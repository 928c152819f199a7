"""What a question says about the citizen's situation against what a procedure is for.

Two situations decide between records the words of a question cannot tell apart:

- **Abroad.** Some procedures are carried out only by a Vietnamese mission abroad
  ("Cơ quan đại diện Việt Nam ở nước ngoài", "Cơ quan đại diện ngoại giao"): "Thủ tục
  Chứng thực chữ ký trong các giấy tờ, văn bản" done by an embassy has the same words as
  the one done at the commune. A question that says nothing about being abroad (no
  "nước ngoài", "đại sứ quán", "lãnh sự", "Việt kiều", no foreign country) is about the
  one at home.
- **First time.** A question that says "lần đầu", "chưa từng" or "chưa bao giờ" and no
  word of renewal ("đổi", "cấp lại", "làm lại", "mất", "hết hạn" …) is not about a
  procedure whose only action is a renewal ("Cấp đổi thẻ căn cước", "Đổi, cấp lại Giấy
  xác nhận khuyết tật").

Records ruled out this way go last, in order (:func:`situations_last`). Everything
works on folded syllables (:func:`indexer.textnorm.syllables`), so "lan dau" reads as
"lần đầu". Over-reading a question as "abroad" only leaves the order as the ranker gave
it, so the words that mean abroad are read generously (a country name after "ở",
"bên", "sang", "tại" …); a renewal word anywhere in the question switches the first-time
rule off.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from indexer.textnorm import syllables

T = TypeVar("T")

#: Phrases (folded) that put the citizen, or the paper's origin, abroad.
_ABROAD = (
    ("nuoc", "ngoai"),
    ("dai", "su", "quan"),
    ("dai", "su"),
    ("lanh", "su"),
    ("co", "quan", "dai", "dien"),
    ("viet", "kieu"),
    ("dinh", "cu"),
    ("hai", "ngoai"),
    ("xuat", "khau", "lao", "dong"),
    ("xkld",),
    ("du", "hoc"),
    ("han", "quoc"),
    ("nhat", "ban"),
    ("hoa", "ky"),
    ("dai", "loan"),
    ("trung", "quoc"),
    ("thai", "lan"),
    ("chau", "au"),
    ("ba", "lan"),
    ("tiep", "khac"),
    ("singapore",),
    ("malaysia",),
    ("campuchia",),
    ("canada",),
    ("australia",),
    ("usa",),
    ("my", "quoc"),
)
#: Country names that are also common syllables once folded ("Mỹ" / "mỹ phẩm",
#: "Hàn" / "hết hạn", "Nhật" / "nhất", "Anh" / "anh"): abroad only right after a
#: word of place or movement ("ở Mỹ", "bên Nhật", "sang Hàn", "tại Úc").
_SHORT_COUNTRIES = frozenset(
    ("my", "nhat", "han", "uc", "duc", "phap", "anh", "nga", "lao", "sec", "y", "thai")
)
_FOREIGNER = frozenset(("nguoi", "tich"))
_PLACE_WORDS = frozenset(("o", "ben", "sang", "tai", "tu", "di", "qua", "nuoc"))

#: Phrases that say the citizen does this for the first time.
_FIRST_TIME = (("lan", "dau"), ("chua", "tung"), ("chua", "bao", "gio"))
#: Words of renewal, loss or change in a question: the first-time rule then stays off.
_RENEWAL = (
    ("doi",),
    ("lam", "lai"),
    ("cap", "lai"),
    ("ky", "lai"),
    ("xin", "lai"),
    ("gia", "han"),
    ("hong",),
    ("het", "han"),
    ("sai",),
    ("sua",),
    ("dieu", "chinh"),
)
#: "mất" is a loss unless it is time or money ("mất bao lâu", "mất phí", "mất mấy ngày").
_COST_AFTER_MAT = frozenset(("bao", "phi", "tien", "may", "nhieu", "thoi", "bn", "chi", "ca", "le"))
#: A name's leading actions that only renew ("Cấp lại", "Cấp đổi", "Đổi", "Đăng ký
#: lại", "Gia hạn"), possibly several ("Đổi, cấp lại …").
_RENEWAL_ACTIONS = (
    ("cap", "lai"),
    ("cap", "doi"),
    ("dang", "ky", "lai"),
    ("gia", "han"),
    ("doi",),
)
#: Words that start another action after the renewals ("Cấp lại, đổi, điều chỉnh
#: thông tin …"): such a name is not only a renewal.
_OTHER_ACTIONS = frozenset(("dieu", "cap", "dang", "thay", "xac", "chuyen", "bo", "thu", "huy"))
#: Agencies that work abroad. "Cơ quan đại diện chủ sở hữu" (the owner of a state
#: company) and "Cục Lãnh sự" (in Hà Nội) are at home.
_MISSION = re.compile(
    r"cơ quan đại diện (việt nam|ngoại giao|có thẩm quyền)|đại sứ quán|tổng lãnh sự quán",
    re.IGNORECASE,
)


def _has(words: Sequence[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(words[i : i + n]) == phrase for i in range(len(words) - n + 1))


def says_abroad(question: str) -> bool:
    """Does the question place the citizen, or a paper, abroad?

    "đang ở Úc", "con sinh bên Nhật", "tại đại sứ quán", "Việt kiều", "kết hôn với
    người nước ngoài" → ``True``; "làm hộ chiếu mất bao lâu", "bằng lái hết hạn" →
    ``False``.
    """
    words = syllables(question)
    # "người nước ngoài", "quốc tịch nước ngoài" are a foreigner, who may be here.
    for at in range(len(words) - 1, 1, -1):
        if words[at - 1 : at + 1] == ["nuoc", "ngoai"] and words[at - 2] in _FOREIGNER:
            del words[at - 1 : at + 1]
    if any(_has(words, phrase) for phrase in _ABROAD):
        return True
    return any(
        word in _SHORT_COUNTRIES and i > 0 and words[i - 1] in _PLACE_WORDS
        for i, word in enumerate(words)
    )


def says_first_time(question: str) -> bool:
    """Does the question say the citizen does this for the first time, with no word of
    renewal, loss or change ("làm căn cước lần đầu" → ``True``; "đổi bằng lái lần đầu"
    → ``False``)?"""
    words = syllables(question)
    lost = any(
        word == "mat" and (i + 1 == len(words) or words[i + 1] not in _COST_AFTER_MAT)
        for i, word in enumerate(words)
    )
    return (
        any(_has(words, p) for p in _FIRST_TIME)
        and not lost
        and not any(_has(words, p) for p in _RENEWAL)
    )


@functools.lru_cache(maxsize=8192)
def only_renews(name: str) -> bool:
    """Is every action a procedure name starts with a renewal?

    "Cấp đổi thẻ căn cước", "Đổi, cấp lại Giấy xác nhận khuyết tật", "Thủ tục đăng ký
    lại kết hôn" → ``True``; "Cấp thẻ căn cước …", "Cấp lại, đổi, điều chỉnh thông tin
    trên sổ BHXH" → ``False``.
    """
    words = syllables(name)
    if words[:2] == ["thu", "tuc"]:
        words = words[2:]
    at, found = 0, False
    while True:
        action = next((a for a in _RENEWAL_ACTIONS if tuple(words[at : at + len(a)]) == a), None)
        if action is None:
            break
        at, found = at + len(action), True
    return found and at < len(words) and words[at] not in _OTHER_ACTIONS


def works_abroad(agencies: str) -> bool:
    """Is every implementing agency listed (separated by ";" or ",") a Vietnamese
    mission abroad? ``False`` for an empty list."""
    parts = [p.strip() for p in re.split(r"[;,]", agencies) if p.strip()]
    return bool(parts) and all(_MISSION.search(p) for p in parts)


def situations_last(
    question: str,
    hits: Sequence[T],
    name: Callable[[T], str | None],
    abroad: Callable[[T], bool],
    named: Callable[[T], bool] = lambda hit: False,
    *,
    home: bool | None = None,
) -> list[T]:
    """``hits`` with the records the question's situation rules out moved last.

    A record done only abroad (``abroad(hit)``) is ruled out when the question does not
    say abroad; a procedure whose name only renews (``name(hit)``, ``None`` for records
    that are not procedures) when the question says first time. A record whose whole
    name the question holds (``named(hit)``) is never ruled out: asked by its official
    name, it is the one meant. Both groups keep their order. ``home`` is ``not
    says_abroad(question)`` when the caller has it already.
    """
    if home is None:
        home = not says_abroad(question)
    first = says_first_time(question)
    if not home and not first:
        return list(hits)

    def ruled_out(hit: T) -> bool:
        title = name(hit)
        out = (home and abroad(hit)) or (first and title is not None and only_renews(title))
        return out and not named(hit)

    return sorted(hits, key=ruled_out)
