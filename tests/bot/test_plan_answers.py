"""Plan answers on the five real seed plans: the passage that holds the answer, quoted
with the plan's number and heading path; the outline only for the plan as a whole."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.engine.conversation import InMemoryConversationStore
from bot.engine.engine import AnswerEngine, Thresholds
from bot.engine.model import Question
from bot.engine.plans import (
    MAX_PASSAGE,
    asks_whole_plan,
    compose_plan,
    cut_at_sentence,
    named_plan,
    plan_units,
)
from indexer.build import build_index
from indexer.chunking import plan_chunks
from indexer.components import load_glossary, make_retriever
from indexer.settings import IndexSettings
from indexer.store import GenerationStore
from knowledge import migrate
from knowledge.codec import plan_key, to_json
from knowledge.db import make_engine, make_session_factory
from knowledge.importers.plans import read_plan_file
from knowledge.importing import import_files
from tests.conftest import DATA_DIR
from tests.fakes import FakeEmbedder

SEEDS = sorted((DATA_DIR / "seeds").glob("*.txt"))
P733, P152, P002, P003, P004 = (
    "733/KH-STP",
    "152/KH-UBND",
    "002_ea4846b3744c1f6a.txt",
    "003_b2065d14729f10f5.txt",
    "004_5cc6c30e6988dc7d.txt",
)


@pytest.fixture(scope="module")
def plans() -> dict[str, dict[str, Any]]:
    records = [to_json(read_plan_file(path)) for path in SEEDS]
    return {plan_key(read_plan_file(path)): r for path, r in zip(SEEDS, records, strict=True)}


def _field_of(record: dict[str, Any], key: str, words: str) -> str:
    """The field of the chunk the indexer writes for the passage holding ``words``."""
    return next(c.field for c in plan_chunks(record, key, 1) if words in c.text)


def test_a_fact_is_quoted_from_its_section_with_number_issuer_and_path(
    plans: dict[str, dict[str, Any]],
) -> None:
    record = plans[P733]
    text = compose_plan(
        record, "outline", question="ke hoach 733 kinh phi tuyen truyen cchc lay tu nguon nao"
    )
    lines = text.splitlines()
    assert lines[0] == (
        "Kế hoạch số 733/KH-STP (Sở Tư pháp Hà Tĩnh, năm 2020): "
        "Tuyên truyền cải cách hành chính năm 2020"
    )
    assert lines[1] == "Mục: IV. TỔ CHỨC THỰC HIỆN > 2. Kinh phí thực hiện"
    assert lines[2] == (
        "Kinh phí tuyên truyền CCHC được bố trí từ nguồn kinh phí cấp cho hoạt động tuyên "
        "truyền CCHC năm 2020 của Sở."
    )
    assert "Các phần chính" not in text


def test_a_table_row_answers_who_leads_with_its_headers(plans: dict[str, dict[str, Any]]) -> None:
    record = plans[P733]
    question = (
        "so tu phap ha tinh giao phong nao chu tri to thong tin ho tro phap ly cho doanh nghiep"
    )
    field = _field_of(record, P733, "TT: 8;")
    text = compose_plan(record, field, question=question)
    assert "Mục: PHỤ LỤC NỘI DUNG VÀ HÌNH THỨC TUYÊN TRUYỀN CẢI CÁCH HÀNH CHÍNH NĂM 2020" in text
    assert "bảng, dòng 8" in text
    assert "Đơn vị chủ trì: Phòng Xây dựng, kiểm tra và TDTHPL" in text
    assert "Dự kiến kinh phí (triệu đồng): 250" in text


def test_continuation_rows_are_answered_with_their_item(plans: dict[str, dict[str, Any]]) -> None:
    record = plans[P733]
    field = _field_of(record, P733, "Gặp gỡ và đối thoại")  # the 3rd continuation row
    text = compose_plan(record, field, question="phối hợp với báo hà tĩnh làm chuyên mục gì")
    assert "bảng, dòng 3" in text
    for product in ("trên Báo điện tử Hà Tĩnh", "Gặp gỡ và đối thoại", "năng lực cạnh tranh"):
        assert product in text


def test_a_plan_without_number_is_named_by_title_and_what_it_replaces(
    plans: dict[str, dict[str, Any]],
) -> None:
    text = compose_plan(
        plans[P003],
        "outline",
        question="ke hoach tuyen truyen cchc 2025 an giang thay the ke hoach nao",
    )
    assert text.splitlines()[0] == (
        "Kế hoạch “Tuyên truyền cải cách hành chính năm 2025” (Sở Tư pháp An Giang, năm 2025)"
    )
    assert "Mục: IV. TỔ CHỨC THỰC HIỆN" in text
    assert "Kế hoạch này thay thế Kế hoạch số 77/KH-STP ngày 21/04/2025" in text


def test_a_long_section_quotes_its_best_passage_cut_at_a_sentence(
    plans: dict[str, dict[str, Any]],
) -> None:
    record = plans[P003]
    text = compose_plan(
        record,
        "section:3.2/2",
        question="kế hoạch an giang có tuyên truyền Nghị định 118/2025 không",
    )
    path, quote = text.splitlines()[1], "\n".join(text.splitlines()[2:])
    assert path == "Mục: II. NỘI DUNG TUYÊN TRUYỀN > 2. Nội dung tuyên truyền"
    assert "Nghị định số 118/2025/NĐ-CP" in quote
    section = next(u for u in plan_units(record["sections"]) if u.field == "section:3.2")
    assert len("\n".join(section.parts)) > MAX_PASSAGE >= len(quote)
    assert quote.startswith("Tuyên truyền giới thiệu về Nghị định số 118/2025")


def test_nested_items_answer_with_their_parent(plans: dict[str, dict[str, Any]]) -> None:
    record = plans[P002]
    text = compose_plan(
        record, "outline", question="so tu phap binh thuan giao phong nao viet tin bai thang 3"
    )
    lines = text.splitlines()
    assert lines[1].startswith("Mục: III. PHÂN CÔNG THỰC HIỆN > 5. Các phòng, đơn vị còn lại")
    # The section's lead-in, then the matching item (the earlier months are left out).
    assert lines[2].startswith("Các phòng, đơn vị còn lại thực hiện tốt việc viết tin bài")
    assert lines[3] == "- Tháng 3/2023: Trung tâm Trợ giúp pháp lý Nhà nước;"
    assert "Tháng 2/2023" not in text and len("\n".join(lines[2:])) <= MAX_PASSAGE


def test_the_retrievers_choice_breaks_a_tie(plans: dict[str, dict[str, Any]]) -> None:
    record = plans[P003]
    question = "sở tư pháp an giang đơn vị chủ trì tuyên truyền là ai"
    # Three forms of communication each have "Đơn vị chủ trì: ..."; the matched one wins.
    for field, form in (("section:3.3.2", "Facebook và Zalo"), ("section:3.3.3", "Lồng ghép")):
        assert form in compose_plan(record, field, question=question)


@pytest.mark.parametrize(
    ("key", "question"),
    [
        (P004, "kế hoạch tuyên truyền PCI, DDCI của Sở TN&MT Hà Tĩnh gồm những nội dung gì"),
        (P152, "ke hoach tuyen truyen cai cach hanh chinh cua huyen cam xuyen nam 2021"),
        (P733, "kế hoạch 733/KH-STP"),
    ],
)
def test_the_outline_answers_for_the_plan_as_a_whole(
    plans: dict[str, dict[str, Any]], key: str, question: str
) -> None:
    record = plans[key]
    assert asks_whole_plan(question, record)
    text = compose_plan(record, "section:2", question=question)
    assert "Các phần chính: I. MỤC ĐÍCH, YÊU CẦU; II." in text
    assert "Mục:" not in text


def test_a_fact_question_is_not_a_whole_plan_question(plans: dict[str, dict[str, Any]]) -> None:
    assert not asks_whole_plan("kế hoạch 733 kinh phí bao nhiêu", plans[P733])
    assert not asks_whole_plan("huyện cẩm xuyên giao bưu điện làm gì", plans[P152])
    # A section's name is left once the whole-plan phrase is set aside.
    question = (
        "ke hoach tuyen truyen cchc cua so tu phap an giang noi dung tuyen truyen gom nhung gi"
    )
    assert not asks_whole_plan(question, plans[P003])
    text = compose_plan(plans[P003], "outline", question=question)
    assert "Mục: II. NỘI DUNG TUYÊN TRUYỀN > 2. Nội dung tuyên truyền" in text


def test_units_resolve_every_chunk_field_of_every_seed(plans: dict[str, dict[str, Any]]) -> None:
    for key, record in plans.items():
        fields = {f for unit in plan_units(record["sections"]) for f in unit.fields}
        chunk_fields = {c.field.split("/")[0] for c in plan_chunks(record, key, 1)}
        assert chunk_fields - {"outline"} <= fields, key


def test_cut_at_sentence() -> None:
    text = "Câu một rất dài. " * 10 + "Câu cuối."
    cut = cut_at_sentence(text, 100)
    assert len(cut) <= 100 and cut.endswith("dài. …") and cut.count("dài.") == 5
    assert cut_at_sentence("ngắn.", 100) == "ngắn."


def test_what_a_plan_implements_is_read_from_its_opening(
    plans: dict[str, dict[str, Any]],
) -> None:
    question = "kế hoạch 152/KH-UBND của huyện Cẩm Xuyên thực hiện theo kế hoạch nào của tỉnh"
    text = compose_plan(plans[P152], "section:6/6", question=question)
    assert text.splitlines()[1] == "Mục: Phần mở đầu"
    assert "Thực hiện Kế hoạch số 493/KH-UBND ngày 21/12/2021 của UBND tỉnh Hà Tĩnh" in text


@dataclass(frozen=True)
class Hit:
    kind: str
    id: str


def test_a_plan_named_by_its_number_is_the_one_answered() -> None:
    hits = [Hit("procedure", "6.001432"), Hit("plan", P003), Hit("plan", P733)]
    assert named_plan("Kế hoạch 733/KH-STP thực hiện kế hoạch nào của UBND tỉnh?", hits) == hits[2]
    assert named_plan("kh 733 kinh phi bao nhieu", hits) == hits[2]
    # A number alone, another plan's number, or no plan among the hits: no preference.
    assert named_plan("thủ tục 733 là gì", hits) is None
    assert named_plan("kế hoạch 152 giao ai", hits) is None
    assert named_plan("kế hoạch 733", hits[:2]) is None


# ------------------------------------------------------------- through the engine


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnswerEngine]:
    """The real engine over a real generation (SQLite, FAISS, BM25) of the five seeds.

    The embedder is the deterministic fake (the real model's figures are in
    ``bench/plans.py``); every hit is trusted, so the test reads plan composition, not the
    calibration of trust on another knowledge base.
    """
    folder = tmp_path_factory.mktemp("plans-only")
    database = make_engine(f"sqlite:///{folder / 'tthc.sqlite3'}")
    migrate.upgrade(database)
    factory = make_session_factory(database)
    import_files(factory, SEEDS)
    settings = IndexSettings(data_dir=Path(folder))
    glossary, digest = load_glossary(settings)
    embedder = FakeEmbedder()
    build_index(
        factory=factory,
        store=GenerationStore(settings.resolved_index_dir()),
        embedder=embedder,
        glossary=glossary,
        glossary_sha256=digest,
    )
    yield AnswerEngine(
        knowledge=make_retriever(settings, embedder=embedder),
        conversations=InMemoryConversationStore(ttl=600),
        thresholds=Thresholds(dense=-1.0, dense_alone=-1.0, title=0.0),
    )
    database.dispose()


@pytest.mark.parametrize(
    ("question", "key", "passage"),
    [
        (
            "kế hoạch 733: tổng dự trù kinh phí cho công tác tuyên truyền cchc là bao nhiêu",
            P733,
            "320 triệu đồng",
        ),
        (
            "kế hoạch 152 giao Bưu điện huyện Cẩm Xuyên làm gì trong tuyên truyền CCHC?",
            P152,
            "Bưu điện huyện: Tập trung triển khai các nhiệm vụ được giao",
        ),
        (
            "kh 152 ubnd cac xa o cam xuyen phai gui ke hoach tuyen truyen truoc ngay nao",
            P152,
            "trước ngày 31/01/2021",
        ),
        (
            "ke hoach tuyen truyen cchc 2025 cua so tu phap an giang thay the ke hoach nao",
            P003,
            "Kế hoạch này thay thế Kế hoạch số 77/KH-STP",
        ),
    ],
)
def test_the_engine_answers_from_the_passage(
    engine: AnswerEngine, question: str, key: str, passage: str
) -> None:
    answer = engine.answer(Question(text=question, channel="test", user_id=question))
    assert answer.status == "answered"
    assert answer.citations[0].kind == "plan" and answer.citations[0].id == key
    assert passage in answer.text
    assert answer.text.splitlines()[1].startswith("Mục: ")
