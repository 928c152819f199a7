"""Plan chunks on the five real seed plans: answer-sized passages, addressed exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from indexer.chunking import (
    PLAN_PASSAGE_CHARS,
    Chunk,
    plan_chunks,
    plan_passages,
    plan_rows,
)
from knowledge.codec import plan_key, to_json
from knowledge.importers.plans import read_plan_file
from tests.conftest import DATA_DIR

SEEDS = sorted((DATA_DIR / "seeds").glob("*.txt"))


def _record(name: str) -> tuple[str, dict[str, Any]]:
    plan = read_plan_file(DATA_DIR / "seeds" / name)
    return plan_key(plan), to_json(plan)


def _chunks(name: str) -> dict[str, Chunk]:
    key, record = _record(name)
    return {c.field: c for c in plan_chunks(record, key, revision=3)}


def _resolve(record: dict[str, Any], field: str) -> dict[str, Any] | str:
    """Follow a chunk field's address into the record (what the engine does)."""
    kind, _, address = field.partition(":")
    steps = [int(s) for s in address.split("/")[0].split(".")]
    if kind == "row":
        *steps, row = steps
    node: dict[str, Any] = {"children": record["sections"]}
    for step in steps:
        node = node["children"][step - 1]
    return node["rows"][row] if kind == "row" else node


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name[:3])
def test_every_seed_has_an_outline_and_addressable_passages(seed: Path) -> None:
    key, record = _record(seed.name)
    chunks = list(plan_chunks(record, key, revision=3))
    fields = [c.field for c in chunks]
    assert fields[0] == "outline" and len(fields) == len(set(fields)) > 10
    for chunk in chunks:
        assert chunk.kind == "plan" and chunk.record_id == key and chunk.revision == 3
        assert chunk.chunk_id == f"plan:{key}#{chunk.field}"
        assert 0 < len(chunk.dense_text) <= 220
        if chunk.field != "outline":
            target = _resolve(record, chunk.field)  # raises on a wrong address
            assert target
    # The recipients block and the signature are not plan content.
    assert not any("Lưu: VT" in c.text for c in chunks)


def test_each_table_row_is_one_chunk_with_its_column_headers() -> None:
    chunks = _chunks("000_18ac861e3429d323.txt")
    rows = {f: c for f, c in chunks.items() if f.startswith("row:")}
    # 15 data rows: 11 items, 3 continuation rows of item 3, 1 total line.
    assert len(rows) == 15
    row8 = next(c for c in rows.values() if "TT: 8;" in c.text)
    assert "Đơn vị chủ trì: Phòng Xây dựng, kiểm tra và TDTHPL" in row8.text
    assert "Dự kiến kinh phí (triệu đồng): 250" in row8.text
    assert row8.text.startswith("Kế hoạch số 733/KH-STP - Tuyên truyền cải cách hành chính")
    total = [c for c in rows.values() if "320 triệu đồng" in c.text]
    assert len(total) == 1 and "TT:" not in total[0].text


def test_a_continuation_row_inherits_the_cells_its_item_spans() -> None:
    header = ["TT", "Nhiệm vụ", "Sản phẩm", "Đơn vị chủ trì"]
    rows = [header, ["3", "Phối hợp", "Chuyên mục A", "Phòng X"], ["", "", "Chuyên mục B", ""]]
    assert plan_rows(rows) == [
        "TT: 3; Nhiệm vụ: Phối hợp; Sản phẩm: Chuyên mục A; Đơn vị chủ trì: Phòng X",
        "TT: 3; Nhiệm vụ: Phối hợp; Sản phẩm: Chuyên mục B; Đơn vị chủ trì: Phòng X",
    ]
    # Headers typed in capitals read as a sentence; the "TT" column keeps its name.
    upper = [["TT", "CƠ QUAN CHỦ TRÌ"], ["1", "Phòng VH-TT"]]
    assert plan_rows(upper) == ["TT: 1; Cơ quan chủ trì: Phòng VH-TT"]


def test_the_fact_sits_in_a_small_passage_under_its_heading_path() -> None:
    chunks = _chunks("003_b2065d14729f10f5.txt")
    replaces = [c for c in chunks.values() if "thay thế Kế hoạch số 77/KH-STP" in c.text]
    assert len(replaces) == 1
    assert "IV. TỔ CHỨC THỰC HIỆN" in replaces[0].text
    funding = [c for c in chunks.values() if "dự toán chi ngân sách nhà nước" in c.text]
    assert len(funding) == 1 and "III. KINH PHÍ THỰC HIỆN" in funding[0].text
    # The 2,852-character "Nội dung tuyên truyền" is cut into passages of its own lines.
    content = [f for f in chunks if f.startswith("section:3.2/")]
    assert len(content) >= 5
    path = "II. NỘI DUNG TUYÊN TRUYỀN > 2. Nội dung tuyên truyền"
    assert all(chunks[f].text.count(path) == 1 for f in content)


def test_long_sections_are_cut_into_numbered_passages_at_sentence_ends() -> None:
    _, record = _record("003_b2065d14729f10f5.txt")
    passages = [p for p in plan_passages(record["sections"]) if p[0].startswith("section:3.2")]
    assert [p[0] for p in passages] == [f"section:3.2/{n}" for n in range(1, len(passages) + 1)]
    for _field, path, body in passages:
        assert path == ["II. NỘI DUNG TUYÊN TRUYỀN", "2. Nội dung tuyên truyền"]
        # A passage is at most one limit long unless it is one unbreakable clause.
        assert len(body) <= PLAN_PASSAGE_CHARS or "\n" not in body
        assert body.rstrip().endswith((".", ";", ":", "”"))


def test_nested_items_keep_their_parents_heading_in_the_path() -> None:
    chunks = _chunks("002_ea4846b3744c1f6a.txt")
    month = next(c for c in chunks.values() if "Tháng 3/2023: Trung tâm Trợ giúp pháp lý" in c.text)
    assert "III. PHÂN CÔNG THỰC HIỆN > 5. Các phòng, đơn vị còn lại thực hiện tốt việc viết" in (
        month.text
    )
    assert month.field.startswith("section:4.6")


def test_the_outline_names_the_plan_and_its_parts() -> None:
    outline = _chunks("001_b4bf8d82e268aa69.txt")["outline"]
    assert outline.text.startswith("Kế hoạch số 152/KH-UBND - Tuyên truyền cải cách hành chính")
    assert "V. TỔ CHỨC THỰC HIỆN" in outline.text and "Kế hoạch số 493/KH-UBND" in outline.text
    assert outline.dense_text.startswith("Kế hoạch Tuyên truyền cải cách hành chính huyện")
