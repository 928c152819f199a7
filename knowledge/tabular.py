"""The tabular (CSV/XLSX) shape of exported records: one column per record field.

Text fields stay plain text so staff can edit them in a spreadsheet; dates are ISO
text; numbers, flags and nested parts (channels, documents, sections) are JSON.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from knowledge.codec import RecordKind
from knowledge.records import FaqData, HotlineData, PlanData, ProcedureData

DATACLASSES: dict[RecordKind, type[Any]] = {
    "procedure": ProcedureData,
    "hotline": HotlineData,
    "plan": PlanData,
    "faq": FaqData,
}
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
    cells = [kind]
    for name in columns(kind)[1:]:
        value = data.get(name)
        if types[name] in _TEXT_TYPES or types[name] in _DATE_TYPES:
            cells.append("" if value is None else str(value))
        else:
            cells.append(json.dumps(value, ensure_ascii=False))
    return cells


def from_cells(kind: RecordKind, row: dict[str, str]) -> dict[str, Any]:
    """Decode one row (header name → cell text) back into a canonical record dict.

    Raises ``ValueError("field: reason")`` for a cell that is not valid JSON.
    """
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
                data[name] = json.loads(text) if text else None
            except json.JSONDecodeError as exc:
                raise ValueError(f"{name}: không phải JSON hợp lệ ({exc.msg})") from exc
            if data[name] is None and kind_of.startswith(("list", "tuple")):
                data[name] = []
    return data
