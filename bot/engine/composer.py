"""Answer text composed from record fields: every fact is read, none is written here.

Long records are summarised by choosing fields and cutting lists, never by rewording
what the record says. An answer about one aspect fits in :data:`ASPECT_LIMIT`
characters, a general answer in :data:`GENERAL_LIMIT` (one Zalo or Messenger message);
both end with what to type for more and the link to the full record.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from bot.engine import texts
from bot.engine.fee_facts import fee_lines, money, time_lines
from bot.engine.model import Aspect
from bot.engine.plans import compose_plan as compose_plan

__all__ = [
    "ASPECT_LIMIT",
    "GENERAL_LIMIT",
    "compose_faq",
    "compose_hotlines",
    "compose_plan",
    "compose_procedure",
    "money",
    "online_service",
    "today_in_vietnam",
]

MAX_DOCUMENTS = 8
MAX_STEPS = 8
MAX_LEGAL = 8
MAX_CHARS = 600
#: Characters of an answer about one aspect (fee, time, documents, where, ...).
ASPECT_LIMIT = 800
#: Characters of a general answer: one Zalo or Messenger message.
GENERAL_LIMIT = 1500
#: Fewest characters of a section's first line worth showing under its title (``_fit``).
MIN_FIRST_LINE = 40
#: Characters of a fee answer whose amounts do not fit :data:`ASPECT_LIMIT` even written
#: compactly (land fee tables): still one message.
FEE_TABLE_LIMIT = 1200
_VIETNAM = dt.timezone(dt.timedelta(hours=7))
# Forms and identity papers every applicant brings: listed before everything else.
_FORM = re.compile(r"(?i)^(?:[-+*•\d.)\s]*)(?:tờ khai|đơn|phiếu|mẫu|bản khai|văn bản đề nghị)")
_IDENTITY = re.compile(
    r"(?i)căn cước|cccd|chứng minh nhân dân|hộ chiếu|giấy tờ tùy thân|giấy tờ tuỳ thân"
    r"|giấy tờ chứng minh nhân thân|định danh"
)
# What to type for each aspect the ending offers.
_HINTS: dict[str, str] = {
    "documents": "giấy tờ",
    "fee": "lệ phí",
    "time": "thời gian",
    "where": "nộp ở đâu",
}


def today_in_vietnam() -> dt.date:
    """Today's date in Vietnam (UTC+7): the default clock of the answer engine."""
    return dt.datetime.now(_VIETNAM).date()


def _cut(text: str, limit: int = MAX_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _date(value: Any) -> str:
    try:
        return dt.date.fromisoformat(str(value)).strftime("%d/%m/%Y")
    except ValueError:
        return str(value)


def online_service(record: dict[str, Any]) -> dict[str, str] | None:
    """``{"level": "toàn trình"|"một phần", "url": ...}`` when the procedure is online."""
    level = record.get("online_level", "none")
    url = record.get("online_url") or record.get("portal_url") or ""
    if level in texts.LEVEL_WORDS and url:
        return {"level": texts.LEVEL_WORDS[level], "url": url}
    return None


def _doc_line(doc: dict[str, Any], limit: int = 200) -> str:
    originals, copies = doc.get("originals"), doc.get("copies")
    counts = ""
    if originals is not None and copies:
        counts = " (" + texts.DOCUMENT_COUNTS.format(originals=originals, copies=copies) + ")"
    elif originals:
        counts = " (" + texts.DOCUMENT_ORIGINALS.format(originals=originals) + ")"
    return f"{_cut(doc['name'], limit)}{counts}"


def _doc_rank(doc: dict[str, Any]) -> int:
    name = str(doc.get("name") or "").strip()
    if name.startswith(("*", "Lưu ý", "Ghi chú")):
        return 3  # a note written as a row, not a paper to bring
    if doc.get("has_form") or _FORM.match(name):
        return 0
    return 1 if _IDENTITY.search(name) else 2


def _key(doc: dict[str, Any]) -> str:
    # The same form is written with small differences per case ("CT01 ... hoặc ..."):
    # its first words identify it.
    return " ".join(str(doc["name"]).lower().split())[:50]


def _document_groups(record: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Documents each once, in the order a citizen gathers them.

    First the papers every applicant needs: those outside any case, forms and identity
    papers named in two or more cases, and papers named in every case; forms and
    identity papers at the top. Then each case's own papers under the case's name.
    """
    documents = record.get("documents") or []
    cases: dict[str, list[dict[str, Any]]] = {}
    documents = [d for d in documents if _doc_rank(d) < 3]
    for doc in documents:
        cases.setdefault(str(doc.get("case") or ""), []).append(doc)
    named = [c for c in cases if c]
    in_cases: dict[str, int] = {}
    for case in named:
        for key in {_key(d) for d in cases[case]}:
            in_cases[key] = in_cases.get(key, 0) + 1
    common: dict[str, dict[str, Any]] = {}
    for doc in documents:
        count = in_cases.get(_key(doc), 0)
        shared = len(named) > 1 and (count == len(named) or (count >= 2 and _doc_rank(doc) < 2))
        if not doc.get("case") or shared or len(named) == 1:
            common.setdefault(_key(doc), doc)
    groups = [("", sorted(common.values(), key=_doc_rank))]
    seen = set(common)
    for case in named if len(named) > 1 else []:
        own = []
        for doc in cases[case]:
            if _key(doc) not in seen:
                seen.add(_key(doc))
                own.append(doc)
        if own:
            groups.append((case, sorted(own, key=_doc_rank)))
    return groups


def _document_lines(record: dict[str, Any], limit: int = MAX_DOCUMENTS) -> list[str]:
    """Numbered documents, common first, then per case; "… và N giấy tờ khác" past ``limit``."""
    lines: list[str] = []
    shown = total = 0
    for case, docs in _document_groups(record):
        total += len(docs)
        room = [d for d in docs][: max(0, limit - shown)]
        if not room:
            continue
        if case:
            # Case names come as written in the source ("* Giấy tờ phải nộp:"): the
            # bullet and the trailing colon would double the template's own.
            label = case.strip().lstrip("*-•+ ").rstrip(": ")
            lines.append(texts.DOCUMENTS_CASE.format(case=_cut(label, 120)))
        for doc in room:
            shown += 1
            lines.append(f"{shown}. {_doc_line(doc, 140)}")
    if total > shown:
        lines.append(texts.DOCUMENTS_MORE.format(n=total - shown))
    return lines


def _where_lines(record: dict[str, Any], limit: int = 300) -> list[str]:
    lines = []
    if record.get("implementing_agencies"):
        lines.append(
            texts.WHERE_TITLE.format(agencies=_cut(record["implementing_agencies"], limit))
        )
    if record.get("levels"):
        lines.append(texts.LEVELS.format(levels=", ".join(record["levels"])))
    if record.get("receiving_address"):
        lines.append(texts.ADDRESS.format(address=_cut(record["receiving_address"], limit)))
    return lines


def _online_lines(record: dict[str, Any], *, short: bool = False) -> list[str]:
    service = online_service(record)
    if service is None:
        return [] if short else [texts.ONLINE_NONE]
    full = record["online_level"] == "toan_trinh"
    if short:
        sentence = texts.ONLINE_FULL_SHORT if full else texts.ONLINE_PARTIAL_SHORT
    else:
        sentence = texts.ONLINE_FULL if full else texts.ONLINE_PARTIAL
    if service["url"] == record.get("portal_url"):
        return [sentence]  # the link closes the answer anyway
    return [sentence, texts.ONLINE_LINK.format(url=service["url"])]


def _section(title: str, lines: list[str], what: str) -> list[str]:
    if not lines:
        return [texts.NOT_IN_RECORD.format(what=texts.WHAT.get(what, what))]
    return [title, *lines]


def _unique(lines: list[str]) -> list[str]:
    """Identical lines once, in their first place."""
    return list(dict.fromkeys(lines))


def _fit(head: list[str], body: list[str], tail: list[str], limit: int) -> str:
    """``head + body + tail`` within ``limit`` characters: body lines are cut from the end
    (a long line is shortened first) and a pointer to the detail page is added."""
    body = _unique(body)
    fixed = len("\n".join(head + tail)) + 1
    kept: list[str] = []
    used = fixed
    for i, line in enumerate(body):
        last = i == len(body) - 1
        room = limit - used - (0 if last else len(texts.SEE_DETAIL) + 1)
        if len(line) + 1 <= room:
            kept.append(line)
            used += len(line) + 1
            continue
        room = limit - used - len(texts.SEE_DETAIL) - 1
        # A section is never left as its title alone: its first line is kept, cut, if
        # MIN_FIRST_LINE characters fit; else the titles left bare go too.
        bare_title = bool(kept) and kept[-1].rstrip().endswith(":")
        if room > 80 or (bare_title and room >= MIN_FIRST_LINE):
            indent = line[: len(line) - len(line.lstrip())]
            kept.append(indent + _cut(line, room - 1 - len(indent)))
        while kept and kept[-1].rstrip().endswith(":"):
            kept.pop()  # a title (or a case's) with nothing under it
        kept.append(texts.SEE_DETAIL)
        break
    return "\n".join(head + kept + tail)


def _ending(record: dict[str, Any], aspect: Aspect | None, *, short: bool = False) -> list[str]:
    lines = []
    if record.get("crawled_at"):
        updated = texts.UPDATED_SHORT if short else texts.UPDATED
        lines.append(updated.format(date=_date(record["crawled_at"])))
    words = [f"“{w}”" for a, w in _HINTS.items() if a != aspect]
    lines.append(texts.MORE_HINT.format(words=", ".join(words[:-1]) + " hoặc " + words[-1]))
    if record.get("portal_url"):
        lines.append(texts.DETAIL_LINK.format(url=record["portal_url"]))
    return lines


def compose_procedure(
    record: dict[str, Any],
    aspect: Aspect | None,
    *,
    prefer_online: bool = False,
    today: dt.date | None = None,
    reserve: int = 0,
) -> str:
    """The answer about one procedure: the asked aspect, or a short overview.

    ``today`` (the caller's clock) decides which fee rate is in force; without it every
    dated rate is shown with its dates. Length: at most :data:`ASPECT_LIMIT` characters
    for one aspect, :data:`GENERAL_LIMIT` for the overview (detail cut, link kept), less
    ``reserve`` characters the caller will add (a numbered line of related procedures).
    """
    head = [texts.PROCEDURE_HEADER.format(name=_cut(record["name"], 160), code=record["code"])]
    body: list[str] = []
    limit = ASPECT_LIMIT
    if record.get("detail") == "summary":
        if record.get("fields"):
            body.append(texts.FIELD.format(fields=", ".join(record["fields"])))
        body += _where_lines(record)
        body.append(texts.SUMMARY_ONLY)
    elif aspect == "fee":
        fees = fee_lines(record, today, prefer_online=prefer_online)
        if len("\n".join(fees)) > ASPECT_LIMIT - 420:  # would be cut: amounts without words
            fees = fee_lines(record, today, prefer_online=prefer_online, compact=True)
            # Every amount the record states is worth more than the 800 target: a long
            # fee table may use one whole message.
            limit = FEE_TABLE_LIMIT
        body += _section(texts.FEES_TITLE, fees, "fee")
    elif aspect == "time":
        body += _section(texts.TIME_TITLE, time_lines(record, prefer_online=prefer_online), "time")
    elif aspect == "documents":
        body += _section(texts.DOCUMENTS_TITLE, _document_lines(record), "documents")
    elif aspect == "where":
        body += _where_lines(record)
    elif aspect == "steps":
        steps = [_cut(s, 300) for s in (record.get("steps") or [])[:MAX_STEPS]]
        body += _section(texts.STEPS_TITLE, steps, "steps")
    elif aspect == "legal_basis":
        bases = record.get("legal_bases") or []
        legal = [
            f"- {b['number']}" + (f": {_cut(b['title'], 120)}" if b.get("title") else "")
            for b in bases[:MAX_LEGAL]
        ]
        if len(bases) > MAX_LEGAL:  # numbers are short: list every one
            legal.append("- " + ", ".join(b["number"] for b in bases[MAX_LEGAL:]))
        if len("\n".join(legal)) > 420:  # titles would push numbers out: numbers only
            legal = ["- " + ", ".join(b["number"] for b in bases)]
        body += _section(texts.LEGAL_TITLE, legal, "legal_basis")
    elif aspect == "conditions":
        conditions = record.get("conditions") or ""
        body += (
            [texts.CONDITIONS_TITLE, _cut(conditions)] if conditions else [texts.CONDITIONS_NONE]
        )
    elif aspect == "result":
        results = [f"- {r}" for r in record.get("results") or []]
        body += _section(texts.RESULT_TITLE, results, "result")
    elif aspect != "online":
        limit = GENERAL_LIMIT
        body += _where_lines(record, limit=160)
        channel_lines = time_lines(record, prefer_online=prefer_online)
        if channel_lines:
            body += [texts.TIME_TITLE, *channel_lines]
        fees = fee_lines(record, today, prefer_online=prefer_online)
        if len("\n".join(fees)) > 600:
            fees = fee_lines(record, today, prefer_online=prefer_online, compact=True)
        if fees:
            body += [texts.FEES_TITLE, *fees]
        if record.get("documents"):
            body += [texts.DOCUMENTS_TITLE, *_document_lines(record, limit=5)]
    short = limit == ASPECT_LIMIT and aspect != "online"
    tail = _online_lines(record, short=short) if record.get("detail") != "summary" else []
    return _fit(head, body, tail + _ending(record, aspect, short=short), limit - reserve)


def compose_faq(record: dict[str, Any]) -> str:
    """An official FAQ answer, quoted, with its source."""
    lines = [
        texts.FAQ_HEADER.format(source=texts.FAQ_SOURCE),
        texts.FAQ_QUESTION.format(question=record["question"]),
        texts.FAQ_ANSWER.format(answer=_cut(record["answer"], 1500)),
    ]
    if record.get("answer_truncated") or len(record["answer"]) > 1500:
        lines.append(texts.FAQ_TRUNCATED)
    if record.get("source_url"):
        lines.append(texts.SOURCE.format(url=record["source_url"]))
    return "\n".join(lines)


def compose_hotlines(records: list[dict[str, Any]]) -> str:
    """Hotline numbers exactly as stored, each with its hours, e-mail and source date."""
    lines = [texts.HOTLINE_INTRO]
    for record in records:
        area = f" ({record['area']})" if record.get("area") else ""
        hours = texts.HOTLINE_HOURS.format(hours=record["hours"]) if record.get("hours") else ""
        lines.append(
            texts.HOTLINE_LINE.format(
                name=record["name"], area=area, phones=" / ".join(record["phones"]), hours=hours
            )
        )
        if record.get("email"):
            lines.append(texts.HOTLINE_EMAIL.format(email=record["email"]))
        source, verified = record.get("source") or "", _vn_date(record.get("verified_at"))
        if source and verified:
            lines.append(texts.HOTLINE_SOURCE_DATED.format(source=source, date=verified))
        elif source:
            lines.append(texts.HOTLINE_SOURCE.format(source=source))
        elif verified:
            lines.append(texts.HOTLINE_VERIFIED.format(date=verified))
    return "\n".join(lines)


def _vn_date(value: Any) -> str:
    """``2026-12-01`` (or a date) → ``01/12/2026``; anything else → ""."""
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    try:
        return dt.date.fromisoformat(str(value or "")[:10]).strftime("%d/%m/%Y")
    except ValueError:
        return ""
