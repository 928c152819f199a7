"""Fees on real records: currency, meaning, validity; stored and read back; audited."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from functools import cache
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from knowledge.audit import audit, counts
from knowledge.db import transaction
from knowledge.fee_notes import classify, set_by, validity, with_facts
from knowledge.importers.opengov import procedure_from_detail
from knowledge.importers.portal_records import procedure_from_portal
from knowledge.importing import import_files
from knowledge.records import FeeData, ProcedureData
from knowledge.repository import KnowledgeRepository
from tests.conftest import DATA_DIR

DETAILS = DATA_DIR / "dvcqg_opengov_crawl" / "details.jsonl.gz"
MINISTRIES = DATA_DIR / "dvcqg_bo_nganh_tthc" / "tthc_records.jsonl.gz"
TODAY = dt.date(2026, 11, 30)


@cache
def _rows(path: str, key: str) -> dict[str, dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return {row[key]: row for row in map(json.loads, handle)}


def detail(code: str) -> dict[str, Any]:
    return _rows(str(DETAILS), "code")[code]


def ministry(code: str) -> dict[str, Any]:
    return _rows(str(MINISTRIES), "ma_thu_tuc")[code]


def _fees(proc: ProcedureData, method: str) -> list[FeeData]:
    return [f for c in proc.channels if c.method == method for f in c.fees]


def test_usd_fee_abroad_keeps_its_currency() -> None:
    """Birth registration abroad: the portal says 5 USD (currencyName), never 5 đồng."""
    proc = procedure_from_detail(detail("1.001020"))
    (fee,) = _fees(proc, "truc_tiep")
    assert (fee.currency, fee.foreign_amount, fee.amount_vnd, fee.meaning) == (
        "USD",
        5.0,
        None,
        "amount",
    )


def test_council_set_fee_is_not_free() -> None:
    """0 next to "do Hội đồng nhân dân ... quyết định": set elsewhere, with group exemptions."""
    proc = procedure_from_detail(detail("1.000893"))
    (fee,) = _fees(proc, "truc_tiep")
    assert (fee.amount_vnd, fee.meaning, fee.set_by) == (
        None,
        "set_elsewhere",
        "Hội đồng nhân dân tỉnh",
    )
    assert "Miễn lệ phí cho người thuộc gia đình có công" in fee.description


def test_land_fee_listing_amounts_is_set_in_the_note() -> None:
    proc = procedure_from_detail(detail("1.115755"))
    fees = _fees(proc, "truc_tiep")
    assert fees and all(f.meaning == "set_elsewhere" and f.amount_vnd is None for f in fees)


def test_identity_card_reissue_half_rate_until_end_of_2026() -> None:
    """ "Kể từ ngày 01/7/2025 đến hết ngày 31/12/2026 ... bằng 50% mức thu" on 70.000 đồng."""
    proc = procedure_from_portal(ministry("1.000757"))
    fees = _fees(proc, "truc_tiep")
    assert fees[0].amount_vnd == 70_000 and fees[0].valid_until is None
    reduced = [(f.amount_vnd, f.valid_from, f.valid_until) for f in fees if f.meaning == "reduced"]
    assert (35_000, dt.date(2025, 7, 1), dt.date(2026, 12, 31)) in reduced
    assert all(f.base_vnd == 70_000 for f in fees if f.meaning == "reduced")


def test_passport_rate_expired_end_of_2023() -> None:
    proc = procedure_from_portal(ministry("1.001456"))
    online = _fees(proc, "truc_tuyen")
    assert online[0].amount_vnd == 160_000
    assert online[0].valid_until == dt.date(2023, 12, 31)
    direct = _fees(proc, "truc_tiep")
    assert direct[0].amount_vnd == 200_000 and direct[0].valid_until is None


def test_dated_waiver_is_free_only_for_its_dates() -> None:
    """ "Miễn phí (... Miễn phí từ ngày 07/4/2026 đến 30/6/2026 ...)" with listed fees."""
    proc = procedure_from_portal(ministry("1.004306"))
    fees = _fees(proc, "truc_tiep")
    assert (fees[0].meaning, fees[0].valid_from, fees[0].valid_until) == (
        "free",
        dt.date(2026, 4, 7),
        dt.date(2026, 6, 30),
    )
    # The listed amounts are not dated by the waiver.
    assert all(f.valid_until is None for f in fees[1:])


def test_a_free_cell_beside_the_document_that_sets_the_rates_is_not_free() -> None:
    """The portal's "Miễn phí" cell for the judicial record certificate (3.000333) sits
    beside a note that cites the circular setting its fee: the note is told, not "free"."""
    rates = (
        "Thực hiện theo Thông tư số 244/2016/TT-BTC ngày 11/11/2016 của Bộ Tài chính quy "
        "định mức thu, chế độ thu, nộp, quản lý và sử dụng phí cung cấp thông tin lý lịch tư pháp"
    )
    assert classify(0, rates, says_free=True) == "set_elsewhere"
    facts = with_facts(FeeData("Miễn phí", 0, rates), says_free=True)
    assert (facts[0].meaning, facts[0].set_by) == ("set_elsewhere", "Thông tư số 244/2016/TT-BTC")
    # A note that waives something itself keeps the cell's word.
    waiver = (
        "Từ ngày 01/7/2025 đến hết ngày 31/12/2026 áp dụng theo Thông tư số 64/2025/TT-BTC "
        "quy định mức thu, miễn một số khoản phí, lệ phí"
    )
    assert classify(0, waiver, says_free=True) == "free"
    # A document cited for something else than rates, or no note: free as the cell says.
    assert classify(0, "Theo Nghị định số 63/2010/NĐ-CP", says_free=True) == "free"
    assert classify(0, "", says_free=True) == "free"


def test_note_readers() -> None:
    assert validity("Từ ngày 01/7/2025 đến hết ngày 31/12/2026 áp dụng theo Thông tư") == (
        dt.date(2025, 7, 1),
        dt.date(2026, 12, 31),
    )
    # A document's date of issue is not a validity date.
    assert validity("Thông tư số 25/2021/TT-BTC ngày 07/4/2021 của Bộ Tài chính") == (None, None)
    assert classify(0, "") == "free"
    assert classify(0, "Không thu phí") == "free"
    assert classify(0, "Đối với đất ở: 150.000 đồng/hồ sơ") == "set_elsewhere"
    assert classify(None, "") == "unknown"
    assert set_by("theo Nghị quyết số 28/2024/NQ-HĐND của HĐND tỉnh Thanh Hóa khóa XVIII") == (
        "HĐND tỉnh Thanh Hóa"
    )


def _import(factory: sessionmaker[Session], tmp_path: Path, codes: list[str]) -> Path:
    path = tmp_path / "some-details.jsonl"
    path.write_text(
        "".join(json.dumps(detail(c), ensure_ascii=False) + "\n" for c in codes),
        encoding="utf-8",
    )
    import_files(factory, [path])
    return path


def test_fee_facts_survive_the_database(factory: sessionmaker[Session], tmp_path: Path) -> None:
    """Currency, meaning, setter and dates are stored and read back (SQLite and PostgreSQL)."""
    codes = ["1.001020", "1.000893", "1.013315", "1.013217"]
    _import(factory, tmp_path, codes)
    expected = {c: procedure_from_detail(detail(c)) for c in codes}
    with transaction(factory) as session:
        repo = KnowledgeRepository(session)
        for code in codes:
            stored = repo.get("procedure", code)
            assert isinstance(stored, ProcedureData)
            assert stored.channels == expected[code].channels, code
    # An unchanged re-import writes nothing: the fee facts compare equal after a round trip.
    report = import_files(factory, [tmp_path / "some-details.jsonl"]).report
    assert report.changed == 0


def test_audit_lists_what_cannot_be_told(factory: sessionmaker[Session], tmp_path: Path) -> None:
    codes = ["1.115755", "1.013315", "1.013217", "1.000893", "1.004222"]
    _import(factory, tmp_path, codes)
    with transaction(factory) as session:
        procs = [
            r
            for r in KnowledgeRepository(session).iter_records("procedure")
            if isinstance(r, ProcedureData)
        ]
    findings = audit(procs, TODAY)
    by_code = {(f.code, f.problem) for f in findings}
    assert ("1.115755", "zero_fee_amount_in_note") in by_code  # land fees only in the note
    assert ("1.013315", "expired_rate") in by_code  # online rate until 31/12/2025
    assert ("1.013217", "currency_missing") in by_code  # "45" with no currency
    assert not any(code == "1.004222" for code, _ in by_code)  # clean record
    assert counts(findings)["expired_rate"] == 1
    # Before the rate's end it is not expired.
    assert ("1.013315", "expired_rate") not in {
        (f.code, f.problem) for f in audit(procs, dt.date(2025, 6, 1))
    }


def test_audit_and_stats_commands(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("TTHC_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "few.jsonl"
    path.write_text(
        "".join(json.dumps(detail(c), ensure_ascii=False) + "\n" for c in ["1.013315", "1.001121"]),
        encoding="utf-8",
    )
    runner = CliRunner()
    assert runner.invoke(main, ["kb", "import", str(path)]).exit_code == 0
    result = runner.invoke(main, ["kb", "audit", "--json", "--today", "2026-11-30"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["counts"] == {
        "zero_fee_amount_in_note": 0,
        "unknown_time_unit": 0,
        "expired_rate": 1,
        "currency_missing": 1,
    }
    assert {f["code"] for f in data["findings"]} == {"1.013315", "1.001121"}
    text = runner.invoke(main, ["kb", "audit", "--today", "2026-11-30"]).output
    assert "2 thủ tục cần kiểm tra" in text
    stats = json.loads(runner.invoke(main, ["kb", "stats", "--json"]).output)
    assert stats["audit"]["currency_missing"] == 1
