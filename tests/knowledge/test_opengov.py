"""The typed portal details and catalogue on real records."""

from __future__ import annotations

import gzip
import json
from functools import cache
from typing import Any

import pytest

from knowledge.importers.opengov import (
    fee_facts,
    is_catalog,
    is_detail,
    procedure_from_catalog,
    procedure_from_detail,
)
from tests.conftest import DATA_DIR

DETAILS = DATA_DIR / "dvcqg_opengov_crawl" / "details.jsonl.gz"
CATALOG = DATA_DIR / "dvcqg_opengov_crawl" / "catalog.jsonl.gz"


@cache
def _rows(path: str) -> dict[str, dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return {row["code"]: row for row in map(json.loads, handle)}


def detail(code: str) -> dict[str, Any]:
    return _rows(str(DETAILS))[code]


def test_thuong_tru_fees_time_and_online_level() -> None:
    proc = procedure_from_detail(detail("1.004222"))
    assert proc.name == "Đăng ký thường trú"
    by_method = {c.method: c for c in proc.channels}
    assert set(by_method) == {"truc_tuyen", "truc_tiep"}
    online, direct = by_method["truc_tuyen"], by_method["truc_tiep"]
    assert [f.amount_vnd for f in online.fees] == [10000]
    assert [f.amount_vnd for f in direct.fees] == [20000]
    assert online.fees[0].kind == "Lệ phí"
    assert (online.time_value, online.time_unit, online.time_text) == (
        7.0,
        "working_day",
        "7 ngày làm việc",
    )
    assert proc.online_level == "mot_phan"  # isFullProcess is false, ONLINE is offered
    assert proc.online_url == proc.portal_url
    assert proc.portal_url.startswith("https://dichvucong.gov.vn/thu-tuc-hanh-chinh/")
    assert proc.levels == ["Cấp xã"]
    assert proc.issuing_body == "Bộ Công an"
    assert any(b.number == "66.7/2025/NQ-CP" for b in proc.legal_bases)
    # Documents keep the portal's case names (8 cases, two share a name, one is unnamed).
    source_cases = {c["name"].strip() for c in detail("1.004222")["executionCases"]}
    assert {d.case for d in proc.documents} == source_cases
    assert len(proc.documents) == sum(
        len(c["profileComponents"]) for c in detail("1.004222")["executionCases"]
    )
    assert all(d.name for d in proc.documents)


def test_khai_sinh_documents_and_channels() -> None:
    proc = procedure_from_detail(detail("1.001193"))
    assert proc.name == "Thủ tục đăng ký khai sinh"
    assert proc.documents and proc.channels
    assert {c.method for c in proc.channels} <= {"truc_tuyen", "truc_tiep", "buu_chinh"}
    first = proc.documents[0]
    assert first.originals is not None or first.copies is not None


def test_full_process_flag_means_toan_trinh() -> None:
    full = [row for row in _rows(str(DETAILS)).values() if row["isFullProcess"] is True]
    assert full, "the crawl has isFullProcess records"
    for row in full:
        proc = procedure_from_detail(row)
        online = any(c.method == "truc_tuyen" for c in proc.channels)
        assert proc.online_level == ("toan_trinh" if online else "none")


def test_zero_fee_set_elsewhere_is_not_free() -> None:
    text = (
        "Mức lệ phí cụ thể do Hội đồng nhân dân tỉnh, thành phố trực thuộc Trung ương quyết định."
    )

    def head(value: object, note: str) -> tuple[int | None, str, str]:
        fee = fee_facts({"type": "FEE", "value": value, "description": note})[0]
        return fee.amount_vnd, fee.meaning, fee.set_by

    council = "Hội đồng nhân dân tỉnh"
    assert head(0, text) == (None, "set_elsewhere", council)
    assert head(0, "Miễn lệ phí") == (0, "free", "")
    assert head(0, "") == (0, "free", "")
    assert head(None, "Do Hội đồng nhân dân tỉnh quy định")[:2] == (None, "set_elsewhere")
    assert head("10000", "") == (10000, "amount", "")


def test_every_detail_maps_without_loss_of_channels() -> None:
    rows = _rows(str(DETAILS))
    assert len(rows) == 502
    for row in rows.values():
        assert is_detail(row) and not is_catalog(row)
        proc = procedure_from_detail(row)
        assert len(proc.channels) == len(row["executionMethods"])
        for channel in proc.channels:
            # A number is only stored when the source gave a number with a real unit.
            if channel.time_value is not None:
                assert channel.time_unit in {"working_day", "day", "hour", "month", "year"}
            assert channel.time_text or channel.time_value is None


@pytest.mark.parametrize("code", ["3.000616", "1.004222"])
def test_catalog_rows_are_summaries(code: str) -> None:
    row = _rows(str(CATALOG))[code]
    assert is_catalog(row)
    proc = procedure_from_catalog(row)
    assert proc.detail == "summary"
    assert proc.code == code and proc.name == row["name"]
    assert proc.fields == row["categories"]
    assert proc.channels == [] and proc.documents == []
