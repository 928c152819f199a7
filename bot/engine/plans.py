"""Answers about a plan (kế hoạch): the section or table row that holds the answer.

A question about a plan ("kế hoạch 733 giao ai chủ trì ...", "kinh phí lấy từ đâu",
"thay thế kế hoạch nào") is answered by quoting the passage that holds the fact, with the
plan's number, issuer, year and the heading path of the section; the plan's outline is
given only when the question asks for the plan as a whole.

The passage is chosen in two steps. The retriever names the chunk that matched best
(``matched_field``, written by ``indexer.chunking.plan_chunks``: ``section:4.2``,
``section:4.2/3`` or ``row:8.1.5``, 1-based positions in the section tree). Every unit of
the plan (a section's own prose and leaf items, a table row) is then scored by the
words it shares with the question, weighted by how rare each word is within the plan,
and the retriever's choice gets a bonus; the best unit wins. Within a long unit, the
best-matching paragraph (or sentence) is quoted, cut to :data:`MAX_PASSAGE` characters
at a sentence boundary. Every quoted word is the plan's own.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from bot.engine import texts
from bot.engine.intents import STOP, fold

__all__ = ["MAX_PASSAGE", "asks_whole_plan", "compose_plan", "named_plan", "plan_units"]

#: Longest quoted passage, in characters.
MAX_PASSAGE = 800
#: A unit up to this long is quoted whole; a longer one from its best part.
SHORT_UNIT = MAX_PASSAGE
#: A heading longer than this is a numbered paragraph: the path shows only its opening.
LABEL_CHARS = 80
#: Score bonus for the unit holding the chunk the retriever matched, as a share of the
#: question's whole weight (tuned on the train split of eval/plans_strict.jsonl).
ANCHOR_BONUS = 0.15
#: Weight of a cue term (a word the question's "who / when / how much" stands for)
#: relative to a word the question itself uses.
CUE_WEIGHT = 0.5
#: Score bonus for the opening paragraph when the question asks what the plan implements.
BASIS_BONUS = 0.5
#: Weight of a word found only in the headings above a unit's own heading.
ANCESTOR_WEIGHT = 0.5
#: BM25 length normalisation of a part's score (k1, b).
K1, LENGTH_B = 1.2, 0.5

# fmt: off
#: Phrases that ask for a plan as a whole (folded).
WHOLE_PLAN = ("co noi dung gi", "gom nhung noi dung gi", "gom nhung gi", "gom nhung noi dung nao",
              "co nhung noi dung gi", "co nhung noi dung nao", "noi dung chinh", "tom tat",
              "tong quan", "gom nhung phan", "gom may phan", "co may phan", "noi ve gi",
              "co nhung gi", "gom nhung muc", "noi dung the nao", "noi dung ra sao")
#: Questions about what a plan implements ("thực hiện kế hoạch nào"): plans state it in
#: their opening paragraph ("Thực hiện Kế hoạch số ... của UBND tỉnh", "Căn cứ ...").
BASIS = ("can cu", "thuc hien theo", "theo ke hoach nao", "ke hoach nao cua", "ke hoach so may",
         "thuc hien ke hoach nao", "trien khai ke hoach nao", "cu vao")
#: Question words → phrases plans use for that kind of fact (folded). Staff extend this.
CUES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("khi nao", "bao gio", "luc nao", "thoi gian nao", "han", "thoi han", "han chot",
      "thang may", "quy may", "ngay nao", "deadline"),
     ("thoi gian thuc hien", "truoc ngay", "quy", "thang", "thuong xuyen")),
    (("ai", "don vi nao", "phong nao", "co quan nao", "bo phan nao", "giao ai", "giao cho"),
     ("chu tri", "phu trach", "giao", "don vi", "co quan")),
    (("bao nhieu tien", "tien", "kinh phi", "ngan sach", "chi phi", "lay tu dau", "nguon"),
     ("kinh phi", "ngan sach", "nguon", "du toan", "bo tri", "trieu dong")),
    (("thay the", "thay cho", "bai bo", "het hieu luc"), ("thay the",)),
    (BASIS, ("thuc hien ke hoach so", "can cu")),
    (("bao nhieu phan tram", "chi tieu", "phan tram"), ("chi tieu", "100")),
)
#: Abbreviations plans and citizens both use, folded to one form before matching.
ABBREVIATIONS = (("cai cach hanh chinh", "cchc"), ("thu tuc hanh chinh", "tthc"),
                 ("uy ban nhan dan", "ubnd"), ("tai nguyen va moi truong", "tnmt"),
                 ("tai nguyen moi truong", "tnmt"), ("tn mt", "tnmt"),
                 ("pho giam doc", "pgd"),
                 ("kh", "ke hoach"))
#: Words that name any plan, not a fact in it.
PLAN_WORDS = frozenset({"ke", "hoach", "so", "nam", "cua", "ve", "trong", "theo", "nao", "gi",
                        "la", "de", "o", "tai", "thi", "co", "khong", "ko", "nhung", "cac",
                        "nhieu", "may", "dau", "tu", "lam", "phai", "duoc", "do"})
# fmt: on
_SENTENCE_END = re.compile(r"(?<=[^\d\s][.!?;])\s+")


@dataclass(frozen=True)
class PlanUnit:
    """One answerable unit of a plan: a section's prose and leaf items, or a table row.

    ``field`` is the address the indexer gives the unit's chunks (without a ``/n`` passage
    suffix); ``path`` the heading labels leading to it; ``parts`` its paragraphs or items
    in reading order (a row is one part, each cell labelled with its column header).
    """

    field: str
    path: tuple[str, ...]
    parts: tuple[str, ...]
    #: Every chunk field that points into this unit (continuation rows of a table item).
    aliases: tuple[str, ...] = ()
    #: How many of ``parts`` are the section's own lead-in prose before its list items
    #: ("Các phòng, đơn vị còn lại ... theo phân công sau:"); 0 when it has no items.
    lead: int = 0

    @property
    def fields(self) -> tuple[str, ...]:
        """The unit's own field and its aliases."""
        return (self.field, *self.aliases)


def compose_plan(record: dict[str, Any], matched_field: str, question: str = "") -> str:
    """The answer about one plan: identity line, section path and the matching passage.

    ``record`` is the plan's stored JSON (number, title, issuer, year, sections);
    ``matched_field`` the retriever's best chunk field; ``question`` the citizen's words.
    Returns the plan's outline when the question asks for the plan as a whole or shares
    no word with any unit.
    """
    lines = [_identity(record)]
    units = list(plan_units(record.get("sections") or []))
    chosen = (
        None if asks_whole_plan(question, record) else _best(units, matched_field, question, record)
    )
    if chosen is None:
        lines.append(texts.PLAN_SECTIONS.format(sections="; ".join(_outline(record))))
        return "\n".join(lines)
    unit, part = chosen
    lines.append(texts.PLAN_SECTION.format(path=" > ".join(unit.path)))
    lines.append(_quote(unit, part, question, record))
    return "\n".join(lines)


def named_plan(question: str, hits: Sequence[Any]) -> Any | None:
    """The plan hit whose number the question names ("kế hoạch 733", "KH 152/KH-UBND").

    ``hits`` are search hits (``kind``, ``id``); a numbered plan's id is its number
    ("733/KH-STP"). A plan named by number is what the citizen asks about, whatever a
    ranker thinks of the other words.
    """
    words = f" {_normalise(question)} "
    if " ke hoach " not in words and not words.startswith(" ke hoach"):
        return None
    for hit in hits:
        number = hit.id.split("/")[0] if hit.kind == "plan" and "/" in hit.id else ""
        if number.isdigit() and f" {number} " in words:
            return hit
    return None


def asks_whole_plan(question: str, record: dict[str, Any]) -> bool:
    """Does the question ask about the plan itself rather than a fact in it?

    True when nothing is left of it once the plan's own name (title, issuer, year,
    number), "kế hoạch", pronouns and a whole-plan phrase ("gồm những nội dung gì") are set
    aside: "kế hoạch 733 gồm những nội dung gì" asks for the outline, "nội dung tuyên truyền
    gồm những gì" (a section's name is left) does not.
    """
    padded = f" {_normalise(question)} "
    for phrase in WHOLE_PLAN:
        padded = padded.replace(f" {phrase} ", " ")
    return not (set(padded.split()) - _identity_words(record) - STOP - PLAN_WORDS)


def plan_units(sections: list[dict[str, Any]]) -> Iterator[PlanUnit]:
    """Every unit of a section tree, addressed as ``indexer.chunking.plan_chunks`` does.

    The recipients block ("Nơi nhận") and the closing sentence ("Trên đây là ...") are no
    plan content and are skipped.
    """
    for position, node in enumerate(sections, start=1):
        heading = node.get("heading", "")
        if not node.get("marker") and (heading == "Nơi nhận" or heading.startswith("Trên đây")):
            continue
        yield from _node_units(node, (position,), ())


def _node_units(
    node: dict[str, Any], address: tuple[int, ...], path: tuple[str, ...]
) -> Iterator[PlanUnit]:
    where = ".".join(map(str, address))
    heading = node.get("heading", "")
    marker = node.get("marker", "")
    if marker == "table":
        for item, row, numbers in _rows(node.get("rows") or []):
            if row:
                label = texts.PLAN_ROW.format(number=item) if item else texts.PLAN_TABLE
                fields = [f"row:{where}.{n}" for n in numbers]
                yield PlanUnit(fields[0], (*path, label), (row,), tuple(fields[1:]))
        return
    label = _label(node) if marker else ("" if path else texts.PLAN_PREAMBLE)
    children = node.get("children") or []
    parts: list[str] = []
    if heading and (len(heading) > LABEL_CHARS or not marker):
        parts.append(heading)  # a paragraph rather than a title
    parts += [p for p in node.get("text", "").split("\n") if p]
    lead = len(parts)
    parts += [_item(c) for c in children if _is_leaf(c)]
    inner = (*path, label) if label else path
    if parts:
        yield PlanUnit(
            f"section:{where}", inner, tuple(parts), lead=lead if lead < len(parts) else 0
        )
    for position, child in enumerate(children, start=1):
        if not _is_leaf(child):
            yield from _node_units(child, (*address, position), inner)


# ------------------------------------------------------------------ choosing


def _best(
    units: list[PlanUnit], matched_field: str, question: str, record: dict[str, Any]
) -> tuple[PlanUnit, int] | None:
    """The unit and the index of its part that best answer ``question``.

    A part scores the IDF (within this plan) of each question term it or its heading path
    holds, BM25-normalised by its length so that long parts do not win by size alone.
    """
    anchor = matched_field.split("/")[0]
    own, cued = _question_terms(question, record)
    documents = [_terms(" ".join([*u.path[-1:], part])) for u in units for part in u.parts]
    df = Counter(term for doc in documents for term in set(doc))
    idf = {t: math.log(1 + len(documents) / n) for t, n in df.items()}
    weights = {t: CUE_WEIGHT * idf.get(t, 0.0) for t in cued}
    weights |= {t: idf.get(t, 0.0) for t in own}
    total = sum(weights.values())
    if total <= 0.0 or not documents:
        return None
    average = sum(len(p.split()) for u in units for p in u.parts) / len(documents)
    best: tuple[float, int, PlanUnit, int] | None = None
    padded = f" {_normalise(question)} "
    basis = any(f" {phrase} " in padded for phrase in BASIS)
    for order, unit in enumerate(units):
        bonus = ANCHOR_BONUS * total if anchor in unit.fields else 0.0
        if basis and unit.path == (texts.PLAN_PREAMBLE,):
            bonus += BASIS_BONUS * total
        # The unit's own heading names what it holds; its ancestors' headings (shared by
        # every unit below them) count for less.
        label = _terms(" ".join(unit.path[-1:]))
        ancestors = _terms(" ".join(unit.path[:-1])) - label
        for index, part in enumerate(unit.parts):
            own_terms = _terms(part) | label
            found = sum(weights[t] for t in own_terms & weights.keys())
            found += ANCESTOR_WEIGHT * sum(
                weights[t] for t in (ancestors - own_terms) & weights.keys()
            )
            norm = (K1 + 1) / (1 + K1 * (1 - LENGTH_B + LENGTH_B * len(part.split()) / average))
            score = norm * found + bonus
            if best is None or score > best[0] + 1e-9:
                best = (score, -order, unit, index)
    if best is None or best[0] <= 0.0:
        return None
    return best[2], best[3]


def _question_terms(question: str, record: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The question's own terms, and the terms its question words stand for (cues).

    Words that only name the plan (its title, issuer, year, "kế hoạch") are left out of
    both: every passage of the plan shares them, so they cannot tell passages apart.
    """
    folded = _normalise(question)
    padded = f" {folded} "
    naming = _identity_terms(record)
    own = {t for t in _terms(folded, normalised=True) if not PLAN_WORDS & set(t.split())}
    own -= naming
    cued: set[str] = set()
    for asks, phrases in CUES:
        if any(f" {a} " in padded for a in asks):
            for phrase in phrases:
                cued |= _terms(phrase, normalised=True)
    return own, cued - own - naming


def _terms(text: str, normalised: bool = False) -> set[str]:
    """Folded syllables (stop words out) and syllable bigrams of ``text``."""
    words = (text if normalised else _normalise(text)).split()
    terms = {w for w in words if w not in STOP}
    terms |= {f"{a} {b}" for a, b in itertools.pairwise(words)}
    return terms


def _normalise(text: str) -> str:
    folded = f" {fold(text)} "
    for long, short in ABBREVIATIONS:
        folded = folded.replace(f" {long} ", f" {short} ")
    return folded.strip()


def _identity_words(record: dict[str, Any]) -> set[str]:
    return set(_normalise(_identity_text(record)).split())


def _identity_terms(record: dict[str, Any]) -> set[str]:
    return _terms(_identity_text(record))


def _identity_text(record: dict[str, Any]) -> str:
    names = [record.get(k) or "" for k in ("title", "issuer", "province", "number")]
    return " . ".join([*names, str(record.get("year") or "")])


# ------------------------------------------------------------------ writing


def _identity(record: dict[str, Any]) -> str:
    """ "Kế hoạch số 733/KH-STP (Sở Tư pháp Hà Tĩnh, năm 2020): <title>"."""
    who = ", ".join(
        p
        for p in (
            record.get("issuer") or "",
            texts.PLAN_YEAR.format(year=record["year"]) if record.get("year") else "",
        )
        if p
    )
    number = record.get("number") or ""
    return (texts.PLAN_HEADER if number else texts.PLAN_HEADER_UNNUMBERED).format(
        number=number, who=f" ({who})" if who else "", title=record["title"]
    )


def _outline(record: dict[str, Any]) -> list[str]:
    return [
        _label(node)
        for node in record.get("sections") or []
        if node.get("marker") and node.get("marker") != "table"
    ]


def _quote(unit: PlanUnit, part: int, question: str, record: dict[str, Any]) -> str:
    """What to quote of a unit: all of a unit that fits; else its best part (the best
    sentences of a long one), after the section's lead-in when the part is one of its list
    items, then the parts that follow while they fit; cut to :data:`MAX_PASSAGE` at a
    sentence end."""
    whole = "\n".join(unit.parts)
    if len(whole) <= SHORT_UNIT:
        return whole
    text = unit.parts[part]
    if len(text) > MAX_PASSAGE:
        sentences = _SENTENCE_END.split(text)
        own, cued = _question_terms(question, record)
        start = max(
            range(len(sentences)),
            key=lambda i: (
                len(_terms(sentences[i]) & own) + CUE_WEIGHT * len(_terms(sentences[i]) & cued)
            ),
        )
        text = " ".join(sentences[start:])
    lead = "\n".join(unit.parts[: unit.lead])
    if part >= unit.lead and lead and len(lead) + 1 + len(text) <= MAX_PASSAGE:
        text = f"{lead}\n{text}"
    # The parts that follow give the fact its context, as space allows.
    for extra in unit.parts[part + 1 :]:
        if len(text) + 1 + len(extra) > MAX_PASSAGE:
            break
        text = f"{text}\n{extra}"
    return cut_at_sentence(text, MAX_PASSAGE)


def cut_at_sentence(text: str, limit: int) -> str:
    """``text`` if it fits, else its longest prefix ending a sentence (or a clause, or a
    word, in that order of preference) within ``limit`` characters, marked with "…"."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    for pattern in (r"[.!?](?=\s)", r"[;:](?=\s)", r"\s"):
        ends = [m.end() for m in re.finditer(pattern, head)]
        if ends and ends[-1] > limit // 2:
            return head[: ends[-1]].rstrip() + " …"
    return head.rstrip() + "…"


def _label(node: dict[str, Any]) -> str:
    heading = node.get("heading", "")
    if len(heading) > LABEL_CHARS:
        heading = heading[:LABEL_CHARS].rsplit(" ", 1)[0] + "…"
    marker = node.get("marker", "")
    return " ".join(p for p in (marker if marker not in ("-", "+") else "", heading) if p)


def _is_leaf(node: dict[str, Any]) -> bool:
    """An item of its parent's unit (as ``indexer.chunking.plan_is_item`` decides): a
    childless bullet or paragraph, not a titled subsection with prose of its own."""
    if node.get("children") or node.get("marker") == "table":
        return False
    return not (node.get("text") and len(node.get("heading", "")) <= LABEL_CHARS)


def _item(node: dict[str, Any]) -> str:
    text = node.get("text", "").replace("\n", " ")
    return " ".join(p for p in (node.get("marker", ""), node.get("heading", ""), text) if p)


def _rows(rows: list[list[str]]) -> list[tuple[str, str, list[int]]]:
    """``(item number, "Header: cell; ...", data row numbers)`` per table item.

    Data rows are numbered from 1 as the indexer numbers them. A row with an empty first
    cell continues the item above (the source merged that cell): its cells join the
    item's. A row with one filled cell (a total line) is that cell alone.
    """
    if not rows:
        return []
    header = [c[:1] + c[1:].lower() if c.isupper() and " " in c else c for c in rows[0]]
    items: list[tuple[list[list[str]], list[int]]] = []
    for number, row in enumerate(rows[1:], start=1):
        if items and not row[0] and items[-1][0][0][0]:
            items[-1][0].append(row)
            items[-1][1].append(number)
        else:
            items.append(([row], [number]))
    result: list[tuple[str, str, list[int]]] = []
    for group, numbers in items:
        filled = [c for c in group[0] if c]
        if len(group) == 1 and len(filled) == 1:
            result.append(("", filled[0], numbers))
            continue
        cells = []
        for column, name in enumerate(header):
            values = list(dict.fromkeys(r[column] for r in group if column < len(r) and r[column]))
            if values and name.upper() not in ("TT", "STT"):
                cells.append(f"{name}: {'; '.join(values)}" if name else "; ".join(values))
        result.append((group[0][0], "; ".join(cells), numbers))
    return result
