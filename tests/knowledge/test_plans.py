"""Tests for the plan importer over the five real seed plans and small .md/.docx/.pdf files."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import docx
import pytest
from docx.table import Table as DocxTable

from knowledge.errors import ImportFileError
from knowledge.importers.plans import (
    SEED_METADATA,
    PlanMetadata,
    parse_plan_text,
    read_plan_file,
)
from knowledge.records import PlanData, PlanSection

_BUNDLED = Path(__file__).resolve().parents[2] / "data" / "seeds"
SEEDS = _BUNDLED if _BUNDLED.is_dir() else Path("/work/shared/seeds")

S000 = "000_18ac861e3429d323.txt"
S001 = "001_b4bf8d82e268aa69.txt"
S002 = "002_ea4846b3744c1f6a.txt"
S003 = "003_b2065d14729f10f5.txt"
S004 = "004_5cc6c30e6988dc7d.txt"
SEED_NAMES = (S000, S001, S002, S003, S004)

# (number, issuer, issued_on, year, province) as data/seeds/README.md states them. Seeds
# 002-004 carry no usable number or day of issue (003/004 left them blank to be filled in
# at signing; 002 has no letterhead at all).
EXPECTED_META: dict[str, tuple[str, str, dt.date | None, int, str]] = {
    S000: ("733/KH-STP", "Sở Tư pháp Hà Tĩnh", dt.date(2019, 12, 30), 2020, "Hà Tĩnh"),
    S001: ("152/KH-UBND", "UBND huyện Cẩm Xuyên", dt.date(2021, 1, 20), 2021, "Hà Tĩnh"),
    S002: ("", "Sở Tư pháp Bình Thuận", None, 2023, "Bình Thuận"),
    S003: ("", "Sở Tư pháp An Giang", None, 2025, "An Giang"),
    S004: ("", "Sở Tài nguyên và Môi trường Hà Tĩnh", None, 2024, "Hà Tĩnh"),
}

EXPECTED_TITLES = {
    S000: "Tuyên truyền cải cách hành chính năm 2020",
    S001: "Tuyên truyền cải cách hành chính huyện Cẩm Xuyên năm 2021",
    # No title block: taken from the closing "Trên đây là Kế hoạch ... của Sở Tư pháp".
    S002: "Thông tin tuyên truyền cải cách hành chính năm 2023",
    S003: "Tuyên truyền cải cách hành chính năm 2025",
    S004: (
        "Tuyên truyền cải cách hành chính, chỉ số năng lực cạnh tranh cấp tỉnh (PCI), "
        "Chỉ số đánh giá năng lực cạnh tranh các đơn vị, địa phương (DDCI) "
        "của Sở Tài nguyên và Môi trường năm 2023"
    ),
}

ROMAN_HEADINGS = {
    S000: [
        "MỤC ĐÍCH, YÊU CẦU",
        "CHỈ TIÊU CỤ THỂ",
        "NỘI DUNG, HÌNH THỨC TUYÊN TRUYỀN",
        "TỔ CHỨC THỰC HIỆN",
    ],
    S001: [
        "MỤC ĐÍCH, YÊU CẦU",
        "NỘI DUNG, HÌNH THỨC TUYÊN TRUYỀN",
        "KINH PHÍ",
        "THỜI GIAN BÁO CÁO",
        "TỔ CHỨC THỰC HIỆN",
    ],
    S002: [
        "MỤC TIÊU, YÊU CẦU VÀ ĐỐI TƯỢNG",
        "NỘI DUNG, HÌNH THỨC TUYÊN TRUYỀN",
        "PHÂN CÔNG THỰC HIỆN",
        "TỔ CHỨC THỰC HIỆN",
        "KINH PHÍ THỰC HIỆN",
    ],
    S003: ["MỤC ĐÍCH, YÊU CẦU", "NỘI DUNG TUYÊN TRUYỀN", "KINH PHÍ THỰC HIỆN", "TỔ CHỨC THỰC HIỆN"],
    S004: ["MỤC ĐÍCH, YÊU CẦU", "NỘI DUNG, HÌNH THỨC TUYÊN TRUYỀN", "TỔ CHỨC THỰC HIỆN"],
}
ROMANS = ["I.", "II.", "III.", "IV.", "V."]


def _seed(name: str) -> PlanData:
    return read_plan_file(SEEDS / name)


def _walk(sections: Sequence[PlanSection]) -> Iterator[PlanSection]:
    for node in sections:
        yield node
        yield from _walk(node.children)


def _depth(sections: Sequence[PlanSection]) -> int:
    return max((1 + _depth(n.children) for n in sections if n.marker != "table"), default=0)


def _child(nodes: Sequence[PlanSection], marker: str, heading: str = "") -> PlanSection:
    """The first node with ``marker`` whose heading starts with ``heading``."""
    for node in nodes:
        if node.marker == marker and node.heading.startswith(heading):
            return node
    raise AssertionError(f"no {marker!r} {heading!r} among {[n.marker for n in nodes]}")


def _tables(plan: PlanData) -> list[PlanSection]:
    return [node for node in _walk(plan.sections) if node.marker == "table"]


def _all_text(plan: PlanData) -> Iterator[str]:
    for node in _walk(plan.sections):
        yield node.heading
        yield node.text
        yield from (cell for row in node.rows for cell in row)


# --- the five real seeds -------------------------------------------------------------


def test_seed_folder_has_the_five_documented_plans() -> None:
    assert sorted(p.name for p in SEEDS.glob("*.txt")) == list(SEED_NAMES)
    assert set(SEED_METADATA) == set(SEED_NAMES)


@pytest.mark.parametrize("name", SEED_NAMES)
def test_seed_metadata_matches_readme(name: str) -> None:
    plan = _seed(name)
    number, issuer, issued_on, year, province = EXPECTED_META[name]
    assert (plan.number, plan.issuer, plan.issued_on, plan.year, plan.province) == (
        number,
        issuer,
        issued_on,
        year,
        province,
    )
    assert plan.title == EXPECTED_TITLES[name]
    assert plan.source_file == name
    assert plan.status == "published"


@pytest.mark.parametrize("name", SEED_NAMES)
def test_seed_metadata_comes_from_the_text_itself(name: str) -> None:
    """Without SEED_METADATA the text alone yields the same facts (no fallback needed)."""
    text = (SEEDS / name).read_text(encoding="utf-8")
    plan = parse_plan_text(text, source_file=name)
    number, issuer, issued_on, year, province = EXPECTED_META[name]
    assert (plan.number, plan.issuer, plan.issued_on, plan.year, plan.province) == (
        number,
        issuer,
        issued_on,
        year,
        province,
    )


def test_seed_metadata_table_states_the_readme_facts() -> None:
    assert SEED_METADATA[S000] == PlanMetadata(
        "733/KH-STP", "Sở Tư pháp Hà Tĩnh", dt.date(2019, 12, 30), "Hà Tĩnh", 2020
    )
    assert SEED_METADATA[S001].number == "152/KH-UBND"
    assert SEED_METADATA[S001].issued_on == dt.date(2021, 1, 20)
    assert [SEED_METADATA[n].year for n in SEED_NAMES] == [2020, 2021, 2023, 2025, 2024]


def test_year_is_voted_not_read_from_a_mistyped_title() -> None:
    # Seed 004's title says "năm 2023"; its opening, closing and appendix all say 2024.
    plan = _seed(S004)
    assert plan.title.endswith("năm 2023")
    assert plan.year == 2024
    # Seed 000 was issued on 30/12/2019 for the year 2020.
    assert _seed(S000).year == 2020


@pytest.mark.parametrize("name", SEED_NAMES)
def test_seed_top_level_sections(name: str) -> None:
    plan = _seed(name)
    romans = [s for s in plan.sections if s.marker in ROMANS]
    assert [s.marker for s in romans] == ROMANS[: len(ROMAN_HEADINGS[name])]
    assert [s.heading for s in romans] == ROMAN_HEADINGS[name]
    # The opening "Thực hiện ..." paragraph comes first, as a paragraph node.
    assert plan.sections[0].marker == ""
    assert plan.sections[0].heading.startswith("Thực hiện Kế hoạch số")
    recipients = _child(plan.sections, "", "Nơi nhận")
    assert recipients.children and all(c.marker == "-" for c in recipients.children)


def test_seed_000_full_outline() -> None:
    plan = _seed(S000)
    assert [(s.marker, s.heading[:20]) for s in plan.sections] == [
        ("", "Thực hiện Kế hoạch s"),
        ("I.", "MỤC ĐÍCH, YÊU CẦU"),
        ("II.", "CHỈ TIÊU CỤ THỂ"),
        ("III.", "NỘI DUNG, HÌNH THỨC "),
        ("IV.", "TỔ CHỨC THỰC HIỆN"),
        ("", "Trên đây là Kế hoạch"),
        ("", "Nơi nhận"),
        ("PHỤ LỤC", "NỘI DUNG VÀ HÌNH THỨ"),
    ]
    # Markdown "###"/"####" prefixes in a .txt do not override the numbering.
    content = _child(_child(plan.sections, "III.").children, "1.", "Nội dung tuyên truyền")
    assert len(content.children) == 8
    assert all(c.marker == "-" for c in content.children)
    assert _child(plan.sections[3].children, "3.").text == "(Có Phụ lục kèm theo)"
    assert [c.heading for c in plan.sections[6].children] == [
        "Sở Thông tin và Truyền thông;",
        "Các Phòng, Trung tâm thuộc Sở;",
        "Lãnh đạo Sở;",
        "Lưu: VT; VP.",
    ]


@pytest.mark.parametrize(("name", "depth"), [(S000, 3), (S001, 4), (S002, 3), (S003, 4), (S004, 4)])
def test_seed_nesting_depth(name: str, depth: int) -> None:
    assert _depth(_seed(name).sections) == depth


def test_plus_items_nest_under_their_dash_in_004() -> None:
    content = _child(_child(_seed(S004).sections, "II.").children, "1.", "Nội dung")
    dashes = content.children
    assert [d.marker for d in dashes] == ["-", "-", "-", "-"]
    parent = _child(dashes, "-", "Tuyên truyền, phổ biến các nội dung của chương trình")
    assert [c.marker for c in parent.children] == ["+"] * 8
    assert parent.children[0].heading.startswith(
        "Tình hình triển khai và kết quả thực hiện Nghị quyết số 76/NQ-CP"
    )
    # After the "+" list, "- Tuyên truyền các quy định ..." is back at the dash level.
    assert dashes[-1].heading.startswith("Tuyên truyền các quy định của pháp luật")
    assert dashes[-1].children == []


def test_letter_items_and_their_dashes_in_001() -> None:
    section = _child(_seed(S001).sections, "II.")
    content = _child(section.children, "1.", "Nội dung tuyên truyền")
    assert [c.marker for c in content.children] == ["a)", "b)", "c)", "d)", "đ)", "e)"]
    c_item = _child(content.children, "c)")
    assert len(c_item.children) == 7 and all(d.marker == "-" for d in c_item.children)
    forms = _child(section.children, "2.", "Hình thức tuyên truyền")
    assert [c.marker for c in forms.children] == ["a)", "b)", "c)", "d)", "g)"]
    # Bold markers inside an item are stripped from its heading.
    report = _child(_child(_seed(S001).sections, "IV.").children, "1.")
    assert report.heading.startswith("Hình thức báo cáo (quý, 6 tháng, năm): các đơn vị")


def test_dash_items_under_letter_items_in_003() -> None:
    forms = _child(_child(_seed(S003).sections, "II.").children, "3.", "Các hình thức")
    a_item = _child(forms.children, "a)", "Thông qua hội nghị")
    assert [c.heading for c in a_item.children] == [
        "Đơn vị chủ trì: Văn phòng Sở.",
        "Đơn vị phối hợp: Phòng Hành chính và Bộ trợ tư pháp; Phòng Phổ biến giáo dục pháp luật.",
        "Thời gian thực hiện: Thường xuyên.",
    ]
    # Unnumbered paragraphs attach as text to the current node.
    purpose = _child(_child(_seed(S003).sections, "I.").children, "1.", "Mục đích")
    assert purpose.text.count("\n") == 2
    assert purpose.text.startswith("Thông tin, tuyên truyền thường xuyên")


@pytest.mark.parametrize(("name", "count"), [(S000, 1), (S001, 1), (S002, 0), (S003, 0), (S004, 1)])
def test_seed_table_count(name: str, count: int) -> None:
    # Seed 004's tab-indented letterhead and "Nơi nhận" lines are not tables.
    assert len(_tables(_seed(name))) == count


def test_appendix_table_000_is_merged_across_page_breaks() -> None:
    plan = _seed(S000)
    appendix = _child(plan.sections, "PHỤ LỤC")
    assert appendix.heading == "NỘI DUNG VÀ HÌNH THỨC TUYÊN TRUYỀN CẢI CÁCH HÀNH CHÍNH NĂM 2020"
    assert appendix.text.startswith("(Ban hành kèm theo Kế hoạch số 733/KH-STP")
    [table] = appendix.children
    assert table.marker == "table" and table.heading == ""
    header = [
        "TT",
        "Nhiệm vụ",
        "Sản phẩm",
        "Đơn vị chủ trì",
        "Đơn vị phối hợp",
        "Thời gian thực hiện",
        "Dự kiến kinh phí (triệu đồng)",
        "Ghi chú",
    ]
    assert table.rows[0] == header
    assert table.rows.count(header) == 1  # the four repeated page headers are dropped
    assert {len(row) for row in table.rows} == {8}
    assert len(table.rows) == 16  # header, 11 tasks, 3 continuation rows, total
    assert [r[0] for r in table.rows if r[0].isdigit()] == [str(i) for i in range(1, 12)]
    task8 = next(r for r in table.rows if r[0] == "8")
    assert task8[6] == "250"
    assert table.rows[-1][0].startswith("Tổng dự trù kinh phí cho công tác tuyên truyền CCHC")


def test_appendix_table_001() -> None:
    [table] = _tables(_seed(S001))
    assert table.rows[0][:3] == ["TT", "NHIỆM VỤ", "SẢN PHẨM"]
    assert {len(row) for row in table.rows} == {8}
    assert len(table.rows) == 12  # header, 10 tasks, 1 continuation row of task 2
    continuation = table.rows[3]
    assert continuation[0] == ""
    assert continuation[1].startswith("Tuyên truyền văn bản chỉ đạo, hướng dẫn, TTHC")
    assert table.rows[-1][:4] == [
        "10",
        "Tham gia giá trị cuộc thi viết sáng kiến về cải cách hành chính",
        "Cuộc thi viết Sáng kiến về cải cách hành chính",
        "Phòng Nội vụ",
    ]


def test_tab_indented_table_004() -> None:
    appendix = _child(_seed(S004).sections, "PHỤ LỤC")
    [table] = appendix.children
    assert table.rows[0] == [
        "TT",
        "Nội dung công việc",
        "Sản phẩm",
        "Đơn vị chủ trì",
        "Đơn vị phối hợp",
        "Thời gian thực hiện",
    ]
    assert len(table.rows) == 6 and {len(row) for row in table.rows} == {6}
    assert [r[0] for r in table.rows[1:]] == ["1", "2", "3", "4", "5"]
    assert table.rows[2][5] == "Quý II, IV"
    # A cell wrapped over several lines (with blank lines inside) is one cell.
    assert table.rows[1][2] == (
        "- Các tin, bài tuyên truyền về CCHC; - Bộ TTHC, văn bản QPPL được cập nhật đầy đủ, "
        "kịp thời; - Văn bản chỉ đạo, hướng dẫn thực hiện; - Báo cáo kết quả triển khai thực "
        "hiện."
    )
    assert table.rows[3][3] == "- Thanh tra; - Văn phòng."


def test_hard_wrapped_lines_of_002_are_rejoined() -> None:
    plan = _seed(S002)
    audience = _child(_child(plan.sections, "I.").children, "3.", "Đối tượng")
    assert audience.text == (
        "Công chức, viên chức, người lao động thuộc Sở Tư pháp và mọi tầng lớp nhân dân."
    )
    content = _child(_child(plan.sections, "II.").children, "1.", "Nội dung tuyên truyền")
    assert content.children[1].heading == (
        "Kết quả xếp hạng Chỉ số PAR Index, SIPAS, PAPI hàng năm của tỉnh; kết quả xếp hạng "
        "Chỉ số cải cách hành chính hàng năm của Sở Tư pháp; kết quả khảo sát mức độ hài "
        "lòng về giải quyết thủ tục hành chính của tổ chức, cá nhân đối với Sở."
    )
    hotline = content.children[-1]
    assert hotline.heading == (
        "Cung cấp địa chỉ, số điện thoại “đường dây nóng” về TTHC; thông tin, hướng dẫn, "
        "truy cập về TTHC qua mạng internet; cách thức phản ánh, kiến nghị về quy định hành "
        "chính theo quy định của Trung ương và của tỉnh."
    )
    assert plan.sections[0].heading.endswith(
        "Sở Tư pháp xây dựng Kế hoạch thực hiện cụ thể như sau:"
    )
    # No prose line is left starting mid-sentence, and no double spaces survive.
    for node in _walk(plan.sections):
        for line in [node.heading, *node.text.split("\n")]:
            assert not line[:1].islower(), line
            assert "  " not in line


def test_page_break_inside_a_sentence_is_rejoined_in_001() -> None:
    plan = _seed(S001)
    c_item = _child(_child(_child(plan.sections, "II.").children, "1.").children, "c)")
    assert "đặc biệt là TTHC trên các lĩnh vực: Đầu tư; đất đai;" in c_item.children[1].heading
    last = _child(plan.sections, "V.").children[-1]
    assert last.marker == "12."
    assert "để chủ động xây dựng và tổ chức thực hiện việc tuyên truyền" in last.heading


@pytest.mark.parametrize("name", SEED_NAMES)
def test_markup_and_signatures_are_stripped(name: str) -> None:
    texts = list(_all_text(_seed(name)))
    assert not [t for t in texts if "**" in t or "<b>" in t or "\t" in t]
    signers = {
        "Nguyễn Thanh Hải",
        "Phạm Văn Thắng",
        "Phạm Thị Minh Hiếu",
        "Trịnh Tuấn Ngọc",
        "Lê Ngọc Huấn",
        "GIÁM ĐỐC",
        "PHÓ GIÁM ĐỐC",
        "KT. GIÁM ĐỐC",
    }
    assert not signers & {t.strip() for text in texts for t in text.split("\n")}


# --- other formats ----------------------------------------------------------------------


MARKDOWN = """# Kế hoạch tuyên truyền cải cách hành chính năm 2026

Số: 12/KH-UBND

Hà Tĩnh, ngày 05 tháng 02 năm 2026

## Mục đích

Thực hiện chỉ đạo của UBND tỉnh Hà Tĩnh về công tác cải cách hành chính.

1. Nâng cao nhận thức về dịch vụ công trực tuyến.
   - Công khai **100%** thủ tục hành chính.

## Nhiệm vụ

| TT | Nhiệm vụ | Thời gian |
|----|----------|-----------|
| 1 | Đăng tin về đường dây nóng | Quý I |

Trên đây là Kế hoạch tuyên truyền cải cách hành chính năm 2026 của UBND xã Thạch Lạc.
"""


def test_markdown_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "ke_hoach.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    plan = read_plan_file(path)
    assert plan.title == "Tuyên truyền cải cách hành chính năm 2026"
    assert (plan.number, plan.issued_on, plan.year) == ("12/KH-UBND", dt.date(2026, 2, 5), 2026)
    assert (plan.issuer, plan.province) == ("UBND xã Thạch Lạc", "Hà Tĩnh")
    assert plan.source_file == "ke_hoach.md"
    assert [(s.marker, s.heading[:11]) for s in plan.sections] == [
        ("##", "Mục đích"),
        ("##", "Nhiệm vụ"),
        ("", "Trên đây là"),
    ]
    purpose = plan.sections[0]
    assert purpose.text.startswith("Thực hiện chỉ đạo")
    [item] = purpose.children
    assert (item.marker, item.children[0].marker) == ("1.", "-")
    assert item.children[0].heading == "Công khai 100% thủ tục hành chính."
    [table] = plan.sections[1].children
    assert table.rows == [
        ["TT", "Nhiệm vụ", "Thời gian"],
        ["1", "Đăng tin về đường dây nóng", "Quý I"],
    ]


def _fill(table: DocxTable, rows: Sequence[Sequence[str]]) -> None:
    for row, values in zip(table.rows, rows, strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value


def _docx_plan(path: Path) -> None:
    """A Word plan laid out like real ones: letterhead and signature in borderless tables."""
    document = docx.Document()
    _fill(
        document.add_table(rows=1, cols=2),
        [
            [
                "UBND TỈNH HÀ TĨNH\nSỞ TƯ PHÁP\nSố: 45/KH-STP",
                "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\n"
                "Hà Tĩnh, ngày 10 tháng 3 năm 2026",
            ]
        ],
    )
    document.add_paragraph("KẾ HOẠCH")
    document.add_paragraph("Tuyên truyền cải cách hành chính năm 2026")
    document.add_paragraph(
        "Thực hiện chỉ đạo của UBND tỉnh, Sở Tư pháp xây dựng Kế hoạch tuyên truyền "
        "cải cách hành chính năm 2026 như sau:"
    )
    document.add_heading("I. MỤC ĐÍCH, YÊU CẦU", level=1)
    document.add_paragraph("1. Công khai thủ tục hành chính.")
    document.add_paragraph("Công bố số điện thoại đường dây nóng.", style="List Bullet")
    document.add_heading("II. NHIỆM VỤ CỤ THỂ", level=1)
    table = document.add_table(rows=3, cols=3)
    _fill(
        table, [("TT", "Nhiệm vụ", "Thời gian"), ("1", "Đăng tin", "Quý I"), ("2", "Tọa đàm", "")]
    )
    table.cell(2, 1).merge(table.cell(2, 2))  # merged cells keep their text once
    document.add_paragraph(
        "Trên đây là Kế hoạch tuyên truyền cải cách hành chính năm 2026 của Sở Tư pháp."
    )
    _fill(
        document.add_table(rows=1, cols=2),
        [["Nơi nhận:\n- Sở Nội vụ;\n- Lưu: VT.", "GIÁM ĐỐC\n\n\nNguyễn Văn An"]],
    )
    document.save(str(path))


def test_docx_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "ke_hoach.docx"
    _docx_plan(path)
    plan = read_plan_file(path)
    assert plan.title == "Tuyên truyền cải cách hành chính năm 2026"
    # Read from the letterhead table.
    assert (plan.number, plan.issued_on, plan.year) == ("45/KH-STP", dt.date(2026, 3, 10), 2026)
    assert (plan.issuer, plan.province) == ("Sở Tư pháp Hà Tĩnh", "Hà Tĩnh")
    assert [s.marker for s in plan.sections] == ["", "I.", "II.", "", ""]
    item = _child(plan.sections[1].children, "1.")
    assert [(c.marker, c.heading) for c in item.children] == [
        ("-", "Công bố số điện thoại đường dây nóng.")
    ]
    # The table sits under "II." because it comes after that heading in the document.
    [table_node] = plan.sections[2].children
    assert table_node.marker == "table"
    assert table_node.rows == [
        ["TT", "Nhiệm vụ", "Thời gian"],
        ["1", "Đăng tin", "Quý I"],
        ["2", "Tọa đàm", ""],
    ]
    # The signature table yields the recipients; the signer is dropped.
    recipients = plan.sections[4]
    assert recipients.heading == "Nơi nhận"
    assert [c.heading for c in recipients.children] == ["Sở Nội vụ;", "Lưu: VT."]
    assert len(_tables(plan)) == 1
    assert not any("Nguyễn Văn An" in text or "GIÁM ĐỐC" in text for text in _all_text(plan))


def _pdf_bytes(lines: Sequence[str]) -> bytes:
    """A one-page PDF whose text layer holds ``lines``.

    The font is a Type0 font with a ToUnicode map from each 2-byte code to the same
    Unicode code point, so Vietnamese text survives pypdf's extraction without an
    embedded font file.
    """
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        b"/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
        b"1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
        b"1 beginbfrange <0000> <FFFF> <0000> endbfrange\n"
        b"endcmap CMapName currentdict /CMap defineresource pop end end"
    )
    shows = " ".join(f"<{line.encode('utf-16-be').hex()}> Tj T*" for line in lines)
    content = f"BT /F1 11 Tf 14 TL 50 800 Td {shows} ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /Helvetica /Encoding /Identity-H "
        b"/DescendantFonts [6 0 R] /ToUnicode 7 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Helvetica "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(cmap), cmap),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def test_pdf_round_trip_with_metadata_fallback(tmp_path: Path) -> None:
    path = tmp_path / "ke_hoach.pdf"
    path.write_bytes(
        _pdf_bytes(
            [
                "KẾ HOẠCH",
                "Tuyên truyền cải cách hành chính năm 2026",
                "I. MỤC ĐÍCH, YÊU CẦU",
                "1. Tuyên truyền về dịch vụ công trực tuyến và số điện thoại đường dây nóng của",
                "tỉnh để người dân, doanh nghiệp biết và sử dụng.",
                "II. TỔ CHỨC THỰC HIỆN",
                "Văn phòng Sở theo dõi, đôn đốc việc thực hiện.",
            ]
        )
    )
    meta = PlanMetadata(number="9/KH-STP", issuer="Sở Tư pháp Hà Tĩnh", province="Hà Tĩnh")
    plan = read_plan_file(path, metadata=meta)
    assert plan.title == "Tuyên truyền cải cách hành chính năm 2026"
    assert plan.year == 2026  # from the title, not the metadata
    # The PDF has no letterhead, so these come from the metadata.
    assert (plan.number, plan.issuer, plan.province) == (
        "9/KH-STP",
        "Sở Tư pháp Hà Tĩnh",
        "Hà Tĩnh",
    )
    assert [(s.marker, s.heading) for s in plan.sections] == [
        ("I.", "MỤC ĐÍCH, YÊU CẦU"),
        ("II.", "TỔ CHỨC THỰC HIỆN"),
    ]
    assert plan.sections[0].children[0].heading == (
        "Tuyên truyền về dịch vụ công trực tuyến và số điện thoại đường dây nóng của tỉnh để "
        "người dân, doanh nghiệp biết và sử dụng."
    )
    assert plan.sections[1].text == "Văn phòng Sở theo dõi, đôn đốc việc thực hiện."


def test_page_numbers_and_rules_do_not_break_wrapped_sentences() -> None:
    text = (
        "KẾ HOẠCH\nTuyên truyền cải cách hành chính năm 2026\n---\n"
        "I. MỤC ĐÍCH\n"
        "1. Tuyên truyền để người dân và doanh nghiệp biết, sử dụng dịch vụ công\n"
        "\n- 2 -\n\n"
        "trực tuyến toàn trình.\n"
    )
    [section] = parse_plan_text(text).sections
    assert [c.heading for c in section.children] == [
        "Tuyên truyền để người dân và doanh nghiệp biết, sử dụng dịch vụ công trực tuyến "
        "toàn trình."
    ]


# --- metadata fallbacks ---------------------------------------------------------------


def test_text_values_win_over_metadata() -> None:
    text = (SEEDS / S001).read_text(encoding="utf-8")
    meta = PlanMetadata(number="999/KH-X", issued_on=dt.date(2000, 1, 1), year=1999)
    plan = parse_plan_text(text, source_file=S001, metadata=meta)
    assert (plan.number, plan.issued_on, plan.year) == (
        "152/KH-UBND",
        dt.date(2021, 1, 20),
        2021,
    )


def test_metadata_fills_gaps_and_sharpens_a_vague_issuer() -> None:
    text = (
        "KẾ HOẠCH\nTuyên truyền cải cách hành chính\n\n"
        "Thực hiện chỉ đạo của cấp trên, UBND huyện xây dựng kế hoạch như sau:\n\n"
        "I. MỤC ĐÍCH\n\n1. Công khai thủ tục hành chính.\n"
    )
    meta = PlanMetadata("7/KH-UBND", "UBND huyện Cẩm Xuyên", dt.date(2021, 3, 1), "Hà Tĩnh", 2021)
    plan = parse_plan_text(text, metadata=meta)
    assert (plan.number, plan.issuer, plan.issued_on, plan.province, plan.year) == (
        "7/KH-UBND",
        "UBND huyện Cẩm Xuyên",
        dt.date(2021, 3, 1),
        "Hà Tĩnh",
        2021,
    )
    bare = parse_plan_text(text)
    assert (bare.number, bare.issuer, bare.issued_on, bare.year) == ("", "UBND huyện", None, None)


def test_seed_metadata_applies_to_bundled_seed_names_only(tmp_path: Path) -> None:
    # Seed 000 without its appendix has no number or date left in its text.
    text = (SEEDS / S000).read_text(encoding="utf-8").split("**PHỤ LỤC**")[0]
    (tmp_path / S000).write_text(text, encoding="utf-8")
    (tmp_path / "other.txt").write_text(text, encoding="utf-8")
    seed = read_plan_file(tmp_path / S000)
    other = read_plan_file(tmp_path / "other.txt")
    assert (seed.number, seed.issued_on) == ("733/KH-STP", dt.date(2019, 12, 30))
    assert (other.number, other.issued_on) == ("", None)
    assert seed.sections == other.sections


# --- errors --------------------------------------------------------------------------


def _error(path: Path) -> ImportFileError:
    with pytest.raises(ImportFileError) as caught:
        read_plan_file(path)
    assert path.name in str(caught.value)
    return caught.value


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = tmp_path / "ke_hoach.odt"
    path.write_text("KẾ HOẠCH\nTuyên truyền\nI. MỤC ĐÍCH\n", encoding="utf-8")
    assert _error(path).field == "file"


@pytest.mark.parametrize("content", [b"", b"  \n\n\t\n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "rong.txt"
    path.write_bytes(content)
    error = _error(path)
    assert error.field == "file" and "rỗng" in error.reason


def test_missing_file(tmp_path: Path) -> None:
    assert "không tìm thấy" in _error(tmp_path / "khong_co.md").reason


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("KẾ HOẠCH\nTuyên truyền\n".encode() + "Đà Lạt".encode("cp1252", "replace"))
    error = _error(path)
    assert (error.field, error.line) == ("encoding", 3)


@pytest.mark.parametrize("suffix", [".docx", ".pdf"])
def test_corrupt_binary_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"hong{suffix}"
    path.write_bytes(b"this is not a real document")
    assert _error(path).field == "file"


def test_plan_without_title(tmp_path: Path) -> None:
    path = tmp_path / "khong_tieu_de.txt"
    path.write_text("I. MỤC ĐÍCH\n\n1. Công khai thủ tục hành chính.\n", encoding="utf-8")
    error = _error(path)
    assert error.field == "title"


def test_plan_without_body(tmp_path: Path) -> None:
    path = tmp_path / "chi_tieu_de.md"
    path.write_text("KẾ HOẠCH\nTuyên truyền cải cách hành chính năm 2026\n", encoding="utf-8")
    assert _error(path).field == "sections"


def test_parse_plan_text_names_the_source_in_errors() -> None:
    with pytest.raises(ImportFileError, match=r"ghi_chu\.txt:-:title"):
        parse_plan_text("Một đoạn văn bất kỳ.", source_file="ghi_chu.txt")


def test_seed_copy_can_be_read_from_any_folder(tmp_path: Path) -> None:
    copy = tmp_path / S003
    shutil.copyfile(SEEDS / S003, copy)
    assert read_plan_file(copy) == _seed(S003)
