"""Importing real files: idempotent re-import, revisions, all-or-nothing on a bad row."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.db import transaction
from knowledge.errors import ImportFileError
from knowledge.importers.reading import detect_format, read_records
from knowledge.importing import import_files
from knowledge.models import Faq, Hotline, Procedure, Revision
from knowledge.records import HotlineData
from knowledge.repository import KnowledgeRepository
from tests.conftest import DATA_DIR

DETAILS = DATA_DIR / "dvcqg_opengov_crawl" / "details.jsonl.gz"
FAQ = DATA_DIR / "moh_dvc_faq" / "faq_pairs.jsonl.gz"
HOTLINES = DATA_DIR / "hotlines" / "hotlines.csv"


def _read_gz(path: Path) -> str:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return handle.read()


def _count(factory: sessionmaker[Session], model: type) -> int:
    with transaction(factory) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_detect_formats() -> None:
    assert detect_format(DETAILS) == "opengov-details"
    assert detect_format(DATA_DIR / "dvcqg_opengov_crawl" / "catalog.jsonl.gz") == "opengov-catalog"
    assert detect_format(DATA_DIR / "dvcqg_bo_nganh_tthc" / "tthc_records.jsonl.gz") == (
        "portal-records"
    )
    assert detect_format(FAQ) == "faq"
    assert detect_format(HOTLINES) == "hotlines"
    raw = DATA_DIR / "dvcqg_bo_nganh_tthc" / "raw_lists" / "danh-sach-tthc-BoTuPhap.xlsx"
    assert detect_format(raw) == "portal-list"
    assert detect_format(DATA_DIR / "seeds" / "000_18ac861e3429d323.txt") == "plan"


def test_reimport_is_idempotent(factory: sessionmaker[Session]) -> None:
    first = import_files(factory, [DETAILS, FAQ, HOTLINES])
    assert first.report.created["procedure"] == 502
    assert first.report.created["faq"] == 477
    assert first.report.created["hotline"] == 3
    revisions = _count(factory, Revision)
    assert revisions == 502 + 477 + 3

    second = import_files(factory, [DETAILS, FAQ, HOTLINES])
    assert second.report.changed == 0
    assert second.report.unchanged["procedure"] == 502
    assert _count(factory, Revision) == revisions
    assert _count(factory, Procedure) == 502 and _count(factory, Faq) == 477


def test_changed_row_makes_one_revision(factory: sessionmaker[Session], tmp_path: Path) -> None:
    import_files(factory, [FAQ])
    rows = [json.loads(line) for line in _read_gz(FAQ).splitlines()]
    rows[16]["answer"] = rows[16]["answer"] + " (cập nhật)"
    edited = tmp_path / "faq_edited.jsonl"
    edited.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    result = import_files(factory, [edited], author="staff")
    assert result.report.updated["faq"] == 1 and result.report.unchanged["faq"] == 476
    with transaction(factory) as session:
        revs = KnowledgeRepository(session).revisions("faq", rows[16]["id"])
        assert [r.action for r in revs] == ["create", "update"]
        assert set(revs[-1].diff) == {"answer"}


def test_broken_jsonl_row_reports_line_and_writes_nothing(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    lines = _read_gz(FAQ).splitlines()
    bad = json.loads(lines[9])
    bad["answer"] = ""
    lines[9] = json.dumps(bad, ensure_ascii=False)
    broken = tmp_path / "faq_broken.jsonl"
    broken.write_text("\n".join(lines), "utf-8")
    with pytest.raises(ImportFileError) as info:
        import_files(factory, [HOTLINES, broken])
    assert (info.value.line, info.value.field) == (10, "answer")
    assert str(info.value).startswith(f"{broken}:10:answer:")
    assert _count(factory, Faq) == 0 and _count(factory, Hotline) == 0
    assert _count(factory, Revision) == 0


def test_invalid_json_line(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"id": "a", "question": "q", "answer": "a"}\n{not json\n', "utf-8")
    with pytest.raises(ImportFileError) as info:
        read_records(path)
    assert (info.value.line, info.value.field) == (2, "json")


def test_hotline_template_validation(tmp_path: Path) -> None:
    path = tmp_path / "hotlines.csv"
    path.write_text(
        "scope,area,name,phones,source\n"
        "province,Tỉnh Mẫu,Đường dây nóng mẫu,0000 000 000,fixture\n"
        "province,Tỉnh Mẫu,Số hỏng,abc,fixture\n",
        "utf-8",
    )
    with pytest.raises(ImportFileError) as info:
        read_records(path)
    assert (info.value.line, info.value.field) == (3, "phones")

    path.write_text("scope,area,name,phones,source\nprovince,,Không nguồn,0000 000 000,\n", "utf-8")
    with pytest.raises(ImportFileError) as info:
        read_records(path)
    assert info.value.field == "source"


def test_bundled_hotlines_cite_real_sources() -> None:
    records = read_records(HOTLINES)
    assert len(records) == 3
    faq_text = _read_gz(FAQ)
    details_text = _read_gz(DETAILS)
    for record in records:
        assert isinstance(record, HotlineData) and record.source
        for phone in record.phones:
            # Every bundled number appears verbatim in a bundled public record.
            assert phone in faq_text or phone in details_text, phone


def test_hotlines_xlsx(tmp_path: Path, factory: sessionmaker[Session]) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["scope", "area", "name", "phones", "email", "hours", "source", "verified_at"])
    sheet.append(
        [
            "commune",
            "Xã Mẫu",
            "Bộ phận Một cửa xã Mẫu",
            "0000 000 001; 0000 000 002",
            "",
            "7h30-17h",
            "fixture",
            "2026-11-01",
        ]
    )
    path = tmp_path / "hotlines.xlsx"
    book.save(path)
    assert detect_format(path) == "hotlines"
    import_files(factory, [path])
    with transaction(factory) as session:
        record = KnowledgeRepository(session).get(
            "hotline", "commune|Xã Mẫu|Bộ phận Một cửa xã Mẫu"
        )
    assert isinstance(record, HotlineData)
    assert record.phones == ["0000 000 001", "0000 000 002"]


def test_unsupported_file(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"\0\1")
    with pytest.raises(ImportFileError, match=r"x\.bin"):
        read_records(path)
