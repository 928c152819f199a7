"""Importer for the portal's ministry crawl (``dvcqg_bo_nganh_tthc/tthc_records.jsonl.gz``).

Plain fields map one to one; the four flattened tables are parsed by
:mod:`knowledge.importers.portal_tables`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from knowledge.importers.portal_tables import (
    parse_channels,
    parse_documents,
    parse_legal_bases,
    parse_results,
)
from knowledge.importers.text import clean, split_groups, split_steps
from knowledge.records import OnlineLevel, ProcedureData

DATASET = "dvcqg_bo_nganh_tthc"
#: The upstream commit that last changed the crawl (see the dataset README).
CRAWLED_AT = dt.date(2026, 7, 17)

ISSUERS = {
    "bo-tai-chinh": "Bộ Tài chính",
    "bo-nong-nghiep-mt": "Bộ Nông nghiệp và Môi trường",
    "bo-xay-dung": "Bộ Xây dựng",
    "bo-cong-an": "Bộ Công an",
    "bo-tu-phap": "Bộ Tư pháp",
    "ngan-hang-nha-nuoc": "Ngân hàng Nhà nước Việt Nam",
    "toa-an-nhan-dan": "Tòa án nhân dân",
}

REQUIRED_FIELDS = ("ma_thu_tuc", "ten_thu_tuc")


def is_portal_record(row: dict[str, Any]) -> bool:
    """Does a JSON object look like a record of this crawl?"""
    return "ma_thu_tuc" in row and "ten_thu_tuc" in row


def online_level_from(name: str, has_online_channel: bool) -> OnlineLevel:
    """The crawl has no level field: the name may say it, an online channel means at least
    "một phần" (the dossier can be filed online)."""
    lowered = name.lower()
    if "toàn trình" in lowered:
        return "toan_trinh"
    if "một phần" in lowered or has_online_channel:
        return "mot_phan"
    return "none"


def procedure_from_portal(row: dict[str, Any]) -> ProcedureData:
    """Map one crawl record to a procedure (raises ``ValueError`` on a bad field)."""
    code, name = clean(row.get("ma_thu_tuc")), clean(row.get("ten_thu_tuc"))
    channels = parse_channels(str(row.get("cach_thuc_thuc_hien") or ""))
    has_online = any(c.method == "truc_tuyen" for c in channels)
    url = clean(row.get("detail_url"))
    level = online_level_from(name, has_online)
    field_name = clean(row.get("linh_vuc"))
    return ProcedureData(
        code=code,
        name=name,
        detail="full",
        fields=[field_name] if field_name else [],
        levels=split_groups(str(row.get("cap_thuc_hien") or "")),
        procedure_type=clean(row.get("loai_thu_tuc")),
        decision_number=clean(row.get("so_quyet_dinh")),
        issuing_body=ISSUERS.get(str(row.get("source_group")), ""),
        implementing_agencies=clean(row.get("co_quan_thuc_hien")),
        competent_agencies=clean(row.get("co_quan_co_tham_quyen")),
        target_groups=split_groups(str(row.get("doi_tuong_thuc_hien") or "")),
        steps=split_steps(str(row.get("trinh_tu_thuc_hien") or "")),
        conditions=clean(row.get("yeu_cau_dieu_kien")),
        results=parse_results(str(row.get("ket_qua_xu_ly") or "")),
        receiving_address=clean(row.get("dia_chi_tiep_nhan")),
        channels=channels,
        documents=parse_documents(str(row.get("thanh_phan_ho_so") or "")),
        legal_bases=parse_legal_bases(str(row.get("can_cu_phap_ly") or "")),
        online_level=level,
        online_url=url if level != "none" else "",
        portal_url=url,
        dataset=DATASET,
        source_id=f"{row.get('source_group', '')}/{code}",
        crawled_at=CRAWLED_AT,
    )
