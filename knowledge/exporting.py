"""Exporting the knowledge base as JSONL, CSV or XLSX (re-importable unchanged)."""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.orm import Session

from knowledge.codec import RecordKind, to_json
from knowledge.repository import KnowledgeRepository
from knowledge.tabular import CONTINUATION, columns, to_cells

EXPORT_FORMATS = ("jsonl", "csv", "xlsx")
#: Excel refuses longer cells (a few procedures' document lists are longer).
XLSX_CELL_LIMIT = 32_767


def export(session: Session, kinds: Sequence[RecordKind], fmt: str, out: Path) -> dict[str, int]:
    """Write the records of ``kinds`` to ``out`` and return counts per kind.

    JSONL: one file, one ``{"kind": ..., <fields>}`` object per line (``.gz`` compresses).
    CSV: one file per kind; ``out`` is a folder unless a single kind is exported.
    XLSX: one workbook, one sheet per kind.
    """
    repo = KnowledgeRepository(session)
    rows = {kind: [to_json(r) for r in repo.iter_records(kind)] for kind in kinds}
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
