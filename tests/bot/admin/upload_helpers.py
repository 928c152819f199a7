"""Shared by the upload tests: the readable workbook of the knowledge base with one fee edited."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from knowledge.db import transaction
from knowledge.exporting import ProcedureFilter, export_procedures_xlsx
from knowledge.readable import CODE, SHEET_FEES


def edited_workbook(
    factory: sessionmaker[Session], code: str, method: str, old: int, new: int | str
) -> bytes:
    """The exported readable workbook of ``code`` with the ``method`` fee ``old`` → ``new``."""
    with transaction(factory) as session:
        data = export_procedures_xlsx(session, ProcedureFilter(codes=(code,)))
    book = load_workbook(io.BytesIO(data))
    sheet = book[SHEET_FEES]
    header = [c.value for c in sheet[1]]
    amount, way = header.index("Số tiền (đồng)"), header.index("Cách thức nộp")
    hits = 0
    for row in sheet.iter_rows(min_row=2):
        if row[header.index(CODE)].value == code and row[way].value == method:
            assert str(row[amount].value).replace(".", "") == str(old), row[amount].value
            row[amount].value = new
            hits += 1
    assert hits == 1
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
