"""Reading any supported file into records, with ``file:line:field`` errors.

Formats are detected from the file name and its first record, or forced with
``fmt``. Nothing here touches the database: a file is parsed completely before any
write, so a bad row anywhere means nothing is written.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from knowledge import readable
from knowledge.codec import KINDS, Record, from_json, record_key, record_kind
from knowledge.errors import ImportFileError
from knowledge.importers import faq as faq_importer
from knowledge.importers import hotlines, opengov, portal_lists, portal_records
from knowledge.importers.plans import read_plan_file
from knowledge.tabular import from_cells

FORMATS = (
    "portal-records",
    "opengov-details",
    "opengov-catalog",
    "faq",
    "hotlines",
    "portal-list",
    "plan",
    "export",
    "readable",
)
PLAN_SUFFIXES = {".txt", ".md", ".docx", ".pdf"}

JsonMapper = Callable[[dict[str, Any]], Record]


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8-sig")
    return path.open("r", encoding="utf-8-sig", newline="")


def _base_suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


#: Where row errors go when a caller wants all of them (a preview) instead of the first.
Errors = list[ImportFileError] | None


def _fail(errors: Errors, error: ImportFileError) -> None:
    """Raise ``error``, or record it and let the caller skip the row."""
    if errors is None:
        raise error
    errors.append(error)


def _jsonl(
    path: Path, *, exact: bool = False, errors: Errors = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """JSON objects by line number; ``exact`` keeps non-integer numbers as ``Decimal``
    so that an amount staff typed as ``35.000`` is still "35.000", not 35.0. With
    ``errors``, a broken line is recorded there and skipped."""
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line, parse_float=Decimal) if exact else json.loads(line)
            except json.JSONDecodeError as exc:
                _fail(errors, ImportFileError(str(path), number, "json", f"JSON hỏng: {exc.msg}"))
                continue
            if not isinstance(obj, dict):
                _fail(
                    errors,
                    ImportFileError(str(path), number, "json", "mỗi dòng phải là một đối tượng"),
                )
                continue
            yield number, obj


def _detect_json(path: Path, first: dict[str, Any]) -> str:
    if first.get("kind") in KINDS:
        return "export"
    if portal_records.is_portal_record(first):
        return "portal-records"
    if opengov.is_detail(first):
        return "opengov-details"
    if opengov.is_catalog(first):
        return "opengov-catalog"
    if faq_importer.is_faq(first):
        return "faq"
    raise ImportFileError(str(path), 1, "format", "không nhận ra định dạng của tệp JSONL")


def _first_json(path: Path) -> dict[str, Any]:
    for _, obj in _jsonl(path):
        return obj
    raise ImportFileError(str(path), None, "file", "tệp rỗng")


def detect_format(path: Path) -> str:
    """Guess the format of ``path`` (raises :class:`ImportFileError` when unsure)."""
    suffix = _base_suffix(path)
    if suffix in (".jsonl", ".json"):
        return _detect_json(path, _first_json(path))
    if suffix in PLAN_SUFFIXES:
        return "plan"
    if suffix == ".csv":
        header = next(csv.reader(_open_text(path)), [])
        return "export" if header[:1] == ["kind"] else "hotlines"
    if suffix == ".xlsx":
        for _, cells in _xlsx_rows(path):
            if readable.is_readable_header(cells):
                return "readable"
            if cells[:1] == ["kind"]:
                return "export"
            if portal_lists.is_list_header(cells):
                return "portal-list"
            if hotlines.is_hotline_header(cells):
                return "hotlines"
        raise ImportFileError(str(path), None, "format", "không tìm thấy dòng tiêu đề quen thuộc")
    raise ImportFileError(str(path), None, "format", f"không hỗ trợ đuôi tệp {suffix or '(trống)'}")


@dataclass
class ParsedFile:
    """The records of one file, plus warnings about rows that were left out."""

    records: list[Record]
    warnings: list[str] = field(default_factory=list)


def read_file(path: Path, fmt: str | None = None, *, errors: Errors = None) -> ParsedFile:
    """Parse a whole file; a key repeated inside the file keeps its first row.

    With an ``errors`` list, every malformed row is recorded there (and left out)
    instead of the first one raising; a file-level problem still raises.

    The portal's own data has such repeats (two different procedures under one code);
    keeping the first deterministically keeps re-imports idempotent, and the warning
    tells staff which line to look at.
    """
    parsed = ParsedFile(records=[])
    seen: dict[tuple[str, str], int] = {}
    for position, record in enumerate(read_records(path, fmt, errors=errors), start=1):
        key = (record_kind(record), record_key(record))
        if key in seen:
            parsed.warnings.append(
                f"{path}: bản ghi thứ {position} trùng khóa {key[1]!r} với bản ghi thứ "
                f"{seen[key]}; đã bỏ qua"
            )
            continue
        seen[key] = position
        parsed.records.append(record)
    return parsed


def read_records(path: Path, fmt: str | None = None, *, errors: Errors = None) -> list[Record]:
    """Parse a whole file into records, or raise :class:`ImportFileError` (see
    :func:`read_file` for ``errors``)."""
    if not path.is_file():
        raise ImportFileError(str(path), None, "file", "không tìm thấy tệp")
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise ImportFileError(str(path), None, "format", f"định dạng không hỗ trợ: {fmt}")
    if fmt == "plan":
        return [read_plan_file(path)]
    suffix = _base_suffix(path)
    if fmt == "readable":
        if suffix != ".xlsx":
            raise ImportFileError(str(path), None, "format", "bảng dễ đọc phải là tệp .xlsx")
        sheets = readable.sheet_rows(_xlsx_sheet_rows(path))
        return list(readable.read_workbook(path, sheets, errors))
    if suffix in (".jsonl", ".json"):
        return _read_json_records(path, fmt, errors)
    rows = _xlsx_rows(path) if suffix == ".xlsx" else _csv_rows(path)
    return _read_table_records(path, fmt, rows, errors)


def _read_json_records(path: Path, fmt: str, errors: Errors = None) -> list[Record]:
    mappers: dict[str, JsonMapper] = {
        "portal-records": portal_records.procedure_from_portal,
        "opengov-details": opengov.procedure_from_detail,
        "opengov-catalog": opengov.procedure_from_catalog,
        "faq": faq_importer.faq_from_row,
    }
    required = {
        "portal-records": portal_records.REQUIRED_FIELDS,
        "opengov-details": ("code", "name", "executionMethods"),
        "opengov-catalog": ("code", "name"),
        "faq": faq_importer.REQUIRED_FIELDS,
    }
    records: list[Record] = []
    for number, obj in _jsonl(path, exact=fmt == "export", errors=errors):
        try:
            if fmt == "export":
                records.append(_export_record(path, number, obj))
                continue
            for name in required[fmt]:
                if obj.get(name) in (None, ""):
                    raise ImportFileError(str(path), number, name, "bắt buộc, đang thiếu")
            try:
                records.append(mappers[fmt](obj))
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                field, reason = _split_reason(str(exc), default_field="record")
                raise ImportFileError(str(path), number, field, reason) from exc
        except ImportFileError as error:
            _fail(errors, error)
    return records


def _export_record(path: Path, number: int, obj: dict[str, Any]) -> Record:
    kind = obj.get("kind")
    if kind not in KINDS:
        raise ImportFileError(str(path), number, "kind", f"loại bản ghi không hợp lệ: {kind!r}")
    data = {k: v for k, v in obj.items() if k != "kind"}
    try:
        return from_json(kind, data)
    except (TypeError, ValueError, KeyError) as exc:
        field, reason = _split_reason(str(exc), default_field="record")
        raise ImportFileError(str(path), number, field, reason) from exc


def _split_reason(message: str, *, default_field: str) -> tuple[str, str]:
    head, sep, tail = message.partition(": ")
    if sep and head and " " not in head.strip():
        return head.strip(), tail
    return default_field, message


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    with _open_text(path) as handle:
        reader = csv.reader(handle)
        for row in reader:
            yield reader.line_num, [c.strip() if c else "" for c in row]


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    for _sheet, number, cells in _xlsx_sheet_rows(path):
        yield number, cells


def _xlsx_sheet_rows(path: Path) -> Iterator[tuple[str, int, list[str]]]:
    from openpyxl import load_workbook  # a heavy import only the XLSX paths need

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many unrelated types for a broken file
        raise ImportFileError(str(path), None, "file", f"không đọc được XLSX: {exc}") from exc
    try:
        for sheet in book.worksheets:
            for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield sheet.title, number, ["" if c is None else str(c) for c in row]
    finally:
        book.close()


def _read_table_records(
    path: Path, fmt: str, rows: Iterator[tuple[int, list[str]]], errors: Errors = None
) -> list[Record]:
    header: list[str] | None = None
    records: list[Record] = []
    for number, cells in rows:
        if not any(c.strip() for c in cells):
            continue
        if _is_header(fmt, cells):
            header = [c.strip() for c in cells]
            continue
        if header is None:
            if fmt == "portal-list":
                continue  # the title block above the header row
            raise ImportFileError(str(path), number, "header", "thiếu dòng tiêu đề")
        try:
            records.append(_table_record(path, fmt, header, cells))
        except ValueError as exc:
            field, reason = _split_reason(str(exc), default_field="row")
            _fail(errors, ImportFileError(str(path), number, field, reason))
    if not records and not errors:
        raise ImportFileError(str(path), None, "file", "không có dòng dữ liệu nào")
    return records


def _is_header(fmt: str, cells: list[str]) -> bool:
    if fmt == "export":
        return cells[:1] == ["kind"]
    if fmt == "portal-list":
        return portal_lists.is_list_header(cells)
    return hotlines.is_hotline_header(cells)


def _table_record(path: Path, fmt: str, header: list[str], cells: list[str]) -> Record:
    named = dict(zip(header, cells + [""] * (len(header) - len(cells)), strict=False))
    if fmt == "portal-list":
        return portal_lists.procedure_from_list_row(cells, source=path.name)
    if fmt == "hotlines":
        return hotlines.hotline_from_cells({k.lower(): v for k, v in named.items()})
    kind = named.get("kind", "")
    if kind not in KINDS:
        raise ValueError(f"kind: loại bản ghi không hợp lệ: {kind!r}")
    try:
        return from_json(kind, from_cells(kind, named))
    except (TypeError, KeyError) as exc:
        raise ValueError(f"record: {exc}") from exc
