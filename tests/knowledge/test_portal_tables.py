"""Tests for :mod:`knowledge.importers.portal_tables` on real portal records.

The specific-record tests pin values that were checked by reading the raw flattened text of
``dvcqg_bo_nganh_tthc/tthc_records.jsonl.gz`` (one procedure per ``source_group``); the
corpus tests run every record through every parser; the edge cases use small literals.
"""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from pathlib import Path

import pytest

from knowledge.importers.portal_tables import (
    parse_channels,
    parse_documents,
    parse_legal_bases,
    parse_results,
)
from knowledge.records import ChannelData, DocumentData, FeeData, LegalBasisData

_REPO_DATA = (
    Path(__file__).resolve().parents[2] / "data" / "dvcqg_bo_nganh_tthc" / "tthc_records.jsonl.gz"
)
_SHARED_DATA = Path("/work/shared/data/dvcqg_bo_nganh_tthc/tthc_records.jsonl.gz")
DATA_FILE = _REPO_DATA if _REPO_DATA.exists() else _SHARED_DATA

GROUPS = {
    "bo-tai-chinh",
    "bo-nong-nghiep-mt",
    "bo-xay-dung",
    "bo-cong-an",
    "bo-tu-phap",
    "ngan-hang-nha-nuoc",
    "toa-an-nhan-dan",
}
# Document numbers: "68/2013/TT-BCA", "66.7/2025/NQ-CP", "30a/2008/NQ-CP", "02/2011/QH13",
# "3510/QĐ-BHXH" (no year) and the bare "46/2020" cells some records have.
NUMBER_RE = re.compile(
    r"\d{1,4}(?:\.\d{1,3})?[a-z]?/(?:(?:19|20)\d\d(?:/[A-ZĐ][A-ZĐa-z0-9-]*)?|[A-ZĐ]+-[A-ZĐa-z0-9-]+)"
)
HEADER = "Hình thức nộpThời gianPhí, lệ phíMô tả"
DOC_HEADER = "Tên giấy tờMẫu đơn, tờ khaiSố lượng"
LEGAL_HEADER = "Tên văn bản pháp lýMã văn bản"

Record = dict[str, str]


@pytest.fixture(scope="module")
def records() -> dict[str, Record]:
    """All 2,642 records keyed by procedure code."""
    if not DATA_FILE.exists():
        pytest.skip(f"portal crawl not available at {DATA_FILE}")
    with gzip.open(DATA_FILE, "rt", encoding="utf-8") as handle:
        rows: list[Record] = [json.loads(line) for line in handle]
    return {row["ma_thu_tuc"]: row for row in rows}


def _record(records: dict[str, Record], code: str, group: str) -> Record:
    record = records[code]
    assert record["source_group"] == group
    return record


# --- one procedure per source group -----------------------------------------------------


def test_bo_cong_an_complaint_procedure(records: dict[str, Record]) -> None:
    """Police complaint handling: no fee info, eight documents, a year-glued law number."""
    record = _record(records, "1.000178", "bo-cong-an")

    channels = parse_channels(record["cach_thuc_thuc_hien"])
    assert [c.method for c in channels] == ["buu_chinh", "truc_tiep"]
    for channel in channels:
        assert (channel.time_value, channel.time_unit) == (60.0, "working_day")
        assert channel.time_text == "60 Ngày làm việc"
        assert channel.fees == ()  # the fee cell is "Không có thông tin"
        assert channel.description.startswith("Thời hạn giải quyết khiếu nại lần đầu")
        assert channel.description.endswith("kể từ ngày thụ lý để giải quyết.")

    documents = parse_documents(record["thanh_phan_ho_so"])
    assert [d.name for d in documents] == [
        "Tài liệu, chứng cứ do các bên cung cấp",
        "Quyết định giải quyết khiếu nại",
        "Báo cáo kết quả xác minh nội dung khiếu nại",
        "Thông báo thụ lý khiếu nại",
        "Các tài liệu khác có liên quan",
        "Biên bản tổ chức đối thoại (nếu có)",
        "Biên bản kiểm tra, xác minh, kết luận, kết quả giám định (nếu có)",
        "Đơn khiếu nại hoặc bản ghi nội dung khiếu nại",
    ]
    assert all(
        (d.originals, d.copies, d.has_form, d.case) == (1, None, False, "") for d in documents
    )

    assert parse_legal_bases(record["can_cu_phap_ly"]) == [
        LegalBasisData(
            "68/2013/TT-BCA",
            "Hướng dẫn xử lý khiếu nại, kiến nghị, phản ánh; giải quyết khiếu nại và quản lý "
            "công tác giải quyết khiếu nại trong công an nhân dân",
        ),
        LegalBasisData("02/2011/QH13", "Luật Khiếu nại  năm 2011"),
        LegalBasisData(
            "11/2015/TT-BCA", "Quy định quy trình giải quyết khiếu nại trong công an nhân dân"
        ),
        LegalBasisData("05/2012/NĐ-CP", "Nghị định 05/2012/NĐ-CP"),
    ]
    assert parse_results(record["ket_qua_xu_ly"]) == [
        "Quyết định giải quyết khiếu nại lần 1, lần 2"
    ]


def test_bo_cong_an_fee_with_reduced_rate(records: dict[str, Record]) -> None:
    """Tem "AB": 50,000 VND headline plus the temporary 25.000đ rate from the fee note."""
    record = _record(records, "1.014905", "bo-cong-an")
    channels = parse_channels(record["cach_thuc_thuc_hien"])
    assert [c.method for c in channels] == ["truc_tiep", "truc_tuyen", "buu_chinh"]
    for channel in channels:
        assert channel.time_text == "8 Ngày làm việc"
        assert [(f.kind, f.amount_vnd) for f in channel.fees] == [("", 50_000), ("", 25_000)]
        assert channel.fees[1].description.startswith("25.000đ/tem “AB” (áp dụng đến hết ngày")
        assert channel.description.startswith("+ Trực tiếp: nộp hồ sơ trực tiếp tại trụ sở")

    documents = parse_documents(record["thanh_phan_ho_so"])
    assert [d.name for d in documents] == [
        "Tờ khai mẫu TK01 do Bộ Công an quy định;",
        "Hộ chiếu phổ thông còn thời hạn;",
    ]
    bases = parse_legal_bases(record["can_cu_phap_ly"])
    assert [b.number for b in bases] == [
        "64/2025/TT-BTC",
        "52/2025/QĐ-TTg",
        "49/2019/QH14",
        "25/2021/TT-BTC",
    ]
    # An all-caps title glued after "QH14" stays whole; "QĐ-TTg" keeps its lower-case g.
    assert bases[3].title.startswith("QUY ĐỊNH MỨC THU, CHẾ ĐỘ THU, NỘP")
    assert bases[1].title.endswith("Cộng hòa nhân dân Trung Hoa.")
    assert parse_results(record["ket_qua_xu_ly"]) == ["Hộ chiếu có dán tem “AB”"]


def test_bo_tai_chinh_free_text_time(records: dict[str, Record]) -> None:
    """Tax procedure whose time cell is a sentence rather than a number."""
    record = _record(records, "1.009824", "bo-tai-chinh")
    channels = parse_channels(record["cach_thuc_thuc_hien"])
    assert [c.method for c in channels] == ["truc_tiep", "truc_tuyen", "buu_chinh"]
    wording = (
        "Hệ thống giải quyết thủ tục hành chính ngành Thuế thực hiện phản hồi tự động "
        "thông qua phương thức điện tử"
    )
    assert [c.time_text for c in channels] == [wording + ".", wording + ".", wording]
    assert all(c.time_value is None and c.time_unit is None and c.fees == () for c in channels)
    assert channels[0].description == "Tại Trung tâm phục vụ hành chính công cấp tỉnh, xã"

    (document,) = parse_documents(record["thanh_phan_ho_so"])
    assert document.name.endswith("(Mẫu số 01/TB-ĐĐKD Thông tư số 18/2026/TT-BTC)")
    assert (document.has_form, document.form_name) == (True, "Mẫu số 01 TB ĐĐKD.docx")
    bases = parse_legal_bases(record["can_cu_phap_ly"])
    assert [b.number for b in bases] == [
        "46/2024/TT-BTC",
        "118/2025/NĐ-CP",
        "38/2019/QH14",
        "19/2021/TT-BTC",
        "68/2026/NĐ-CP",
        "18/2026/TT-BTC",
    ]
    assert bases[2].title == "Luật Quản lý thuế"


def test_bo_tai_chinh_bare_time_and_thousands_fee(records: dict[str, Record]) -> None:
    """Cell "Trực tuyến1100 VNĐ": time "1", fee 100 VNĐ; the note adds 100.000 đồng."""
    record = _record(records, "2.002009", "bo-tai-chinh")
    channels = parse_channels(record["cach_thuc_thuc_hien"])
    assert [c.method for c in channels] == ["truc_tuyen", "buu_chinh", "truc_tiep"]
    for channel in channels:
        assert (channel.time_value, channel.time_unit, channel.time_text) == (1.0, None, "1")
        # "100 VNĐ" is the portal dropping the thousands: not stored as an amount.
        assert [(f.kind, f.amount_vnd) for f in channel.fees] == [("Phí", None), ("Phí", 100_000)]
        assert channel.fees[0].description.startswith("100 VNĐ")
        assert channel.fees[1].description == (
            "Phí công bố nội dung đăng ký doanh nghiệp: 100.000 đồng/lần "
            "(Thông tư số 47/2019/TT-BTC)"
        )
    assert parse_results(record["ket_qua_xu_ly"]) == [
        "Văn bản nêu rõ lý do từ chối của Cơ quan đăng ký kinh doanh",
        "Giấy chứng nhận đăng ký doanh nghiệp",
        "Thông báo về việc sửa đổi, bổ sung hồ sơ đăng ký doanh nghiệp",
    ]
    bases = parse_legal_bases(record["can_cu_phap_ly"])
    assert LegalBasisData("59/2020/QH14", "Luật Doanh nghiệp") in bases


def test_bo_nong_nghiep_mt_fee_and_cases(records: dict[str, Record]) -> None:
    """Veterinary import licence: 2,000,000 VND fee and two document cases."""
    record = _record(records, "1.011325", "bo-nong-nghiep-mt")
    channels = parse_channels(record["cach_thuc_thuc_hien"])
    assert [c.method for c in channels] == ["truc_tuyen", "buu_chinh", "truc_tiep"]
    for channel in channels:
        assert channel.time_text == "5 Ngày làm việc"
        assert channel.fees == (
            FeeData(
                "Phí",
                2_000_000,
                "Phí kiểm tra và cấp giấy chứng nhận đơn hàng nhập khẩu thuốc, nguyên liệu làm "
                "thuốc thú y, thuốc thú y thủy sản (trừ các đơn hàng nhập khẩu để làm mẫu nghiên "
                "cứu, khảo nghiệm, kiểm nghiệm, phi mậu dịch): 2.000.000 đồng/01 đơn hàng",
            ),
        )

    documents = parse_documents(record["thanh_phan_ho_so"])
    assert len(documents) == 8
    cases = sorted({d.case[:3] for d in documents})
    assert cases == ["(1)", "(2)"]
    application = documents[2]
    assert application.name.startswith("- Đơn đề nghị cấp giấy phép nhập khẩu, xuất khẩu")
    assert (application.form_name, application.originals) == ("Mẫu số 01.docx", 1)
    assert (documents[1].originals, documents[1].copies) == (0, 1)
    assert [b.number for b in parse_legal_bases(record["can_cu_phap_ly"])] == [
        "101/2020/TT-BTC",
        "105/2021/NĐ-CP",
        "13/2022/TT-BNNPTNT",
        "12/2020/TT-BNNPTNT",
    ]
    assert parse_results(record["ket_qua_xu_ly"]) == ["Giấy phép nhập khẩu, xuất khẩu"]


def test_bo_nong_nghiep_mt_forms_and_odd_legal_cells(records: dict[str, Record]) -> None:
    """Glued template files; a number cell "NĐ 23/2026/NĐ-CP" and a number-only title."""
    record = _record(records, "1.010093", "bo-nong-nghiep-mt")
    forms = [d.form_name for d in parse_documents(record["thanh_phan_ho_so"])]
    assert forms == ["Phu lục II NĐ 66.doc", "Phu lục I NĐ 53.doc", "PL III NĐ 66.doc"]

    bases = parse_legal_bases(_record(records, "1.004167", "bo-nong-nghiep-mt")["can_cu_phap_ly"])
    assert [b.number for b in bases] == [
        "136/2025/NĐ-CP",
        "54/2024/NĐ-CP",
        "23/2026/NĐ-CP",
        "28/2023/QH15",
        "14/2025/TT-BNNMT",
    ]
    assert bases[0].title == "Nghị định Quy định phân quyền, phân cấp trong lĩnh vực nông nghiệp"
    assert bases[1].title.startswith("QUY ĐỊNH VIỆC HÀNH NGHỀ KHOAN NƯỚC DƯỚI ĐẤT")
    # The cell "NĐ 23/2026/NĐ-CP" is glued to its title; "NĐ" is not part of the title.
    assert bases[2].title.startswith("Nghị định 23/2026/NĐ-CP ngày 17/01/2026 của Chính phủ")
    assert bases[2].title.endswith("trong lĩnh vực tài nguyên nước.")
    assert [b.title for b in bases[3:]] == ["Luật", "14/2025/TT-BNNMT"]


def test_bo_xay_dung_fee_cases(records: dict[str, Record]) -> None:
    """AOC fees: headline "Miễn phí" (temporary waiver) and the per-case fees of the note."""
    record = _record(records, "1.004306", "bo-xay-dung")
    channels = parse_channels(record["cach_thuc_thuc_hien"])
    assert [c.method for c in channels] == ["buu_chinh", "truc_tiep"]
    for channel in channels:
        assert (channel.time_value, channel.time_unit, channel.time_text) == (
            18.0,
            "day",
            "18 Ngày",
        )
        assert [(f.kind, f.amount_vnd) for f in channel.fees] == [
            ("Miễn phí", 0),
            ("", 15_000_000),
            ("Phí", 15_000_000),
            ("Phí", 18_000_000),
            ("Phí", 6_000_000),
            ("Phí", 15_000_000),
        ]
        assert channel.fees[3].description == (
            "Phí: 18000000/loại Đồng (Đối với nhà khai thác tàu bay Việt Nam->Gia hạn->Thêm "
            "một loại tàu bay khai thác)"
        )
        assert channel.description == "18 ngày, kể từ ngày nhận đủ hồ sơ hợp lệ"

    documents = parse_documents(record["thanh_phan_ho_so"])
    assert [d.case for d in documents] == ["Hồ sơ gia hạn"] * 2 + ["Hồ sơ sửa đổi, bổ sung"] * 2
    assert documents[2].name == "Các tài liệu sửa đổi, bổ sung có liên quan"
    bases = parse_legal_bases(record["can_cu_phap_ly"])
    assert len(bases) == 8
    assert bases[-1] == LegalBasisData("66/2006/QH11", "LUẬT  HÀNG KHÔNG DÂN DỤNG VIỆT NAM")
    assert parse_results(record["ket_qua_xu_ly"]) == [
        "Giấy chứng nhận Người khai thác tàu bay (AOC)."
    ]


def test_bo_xay_dung_unit_less_time_glued_to_fee(records: dict[str, Record]) -> None:
    """Cell "Trực tuyến140,000 Việt Nam Đồng(- Xe ô tô từ 10 chỗ...)": time 1, fee 40,000.

    40.000 đồng is the inspection-certificate fee for cars other than those under 10 seats,
    which is what the note names; reading "140,000" as the fee would leave no time cell.
    """
    record = _record(records, "1.005103", "bo-xay-dung")
    channels = parse_channels(record["cach_thuc_thuc_hien"])
    assert [c.method for c in channels] == ["truc_tuyen", "buu_chinh", "truc_tiep"]
    assert all(c.time_text == "1" and c.time_unit is None for c in channels)
    assert [f.amount_vnd for f in channels[0].fees] == [40_000]
    assert channels[0].fees[0].description == "- Xe ô tô từ 10 chỗ trở lên"
    assert channels[0].description.startswith("- Thời hạn kiểm tra, đánh giá hồ sơ")

    documents = parse_documents(_record(records, "2.000769", "bo-xay-dung")["thanh_phan_ho_so"])
    assert documents[0].name == "03 ảnh màu kích thước 2x3 cm chụp không quá 06 tháng"
    assert documents[1].name.endswith("kiến thức pháp luật về giao thông đường bộ")
    assert documents[1].form_name == "văn bản đề nghị.docx"
    assert parse_legal_bases(records["2.000769"]["can_cu_phap_ly"]) == []


def test_bo_tu_phap_law_firm_registration(records: dict[str, Record]) -> None:
    """Fee "50 VNĐ" (implausible: words only), the note's 25.000 đồng, decimal numbers."""
    record = _record(records, "1.002010", "bo-tu-phap")
    channels = parse_channels(record["cach_thuc_thuc_hien"])
    assert [c.method for c in channels] == ["truc_tuyen", "buu_chinh", "truc_tiep"]
    for channel in channels:
        assert channel.time_text == "7 Ngày làm việc"
        assert [(f.kind, f.amount_vnd) for f in channel.fees] == [("", None), ("Phí", 25_000)]

    documents = parse_documents(record["thanh_phan_ho_so"])
    assert [(d.name, d.originals, d.copies, d.form_name) for d in documents] == [
        ("Dự thảo Điều lệ của công ty luật", 1, None, ""),
        ("Giấy tờ chứng minh về trụ sở của tổ chức hành nghề luật sư.", 0, 1, ""),
        ("Giấy đề nghị đăng ký hoạt động theo mẫu thống nhất", 1, None, "Mẫu TP-LS-02-sđ.docx"),
    ]
    assert [b.number for b in parse_legal_bases(record["can_cu_phap_ly"])] == [
        "64/2025/TT-BTC",
        "47/2019/TT-BTC",
        "08/2025/TT-BTP",
        "65/2006/QH11",
        "66.16/2026/NQ-CP",
        "03/2024/TT-BTP",
        "05/2021/TT-BTP",
        "123/2013/NĐ-CP",
    ]
    assert parse_results(record["ket_qua_xu_ly"]) == [
        "Giấy đăng ký hoạt động cho Văn phòng luật sư/Công ty TNHH 1 thành viên",
        "Giấy đăng ký hoạt động cho Công ty Luật hợp danh/Công ty TNHH 2 thành viên trở lên",
    ]


def test_bo_tu_phap_form_after_bracketed_reference(records: dict[str, Record]) -> None:
    """The file name starts after "(Mẫu 02-PLIII-ĐGTS ...)", not inside the bracket."""
    record = _record(records, "1.000802", "bo-tu-phap")
    documents = parse_documents(record["thanh_phan_ho_so"])
    assert documents[0].name == (
        "Văn bản đề nghị cấp lại Chứng chỉ hành nghề đấu giá "
        "(Mẫu 02-PLIII-ĐGTS Thông tư 08/2025/TT-BTP)"
    )
    assert documents[0].form_name == "Mẫu số 02-PLIII-ĐGTS.docx"
    assert documents[0].case.endswith("khoản 1 Điều 17 của Luật đấu giá tài sản gồm:")
    assert [f.amount_vnd for f in parse_channels(record["cach_thuc_thuc_hien"])[0].fees] == [
        500_000
    ]
    bases = parse_legal_bases(record["can_cu_phap_ly"])
    assert LegalBasisData("01/2016/QH14", "Luật Đấu giá tài sản năm 2016") in bases


def test_ngan_hang_nha_nuoc_forms_and_result_codes(records: dict[str, Record]) -> None:
    """Forex licence: two channels, "Mus08.docx" templates, two differently coded results."""
    record = _record(records, "1.000823", "ngan-hang-nha-nuoc")
    channels = parse_channels(record["cach_thuc_thuc_hien"])
    assert channels == [
        ChannelData(
            "buu_chinh",
            22.0,
            "working_day",
            "22 Ngày làm việc",
            (FeeData("Miễn phí", 0, meaning="free"),),
        ),
        ChannelData(
            "truc_tiep",
            22.0,
            "working_day",
            "22 Ngày làm việc",
            (FeeData("Miễn phí", 0, meaning="free"),),
        ),
    ]
    documents = parse_documents(record["thanh_phan_ho_so"])
    assert [d.form_name for d in documents] == ["Mus08.docx", "Mus09.docx", ""]
    assert documents[0].name.endswith("Nghị định số 121/2021/NĐ-CP ngày 27/12/2021;")
    assert parse_legal_bases(record["can_cu_phap_ly"])[0] == LegalBasisData(
        "121/2021/NĐ-CP", "Nghị định 121/2021/NĐ-CP"
    )
    results = parse_results(record["ket_qua_xu_ly"])  # codes KQ.G19.000181, G19-KQ0060102
    assert results == [
        "Giấy phép thu, chi ngoại tệ và các hoạt động ngoại hối khác",
        "Văn bản từ chối chuyển đổi Giấy phép thu, chi ngoại tệ và các hoạt động ngoại hối "
        "khác (đối với doanh nghiệp kinh doanh trò chơi điện tử có thưởng dành cho người "
        "nước ngoài)",
    ]


def test_ngan_hang_nha_nuoc_number_cell_with_type_word(records: dict[str, Record]) -> None:
    """Cells "Luật Các tổ chức tín dụngLuật số 32/2024/QH15": the number repeats "Luật số"."""
    record = _record(records, "1.003072", "ngan-hang-nha-nuoc")
    bases = parse_legal_bases(record["can_cu_phap_ly"])
    assert bases[:2] == [
        LegalBasisData("32/2024/QH15", "Luật Các tổ chức tín dụng"),
        LegalBasisData(
            "49/2025/TT-NHNN",
            "Thông tư quy định về hồ sơ, thủ tục chấp thuận những thay đổi của tổ chức tín "
            "dụng phi ngân hàng",
        ),
    ]
    assert parse_results(record["ket_qua_xu_ly"]) == [
        "Văn bản chấp thuận mua bán, chuyển nhượng phần vốn góp",
        "văn bản từ chối",
    ]
    documents = parse_documents(record["thanh_phan_ho_so"])
    assert documents[0].case.startswith("* Hồ sơ đề nghị chấp thuận mua bán, chuyển nhượng")
    assert documents[0].name.startswith("a) Văn bản đề nghị, trong đó tối thiểu bao gồm")


def test_toa_an_nhan_dan_online_lawsuit(records: dict[str, Record]) -> None:
    """Supreme Court e-filing: unit-less time "1", case heading, twin numbers, "Mã: VBTT"."""
    record = _record(records, "3.000163", "toa-an-nhan-dan")
    assert parse_channels(record["cach_thuc_thuc_hien"]) == [
        ChannelData("truc_tuyen", 1.0, None, "1", (FeeData("Miễn phí", 0, meaning="free"),)),
        ChannelData("truc_tiep", 1.0, None, "1", (FeeData("Miễn phí", 0, meaning="free"),)),
    ]
    assert parse_documents(record["thanh_phan_ho_so"]) == [
        DocumentData("Đơn khởi kiện", 1, None, case="Giấy tờ phải nộp"),
        DocumentData("Tài liệu, chứng cứ kèm theo (nếu có)", 0, 1, case="Giấy tờ phải nộp"),
        DocumentData("Tài liệu, chứng cứ kèm theo (nếu có)", 1, 1),
    ]
    assert parse_legal_bases(record["can_cu_phap_ly"]) == [
        LegalBasisData(
            "02/2014/TTLT-TANDTC-VKSNDTC-BTP-BTC",
            "Thông tư liên tịch 02/2014/TTLT-TANDTC-VKSNDTC-BTP-BTC",
        ),
        LegalBasisData("110/2015/QH13", "Nghị quyết 110/2015/QH13"),
        LegalBasisData("21/2014/L-CTN", "Lệnh 21/2014/L-CTN"),
        LegalBasisData("56/2010/QH12", "Nghị quyết 56/2010/QH12"),
    ]
    assert parse_results(record["ket_qua_xu_ly"]) == [
        "Văn bản tố tụng của Tòa án theo tiến trình giải quyết"
    ]
    # 3.000165: "Không có thông tin" followed by page chrome is still "no legal basis".
    assert parse_legal_bases(records["3.000165"]["can_cu_phap_ly"]) == []


def test_specific_records_cover_every_group(records: dict[str, Record]) -> None:
    """The records pinned above span all seven source groups of the crawl."""
    pinned = ["1.000178", "1.009824", "1.011325", "1.004306", "1.002010", "1.000823", "3.000163"]
    assert {records[code]["source_group"] for code in pinned} == GROUPS
    assert {r["source_group"] for r in records.values()} == GROUPS


# --- whole corpus -------------------------------------------------------------------------


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _row_methods(text: str) -> set[str]:
    """Methods whose name starts a table row: glued to a digit, "Không..." or a capital."""
    names = {"Trực tiếp": "truc_tiep", "Trực tuyến": "truc_tuyen", "Dịch vụ bưu chính": "buu_chinh"}
    return {m for name, m in names.items() if re.search(re.escape(name) + r"(?:\d|[A-ZĐ])", text)}


def test_corpus_parses_and_values_are_well_formed(records: dict[str, Record]) -> None:
    """Every record parses; every value has the documented shape."""
    counts = dict.fromkeys(("channels", "documents", "legal", "results"), 0)
    for code, record in records.items():
        channels = parse_channels(record["cach_thuc_thuc_hien"])
        documents = parse_documents(record["thanh_phan_ho_so"])
        bases = parse_legal_bases(record["can_cu_phap_ly"])
        results = parse_results(record["ket_qua_xu_ly"])
        counts["channels"] += bool(channels)
        counts["documents"] += bool(documents)
        counts["legal"] += bool(bases)
        counts["results"] += bool(results)
        for channel in channels:
            assert channel.time_value is None or channel.time_text, code
            assert channel.time_text == channel.time_text.strip(), code
            for fee in channel.fees:
                assert fee.kind in {"Miễn phí", "Lệ phí", "Phí", ""}, code
                assert fee.amount_vnd is None or fee.amount_vnd >= 0, code
                if fee.kind == "Miễn phí":
                    # Free, unless the note lists the amounts the cell contradicts.
                    assert (fee.amount_vnd, fee.meaning) in {(0, "free"), (None, "set_elsewhere")}
                if fee.currency != "VND":
                    assert fee.amount_vnd is None and fee.foreign_amount, code
        for document in documents:
            assert document.name and document.name == document.name.strip(), code
            assert document.originals is not None and 0 <= document.originals <= 9, code
            assert document.has_form == bool(document.form_name), code
            assert "Tên giấy tờ" not in document.name, code
        for basis in bases:
            assert NUMBER_RE.fullmatch(basis.number), (code, basis.number)
            assert basis.title and " " not in basis.number, code
        assert all(r and unicodedata.is_normalized("NFC", r) for r in results), code
        assert not any("Từ khóa" in r or "Mã:" in r for r in results), code
    # Measured on the 2,642 records: 2,642 / 2,591 / 2,557 / 2,624.
    assert counts["channels"] == len(records) == 2642
    assert counts["documents"] >= 2585
    assert counts["legal"] >= 2550
    assert counts["results"] >= 2620


def test_corpus_channel_methods_match_text(records: dict[str, Record]) -> None:
    """A method is found exactly when its name starts a row in the raw text.

    Only two records mention a method name in a description without having that row
    ("+ Trực tiếp tại cơ quan ...", "Trực tuyến hoặc trực tiếp ..."), so a plain substring
    check holds for all others.
    """
    substring_only: set[str] = set()
    for code, record in records.items():
        text = _nfc(record["cach_thuc_thuc_hien"])
        found = {c.method for c in parse_channels(text)}
        assert found == _row_methods(text), code
        if "Trực tuyến" in text and "truc_tuyen" not in found:
            substring_only.add(code)
        if "Trực tiếp" in text and "truc_tiep" not in found:
            substring_only.add(code)
        if "Dịch vụ bưu chính" in text:
            assert "buu_chinh" in found, code
    assert substring_only == {"1.003677", "1.000063"}


def _written(amount: int) -> set[str]:
    """The ways the source writes an amount: 2000000, 2,000,000, 2.000.000."""
    grouped = f"{amount:,}"
    return {str(amount), grouped, grouped.replace(",", ".")}


def test_corpus_numbers_and_amounts_are_literal(records: dict[str, Record]) -> None:
    """Times and VND amounts are only taken from digits that the source text shows."""
    numeric = amounts = total_fees = 0
    for code, record in records.items():
        raw = _nfc(record["cach_thuc_thuc_hien"])
        for channel in parse_channels(raw):
            assert channel.time_text in raw, code
            if channel.time_value is not None:
                numeric += 1
                number = re.match(r"[\d.,]+", channel.time_text)
                assert number and float(number.group().replace(",", ".")) == channel.time_value
            for fee in channel.fees:
                total_fees += 1
                if fee.amount_vnd is None:
                    continue
                if fee.meaning == "reduced":
                    # A share the note states ("bằng 50% mức thu"): its base is literal.
                    assert fee.base_vnd and "%" in fee.description, (code, fee)
                    assert any(w in raw for w in _written(fee.base_vnd)), (code, fee)
                    continue
                amounts += 1
                if fee.amount_vnd == 0 and fee.kind == "Miễn phí":
                    assert "Miễn phí" in raw, code
                else:
                    assert any(w in raw for w in _written(fee.amount_vnd)), (code, fee)
    # Measured: 6,743 of 7,120 channels have a numeric time, 6,320 of 6,552 fees an amount
    # (headline figures below 1,000 đồng or beside a USD note are kept as words only).
    assert numeric >= 6700
    # Since fees carry a meaning, a "Miễn phí" cell whose note lists amounts, or cites the
    # document that sets the rates without waiving anything, is no longer counted as an
    # amount of 0 (it is "set elsewhere"): 5,856 amounts are literal (6,019 before the
    # second rule).
    assert amounts >= 5800 and total_fees >= amounts


def test_corpus_text_is_kept_verbatim(records: dict[str, Record]) -> None:
    """Names, titles, numbers and results are (NFC) substrings of the source cells."""
    for code, record in records.items():
        docs_raw = _nfc(record["thanh_phan_ho_so"])
        for document in parse_documents(docs_raw):
            assert document.name in docs_raw and document.case in docs_raw, code
            assert all(form in docs_raw for form in document.form_name.split("; ")), code
        legal_raw = _nfc(record["can_cu_phap_ly"])
        compact = re.sub(r"\s", "", legal_raw)
        for basis in parse_legal_bases(legal_raw):
            assert basis.title in legal_raw and basis.number in compact, code
        results_raw = _nfc(record["ket_qua_xu_ly"])
        assert all(result in results_raw for result in parse_results(results_raw)), code


# --- edge cases ---------------------------------------------------------------------------


@pytest.mark.parametrize("empty", ["", "Không có thông tin", "  Không có thông tin  "])
def test_empty_values_give_nothing(empty: str) -> None:
    assert parse_channels(empty) == []
    assert parse_documents(empty) == []
    assert parse_legal_bases(empty) == []
    assert parse_results(empty) == []


def test_channel_labelled_fee_and_description() -> None:
    text = HEADER + "Trực tiếp7 Ngày làm việcLệ phí : 50.000 Đồng(Cấp mới)Nộp tại Bộ phận Một cửa"
    assert parse_channels(text) == [
        ChannelData(
            "truc_tiep",
            7.0,
            "working_day",
            "7 Ngày làm việc",
            (FeeData("Lệ phí", 50_000, "Cấp mới"),),
            "Nộp tại Bộ phận Một cửa",
        )
    ]


def test_channel_units_and_non_numeric_times() -> None:
    text = (
        HEADER + "Trực tuyến24 GiờMiễn phíTrực tiếp3 ThángMiễn phíDịch vụ bưu chính2 Tuần"
        "Miễn phíTrực tuyếnKhông quy địnhMiễn phíTrực tiếpKhông có thông tinKhông có thông tin"
    )
    channels = parse_channels(text)
    assert [(c.time_value, c.time_unit, c.time_text) for c in channels] == [
        (24.0, "hour", "24 Giờ"),
        (3.0, "month", "3 Tháng"),
        (2.0, "other", "2 Tuần"),
        (None, None, "Không quy định"),
        (None, None, ""),
    ]
    assert channels[-1].fees == ()


def test_channel_usd_fee_has_no_vnd_amount() -> None:
    (channel,) = parse_channels(HEADER + "Trực tuyến5 Ngày làm việc10 USD(/lần)")
    assert channel.fees == (
        FeeData("", None, "/lần", currency="USD", foreign_amount=10.0, meaning="amount"),
    )


def test_channel_note_with_several_cases_and_malformed_amount() -> None:
    text = (
        HEADER + "Trực tiếp15 NgàyMiễn phí(250.000 đ/lần Đồng (Sát hạch thực hành)  Phí: "
        "400.000 đ/lần Đồng (Sát hạch bổ sung)  Lệ phí: 10.000.0000 đồng (lỗi gõ))15 ngày"
    )
    (channel,) = parse_channels(text)
    # The cell says "Miễn phí" but its note lists amounts: not free, set by the note.
    assert [(f.kind, f.amount_vnd, f.meaning) for f in channel.fees] == [
        ("Miễn phí", None, "set_elsewhere"),
        ("", 250_000, "amount"),
        ("Phí", 400_000, "amount"),
    ]
    assert [(f.kind, f.amount_vnd) for f in channel.fees] == [
        ("Miễn phí", None),
        ("", 250_000),
        ("Phí", 400_000),
    ]
    # The malformed "10.000.0000" is no amount; its wording stays in the last description.
    assert channel.fees[2].description == (
        "Phí: 400.000 đ/lần Đồng (Sát hạch bổ sung)  Lệ phí: 10.000.0000 đồng (lỗi gõ)"
    )
    assert channel.description == "15 ngày"


def test_channel_method_names_inside_descriptions_are_not_rows() -> None:
    text = (
        HEADER
        + "Dịch vụ bưu chính2 Ngày làm việcMiễn phí+ Trực tiếp tại trụ sở; Trực tuyến: qua Cổng"
    )
    (channel,) = parse_channels(text)
    assert channel.method == "buu_chinh"
    assert channel.description == "+ Trực tiếp tại trụ sở; Trực tuyến: qua Cổng"


def test_channel_input_is_nfc_normalised() -> None:
    decomposed = unicodedata.normalize("NFD", HEADER + "Trực tuyến2 Ngày làm việcMiễn phíGhi chú")
    (channel,) = parse_channels(decomposed)
    assert (channel.method, channel.time_unit, channel.description) == (
        "truc_tuyen",
        "working_day",
        "Ghi chú",
    )
    assert unicodedata.is_normalized("NFC", channel.fees[0].kind)


def test_documents_quantities_forms_and_cases() -> None:
    text = (
        "Trường hợp cấp mới:" + DOC_HEADER + "Đơn đề nghị (01 bản chính hoặc bản sao)Mẫu 01.docx"
        "1 bản chính,2 bản saoQuyết định ngày 25/6/20241 bản chính"
        "--" + DOC_HEADER + "Báo cáo theo mẫu;Mau05.docxMau07.docx0 bản chính"
        "Ghi chú không có số lượng"
    )
    assert parse_documents(text) == [
        DocumentData(
            "Đơn đề nghị (01 bản chính hoặc bản sao)",
            1,
            2,
            has_form=True,
            form_name="Mẫu 01.docx",
            case="Trường hợp cấp mới:",
        ),
        DocumentData("Quyết định ngày 25/6/2024", 1, None, case="Trường hợp cấp mới:"),
        DocumentData(
            "Báo cáo theo mẫu;", 0, None, has_form=True, form_name="Mau05.docx; Mau07.docx"
        ),
    ]


def test_documents_without_table_header_are_skipped() -> None:
    assert parse_documents("); nộp hồ sơ cho cơ quan BHXH.\nBước 2. Cơ quan BHXH tiếp nhận") == []
    assert parse_documents("--") == []


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ("Luật Khiếu nại  năm 201102/2011/QH13", [("02/2011/QH13", "Luật Khiếu nại  năm 2011")]),
        ("Nghị định 05/2012/NĐ-CP05/2012/NĐ-CP", [("05/2012/NĐ-CP", "Nghị định 05/2012/NĐ-CP")]),
        (
            "Về giá66.7/2025/NQ-CPThông tư số 19/2021/TT-BTC ngày 18/3/2021 về thuế19/2021/TT-BTC",
            [
                ("66.7/2025/NQ-CP", "Về giá"),
                ("19/2021/TT-BTC", "Thông tư số 19/2021/TT-BTC ngày 18/3/2021 về thuế"),
            ],
        ),
        (
            "Quy định chi tiết105/2025/NĐ- CPvề kinh doanh30/2013/NĐ-CP"
            "LUẬT  HÀNG KHÔNG66/2006/QH11",
            [
                ("105/2025/NĐ-CP", "Quy định chi tiết"),
                ("30/2013/NĐ-CP", "về kinh doanh"),
                ("66/2006/QH11", "LUẬT  HÀNG KHÔNG"),
            ],
        ),
        (
            "Quy trình thu BHXH năm 20223510/QĐ-BHXH"
            "Chính sách giai đoạn 2026 - 2030182/2025/NQ-HĐND",
            [
                ("3510/QĐ-BHXH", "Quy trình thu BHXH năm 2022"),
                ("182/2025/NQ-HĐND", "Chính sách giai đoạn 2026 - 2030"),
            ],
        ),
        (
            "Luật Các tổ chức tín dụngLuật số 32/2024/QH15Quyết định 10/2018/QĐ-TTg10/2018/QĐ-TTg",
            [
                ("32/2024/QH15", "Luật Các tổ chức tín dụng"),
                ("10/2018/QĐ-TTg", "Quyết định 10/2018/QĐ-TTg"),
            ],
        ),
        ("Nghị định số 46/2020/NĐ-CP46/2020", [("46/2020", "Nghị định số 46/2020/NĐ-CP")]),
    ],
)
def test_legal_bases_split_numbers_from_titles(cells: str, expected: list[tuple[str, str]]) -> None:
    bases = parse_legal_bases(LEGAL_HEADER + cells)
    assert [(b.number, b.title) for b in bases] == expected


def test_legal_bases_skip_text_without_a_number_cell() -> None:
    assert parse_legal_bases(LEGAL_HEADER + "Luật Dược 2016") == []
    assert parse_legal_bases("Không có thông tinCơ quan thực hiệnTòa án nhân dân tối cao") == []


def test_results_drop_codes_and_page_chrome() -> None:
    text = (
        "+ Văn bản từ chối (nêu rõ lý do).Mã: KQ.G12.000144Giấy phépMã: 000.00.00.G11-KQ1711"
        "Thẻ BHYTMã: Chưa xác địnhTừ khóaKhông có thông tinMô tảKhông có thông tinNộp hồ sơ"
    )
    assert parse_results(text) == ["Văn bản từ chối (nêu rõ lý do).", "Giấy phép", "Thẻ BHYT"]
    assert parse_results("...Mã: KQ.G01.000279Từ khóaKhông có thông tin") == []
    assert parse_results("Quyết định phê duyệt quy trình vận hànhMã: KQ.G10.000122") == [
        "Quyết định phê duyệt quy trình vận hành"
    ]


def test_implausible_headline_amounts_are_not_stored(records: dict[str, Record]) -> None:
    """ "155 VNĐ" beside "155 USD/thẻ" and "40 VNĐ" beside "40.000đ" never become fees."""
    for code in ("1.003358", "1.001200"):
        for channel in parse_channels(records[code]["cach_thuc_thuc_hien"]):
            for fee in channel.fees:
                assert fee.amount_vnd is None or fee.amount_vnd >= 1000, (code, fee)
    passport = parse_channels(records["1.001200"]["cach_thuc_thuc_hien"])
    assert 40_000 in {f.amount_vnd for c in passport for f in c.fees}
