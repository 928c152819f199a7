"""The tabular (CSV/XLSX) shape of exported records: one column per record field.

Text fields stay plain text so staff can edit them in a spreadsheet; dates are ISO
text; numbers, flags and nested parts (channels, documents, sections) are JSON.
"""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from typing import Any

from knowledge.codec import RecordKind
from knowledge.records import FaqData, HotlineData, PlanData, ProcedureData

DATACLASSES: dict[RecordKind, type[Any]] = {
    "procedure": ProcedureData,
    "hotline": HotlineData,
    "plan": PlanData,
    "faq": FaqData,
}
#: Marks a continuation column (``documents+1``) of a cell too long for one XLSX cell.
CONTINUATION = "+"
_TEXT_TYPES = {"str", "DetailLevel", "Status", "OnlineLevel", "HotlineScope"}
_DATE_TYPES = {"dt.date | None"}


def columns(kind: RecordKind) -> list[str]:
    """The header of a kind's sheet: ``kind`` first, then every field in order."""
    return ["kind", *(f.name for f in dataclasses.fields(DATACLASSES[kind]))]


def _field_types(kind: RecordKind) -> dict[str, str]:
    return {f.name: str(f.type) for f in dataclasses.fields(DATACLASSES[kind])}


def to_cells(kind: RecordKind, data: dict[str, Any]) -> list[str]:
    """Encode a canonical record dict as one row of cells."""
    types = _field_types(kind)
    cells: list[str] = [kind]
    for name in columns(kind)[1:]:
        value = data.get(name)
        if types[name] in _TEXT_TYPES or types[name] in _DATE_TYPES:
            cells.append("" if value is None else str(value))
        else:
            cells.append(json.dumps(value, ensure_ascii=False))
    return cells


def join_continuations(row: dict[str, str]) -> dict[str, str]:
    """Append ``field+1``, ``field+2``, ... cells to ``field`` (in that order)."""
    joined = {k: v for k, v in row.items() if CONTINUATION not in k}
    extra = sorted(
        (k.rsplit(CONTINUATION, 1) for k in row if CONTINUATION in k),
        key=lambda parts: (parts[0], int(parts[1]) if parts[1].isdigit() else 0),
    )
    for base, part in extra:
        joined[base] = joined.get(base, "") + (row.get(f"{base}{CONTINUATION}{part}") or "")
    return joined


def from_cells(kind: RecordKind, row: dict[str, str]) -> dict[str, Any]:
    """Decode one row (header name → cell text) back into a canonical record dict.

    Raises ``ValueError("field: reason")`` for a cell that is not valid JSON.
    """
    row = join_continuations(row)
    types = _field_types(kind)
    data: dict[str, Any] = {}
    for name, kind_of in types.items():
        raw = row.get(name)
        text = "" if raw is None else str(raw)
        if kind_of in _TEXT_TYPES:
            data[name] = text
        elif kind_of in _DATE_TYPES:
            data[name] = text or None
        else:
            try:
                # Decimal keeps "35.000" as typed, so the amount reader sees the thousands.
                data[name] = json.loads(text, parse_float=Decimal) if text else None
            except json.JSONDecodeError as exc:
                raise ValueError(f"{name}: không phải JSON hợp lệ ({exc.msg})") from exc
            if data[name] is None and kind_of.startswith(("list", "tuple")):
                data[name] = []
    return data
