"""Fee and processing-time lines read from a procedure record, as of a given day.

Every figure comes from the record: an amount with its currency, who sets a fee the
record does not state ("do Hội đồng nhân dân tỉnh quy định") with the amounts its note
lists, the dates a rate applies. ``today`` decides which rate is in force; an expired
rate is never given as current. Channels whose lines are identical are merged.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import Any

from bot.engine import texts

#: Longest quote of a fee note, in characters (one Zalo/Messenger message is ~2,000).
NOTE_QUOTE = 200
#: Longest list of amounts (with their words) quoted from the notes of one channel;
#: amounts past it are still listed, bare.
AMOUNTS_QUOTE = 360

# A VND amount written in a note, with the words right before it in its clause:
# "Cấp mới 25.000 đồng/GCN", "Đối với đất ở: 150.000 đồng/hồ sơ", "Phí: 600,000".
_AMOUNT = r"(?:\d{1,3}(?:[.,]\d{3})+|\d+)(?!\d|[.,]\d)"
_NOTE_AMOUNT = re.compile(
    r"(?<![\d.,/])(?:(?i:lệ phí|phí)\s*:\s*(?P<lamt>" + _AMOUNT + r")(?!\s*%)(?!\s*/\d)"
    r"|(?P<amt>" + _AMOUNT + r")\s*(?P<per>/\s*[^\W\d][^\s(/,;]*\s+)?"
    r"(?:đồng|Đồng|VNĐ|vnđ|VND|đ|Đ)(?!\w)"
    r"(?P<per2>\s*/\s*[^\W\d][^\s(),;/]*(?:\s(?:sơ|khai|phép|thông hành|căn cước))?)?)"
)
_CLAUSE_START = re.compile(r"(?:^|[;:\n]|\.\s|\s[-+*•]\s|\)\s)")
_EXEMPTION = re.compile(r"(?i)(?:^|[.;:\-+*]\s*)(miễn(?: thu)?(?: phí| lệ phí)?[^.;]{0,160})")
_ITEM_AMOUNT = re.compile(r"\s(?=\d[\d.]*\s+đồng$)")
_FREE_WORDS = re.compile(r"(?i)miễn|không thu|không phải nộp")
_TIME_UNIT = re.compile(r"(?i)\b(\d+(?:[.,]\d+)?)\s*(ngày làm việc|ngày|giờ|tháng|năm|tuần|phút)")


def money(amount: int) -> str:
    """10000 → "10.000 đồng"; 0 → "miễn phí"."""
    if amount == 0:
        return texts.FREE
    return f"{amount:,}".replace(",", ".") + " đồng"


def _grouped(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


def _number(value: float) -> str:
    """5.0 → "5", 2.5 → "2,5" (Vietnamese decimal comma)."""
    return str(int(value)) if float(value).is_integer() else str(value).replace(".", ",")


def _day(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _dmy(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def note_amounts(note: str) -> list[int]:
    """The VND amounts a note writes, in order, each once (what a fee answer must quote)."""
    found: list[int] = []
    for match in _NOTE_AMOUNT.finditer(note):
        amount = int(re.sub(r"[.,]", "", match["lamt"] or match["amt"]))
        if amount not in found:
            found.append(amount)
    return found


def _amount_quotes(note: str, budget: int = AMOUNTS_QUOTE) -> str:
    """The note's amounts, each with the few words before it in its clause, in order.

    "Đối với đất ở: 150.000 đồng/hồ sơ; Các tổ chức: 200.000 đồng/hồ sơ; ...". When the
    budget runs out the remaining amounts are still listed, bare, so none is dropped.
    """
    parts: list[str] = []
    seen: set[int] = set()
    used = 0
    rest: list[str] = []
    for match in _NOTE_AMOUNT.finditer(note):
        amount = int(re.sub(r"[.,]", "", match["lamt"] or match["amt"]))
        if amount in seen:
            continue
        seen.add(amount)
        prefix = note[: match.start()].rstrip(" :")
        starts = [m.end() for m in _CLAUSE_START.finditer(prefix)]
        lead = prefix[max(starts[-1] if starts else 0, len(prefix) - 45) :]
        lead = " ".join(lead.split()).strip(" ,:;-+*•(")
        if len(lead) > 30:
            lead = "…" + lead[-30:].split(" ", 1)[-1]
        per = " ".join((match["per"] or match["per2"] or "").split()).replace("/ ", "/")
        figure = f"{_grouped(amount)} đồng{per}"
        piece = f"{lead}: {figure}" if lead and not lead.endswith(("phí", "Phí")) else figure
        if used + len(piece) + 2 > budget:
            rest.append(_grouped(amount))
            continue
        parts.append(piece)
        used += len(piece) + 2
    text = "; ".join(parts)
    if rest and not parts:
        return texts.FEE_AMOUNTS_ONLY.format(amounts=", ".join(rest))
    if rest:
        text += "; " + texts.FEE_OTHER_AMOUNTS.format(amounts=", ".join(rest))
    return text


def _exemption(note: str) -> str:
    """The note's exemption for groups ("Miễn lệ phí cho người thuộc hộ nghèo ..."), cut."""
    match = _EXEMPTION.search(note)
    if match is None:
        return ""
    sentence = match.group(1).strip(" .;")
    if not re.search(r"(?i)\b(cho|đối với|đối tượng)\b", sentence):
        return ""
    return _cut(sentence, 170)


def _value(fee: dict[str, Any]) -> str:
    """The fee's amount as written: "70.000 đồng", "5 USD", "miễn phí"."""
    currency = fee.get("currency", "VND")
    foreign = fee.get("foreign_amount")
    if currency not in ("VND", "") and foreign is not None:
        return f"{_number(foreign)} {currency}"
    amount = fee.get("amount_vnd")
    return money(amount) if amount is not None else texts.FEE_UNKNOWN


def _kind(fee: dict[str, Any]) -> str:
    kind = str(fee.get("kind") or "")
    return "" if kind == "Miễn phí" else kind


def _with_kind(fee: dict[str, Any], body: str) -> str:
    kind = _kind(fee)
    return f"{kind.lower()} {body}" if kind else body


def _fee_text(
    fee: dict[str, Any],
    today: dt.date | None,
    base_shown: set[int],
    budget: int = AMOUNTS_QUOTE,
    *,
    compact: bool = False,
) -> str | None:
    """One fee as a phrase, or ``None`` when it is a reduced rate not in force today."""
    meaning = fee.get("meaning", "amount")
    start, end = _day(fee.get("valid_from")), _day(fee.get("valid_until"))
    note = str(fee.get("description") or "")
    expired = today is not None and end is not None and end < today
    future = today is not None and start is not None and start > today
    if meaning == "reduced":
        base = fee.get("base_vnd")
        amount = fee.get("amount_vnd")
        if expired or future or not base or amount is None:
            return None
        base_shown.add(int(base))
        until = texts.FEE_UNTIL.format(date=_dmy(end)) if end else ""
        return _with_kind(
            fee,
            texts.FEE_REDUCED.format(
                amount=_value(fee),
                until=until,
                percent=round(int(amount) * 100 / int(base)),
                base=money(int(base)),
            ),
        )
    if meaning == "set_elsewhere":
        who = fee.get("set_by") or ""
        quotes = _amount_quotes(note, budget)
        if who:
            head = texts.FEE_SET_BY.format(who=who)
        else:
            head = texts.FEE_IN_NOTE if quotes else texts.FEE_SET_IN_NOTE
        if expired and end is not None:
            head += " " + texts.FEE_ENDED.format(date=_dmy(end))
        elif end is not None:
            head += " " + texts.FEE_UNTIL.format(date=_dmy(end))
        parts = [_with_kind(fee, head)]
        if quotes and who:
            parts.append(texts.FEE_NOTE_AMOUNTS.format(amounts=quotes))
        elif quotes:
            parts = [f"{parts[0]} {quotes}"]
        exemption = "" if compact else _exemption(note)
        if exemption:
            parts.append(exemption)
        if not quotes and not who and note and not compact:
            parts.append(f"“{_cut(note, NOTE_QUOTE)}”")
        return "; ".join(parts)
    if meaning == "unknown":
        foreign = fee.get("foreign_amount")
        body = (
            texts.FEE_NO_CURRENCY.format(value=_number(foreign))
            if foreign is not None and not fee.get("currency")
            else texts.FEE_UNKNOWN
        )
        return _with_kind(fee, body)
    if meaning == "free":
        # Only a record that says free is told as free; a bare 0 stays "0 đồng".
        says = fee.get("kind") == "Miễn phí" or _FREE_WORDS.search(note)
        body = texts.FREE if says else _with_kind(fee, texts.FEE_ZERO)
    else:
        body = _with_kind(fee, _value(fee))
    if expired and end is not None:
        return texts.FEE_EXPIRED.format(fee=body, date=_dmy(end))
    if future and start is not None:
        return texts.FEE_FROM.format(fee=body, date=_dmy(start))
    if end is not None:
        body += " " + texts.FEE_UNTIL.format(date=_dmy(end))
    if meaning == "free":
        exemption = _exemption(note)
        return body + (f" ({exemption})" if exemption and exemption not in body else "")
    extra = _short_note(note)
    return body + (f" ({extra})" if extra else "")


def _short_note(note: str) -> str:
    """A short note that says what the amount is for ("Đăng ký khai sinh"), else ''.

    Long notes are legal references or repeat the dates already shown; they are left to
    the detail page.
    """
    note = " ".join(note.split()).strip(" .;")
    if not note or len(note) > 90 or re.search(r"(?i)thông tư|nghị định|từ ngày|đến hết", note):
        return ""
    return note


def _channel_fee_texts(
    channel: dict[str, Any], today: dt.date | None, *, compact: bool = False
) -> list[str]:
    fees = list(channel.get("fees") or [])
    if not fees:
        return [texts.NO_FEE_INFO]
    base_shown: set[int] = set()
    # Notes listing amounts share the channel's quote budget.
    quoting = sum(1 for f in fees if f.get("meaning") == "set_elsewhere") or 1
    budget = 0 if compact else AMOUNTS_QUOTE // quoting
    reduced = [_fee_text(f, today, base_shown) for f in fees if f.get("meaning") == "reduced"]
    out: list[str] = [r for r in reduced if r]
    # Several plain amounts whose notes share a heading are written on one line:
    # "Lệ phí cấp Giấy chứng nhận: Cấp đổi (Đất) 25.000 đồng; (Tài sản) 25.000 đồng".
    groups: dict[str, list[str]] = {}
    for fee in fees:
        if fee.get("meaning") == "reduced":
            continue
        amount = fee.get("amount_vnd")
        if amount is not None and amount in base_shown and fee.get("meaning") == "amount":
            continue  # already given as the full rate of a reduced one
        plain = _plain(fee, compact=compact) if len(fees) > 2 else None
        if plain is not None:
            heading, item = plain
            if heading not in groups:
                groups[heading] = []
                out.append(heading)  # its place, filled in below
            groups[heading].append(item)
            continue
        phrase = _fee_text(fee, today, base_shown, budget, compact=compact)
        if phrase and phrase not in out:
            out.append(phrase)
    return [(f"{p}: " if p else "") + _join(groups[p], compact) if p in groups else p for p in out]


def _join(items: list[str], compact: bool) -> str:
    """Items of one heading, each once; ``compact`` names equal amounts together:
    "(Đất) 25.000 đồng; (Tài sản) 25.000 đồng" → "(Đất), (Tài sản) 25.000 đồng"."""
    items = list(dict.fromkeys(items))
    if not compact:
        return "; ".join(items)
    by_value: dict[str, list[str]] = {}
    for item in items:
        cut = _ITEM_AMOUNT.search(item)
        detail, amount = (item[: cut.start()], item[cut.end() :]) if cut else ("", item)
        by_value.setdefault(amount, []).append(detail.strip())
    parts = []
    for amount, details in by_value.items():
        named = ", ".join(d for d in details if d)
        parts.append(f"{named} {amount}" if named else amount)
    return "; ".join(parts)


def _plain(fee: dict[str, Any], *, compact: bool = False) -> tuple[str, str] | None:
    """``(heading, "detail amount")`` of an undated VND amount with a short note, else None.

    The heading is the note up to its last bracket ("Lệ phí cấp Giấy chứng nhận: Cấp đổi,
    cấp lại Giấy chứng nhận" / "(Đất)"), or the whole note.
    """
    note = " ".join(str(fee.get("description") or "").split()).strip(" .;")
    if (
        fee.get("meaning") != "amount"
        or fee.get("currency", "VND") != "VND"
        or fee.get("amount_vnd") is None
        or fee.get("valid_from")
        or fee.get("valid_until")
        or len(note) > 160
    ):
        return None
    value = _value(fee) if compact else _with_kind(fee, _value(fee))
    cut = note.rfind(" (")
    heading, detail = (note[:cut], note[cut + 1 :]) if cut > 0 else (note, "")
    if compact:
        heading = _cut(heading, 60)
    return heading, f"{detail} {value}".strip()


def _channels_in_order(record: dict[str, Any], prefer_online: bool) -> list[dict[str, Any]]:
    channels = list(record.get("channels") or [])
    if prefer_online:
        channels.sort(key=lambda c: c["method"] != "truc_tuyen")
    return channels


def _merged(
    record: dict[str, Any],
    prefer_online: bool,
    per_channel: Callable[[dict[str, Any]], Sequence[str]],
) -> list[str]:
    """``- label[, label]: phrase`` lines; channels with the same phrases share a line."""
    groups: dict[tuple[str, ...], list[str]] = {}
    channels = _channels_in_order(record, prefer_online)
    for channel in channels:
        label = texts.METHOD.get(channel["method"], channel["method"])
        phrases = tuple(per_channel(channel))
        labels = groups.setdefault(phrases, [])
        if label not in labels:
            labels.append(label)
    lines: list[str] = []
    for phrases, labels in groups.items():
        every = len(groups) == 1 and len(channels) > 1
        label = texts.EVERY_METHOD if every else ", ".join(labels)
        if len(phrases) == 1:
            lines.append(f"- {label}: {phrases[0]}")
        else:
            lines.append(f"- {label}:")
            lines.extend(f"  + {p}" for p in phrases)
    return lines


def fee_lines(
    record: dict[str, Any],
    today: dt.date | None,
    *,
    prefer_online: bool = False,
    compact: bool = False,
) -> list[str]:
    """The fee lines of a procedure as of ``today`` (all dated rates shown when ``None``).

    When a rate has expired, one closing line says where the rate in force is found.
    ``compact`` drops the words around the amounts of long notes (amounts stay).
    """
    lines = _merged(record, prefer_online, lambda c: _channel_fee_texts(c, today, compact=compact))
    if any(texts.FEE_EXPIRED_MARK in line for line in lines):
        lines.append(texts.FEE_EXPIRED_NOTE)
    return lines


def _channel_time(channel: dict[str, Any]) -> str:
    value, unit = channel.get("time_value"), channel.get("time_unit")
    if value is not None and unit in texts.UNIT:
        return f"{_number(value)} {texts.UNIT[unit]}"
    text = " ".join(str(channel.get("time_text") or "").split())
    if value is not None or re.fullmatch(r"[\d.,]+", text):
        # A bare number: the unit may be written in the channel's own description.
        number = _number(value) if value is not None else text
        for match in _TIME_UNIT.finditer(str(channel.get("description") or "")):
            if match.group(1).lstrip("0") == number.lstrip("0"):
                return f"{number} {match.group(2).lower()}"
        return texts.TIME_SEE_DETAIL
    if text:
        return _cut(text, 220)
    return texts.TIME_UNKNOWN


def time_lines(record: dict[str, Any], *, prefer_online: bool = False) -> list[str]:
    """Processing time per channel, always with its unit or "theo quy định (xem chi tiết)"."""
    return _merged(record, prefer_online, lambda c: [_channel_time(c)])
