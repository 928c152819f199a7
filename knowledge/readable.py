"""The readable workbook of procedures: what staff open in a spreadsheet and re-import.

Three sheets, Vietnamese headers, no JSON in the cells staff edit:

- ``Thủ tục``: one row per procedure (lists one item per line);
- ``Lệ phí``: one row per fee (a channel without fees has one row with the fee cells
  empty): code, name, submission method, processing time, amount as "1.500.000",
  currency, note, ...; the rows of one channel share its number (``STT cách thức``);
- ``Hồ sơ``: one row per document of the dossier (thành phần hồ sơ).

Importing the workbook rebuilds each procedure from the three sheets exactly (the
``Tên thủ tục`` of the fee and document sheets is there for reading; the ``Thủ tục``
sheet's name is the one kept). A list item with a line break, or a list that one line
per item cannot tell apart, is written as JSON instead (rare; read back the same).
A cell longer than Excel allows continues in a ``<header>+1`` column.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from knowledge.amounts import format_vnd
from knowledge.codec import from_json, to_json
from knowledge.errors import ImportFileError
from knowledge.records import ProcedureData
from knowledge.tabular import CONTINUATION, join_continuations

SHEET_PROCEDURES = "Thủ tục"
SHEET_FEES = "Lệ phí"
SHEET_DOCUMENTS = "Hồ sơ"
CODE = "Mã thủ tục"
NAME = "Tên thủ tục"
XLSX_CELL_LIMIT = 32_767

METHODS = {"truc_tiep": "Trực tiếp", "truc_tuyen": "Trực tuyến", "buu_chinh": "Dịch vụ bưu chính"}
TIME_UNITS = {
    "working_day": "ngày làm việc",
    "day": "ngày",
    "hour": "giờ",
    "month": "tháng",
    "year": "năm",
    "other": "khác",
}
MEANINGS = {
    "amount": "Có số tiền",
    "free": "Miễn phí",
    "set_elsewhere": "Cơ quan khác quy định",
    "reduced": "Mức giảm",
    "unknown": "Chưa rõ",
}
YES, NO = "Có", "Không"

#: (header, field) of the procedure sheet; list fields are one item per line.
PROCEDURE_COLUMNS: list[tuple[str, str]] = [
    (CODE, "code"),
    (NAME, "name"),
    ("Trạng thái", "status"),
    ("Lĩnh vực", "fields"),
    ("Cấp thực hiện", "levels"),
    ("Loại thủ tục", "procedure_type"),
    ("Số quyết định công bố", "decision_number"),
    ("Cơ quan ban hành", "issuing_body"),
    ("Cơ quan thực hiện", "implementing_agencies"),
    ("Cơ quan có thẩm quyền", "competent_agencies"),
    ("Đối tượng thực hiện", "target_groups"),
    ("Trình tự thực hiện", "steps"),
    ("Yêu cầu, điều kiện", "conditions"),
    ("Kết quả", "results"),
    ("Địa chỉ tiếp nhận", "receiving_address"),
    ("Căn cứ pháp lý (số | tên)", "legal_bases"),
    ("Mức độ dịch vụ công trực tuyến", "online_level"),
    ("Địa chỉ nộp trực tuyến", "online_url"),
    ("Trang trên Cổng DVC", "portal_url"),
    ("Mức chi tiết", "detail"),
    ("Nguồn dữ liệu", "dataset"),
    ("Mã nguồn", "source_id"),
    ("Ngày thu thập", "crawled_at"),
]
FEE_COLUMNS = [
    CODE,
    NAME,
    "STT cách thức",
    "Cách thức nộp",
    "Thời hạn giải quyết",
    "Đơn vị thời hạn",
    "Thời hạn (nguyên văn)",
    "Mô tả cách thức",
    "Loại phí",
    "Số tiền (đồng)",
    "Tiền tệ",
    "Số tiền ngoại tệ",
    "Ghi chú",
    "Ý nghĩa",
    "Cơ quan quy định mức",
    "Áp dụng từ",
    "Áp dụng đến",
    "Mức gốc (đồng)",
]
DOCUMENT_COLUMNS = [
    CODE,
    NAME,
    "STT",
    "Trường hợp",
    "Tên giấy tờ",
    "Bản chính",
    "Bản sao",
    "Bắt buộc",
    "Có mẫu",
    "Tên mẫu",
]
_LIST_FIELDS = {"fields", "levels", "target_groups", "steps", "results"}


# --------------------------------------------------------------------------- writing


def _lines(items: list[str]) -> str:
    joined = "\n".join(items)
    if any(not i or "\n" in i for i in items) or joined.startswith("["):
        return json.dumps(items, ensure_ascii=False)
    return joined


def _number(value: float | int | None) -> str:
    if value is None:
        return ""
    if float(value).is_integer():
        return format_vnd(int(value))
    return repr(float(value)).replace(".", ",")


def _time(value: float | int | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value)).replace(".", ",")


def _flag(value: bool | None) -> str:
    return "" if value is None else (YES if value else NO)


def _legal(bases: list[dict[str, Any]]) -> str:
    parts = [(str(b.get("number") or ""), str(b.get("title") or "")) for b in bases]
    if any(
        not n or "|" in n or "\n" in n + t or n != n.strip() or t != t.strip() for n, t in parts
    ):
        return json.dumps(bases, ensure_ascii=False)
    return _lines([f"{n} | {t}" if t else n for n, t in parts])


def procedure_rows(data: dict[str, Any]) -> tuple[list[str], list[list[str]], list[list[str]]]:
    """One procedure (canonical JSON) → its procedure row, fee rows and document rows."""
    row: list[str] = []
    for _header, name in PROCEDURE_COLUMNS:
        value = data.get(name)
        if name in _LIST_FIELDS:
            row.append(_lines(list(value or [])))
        elif name == "legal_bases":
            row.append(_legal(list(value or [])))
        else:
            row.append("" if value is None else str(value))
    code, title = str(data["code"]), str(data.get("name", ""))
    fees: list[list[str]] = []
    for number, channel in enumerate(data.get("channels") or [], start=1):
        head = [
            code,
            title,
            str(number),
            METHODS.get(channel["method"], channel["method"]),
            _time(channel.get("time_value")),
            TIME_UNITS.get(channel.get("time_unit") or "", channel.get("time_unit") or ""),
            channel.get("time_text") or "",
            channel.get("description") or "",
        ]
        for fee in channel.get("fees") or [{}]:
            if not fee:
                fees.append(head + [""] * (len(FEE_COLUMNS) - len(head)))
                continue
            fees.append(
                [
                    *head,
                    fee.get("kind") or "",
                    _number(fee.get("amount_vnd")),
                    fee.get("currency") or "",
                    _number(fee.get("foreign_amount")),
                    fee.get("description") or "",
                    MEANINGS.get(fee.get("meaning") or "amount", fee.get("meaning") or ""),
                    fee.get("set_by") or "",
                    fee.get("valid_from") or "",
                    fee.get("valid_until") or "",
                    _number(fee.get("base_vnd")),
                ]
            )
    documents = [
        [
            code,
            title,
            str(number),
            doc.get("case") or "",
            doc.get("name") or "",
            "" if doc.get("originals") is None else str(doc["originals"]),
            "" if doc.get("copies") is None else str(doc["copies"]),
            _flag(doc.get("required")),
            _flag(bool(doc.get("has_form"))),
            doc.get("form_name") or "",
        ]
        for number, doc in enumerate(data.get("documents") or [], start=1)
    ]
    return row, fees, documents


def write_workbook(procedures: Iterable[ProcedureData]) -> bytes:
    """The readable workbook of ``procedures`` as XLSX bytes."""
    from openpyxl import Workbook  # heavy import, only for this format
    from openpyxl.styles import Font

    tables: dict[str, tuple[list[str], list[list[str]]]] = {
        SHEET_PROCEDURES: ([h for h, _ in PROCEDURE_COLUMNS], []),
        SHEET_FEES: (FEE_COLUMNS, []),
        SHEET_DOCUMENTS: (DOCUMENT_COLUMNS, []),
    }
    for procedure in procedures:
        row, fees, documents = procedure_rows(to_json(procedure))
        tables[SHEET_PROCEDURES][1].append(row)
        tables[SHEET_FEES][1].extend(fees)
        tables[SHEET_DOCUMENTS][1].extend(documents)
    book = Workbook()
    book.remove(book.active)
    for title, (header, rows) in tables.items():
        sheet = book.create_sheet(title=title)
        widths = [
            max([1, *(-(-len(r[i]) // XLSX_CELL_LIMIT) for r in rows)]) for i in range(len(header))
        ]
        sheet.append(
            [
                name if part == 0 else f"{name}{CONTINUATION}{part}"
                for name, width in zip(header, widths, strict=True)
                for part in range(width)
            ]
        )
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(
                [
                    cell[part * XLSX_CELL_LIMIT : (part + 1) * XLSX_CELL_LIMIT]
                    for cell, width in zip(row, widths, strict=True)
                    for part in range(width)
                ]
            )
        sheet.freeze_panes = "C2"
        for column in sheet.columns:
            letter = column[0].column_letter
            longest = max((len(str(c.value or "").split("\n")[0]) for c in column[:200]), default=8)
            sheet.column_dimensions[letter].width = min(60, max(8, longest + 2))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- reading


def is_readable_header(cells: list[str]) -> bool:
    """Whether a row is the header of one of this workbook's sheets."""
    return cells[:2] == [CODE, NAME]


def _split_lines(text: str) -> list[str]:
    if text.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError:
            items = None
        if isinstance(items, list) and all(isinstance(i, str) for i in items):
            return items
    return text.split("\n") if text else []


def _split_legal(text: str) -> list[dict[str, str]]:
    if text.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError:
            items = None
        if isinstance(items, list) and all(isinstance(i, dict) for i in items):
            return [
                {"number": str(i.get("number", "")), "title": str(i.get("title", ""))}
                for i in items
            ]
    out = []
    for line in _split_lines(text):
        number, _sep, title = line.partition(" | ")
        out.append({"number": number, "title": title})
    return out


def _label(value: str, labels: dict[str, str], what: str) -> str | None:
    if not value:
        return None
    for code, label in labels.items():
        if value.strip().casefold() in (code, label.casefold()):
            return code
    raise ValueError(f"không rõ {what} {value!r}; dùng: {', '.join(labels.values())}")


def _parse_time(value: str) -> float | None:
    text = value.strip()
    if not text:
        return None
    try:
        return float(text.replace(",", "."))
    except ValueError as exc:
        raise ValueError(f"thời hạn phải là một số, ví dụ 15 hoặc 0,5 (đang là {value!r})") from exc


def _parse_int(value: str) -> int | None:
    text = value.strip()
    if not text:
        return None
    try:
        number = float(text.replace(",", "."))
    except ValueError as exc:
        raise ValueError(f"phải là một số nguyên (đang là {value!r})") from exc
    if not number.is_integer():
        raise ValueError(f"phải là một số nguyên (đang là {value!r})")
    return int(number)


def _parse_flag(value: str) -> bool | None:
    text = value.strip().casefold()
    if not text:
        return None
    if text in (YES.casefold(), "x", "true", "1"):
        return True
    if text in (NO.casefold(), "false", "0"):
        return False
    raise ValueError(f"ghi {YES!r} hoặc {NO!r} (đang là {value!r})")


def _foreign(value: str) -> str | None:
    text = value.strip()
    return text.replace(".", "").replace(",", ".") if text else None


SheetRows = dict[str, list[tuple[int, dict[str, str]]]]


def _cell(where: str, line: int, header: str, read: Callable[[], Any]) -> Any:
    try:
        return read()
    except ValueError as exc:
        raise ImportFileError(where, line, header, str(exc)) from exc


def read_workbook(
    path: Path, sheets: SheetRows, errors: list[ImportFileError] | None = None
) -> list[ProcedureData]:
    """Rebuild the procedures of a readable workbook (``sheets``: sheet title → rows as
    ``(line, {header: cell})``). Errors name ``file:line:<sheet>/<header>``; with an
    ``errors`` list every bad row is recorded and its procedure left out."""

    def fail(error: ImportFileError) -> None:
        if errors is None:
            raise error
        errors.append(error)

    where = str(path)
    for title in (SHEET_PROCEDURES, SHEET_FEES, SHEET_DOCUMENTS):
        if title not in sheets:
            raise ImportFileError(where, None, title, f"thiếu trang tính {title!r}")
    bad: set[str] = set()
    channels: dict[str, dict[int, dict[str, Any]]] = {}
    for line, raw in sheets[SHEET_FEES]:
        row = join_continuations(raw)
        code = row.get(CODE, "").strip()

        def get(header: str, row: dict[str, str] = row) -> str:
            return row.get(header) or ""

        try:
            number = _cell(
                where, line, f"{SHEET_FEES}/STT cách thức", lambda: _parse_int(get("STT cách thức"))
            )
            if number is None:
                raise ImportFileError(
                    where, line, f"{SHEET_FEES}/STT cách thức", "bắt buộc, đang thiếu"
                )
            channel = channels.setdefault(code, {}).get(number)
            if channel is None:
                channel = {
                    "method": _cell(
                        where,
                        line,
                        f"{SHEET_FEES}/Cách thức nộp",
                        lambda: _label(get("Cách thức nộp"), METHODS, "cách thức nộp"),
                    ),
                    "time_value": _cell(
                        where,
                        line,
                        f"{SHEET_FEES}/Thời hạn giải quyết",
                        lambda: _parse_time(get("Thời hạn giải quyết")),
                    ),
                    "time_unit": _cell(
                        where,
                        line,
                        f"{SHEET_FEES}/Đơn vị thời hạn",
                        lambda: _label(get("Đơn vị thời hạn"), TIME_UNITS, "đơn vị thời hạn"),
                    ),
                    "time_text": get("Thời hạn (nguyên văn)"),
                    "description": get("Mô tả cách thức"),
                    "fees": [],
                }
                if channel["method"] is None:
                    raise ImportFileError(
                        where, line, f"{SHEET_FEES}/Cách thức nộp", "bắt buộc, đang thiếu"
                    )
                channels[code][number] = channel
            meaning = _cell(
                where,
                line,
                f"{SHEET_FEES}/Ý nghĩa",
                lambda: _label(get("Ý nghĩa"), MEANINGS, "ý nghĩa"),
            )
            fee_cells = FEE_COLUMNS[8:]
            if meaning is None and any(get(h).strip() for h in fee_cells):
                raise ImportFileError(
                    where, line, f"{SHEET_FEES}/Ý nghĩa", "bắt buộc khi dòng có lệ phí"
                )
            if meaning is not None:
                channel["fees"].append(
                    {
                        "kind": get("Loại phí"),
                        "amount_vnd": get("Số tiền (đồng)") or None,
                        "description": get("Ghi chú"),
                        "currency": get("Tiền tệ"),
                        "foreign_amount": _foreign(get("Số tiền ngoại tệ")),
                        "meaning": meaning,
                        "set_by": get("Cơ quan quy định mức"),
                        "valid_from": get("Áp dụng từ") or None,
                        "valid_until": get("Áp dụng đến") or None,
                        "base_vnd": get("Mức gốc (đồng)") or None,
                    }
                )
        except ImportFileError as error:
            bad.add(code)
            fail(error)
    documents: dict[str, list[dict[str, Any]]] = {}
    for line, raw in sheets[SHEET_DOCUMENTS]:
        row = join_continuations(raw)
        code = row.get(CODE, "").strip()

        def dget(header: str, row: dict[str, str] = row) -> str:
            return row.get(header) or ""

        try:
            documents.setdefault(code, []).append(
                {
                    "name": dget("Tên giấy tờ"),
                    "originals": _cell(
                        where,
                        line,
                        f"{SHEET_DOCUMENTS}/Bản chính",
                        lambda: _parse_int(dget("Bản chính")),
                    ),
                    "copies": _cell(
                        where,
                        line,
                        f"{SHEET_DOCUMENTS}/Bản sao",
                        lambda: _parse_int(dget("Bản sao")),
                    ),
                    "required": _cell(
                        where,
                        line,
                        f"{SHEET_DOCUMENTS}/Bắt buộc",
                        lambda: _parse_flag(dget("Bắt buộc")),
                    ),
                    "has_form": bool(
                        _cell(
                            where,
                            line,
                            f"{SHEET_DOCUMENTS}/Có mẫu",
                            lambda: _parse_flag(dget("Có mẫu")),
                        )
                    ),
                    "form_name": dget("Tên mẫu"),
                    "case": dget("Trường hợp"),
                }
            )
        except ImportFileError as error:
            bad.add(code)
            fail(error)
    out: list[ProcedureData] = []
    for line, raw in sheets[SHEET_PROCEDURES]:
        row = join_continuations(raw)
        code = row.get(CODE, "").strip()
        if not code:
            fail(ImportFileError(where, line, f"{SHEET_PROCEDURES}/{CODE}", "bắt buộc, đang thiếu"))
            continue
        data: dict[str, Any] = {}
        for header, name in PROCEDURE_COLUMNS:
            text = row.get(header) or ""
            if name in _LIST_FIELDS:
                data[name] = _split_lines(text)
            elif name == "legal_bases":
                data[name] = _split_legal(text)
            elif name == "crawled_at":
                data[name] = text or None
            else:
                data[name] = text
        data["code"] = code
        data["channels"] = [c for _n, c in sorted(channels.get(code, {}).items())]
        data["documents"] = documents.get(code, [])
        try:
            record = from_json("procedure", data)
        except (TypeError, ValueError, KeyError) as exc:
            field, _sep, reason = str(exc).partition(": ")
            fail(
                ImportFileError(
                    where,
                    line,
                    f"{SHEET_PROCEDURES}/{field if reason else 'record'}",
                    reason or str(exc),
                )
            )
            continue
        if code not in bad:
            assert isinstance(record, ProcedureData)
            out.append(record)
    return out


def sheet_rows(rows: Iterator[tuple[str, int, list[str]]]) -> SheetRows:
    """``(sheet, line, cells)`` → ``{sheet: [(line, {header: cell})]}`` (header = first
    non-empty row of each sheet; empty rows skipped)."""
    out: SheetRows = {}
    headers: dict[str, list[str]] = {}
    for sheet, line, cells in rows:
        if not any(c.strip() for c in cells):
            continue
        if sheet not in headers:
            headers[sheet] = [c.strip() for c in cells]
            out[sheet] = []
            continue
        header = headers[sheet]
        out[sheet].append(
            (line, dict(zip(header, cells + [""] * (len(header) - len(cells)), strict=False)))
        )
    return out
