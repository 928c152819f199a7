"""Import preview: what a file would change, every error, nothing written; applying the
same file then writes exactly the previewed changes."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from knowledge.db import transaction
from knowledge.exporting import ProcedureFilter, export, export_procedures_xlsx
from knowledge.importing import import_files
from knowledge.models import Revision
from knowledge.preview import preview_files, preview_import
from knowledge.readable import DOCUMENT_COLUMNS, FEE_COLUMNS, SHEET_DOCUMENTS, SHEET_FEES
from knowledge.records import ProcedureData
from knowledge.repository import KnowledgeRepository
from tests.conftest import DATA_DIR

HOTLINES = DATA_DIR / "hotlines" / "hotlines.csv"


def _revisions(factory: sessionmaker[Session]) -> list[tuple[str, str, str, dict[str, object]]]:
    with transaction(factory) as session:
        return [
            (r.record_kind, r.record_key, r.action, r.diff)
            for r in session.scalars(select(Revision).order_by(Revision.id))
        ]


def _edited_workbook(factory: sessionmaker[Session]) -> tuple[bytes, list[str]]:
    """A readable export of three procedures with one fee and one document name edited."""
    with transaction(factory) as session:
        records = [
            r
            for r in KnowledgeRepository(session).iter_records("procedure")
            if isinstance(r, ProcedureData) and r.documents and any(c.fees for c in r.channels)
        ][:3]
        codes = [r.code for r in records]
        data = export_procedures_xlsx(session, ProcedureFilter(codes=tuple(codes)))
    book = load_workbook(io.BytesIO(data))
    fees = book[SHEET_FEES]
    amount = FEE_COLUMNS.index("Số tiền (đồng)") + 1
    meaning = FEE_COLUMNS.index("Ý nghĩa") + 1
    row = next(r for r in range(2, fees.max_row + 1) if fees.cell(r, meaning).value)
    fees.cell(row, amount).value = "2.500.000"
    fees.cell(row, meaning).value = "Có số tiền"
    docs = book[SHEET_DOCUMENTS]
    docs.cell(2, DOCUMENT_COLUMNS.index("Tên giấy tờ") + 1).value = "Tờ khai (bản sửa)"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), codes


def test_preview_of_an_edited_workbook_then_apply(
    factory: sessionmaker[Session], few_details: Path, tmp_path: Path
) -> None:
    import_files(factory, [few_details])
    before = _revisions(factory)
    data, codes = _edited_workbook(factory)
    with transaction(factory) as session:
        preview = preview_import(session, data, filename="le-phi.xlsx")
    assert preview.ok, preview.errors
    assert _revisions(factory) == before  # nothing written
    assert preview.files == {"le-phi.xlsx": 3}
    changed = [c for c in preview.changes if c.action == "changed"]
    assert preview.counts()["unchanged"] + len(changed) == 3
    assert {c.key for c in preview.changes} == set(codes)
    fields = {name for c in changed for name in c.diff}
    assert fields == {"channels", "documents"}
    channels = next(c.diff["channels"] for c in changed if "channels" in c.diff)
    new_amounts = [f["amount_vnd"] for ch in channels[1] for f in ch["fees"]]
    assert 2_500_000 in new_amounts and 2_500_000 not in [
        f["amount_vnd"] for ch in channels[0] for f in ch["fees"]
    ]

    path = tmp_path / "le-phi.xlsx"
    path.write_bytes(data)
    import_files(factory, [path], author="bien.tap.vien")
    written = _revisions(factory)[len(before) :]
    assert [(k, key, a, d) for k, key, a, d in written] == [
        ("procedure", c.key, "update", c.diff) for c in changed
    ]


def test_preview_lists_new_removed_and_every_error(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    import_files(factory, [HOTLINES])
    out = tmp_path / "hotlines.csv"
    with transaction(factory) as session:
        export(session, ["hotline"], "csv", out)
    rows = list(csv.reader(out.open(encoding="utf-8")))
    header, first, second = rows[0], rows[1], rows[2]
    status = header.index("status")
    phones = header.index("phones")
    first[status] = "retired"  # leaves the bot
    second[phones] = "[không phải json"  # error on line 3
    new = list(first)
    new[header.index("name")] = "Đường dây nóng mới"
    new[status] = "published"
    bad_kind = list(first)
    bad_kind[0] = "thutuc"  # error on line 5
    with out.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, first, second, new, bad_kind, *rows[3:]])
    with transaction(factory) as session:
        preview = preview_files(session, [out])
    assert not preview.ok
    assert preview.errors == [
        f"{out}:3:phones: không phải JSON hợp lệ (Expecting value)",
        f"{out}:5:kind: loại bản ghi không hợp lệ: 'thutuc'",
    ]
    actions = {c.title: c.action for c in preview.changes}
    assert actions["Đường dây nóng mới"] == "new"
    removed = [c for c in preview.changes if c.action == "removed"]
    assert len(removed) == 1 and removed[0].diff == {"status": ["published", "retired"]}
    with transaction(factory) as session:
        assert session.scalar(select(func.count()).select_from(Revision)) == 3


def test_cli_dry_run_prints_the_preview_and_writes_nothing(
    tmp_path: Path, few_details: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTHC_DATA_DIR", str(tmp_path / "var"))
    runner = CliRunner()
    assert runner.invoke(main, ["kb", "import", str(HOTLINES)]).exit_code == 0
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"kind": "faq", "source_id": "x"}\nnot json\n', encoding="utf-8")
    result = runner.invoke(main, ["kb", "import", str(few_details), str(broken), "--dry-run"])
    assert result.exit_code == 2, result.output
    assert "[Thêm mới] procedure" in result.output
    assert f"Lỗi: {broken}:2:json: JSON hỏng" in result.output
    assert f"Lỗi: {broken}:1:" in result.output  # the FAQ line lacks required fields
    assert "chưa có gì được ghi" in result.output
    stats = runner.invoke(main, ["kb", "stats", "--json"])
    assert '"total": 0' in stats.output.split('"faqs"')[0]  # no procedure was written
