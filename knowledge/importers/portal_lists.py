"""Importer for the portal's XLSX procedure list exports (``raw_lists/*.xlsx``).

Columns: Mã số, Tên, Cơ quan ban hành, Cơ quan thực hiện, Lĩnh vực, under a title
block. Rows become summary-only procedures; richer sources win for the same code.
"""

from __future__ import annotations

from knowledge.importers.text import clean, split_lines
from knowledge.records import ProcedureData

DATASET = "dvcqg_raw_lists"
HEADER = ("Mã số", "Tên", "Cơ quan ban hành", "Cơ quan thực hiện", "Lĩnh vực")


def is_list_header(cells: list[str]) -> bool:
    """Is this the header row of a portal list export?"""
    return tuple(clean(c) for c in cells[: len(HEADER)]) == HEADER


def procedure_from_list_row(cells: list[str], *, source: str) -> ProcedureData:
    """Map one list row; ``ValueError("field: reason")`` when code or name is missing."""
    code, name, issuer, agencies, field_name = (clean(c) for c in (cells + [""] * 5)[:5])
    if not code:
        raise ValueError("Mã số: bắt buộc, đang để trống")
    if not name:
        raise ValueError("Tên: bắt buộc, đang để trống")
    return ProcedureData(
        code=code,
        name=name,
        detail="summary",
        fields=[field_name] if field_name else [],
        issuing_body=issuer,
        implementing_agencies="; ".join(split_lines(agencies)),
        dataset=DATASET,
        source_id=f"{source}#{code}",
    )
