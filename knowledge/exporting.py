"""Exporting the knowledge base as JSONL, CSV or XLSX (re-importable unchanged)."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.codec import Record, RecordKind, to_json
from knowledge.errors import RecordNotFound
from knowledge.models import Revision
from knowledge.readable import write_workbook
from knowledge.records import ProcedureData
from knowledge.repository import KnowledgeRepository
from knowledge.tabular import CONTINUATION, columns, to_cells

EXPORT_FORMATS = ("jsonl", "csv", "xlsx")
#: ``readable``: the procedure workbook of :mod:`knowledge.readable` (one row per fee,
#: per document); ``columns``: one column per record field, nested parts as JSON.
XLSX_LAYOUTS = ("readable", "columns")
#: Excel refuses longer cells (a few procedures' document lists are longer).
XLSX_CELL_LIMIT = 32_767


@dataclass(frozen=True)
class ProcedureFilter:
    """Which procedures to export; every given criterion must hold.

    ``codes``: national codes (exact); ``field``: part of one of the procedure's fields
    (lĩnh vực) and ``agency``: part of its issuing, implementing or competent agency,
    both compared without case; ``changed_since``: written (any revision) on or after
    this UTC day.
    """

    codes: tuple[str, ...] = ()
    field: str = ""
    agency: str = ""
    changed_since: dt.date | None = None

    @property
    def active(self) -> bool:
        """Whether any criterion is set."""
        return bool(self.codes or self.field or self.agency or self.changed_since)


def _folded(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold().strip()


def select_procedures(session: Session, where: ProcedureFilter) -> list[ProcedureData]:
    """The procedures matching ``where``, ordered by code."""
    repo = KnowledgeRepository(session)
    changed: set[str] | None = None
    if where.changed_since is not None:
        since = dt.datetime.combine(where.changed_since, dt.time(), tzinfo=dt.UTC)
        stmt = select(Revision.record_key).where(
            Revision.record_kind == "procedure", Revision.created_at >= since
        )
        changed = {str(k) for k in session.scalars(stmt)}
    codes = set(where.codes)
    field, agency = _folded(where.field), _folded(where.agency)
    out: list[ProcedureData] = []
    records: list[Record] = []
    if codes:
        for code in sorted(codes):
            try:
                records.append(repo.get("procedure", code))
            except RecordNotFound:
                continue
    else:
        records = list(repo.iter_records("procedure"))
    for record in records:
        assert isinstance(record, ProcedureData)
        if codes and record.code not in codes:
            continue
        if changed is not None and record.code not in changed:
            continue
        if field and not any(field in _folded(f) for f in record.fields):
            continue
        agencies = (record.issuing_body, record.implementing_agencies, record.competent_agencies)
        if agency and not any(agency in _folded(a) for a in agencies):
            continue
        out.append(record)
    return out


def export_procedures_xlsx(session: Session, where: ProcedureFilter | None = None) -> bytes:
    """The readable workbook (:mod:`knowledge.readable`) of the procedures matching
    ``where`` (all when ``None``), as XLSX bytes; importing it back changes nothing."""
    return write_workbook(select_procedures(session, where or ProcedureFilter()))


def export(
    session: Session,
    kinds: Sequence[RecordKind],
    fmt: str,
    out: Path,
    *,
    where: ProcedureFilter | None = None,
    layout: str | None = None,
) -> dict[str, int]:
    """Write the records of ``kinds`` to ``out`` and return counts per kind.

    JSONL: one file, one ``{"kind": ..., <fields>}`` object per line (``.gz`` compresses).
    CSV: one file per kind; ``out`` is a folder unless a single kind is exported.
    XLSX: ``layout="readable"`` (the default when only procedures are exported) writes
    the procedure workbook of :mod:`knowledge.readable`; ``"columns"`` one sheet per
    kind, one column per field. ``where`` selects procedures (then only procedures may
    be exported: ``ValueError`` otherwise).
    """
    if where is not None and where.active and set(kinds) != {"procedure"}:
        raise ValueError("bộ lọc (mã, lĩnh vực, cơ quan, ngày) chỉ dùng khi xuất thủ tục")
    if layout is None:
        layout = "readable" if fmt == "xlsx" and set(kinds) == {"procedure"} else "columns"
    if layout not in XLSX_LAYOUTS or (layout == "readable" and fmt != "xlsx"):
        raise ValueError(f"bố cục {layout!r} không dùng được với định dạng {fmt}")
    if layout == "readable":
        if set(kinds) != {"procedure"}:
            raise ValueError("bố cục dễ đọc chỉ dành cho thủ tục (--kind procedure)")
        procedures = select_procedures(session, where or ProcedureFilter())
        out.write_bytes(write_workbook(procedures))
        return {"procedure": len(procedures)}
    repo = KnowledgeRepository(session)
    rows = {
        kind: [
            to_json(r)
            for r in (
                select_procedures(session, where)
                if kind == "procedure" and where is not None
                else repo.iter_records(kind)
            )
        ]
        for kind in kinds
    }
    if fmt == "jsonl":
        opener = gzip.open if out.suffix == ".gz" else open
        with opener(out, "wt", encoding="utf-8") as handle:
            for kind, items in rows.items():
                for item in items:
                    handle.write(json.dumps({"kind": kind, **item}, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        single = len(kinds) == 1 and out.suffix == ".csv"
        if not single:
            out.mkdir(parents=True, exist_ok=True)
        for kind, items in rows.items():
            target = out if single else out / f"{kind}s.csv"
            with target.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(columns(kind))
                writer.writerows(to_cells(kind, item) for item in items)
    elif fmt == "xlsx":
        _write_xlsx(rows, out)
    else:
        raise ValueError(f"unknown export format {fmt!r}")
    return {kind: len(items) for kind, items in rows.items()}


def _write_xlsx(rows: dict[RecordKind, list[dict[str, object]]], out: Path) -> None:
    """One sheet per kind; a cell longer than Excel allows continues in ``field+1``, ..."""
    from openpyxl import Workbook  # heavy import, only for this format

    book = Workbook(write_only=True)
    for kind, items in rows.items():
        sheet = book.create_sheet(title=f"{kind}s")
        header = columns(kind)
        table = [to_cells(kind, item) for item in items]
        widths = [
            max([1, *(-(-len(row[i]) // XLSX_CELL_LIMIT) for row in table)])
            for i in range(len(header))
        ]
        sheet.append(
            [
                name if part == 0 else f"{name}{CONTINUATION}{part}"
                for name, width in zip(header, widths, strict=True)
                for part in range(width)
            ]
        )
        for row in table:
            sheet.append(
                [
                    cell[part * XLSX_CELL_LIMIT : (part + 1) * XLSX_CELL_LIMIT]
                    for cell, width in zip(row, widths, strict=True)
                    for part in range(width)
                ]
            )
    book.save(out)
