"""Mapping whole crawl records of every ministry group to procedures."""

from __future__ import annotations

import gzip
import json
from functools import cache
from typing import Any

import pytest

from knowledge.importers.portal_records import ISSUERS, online_level_from, procedure_from_portal
from knowledge.importers.text import split_groups, split_steps
from tests.conftest import DATA_DIR

RECORDS = DATA_DIR / "dvcqg_bo_nganh_tthc" / "tthc_records.jsonl.gz"


@cache
def records() -> dict[str, dict[str, Any]]:
    with gzip.open(RECORDS, "rt", encoding="utf-8") as handle:
        return {row["ma_thu_tuc"]: row for row in map(json.loads, handle)}


def test_every_record_maps_and_keeps_its_group_issuer() -> None:
    groups: set[str] = set()
    for row in records().values():
        proc = procedure_from_portal(row)
        groups.add(row["source_group"])
        assert proc.code == row["ma_thu_tuc"] and proc.name
        assert proc.issuing_body == ISSUERS[row["source_group"]]
        assert proc.detail == "full" and proc.dataset == "dvcqg_bo_nganh_tthc"
        online = any(c.method == "truc_tuyen" for c in proc.channels)
        if online:
            assert proc.online_level in {"mot_phan", "toan_trinh"}
            assert proc.online_url == row["detail_url"]
    assert groups == set(ISSUERS)


def test_complaint_record_of_bo_cong_an() -> None:
    proc = procedure_from_portal(records()["1.000178"])
    assert proc.levels == ["Cấp bộ"]
    assert proc.fields == ["Khiếu nại, tố cáo"]
    assert proc.target_groups == [
        "Tổ chức (không bao gồm doanh nghiệp, HTX)",
        "Công dân Việt Nam",
    ]
    assert [s.split(":")[0] for s in proc.steps][:3] == ["Bước 1", "Bước 2", "Bước 3"]
    assert {c.method for c in proc.channels} == {"buu_chinh", "truc_tiep"}
    assert proc.online_level == "none" and proc.online_url == ""
    assert proc.results == ["Quyết định giải quyết khiếu nại lần 1, lần 2"]
    assert "02/2011/QH13" in {b.number for b in proc.legal_bases}


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Cấp bộ, Cấp tỉnh, Cấp xã", ["Cấp bộ", "Cấp tỉnh", "Cấp xã"]),
        ("Cán bộ, công chức, viên chức", ["Cán bộ, công chức, viên chức"]),
        ("Không có thông tin", []),
    ],
)
def test_split_groups(text: str, expected: list[str]) -> None:
    assert split_groups(text) == expected


def test_split_steps_and_online_level_from_name() -> None:
    assert split_steps("Bước 1: A\nBước 2: B") == ["Bước 1: A", "Bước 2: B"]
    assert split_steps("Nộp hồ sơ tại bộ phận một cửa") == ["Nộp hồ sơ tại bộ phận một cửa"]
    assert online_level_from("Cấp giấy phép (thực hiện toàn trình)", False) == "toan_trinh"
    assert online_level_from("Cấp giấy phép", True) == "mot_phan"
    assert online_level_from("Cấp giấy phép", False) == "none"
