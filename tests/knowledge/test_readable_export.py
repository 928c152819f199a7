"""The readable procedure workbook: filters, one row per fee, and a lossless round trip."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from knowledge.codec import to_json
from knowledge.db import transaction
from knowledge.exporting import ProcedureFilter, export, export_procedures_xlsx
from knowledge.importers.reading import detect_format, read_records
from knowledge.importing import import_files
from knowledge.models import Revision
from knowledge.readable import (
    FEE_COLUMNS,
    SHEET_DOCUMENTS,
    SHEET_FEES,
    SHEET_PROCEDURES,
    write_workbook,
)
from knowledge.records import ProcedureData
from knowledge.repository import KnowledgeRepository
from tests.conftest import DATA_DIR

DETAILS = DATA_DIR / "dvcqg_opengov_crawl" / "details.jsonl.gz"


def _procedures(factory: sessionmaker[Session]) -> list[dict[str, object]]:
    with transaction(factory) as session:
        return [to_json(r) for r in KnowledgeRepository(session).iter_records("procedure")]


def _sheet(data: bytes, title: str) -> list[dict[str, str]]:
    book = load_workbook(io.BytesIO(data), read_only=True)
    rows = [
        ["" if c is None else str(c) for c in r] for r in book[title].iter_rows(values_only=True)
    ]
    book.close()
    return [dict(zip(rows[0], r, strict=False)) for r in rows[1:]]


def test_whole_workbook_round_trip_changes_nothing(
    factory: sessionmaker[Session], few_details: Path, tmp_path: Path
) -> None:
    import_files(factory, [few_details])
    before = _procedures(factory)
    out = tmp_path / "thu-tuc.xlsx"
    with transaction(factory) as session:
        assert export(session, ["procedure"], "xlsx", out) == {"procedure": 40}
    result = import_files(factory, [out])
    assert result.report.changed == 0, result.report.as_dict()
    assert result.report.unchanged["procedure"] == 40
    assert _procedures(factory) == before


def test_every_bundled_detail_survives_the_workbook(tmp_path: Path) -> None:
    """All 502 typed details (long lists, several channels, foreign fees...) → workbook →
    records again, field for field (no database needed)."""
    records = read_records(DETAILS)
    path = tmp_path / "all.xlsx"
    path.write_bytes(write_workbook(r for r in records if isinstance(r, ProcedureData)))
    assert detect_format(path) == "readable"
    again = read_records(path)
    assert [to_json(r) for r in again] == [to_json(r) for r in records]


def test_fee_rows_are_readable(factory: sessionmaker[Session], few_details: Path) -> None:
    import_files(factory, [few_details])
    with transaction(factory) as session:
        record = next(
            r
            for r in KnowledgeRepository(session).iter_records("procedure")
            if isinstance(r, ProcedureData)
            and any(f.amount_vnd and f.amount_vnd >= 1_000_000 for c in r.channels for f in c.fees)
        )
        data = export_procedures_xlsx(session, ProcedureFilter(codes=(record.code,)))
    fees = _sheet(data, SHEET_FEES)
    expected = [(c, f) for c in record.channels for f in c.fees or [None]]
    assert len(fees) == len(expected)
    assert list(fees[0]) == FEE_COLUMNS
    for row, (_channel, fee) in zip(fees, expected, strict=True):
        assert row["Mã thủ tục"] == record.code and row["Tên thủ tục"] == record.name
        assert row["Cách thức nộp"] in ("Trực tiếp", "Trực tuyến", "Dịch vụ bưu chính")
        assert not any(cell.startswith(("{", "[")) for cell in row.values())
        if fee is not None and fee.amount_vnd is not None:
            # 1500000 → "1.500.000": Vietnamese grouping, no JSON, no float
            assert row["Số tiền (đồng)"] == f"{fee.amount_vnd:,}".replace(",", ".")
            assert row["Ghi chú"] == fee.description
    big = [r for r in fees if len(r["Số tiền (đồng)"].split(".")) >= 3]
    assert big, fees
    (procedure,) = _sheet(data, SHEET_PROCEDURES)
    assert procedure["Mã thủ tục"] == record.code
    documents = _sheet(data, SHEET_DOCUMENTS)
    assert [d["Tên giấy tờ"] for d in documents] == [d.name for d in record.documents]


def test_edited_fee_cell_imports_as_that_fee(
    factory: sessionmaker[Session], few_details: Path, tmp_path: Path
) -> None:
    import_files(factory, [few_details])
    with transaction(factory) as session:
        record = next(
            r
            for r in KnowledgeRepository(session).iter_records("procedure")
            if isinstance(r, ProcedureData) and any(c.fees for c in r.channels)
        )
        data = export_procedures_xlsx(session, ProcedureFilter(codes=(record.code,)))
    book = load_workbook(io.BytesIO(data))
    sheet = book[SHEET_FEES]
    amount_col = FEE_COLUMNS.index("Số tiền (đồng)") + 1
    meaning_col = FEE_COLUMNS.index("Ý nghĩa") + 1
    row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, meaning_col).value)
    sheet.cell(row, amount_col).value = "1.234.000"
    sheet.cell(row, meaning_col).value = "Có số tiền"
    path = tmp_path / "sua.xlsx"
    book.save(path)
    result = import_files(factory, [path], author="bien.tap.vien")
    assert result.report.updated["procedure"] == 1
    with transaction(factory) as session:
        after = KnowledgeRepository(session).get("procedure", record.code)
    assert isinstance(after, ProcedureData)
    amounts = [f.amount_vnd for c in after.channels for f in c.fees]
    assert 1_234_000 in amounts
    assert len(amounts) == sum(len(c.fees) for c in record.channels)
    assert after.documents == record.documents and after.name == record.name


def test_filters_by_code_field_agency_and_date(
    factory: sessionmaker[Session], few_details: Path
) -> None:
    import_files(factory, [few_details])
    with transaction(factory) as session:
        records = [
            r
            for r in KnowledgeRepository(session).iter_records("procedure")
            if isinstance(r, ProcedureData)
        ]
        some = records[3]
        field = some.fields[0]
        agency = some.implementing_agencies.split(",")[0].strip()[:20]
        by_code = {
            r["Mã thủ tục"]
            for r in _sheet(
                export_procedures_xlsx(
                    session, ProcedureFilter(codes=(some.code, records[7].code))
                ),
                SHEET_PROCEDURES,
            )
        }
        by_field = _sheet(
            export_procedures_xlsx(session, ProcedureFilter(field=field.upper())), SHEET_PROCEDURES
        )
        by_agency = _sheet(
            export_procedures_xlsx(session, ProcedureFilter(agency=agency)), SHEET_PROCEDURES
        )
        # Every revision so far is old; one procedure is written today.
        session.execute(update(Revision).values(created_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)))
    with transaction(factory) as session:
        KnowledgeRepository(session).set_status("procedure", some.code, "draft", author="t")
    with transaction(factory) as session:
        today = dt.datetime.now(dt.UTC).date()
        by_date = _sheet(
            export_procedures_xlsx(session, ProcedureFilter(changed_since=today)), SHEET_PROCEDURES
        )
        old = export_procedures_xlsx(session, ProcedureFilter(changed_since=dt.date(2019, 12, 31)))
    assert by_code == {some.code, records[7].code}
    expected_field = {
        r.code for r in records if any(field.casefold() in f.casefold() for f in r.fields)
    }
    assert {r["Mã thủ tục"] for r in by_field} == expected_field
    assert 0 < len(expected_field) < len(records)
    assert some.code in {r["Mã thủ tục"] for r in by_agency}
    assert len(by_agency) < len(records)
    assert [r["Mã thủ tục"] for r in by_date] == [some.code]
    assert by_date[0]["Trạng thái"] == "draft"
    assert len(_sheet(old, SHEET_PROCEDURES)) == len(records)


def test_cli_export_filters_and_reimport(
    tmp_path: Path, few_details: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTHC_DATA_DIR", str(tmp_path / "var"))
    runner = CliRunner()
    result = runner.invoke(main, ["kb", "import", str(few_details), "--json"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "hai-thu-tuc.xlsx"
    factory_codes = _sheet_codes_from_cli(runner, tmp_path)
    result = runner.invoke(
        main,
        ["kb", "export", "--format", "xlsx", "--out", str(out)]
        + [arg for code in factory_codes for arg in ("--code", code)],
    )
    assert result.exit_code == 0, result.output
    assert "procedure=2" in result.output
    assert {r["Mã thủ tục"] for r in _sheet(out.read_bytes(), SHEET_PROCEDURES)} == set(
        factory_codes
    )
    result = runner.invoke(main, ["kb", "import", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert '"unchanged": {\n    "procedure": 2' in result.output
    # A filter with another kind is refused with a clear message, exit 2.
    bad = runner.invoke(
        main,
        ["kb", "export", "--format", "xlsx", "--out", str(out), "--kind", "faq", "--code", "x"],
    )
    assert bad.exit_code == 2 and "chỉ dùng khi xuất thủ tục" in bad.output


def _sheet_codes_from_cli(runner: CliRunner, tmp_path: Path) -> list[str]:
    out = tmp_path / "all.jsonl"
    result = runner.invoke(
        main, ["kb", "export", "--format", "jsonl", "--kind", "procedure", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    import json

    lines = out.read_text("utf-8").splitlines()
    return [json.loads(lines[5])["code"], json.loads(lines[20])["code"]]
