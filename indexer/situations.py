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

Records ruled out this way go last, in order (:func:`situations_last`). The words are
data staff extend, ``indexer/data/situations.tsv`` (:class:`SituationWords`). Everything
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
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from indexer.textnorm import has_phrase, normalize, syllables

T = TypeVar("T")

DEFAULT_SITUATIONS = Path(__file__).resolve().parent / "data" / "situations.tsv"

#: The sections of the words file, and what each line of them is.
SECTIONS = {
    "abroad": "a phrase that puts the citizen, or a paper, abroad",
    "country": "a short country name, abroad only after a 'place' word",
    "place": "a word of place or movement before a short country name",
    "foreigner": "the word before 'nước ngoài' that makes it a foreigner",
    "first_time": "a phrase saying the citizen does this for the first time",
    "renewal": "a word of renewal, loss or change in a question",
    "cost_after_mat": "a word after 'mất' that makes it time or money, not a loss",
    "renewal_action": "a procedure name's leading action that only renews",
    "other_action": "a word starting another action after the renewals",
    "mission": "an implementing agency that works abroad (as written, any case)",
}
#: Sections whose lines are single syllables.
_SINGLE = frozenset(("country", "place", "foreigner", "cost_after_mat", "other_action"))


class SituationWordsError(ValueError):
    """A line of the situation words file is malformed (the message names file and line)."""


@dataclass(frozen=True)
class SituationWords:
    """The words the situation rules read, from a data file staff extend."""

    abroad: tuple[tuple[str, ...], ...]
    countries: frozenset[str]
    places: frozenset[str]
    foreigner: frozenset[str]
    first_time: tuple[tuple[str, ...], ...]
    renewal: tuple[tuple[str, ...], ...]
    cost_after_mat: frozenset[str]
    renewal_actions: tuple[tuple[str, ...], ...]
    other_actions: frozenset[str]
    missions: tuple[str, ...]

    @classmethod
    def load(cls, path: Path) -> SituationWords:
        """Read ``section<TAB>phrase`` lines ("#" starts a comment).

        Raises :class:`SituationWordsError` (``file:line: reason``) for an unknown
        section, a phrase with no word, or several words where one is expected.
        """
        lines: dict[str, list[str]] = {name: [] for name in SECTIONS}
        for number, raw in enumerate(path.read_text("utf-8").splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            section, _, phrase = (part.strip() for part in line.partition("\t"))
            where = f"{path}:{number}"
            if section not in SECTIONS:
                known = ", ".join(SECTIONS)
                raise SituationWordsError(f"{where}: mục '{section}' không có (có: {known})")
            words = syllables(phrase)
            if not words:
                raise SituationWordsError(f"{where}: thiếu cụm từ sau mục '{section}'")
            if section in _SINGLE and len(words) != 1:
                raise SituationWordsError(f"{where}: mục '{section}' chỉ nhận một tiếng")
            lines[section].append(normalize(phrase) if section == "mission" else phrase)

        def phrases(section: str) -> tuple[tuple[str, ...], ...]:
            return tuple(dict.fromkeys(tuple(syllables(p)) for p in lines[section]))

        def single(section: str) -> frozenset[str]:
            return frozenset(syllables(p)[0] for p in lines[section])

        return cls(
            abroad=phrases("abroad"),
            countries=single("country"),
            places=single("place"),
            foreigner=single("foreigner"),
            first_time=phrases("first_time"),
            renewal=phrases("renewal"),
            cost_after_mat=single("cost_after_mat"),
            renewal_actions=phrases("renewal_action"),
            other_actions=single("other_action"),
            missions=tuple(lines["mission"]),
        )


@functools.cache
def situation_words() -> SituationWords:
    """The packaged words file, read once per process."""
    return SituationWords.load(DEFAULT_SITUATIONS)


def says_abroad(question: str) -> bool:
    """Does the question place the citizen, or a paper, abroad?

    "đang ở Úc", "con sinh bên Nhật", "tại đại sứ quán", "Việt kiều", "kết hôn với
    người nước ngoài" → ``True``; "làm hộ chiếu mất bao lâu", "bằng lái hết hạn" →
    ``False``.
    """
    words = syllables(question)
    # "người nước ngoài", "quốc tịch nước ngoài" are a foreigner, who may be here.
    known = situation_words()
    for at in range(len(words) - 1, 1, -1):
        if words[at - 1 : at + 1] == ["nuoc", "ngoai"] and words[at - 2] in known.foreigner:
            del words[at - 1 : at + 1]
    if any(has_phrase(words, phrase) for phrase in known.abroad):
        return True
    return any(
        word in known.countries and i > 0 and words[i - 1] in known.places
        for i, word in enumerate(words)
    )


def says_first_time(question: str) -> bool:
    """Does the question say the citizen does this for the first time, with no word of
    renewal, loss or change ("làm căn cước lần đầu" → ``True``; "đổi bằng lái lần đầu"
    → ``False``)?"""
    words = syllables(question)
    known = situation_words()
    lost = any(
        word == "mat" and (i + 1 == len(words) or words[i + 1] not in known.cost_after_mat)
        for i, word in enumerate(words)
    )
    return (
        any(has_phrase(words, p) for p in known.first_time)
        and not lost
        and not any(has_phrase(words, p) for p in known.renewal)
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
    known = situation_words()
    at, found = 0, False
    while True:
        action = next(
            (a for a in known.renewal_actions if tuple(words[at : at + len(a)]) == a), None
        )
        if action is None:
            break
        at, found = at + len(action), True
    return found and at < len(words) and words[at] not in known.other_actions


def works_abroad(agencies: str) -> bool:
    """Is every implementing agency listed (separated by ";" or ",") a Vietnamese
    mission abroad? ``False`` for an empty list."""
    missions = situation_words().missions
    parts = [normalize(p) for p in re.split(r"[;,]", agencies) if p.strip()]
    return bool(parts) and all(any(m in p for m in missions) for p in parts)


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
