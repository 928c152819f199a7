"""Fact-fidelity benchmark: fee and time answers for every typed portal record.

    TTHC_DATA_DIR=/tmp/fees-data python bench/facts.py [--today 2026-11-30] [--json] [--show N]

For each procedure of ``data/dvcqg_opengov_crawl/details.jsonl.gz`` it asks the composer for
the fee answer, the time answer and the general answer, straight from the record (no
retrieval, so ranking cannot interfere). The record is built the way the engine gets it:
the file is imported into the knowledge database of ``$TTHC_DATA_DIR`` (once; an
unchanged re-import writes nothing) and read back through the repository and the codec
(``to_json``), the path the index store is built from. Each answer is checked against the
**source file**, not against our importer's reading of it:

- wrong currency: a fee the portal marks ``currencyName`` USD (or any non-VND currency)
  whose answer does not show "<value> USD", or shows the value in đồng;
- unconditional "miễn phí": the answer gives "miễn phí" as a fee's value (not "miễn phí
  đối với/cho …", not a dated waiver) on a submission channel that has a fee whose value
  is 0 or empty while its note names an amount or the People's Council (HĐND);
- bare times: a time line whose value is a number with no unit;
- VND amounts present: of every VND amount of the record (a fee value of at least 1,000
  đồng in VND, and every amount written in đồng in a fee note), the share written in its
  fee answer ("150.000");
- lengths: fee and time answers (one aspect) within 1,500 and within 800 characters;
  general answers within 1,500.

Figures of the last run are in the README.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.engine.composer import compose_procedure, today_in_vietnam  # noqa: E402
from knowledge import migrate  # noqa: E402
from knowledge.amounts import format_vnd  # noqa: E402
from knowledge.codec import to_json  # noqa: E402
from knowledge.db import make_engine, make_session_factory, transaction  # noqa: E402
from knowledge.fee_notes import note_vnd_amounts  # noqa: E402
from knowledge.importing import import_files  # noqa: E402
from knowledge.repository import KnowledgeRepository  # noqa: E402
from knowledge.settings import KnowledgeSettings  # noqa: E402

DETAILS = REPO / "data" / "dvcqg_opengov_crawl" / "details.jsonl.gz"
_COUNCIL = re.compile(r"(?i)hội đồng nhân dân|hđnd")
# "miễn phí" given as the value of a fee line: "- Nộp trực tiếp: miễn phí", "  + miễn phí",
# optionally with a kind ("lệ phí miễn phí" never happens) - not "miễn phí đối với …"
# (a group exemption) and not a dated waiver "(chỉ áp dụng đến hết …)".
_FREE_VALUE = re.compile(
    r"(?im)(?::\s|^\s*\+\s)miễn phí(?!\s*(?:đối với|cho|\(chỉ áp dụng|\(áp dụng))"
)
_BARE_TIME = re.compile(r"(?m)^(?:- [^:\n]+:|\s+\+)\s*\d+(?:[.,]\d+)?\s*$")
_TIME_UNIT = re.compile(r"(?i)\d\s*(?:ngày|giờ|tháng|năm|tuần|phút)")


def _source_rows() -> dict[str, dict[str, Any]]:
    with gzip.open(DETAILS, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return {str(r["code"]).strip(): r for r in rows}


def _records(data_dir_factory: Any, codes: set[str]) -> dict[str, dict[str, Any]]:
    with transaction(data_dir_factory) as session:
        repo = KnowledgeRepository(session)
        return {
            r.code: to_json(r)
            for r in repo.iter_records("procedure")
            if getattr(r, "code", None) in codes
        }


def _source_fees(row: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for m in row.get("executionMethods") or [] for f in m.get("fees") or []]


def _vnd_amounts(row: dict[str, Any]) -> set[int]:
    """Every VND amount of a source record: fee values and amounts its fee notes write."""
    amounts: set[int] = set()
    for fee in _source_fees(row):
        currency = fee.get("currencyName") or "Việt Nam Đồng"
        value = fee.get("value")
        if currency == "Việt Nam Đồng" and value not in (None, "") and float(value) >= 1000:
            amounts.add(int(float(value)))
        amounts.update(note_vnd_amounts(str(fee.get("description") or "")))
    return amounts


def _foreign(row: dict[str, Any]) -> list[tuple[float, str]]:
    out = []
    for fee in _source_fees(row):
        name = fee.get("currencyName")
        if name and name != "Việt Nam Đồng" and fee.get("value") not in (None, ""):
            out.append((float(fee["value"]), "USD" if name == "USD" else str(name)))
    return out


_LABELS = {"ONLINE": "Nộp trực tuyến", "DIRECT": "Nộp trực tiếp", "POSTAL": "Qua bưu chính"}


def _setter_channels(row: dict[str, Any]) -> set[str]:
    """Channels (answer labels) with a fee whose value is 0 or empty while its note names
    an amount or the People's Council."""
    found: set[str] = set()
    for method in row.get("executionMethods") or []:
        for fee in method.get("fees") or []:
            note = str(fee.get("description") or "")
            value = fee.get("value")
            empty = value in (None, "") or float(value) == 0
            if empty and (note_vnd_amounts(note) or _COUNCIL.search(note)):
                found.add(_LABELS.get(str(method.get("submissionMethod")), ""))
    return found


def _channel_blocks(answer: str) -> list[tuple[str, str]]:
    """``(labels, text)`` of each "- label: ..." line with its "+ ..." sub-lines."""
    blocks: list[tuple[str, str]] = []
    for line in answer.splitlines():
        if line.startswith("- ") and ":" in line:
            label, _, rest = line[2:].partition(":")
            blocks.append((label, rest))
        elif line.startswith("  +") and blocks:
            blocks[-1] = (blocks[-1][0], blocks[-1][1] + "\n" + line)
    return blocks


def _free_where_set(answer: str, channels: set[str]) -> bool:
    """Is "miễn phí" given as the value of a fee on a channel whose note sets the amount?"""
    for label, text in _channel_blocks(answer):
        applies = label == "Mọi cách nộp" or any(c in label for c in channels)
        if applies and _FREE_VALUE.search(": " + text):
            return True
    return False


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value).replace(".", ",")


def measure(today: dt.date, show: int = 0) -> dict[str, Any]:
    """Import (idempotent), compose and check; returns the figures."""
    settings = KnowledgeSettings()
    engine = make_engine(settings.resolved_database_url())
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    import_files(factory, [DETAILS], author="bench-facts")
    rows = _source_rows()
    records = _records(factory, set(rows))
    engine.dispose()
    wrong_currency: list[str] = []
    free_wrong: list[str] = []
    bare: list[str] = []
    amounts_total = amounts_present = 0
    missing: list[str] = []
    aspect_lengths: list[int] = []
    general_lengths: list[int] = []
    usd_records = setter_records = 0
    for code, row in sorted(rows.items()):
        record = records.get(code)
        if record is None:
            continue
        fee = compose_procedure(record, "fee", today=today)
        time = compose_procedure(record, "time", today=today)
        general = compose_procedure(record, None, today=today)
        aspect_lengths += [len(fee), len(time)]
        general_lengths.append(len(general))
        foreign = _foreign(row)
        usd_records += bool(foreign)
        for value, currency in foreign:
            shown = f"{_number(value)} {currency}"
            if shown not in fee or re.search(rf"(?<![\d.]){_number(value)} đồng", fee):
                wrong_currency.append(code)
                break
        setter = _setter_channels(row)
        if setter:
            setter_records += 1
            if _free_where_set(fee, setter):
                free_wrong.append(code)
        time_body = time.split("\n")
        if any(_BARE_TIME.match(line) for line in time_body):
            bare.append(code)
        for amount in sorted(_vnd_amounts(row)):
            amounts_total += 1
            if format_vnd(amount) in fee:
                amounts_present += 1
            else:
                missing.append(f"{code}:{format_vnd(amount)}")
    figures = {
        "today": today.isoformat(),
        "records": len(general_lengths),
        "records_with_foreign_currency_fee": usd_records,
        "wrong_currency": len(wrong_currency),
        "records_whose_zero_fee_note_names_amount_or_council": setter_records,
        "unconditional_free_where_note_names_amount_or_council": len(free_wrong),
        "bare_times": len(bare),
        "vnd_amounts": amounts_total,
        "vnd_amounts_present": amounts_present,
        "vnd_amounts_present_share": round(amounts_present / max(1, amounts_total), 4),
        "aspect_answers": len(aspect_lengths),
        "aspect_answers_le_1500_share": round(
            sum(n <= 1500 for n in aspect_lengths) / max(1, len(aspect_lengths)), 4
        ),
        "aspect_answers_le_800_share": round(
            sum(n <= 800 for n in aspect_lengths) / max(1, len(aspect_lengths)), 4
        ),
        "general_answers_le_1500_share": round(
            sum(n <= 1500 for n in general_lengths) / max(1, len(general_lengths)), 4
        ),
        "longest_aspect_answer": max(aspect_lengths, default=0),
        "longest_general_answer": max(general_lengths, default=0),
    }
    if show:
        figures["examples"] = {
            "wrong_currency": wrong_currency[:show],
            "unconditional_free": free_wrong[:show],
            "bare_times": bare[:show],
            "missing_amounts": missing[:show],
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--today", type=dt.date.fromisoformat, default=None)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--show", type=int, default=0, help="list up to N failing codes")
    args = parser.parse_args()
    figures = measure(args.today or today_in_vietnam(), show=args.show)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
        return
    for name, value in figures.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
