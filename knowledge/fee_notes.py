"""What a fee's note (ghi chú phí, lệ phí) says about the fee: who sets it, when it applies.

The portal writes 0 both for "free by law" and for "the amount is set elsewhere" (a
People's Council resolution, a circular, the amounts listed in the note), and states
temporary rates in words ("Kể từ ngày 01/7/2025 đến hết ngày 31/12/2026 ... bằng 50%
mức thu"). These readers turn that wording into the typed facts of
:class:`knowledge.records.FeeData` (``meaning``, ``set_by``, ``valid_from``,
``valid_until``) so the answer engine and ``tthc kb audit`` never guess from a bare 0.
Only what the note literally says is read; nothing is inferred from outside it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

from knowledge.records import FeeData, FeeMeaning

__all__ = [
    "NOTE_VND",
    "classify",
    "note_vnd_amounts",
    "reductions",
    "set_by",
    "validity",
    "with_facts",
]

_AMOUNT = r"(?:\d{1,3}(?:[.,]\d{3})+|\d+)(?!\d|[.,]\d)"
#: A VND amount written in a note: a grouped or plain number followed by a đồng word,
#: optionally after a per-unit ("20.000đ/tờ khai", "15000000/lần Đồng"), or labelled
#: "Phí: 600,000". Dates and document numbers ("01/7/2025", "64/2025/TT-BTC") never match.
NOTE_VND = re.compile(
    r"(?<![\d.,/])(?:(?i:lệ phí|phí)\s*:\s*(?P<lamt>" + _AMOUNT + r")(?!\s*%)(?!\s*/\d)"
    r"|(?P<amt>" + _AMOUNT + r")\s*(?:/\s*[^\W\d][^\s(/]*\s+)?"
    r"(?:đồng|Đồng|VNĐ|vnđ|VND|đ|Đ)(?!\w))"
)
_DATE = r"(\d{1,2})\s*/\s*(\d{1,2})\s*/\s*(\d{4})"
_UNTIL = re.compile(r"(?i)đến\s+(?:hết\s+)?(?:ngày\s+)?" + _DATE)
_FROM = re.compile(r"(?i)(?:kể\s+)?từ\s+(?:ngày\s+)?" + _DATE)
_PERCENT = re.compile(r"(?i)(?P<how>bằng|giảm)\s+(?P<pct>\d{1,3})\s*%")
_CLAUSE = re.compile(r"(?:^|\s)[-+*•]\s|;|\n|\.\s+(?=[A-ZĐÀ-Ỹ])")
_FREE_WORDS = re.compile(
    r"(?i)^\s*(?:miễn(?: thu)?(?: phí| lệ phí)?|không thu(?: phí| lệ phí)?|không phải nộp"
    r"|không mất phí)\s*\.?\s*$"
)
_PAREN = re.compile(r"\([^()]*\)")
_WAIVER = re.compile(r"(?i)miễn(?: thu)?(?: phí| lệ phí)?\s+(?:từ|đến|kể)")
_COUNCIL = re.compile(
    r"(?<![-\w])(?:[Hh]ội đồng nhân dân|HĐND)(?:\s+(?:cấp\s+)?(?:[Tt]ỉnh|[Tt]hành phố)"
    r"(?:\s+(?!khóa|khoá|kỳ)[A-ZĐÀ-Ỹ][^\s,.;]*){0,3})?"
)
_DOCUMENT = re.compile(
    r"(?:Thông tư(?: liên tịch)?|Nghị quyết|Nghị định|Quyết định)\s+(?:số\s+)?"
    r"\d+[\w.]*/(?:\d{4}/)?[A-ZĐ]+(?:-[A-ZĐ]+)*"
)
#: A note that cites the document setting the rates ("… quy định mức thu, chế độ thu …").
_RATES_SET = re.compile(r"(?i)mức thu|mức phí|mức lệ phí|biểu phí|biểu mức")
#: Any word of waiving ("miễn một số khoản phí", "miễn thu"): the "Miễn phí" cell may be so.
_ANY_WAIVER = re.compile(r"(?i)(?<!\w)miễn(?!\w)")
_SET_ELSEWHERE = re.compile(
    r"(?i)quy định|quyết định|theo mức|mức thu|mức phí|mức lệ phí|thông tư|nghị quyết"
)


def _date(match: re.Match[str]) -> dt.date | None:
    day, month, year = (int(g) for g in match.groups()[-3:])
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _clauses(note: str) -> list[str]:
    return [c.strip(" .;,") for c in _CLAUSE.split(note) if c and c.strip(" .;,")]


def validity(text: str) -> tuple[dt.date | None, dt.date | None]:
    """``(valid_from, valid_until)`` stated in ``text`` ("từ ngày 01/7/2025 đến hết ngày
    31/12/2026", "áp dụng đến hết ngày 31/12/2023"); ``None`` where nothing is said.

    Dates after "ngày" alone (a document's date of issue) are not validity dates.
    """
    start = next((d for m in _FROM.finditer(text) if (d := _date(m))), None)
    end = next((d for m in _UNTIL.finditer(text) if (d := _date(m))), None)
    return start, end


def note_vnd_amounts(note: str) -> list[int]:
    """Every VND amount a note writes, in order, repeats removed."""
    found: list[int] = []
    for match in NOTE_VND.finditer(note):
        amount = int(re.sub(r"[.,]", "", match["lamt"] or match["amt"]))
        if amount not in found:
            found.append(amount)
    return found


def set_by(note: str) -> str:
    """Who the note says sets the amount: the People's Council ("Hội đồng nhân dân tỉnh
    ...") or a legal document ("Thông tư số 64/2025/TT-BTC"); '' when it names neither."""
    council = _COUNCIL.search(note)
    if council:
        return council.group(0).strip()
    document = _DOCUMENT.search(note)
    return document.group(0).strip() if document else ""


def classify(
    amount_vnd: int | None, note: str, *, currency: str = "VND", says_free: bool = False
) -> FeeMeaning:
    """What a fee's number means.

    ``amount``: a positive amount (in ``currency``). ``free``: 0, and the note is empty or
    says free without naming an amount or who sets it. ``set_elsewhere``: 0 or no number,
    and the note names the People's Council, a legal document, "quy định", or amounts.
    ``unknown``: no number and nothing in the note. ``says_free``: the source's fee cell
    itself reads "Miễn phí"; it is free unless the note lists amounts, names the
    People's Council, or cites a document that sets the rates ("Thông tư số … quy định
    mức thu …") without any word of waiving.
    """
    if currency != "VND" or (amount_vnd is not None and amount_vnd > 0):
        return "amount"
    names_amount = bool(note_vnd_amounts(note))
    if says_free:
        # "Miễn phí (15.000.000 đồng/lần ... Miễn phí từ ngày 07/4/2026 đến 30/6/2026)" is a
        # dated waiver of listed amounts; without a "miễn" word the amounts contradict it.
        listed = names_amount or _COUNCIL.search(note)
        if listed and not _WAIVER.search(note):
            return "set_elsewhere"
        # "Miễn phí" beside "Thực hiện theo Thông tư số 244/2016/TT-BTC … quy định mức
        # thu …" contradicts itself: the document sets a rate, so the note is told, never
        # "free" (unless the note waives something itself).
        cites_rates = _DOCUMENT.search(note) and _RATES_SET.search(note)
        return "set_elsewhere" if cites_rates and not _ANY_WAIVER.search(note) else "free"
    if names_amount or _COUNCIL.search(note) or _DOCUMENT.search(note):
        return "set_elsewhere"
    if amount_vnd == 0:
        if not note.strip() or _FREE_WORDS.match(note) or not _SET_ELSEWHERE.search(note):
            return "free"
        return "set_elsewhere"
    return "set_elsewhere" if note.strip() and _SET_ELSEWHERE.search(note) else "unknown"


def reductions(fee: FeeData) -> list[FeeData]:
    """Temporary rates a note states as a share of ``fee`` ("Kể từ ngày 01/7/2025 đến hết
    ngày 31/12/2026 mức thu ... bằng 50% mức thu nêu trên"; "giảm 20%").

    Each clause with a percentage and a date range gives one fee of meaning ``reduced``:
    amount = the share of ``fee.amount_vnd`` (rounded to whole đồng), the clause as its
    description, its dates. Nothing when ``fee`` has no VND amount.
    """
    if not fee.amount_vnd or fee.currency != "VND":
        return []
    out: list[FeeData] = []
    for clause in _clauses(fee.description):
        percent = _PERCENT.search(clause)
        start, end = validity(clause)
        if percent is None or (start is None and end is None):
            continue
        pct = int(percent["pct"])
        if not 0 < pct < 100:
            continue
        share = pct if percent["how"].lower() == "bằng" else 100 - pct
        derived = FeeData(
            kind=fee.kind,
            amount_vnd=round(fee.amount_vnd * share / 100),
            description=clause,
            meaning="reduced",
            valid_from=start,
            valid_until=end,
            base_vnd=fee.amount_vnd,
        )
        if derived not in out:
            out.append(derived)
    return out


def with_facts(fee: FeeData, *, says_free: bool = False) -> tuple[FeeData, ...]:
    """``fee`` with its meaning, setter and validity read from its note, followed by the
    temporary reduced rates the note states (see :func:`reductions`).

    The fee's own validity is read from the note's clauses that state no percentage
    (those belong to a reduced rate, not to the fee itself) and, unless the fee is free,
    no waiver (a dated "miễn phí từ ... đến ..." belongs to the waiver).
    """
    meaning = classify(fee.amount_vnd, fee.description, currency=fee.currency, says_free=says_free)
    own = " ".join(c for c in _clauses(fee.description) if not _PERCENT.search(c))
    if meaning != "free":
        # "(Miễn phí từ ngày 07/4/2026 đến 30/6/2026 ...)" dates a waiver, not this amount.
        own = _PAREN.sub(lambda m: "" if _WAIVER.search(m.group()) else m.group(), own)
        own = " ".join(c for c in _clauses(own) if not _WAIVER.search(c))
    start, end = validity(own)
    head = replace(
        fee,
        # A 0 that only stands for "set elsewhere" is not an amount of this fee.
        amount_vnd=None if meaning == "set_elsewhere" else fee.amount_vnd,
        meaning=meaning,
        set_by=set_by(fee.description) if meaning == "set_elsewhere" else "",
        valid_from=fee.valid_from or start,
        valid_until=fee.valid_until or end,
    )
    return (head, *reductions(head))
