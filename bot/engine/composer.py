"""Answer text composed from record fields: every fact is read, none is written here.

Long records are summarised by choosing fields and cutting lists, never by rewording
what the record says.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.engine import texts
from bot.engine.model import Aspect

MAX_DOCUMENTS = 12
MAX_STEPS = 8
MAX_LEGAL = 8
MAX_CHARS = 600


def money(amount: int) -> str:
    """10000 → "10.000 đồng"; 0 → "miễn phí"."""
    if amount == 0:
        return texts.FREE
    return f"{amount:,}".replace(",", ".") + " đồng"


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


def _channels_in_order(record: dict[str, Any], prefer_online: bool) -> list[dict[str, Any]]:
    channels = list(record.get("channels") or [])
    if prefer_online:
        channels.sort(key=lambda c: c["method"] != "truc_tuyen")
    return channels


def _fee_lines(record: dict[str, Any], prefer_online: bool) -> list[str]:
    lines = []
    for channel in _channels_in_order(record, prefer_online):
        label = texts.METHOD.get(channel["method"], channel["method"])
        fees = channel.get("fees") or []
        if not fees:
            lines.append(f"- {label}: {texts.NO_FEE_INFO}")
            continue
        for fee in fees:
            kind = (
                f"{fee['kind'].lower()} "
                if fee.get("kind") and fee["kind"] != "Miễn phí" and fee.get("amount_vnd") != 0
                else ""
            )
            amount = fee.get("amount_vnd")
            value = money(amount) if amount is not None else texts.FEE_UNKNOWN
            note = f" ({_cut(fee['description'], 240)})" if fee.get("description") else ""
            lines.append(f"- {label}: {kind}{value}{note}")
    return lines


def _time_lines(record: dict[str, Any], prefer_online: bool) -> list[str]:
    lines = []
    for channel in _channels_in_order(record, prefer_online):
        label = texts.METHOD.get(channel["method"], channel["method"])
        value, unit = channel.get("time_value"), channel.get("time_unit")
        if value is not None and unit in texts.UNIT:
            number = int(value) if float(value).is_integer() else value
            lines.append(f"- {label}: {number} {texts.UNIT[unit]}")
        elif value is not None:
            number = int(value) if float(value).is_integer() else value
            lines.append(f"- {label}: {number} {texts.TIME_NO_UNIT}")
        elif channel.get("time_text"):
            lines.append(f"- {label}: {_cut(channel['time_text'], 240)}")
        else:
            lines.append(f"- {label}: {texts.TIME_UNKNOWN}")
    return lines


def _document_lines(record: dict[str, Any]) -> list[str]:
    """Documents by name, each once: records with many cases repeat the same forms."""
    documents = record.get("documents") or []
    unique: dict[str, dict[str, Any]] = {}
    for doc in documents:
        unique.setdefault(" ".join(doc["name"].lower().split()), doc)
    lines: list[str] = []
    for number, doc in enumerate(list(unique.values())[:MAX_DOCUMENTS], start=1):
        originals, copies = doc.get("originals"), doc.get("copies")
        counts = ""
        if originals is not None and copies:
            counts = " (" + texts.DOCUMENT_COUNTS.format(originals=originals, copies=copies) + ")"
        elif originals:
            counts = " (" + texts.DOCUMENT_ORIGINALS.format(originals=originals) + ")"
        lines.append(f"{number}. {_cut(doc['name'], 400)}{counts}")
    if len(unique) > MAX_DOCUMENTS:
        lines.append(texts.DOCUMENTS_MORE.format(n=len(unique) - MAX_DOCUMENTS))
    if len({d.get("case") for d in documents if d.get("case")}) > 1:
        lines.append(texts.DOCUMENTS_BY_CASE)
    return lines


def _where_lines(record: dict[str, Any]) -> list[str]:
    lines = []
    if record.get("implementing_agencies"):
        lines.append(texts.WHERE_TITLE.format(agencies=_cut(record["implementing_agencies"], 300)))
    if record.get("levels"):
        lines.append(texts.LEVELS.format(levels=", ".join(record["levels"])))
    if record.get("receiving_address"):
        lines.append(texts.ADDRESS.format(address=_cut(record["receiving_address"], 500)))
    return lines


def _online_lines(record: dict[str, Any]) -> list[str]:
    service = online_service(record)
    if service is None:
        return [texts.ONLINE_NONE]
    sentence = texts.ONLINE_FULL if record["online_level"] == "toan_trinh" else texts.ONLINE_PARTIAL
    return [sentence, texts.ONLINE_LINK.format(url=service["url"])]


def _section(title: str, lines: list[str], what: str) -> list[str]:
    if not lines:
        return [texts.NOT_IN_RECORD.format(what=texts.WHAT.get(what, what))]
    return [title, *lines]


def compose_procedure(
    record: dict[str, Any], aspect: Aspect | None, *, prefer_online: bool = False
) -> str:
    """The answer about one procedure: the asked aspect, or a short overview."""
    lines = [texts.PROCEDURE_HEADER.format(name=record["name"], code=record["code"])]
    if record.get("detail") == "summary":
        if record.get("fields"):
            lines.append(texts.FIELD.format(fields=", ".join(record["fields"])))
        lines += _where_lines(record)
        lines.append(texts.SUMMARY_ONLY)
    elif aspect == "fee":
        lines += _section(texts.FEES_TITLE, _fee_lines(record, prefer_online), "fee")
    elif aspect == "time":
        lines += _section(texts.TIME_TITLE, _time_lines(record, prefer_online), "time")
    elif aspect == "documents":
        lines += _section(texts.DOCUMENTS_TITLE, _document_lines(record), "documents")
    elif aspect == "where":
        lines += _where_lines(record)
    elif aspect == "steps":
        steps = [_cut(s, 400) for s in (record.get("steps") or [])[:MAX_STEPS]]
        lines += _section(texts.STEPS_TITLE, steps, "steps")
    elif aspect == "legal_basis":
        bases = record.get("legal_bases") or []
        legal = [
            f"- {b['number']}" + (f": {_cut(b['title'], 200)}" if b.get("title") else "")
            for b in bases[:MAX_LEGAL]
        ]
        if len(bases) > MAX_LEGAL:  # numbers are short: list every one
            legal.append("- " + ", ".join(b["number"] for b in bases[MAX_LEGAL:]))
        lines += _section(texts.LEGAL_TITLE, legal, "legal_basis")
    elif aspect == "conditions":
        conditions = record.get("conditions") or ""
        lines += (
            [texts.CONDITIONS_TITLE, _cut(conditions)] if conditions else [texts.CONDITIONS_NONE]
        )
    elif aspect == "result":
        results = [f"- {r}" for r in record.get("results") or []]
        lines += _section(texts.RESULT_TITLE, results, "result")
    elif aspect != "online":
        lines += _where_lines(record)
        channel_lines = _time_lines(record, prefer_online)
        if channel_lines:
            lines += [texts.TIME_TITLE, *channel_lines]
        fee_lines = _fee_lines(record, prefer_online)
        if fee_lines:
            lines += [texts.FEES_TITLE, *fee_lines]
        documents = record.get("documents") or []
        if documents:
            lines += [texts.DOCUMENTS_TITLE, *_document_lines(record)[:6]]
            if len(documents) > 5:
                lines.append(texts.DOCUMENTS_MORE.format(n=len(documents) - 5))
    if record.get("detail") != "summary":
        lines += _online_lines(record)
    if record.get("portal_url"):
        lines.append(texts.DETAIL_LINK.format(url=record["portal_url"]))
    if record.get("crawled_at"):
        lines.append(texts.UPDATED.format(date=_date(record["crawled_at"])))
    return "\n".join(lines)


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


def _find_section(sections: list[dict[str, Any]], path: list[str]) -> dict[str, Any] | None:
    nodes, found = sections, None
    for label in path:
        found = next(
            (
                n
                for n in nodes
                if " ".join(filter(None, [n.get("marker", ""), n.get("heading", "")])).strip()
                == label.strip()
            ),
            None,
        )
        if found is None:
            return None
        nodes = found.get("children") or []
    return found


def _flatten(node: dict[str, Any]) -> str:
    parts = [node.get("text", "")]
    parts += [" | ".join(row) for row in node.get("rows") or []]
    for child in node.get("children") or []:
        label = " ".join(filter(None, [child.get("marker", ""), child.get("heading", "")]))
        parts.append(f"{label} {_flatten(child)}".strip())
    return "\n".join(p for p in parts if p)


def compose_plan(record: dict[str, Any], matched_field: str) -> str:
    """A plan's identity and the section the question matched, as written."""
    lines = [
        texts.PLAN_HEADER.format(number=record.get("number") or "", title=record["title"]).replace(
            "Kế hoạch : ", "Kế hoạch: "
        )
    ]
    if record.get("issuer"):
        lines.append(texts.PLAN_ISSUER.format(issuer=record["issuer"], year=record.get("year")))
    path = matched_field.removeprefix("section:").split(" > ") if matched_field else []
    node = _find_section(record.get("sections") or [], path) if path else None
    if node is not None:
        heading = " > ".join(path)
        lines += [heading, _cut(_flatten(node), 1500)]
    else:
        tops = [
            " ".join(filter(None, [s.get("marker"), s.get("heading")]))
            for s in record.get("sections") or []
            if s.get("marker")
        ]
        lines.append(texts.PLAN_SECTIONS.format(sections="; ".join(tops)))
    return "\n".join(lines)


def compose_hotlines(records: list[dict[str, Any]]) -> str:
    """Hotline numbers exactly as stored, each with its source."""
    lines = [texts.HOTLINE_INTRO]
    for record in records:
        area = f" ({record['area']})" if record.get("area") else ""
        hours = f", {record['hours']}" if record.get("hours") else ""
        lines.append(
            texts.HOTLINE_LINE.format(
                name=record["name"], area=area, phones=" / ".join(record["phones"]), hours=hours
            )
        )
        if record.get("source"):
            lines.append(texts.HOTLINE_SOURCE.format(source=record["source"]))
    return "\n".join(lines)
