"""Plans (kế hoạch) and a procedure's documents and legal bases in the admin over HTTP:
list, search and filter; validated forms; draft → review → publish; history and
rollback; the published passage in the next index generation."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.engine.conversation import InMemoryConversationStore
from bot.engine.engine import AnswerEngine, Thresholds
from bot.engine.model import Question
from indexer.build import build_index
from indexer.components import DEFAULT_FILLERS
from indexer.glossary import DEFAULT_GLOSSARY, Glossary
from indexer.retriever import HybridRetriever
from indexer.store import GenerationStore
from indexer.textnorm import QueryFillers
from knowledge.codec import to_json
from knowledge.db import transaction
from knowledge.models import ChangeRequest
from knowledge.records import DocumentData, LegalBasisData, PlanData, PlanSection, ProcedureData
from knowledge.repository import KnowledgeRepository
from tests.bot.admin.conftest import PLAN, AdminClient, Login, csrf_of, seed_plan
from tests.fakes import FakeEmbedder, FakeIndexRefresh

CODE = "1.001193"
PASSAGE = "Đăng tải các thủ tục hành chính mới trên Trang thông tin điện tử của Sở."
NEW_PASSAGE = "Tổ chức livestream hỏi đáp thủ tục hành chính mỗi quý trên Fanpage của Sở."


@pytest.fixture(autouse=True)
def knowledge(factory: sessionmaker[Session]) -> None:
    seed_plan(
        factory,
        [
            PlanSection(
                "I.",
                "MỤC ĐÍCH, YÊU CẦU",
                children=[PlanSection("1.", "Nâng cao nhận thức", PASSAGE)],
            ),
            PlanSection(
                "II.",
                "PHỤ LỤC",
                children=[
                    PlanSection(
                        "table",
                        "",
                        rows=[["STT", "Nội dung"], ["1", "Tuyên truyền | cổ động"]],
                    )
                ],
            ),
        ],
        PlanData(
            number="152/KH-UBND",
            title="Kế hoạch cải cách hành chính năm 2021",
            province="Bình Thuận",
            year=2021,
            sections=[PlanSection("I.", "MỤC TIÊU", "Nâng cao chỉ số hài lòng.")],
        ),
        ProcedureData(
            code=CODE,
            name="Đăng ký khai sinh",
            documents=[DocumentData("Tờ khai đăng ký khai sinh", 1, None, True, True)],
            legal_bases=[LegalBasisData("Luật Hộ tịch năm 2014", "")],
        ),
    )


class _Form(HTMLParser):
    """The values a browser would submit for the first post form whose action contains
    ``action`` (the page also has the logout form)."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self._action = action
        self.values: dict[str, str] = {}
        self._in_form = self._done = False
        self._textarea: str | None = None
        self._select: str | None = None
        self._first_option: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self._action in a.get("action", "") and not self._done:
            self._in_form = True
        if not self._in_form:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("checkbox", "submit"):
            self.values[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.values[a["name"]] = ""
        elif tag == "select":
            self._select, self._first_option = a["name"], None
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._first_option is None:
                self._first_option = value
                self.values.setdefault(self._select, value)
            if "selected" in a:
                self.values[self._select] = value

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form" and self._in_form:
            self._in_form, self._done = False, True

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.values[self._textarea] += data


def form_of(page: httpx.Response) -> dict[str, str]:
    parser = _Form("/edit/")
    parser.feed(page.text)
    return parser.values


def _change_id(response: httpx.Response) -> int:
    match = re.fullmatch(r"/admin/changes/(\d+)", response.headers.get("location", ""))
    assert match, (response.status_code, response.text[:2000])
    return int(match.group(1))


def _approve(reviewer: AdminClient, change: int) -> None:
    page = reviewer.get(f"/admin/changes/{change}")
    done = reviewer.post(f"/admin/changes/{change}/approve", data={"csrftoken": csrf_of(page.text)})
    assert done.status_code == 303


def _plan(factory: sessionmaker[Session], key: str = PLAN) -> PlanData:
    with transaction(factory) as session:
        plan = KnowledgeRepository(session).get("plan", key)
    assert isinstance(plan, PlanData)
    return plan


def _section_index(values: dict[str, str], text: str) -> int:
    return next(int(k[3:-5]) for k, v in values.items() if k.endswith("_text") and v == text)


def test_plan_list_search_and_filters(login: Login) -> None:
    client = login("lan")
    listing = client.get("/admin/plans")
    assert listing.status_code == 200 and PLAN in listing.text and "152/KH-UBND" in listing.text
    assert "30/12/2019" in listing.text and '<a href="/admin/plans" aria-current="page"' in (
        listing.text
    )
    by_text = client.get("/admin/plans", params={"q": "trang thong tin dien tu"})  # unaccented
    assert PLAN in by_text.text and "152/KH-UBND" not in by_text.text
    by_year = client.get("/admin/plans", params={"year": "2021"})
    assert "152/KH-UBND" in by_year.text and PLAN not in by_year.text
    by_province = client.get("/admin/plans", params={"province": "Hà Tĩnh"})
    assert PLAN in by_province.text and "152/KH-UBND" not in by_province.text
    assert "Không có kế hoạch nào khớp" in client.get("/admin/plans?q=khong+co+dau").text
    assert login("hoa").get("/admin/plans").status_code == 403  # officers do not edit


def test_plan_passage_edit_review_publish_index_and_rollback(
    login: Login,
    factory: sessionmaker[Session],
    refresh: FakeIndexRefresh,
    tmp_path: Path,
) -> None:
    store = GenerationStore(tmp_path / "index")
    glossary = Glossary.load(DEFAULT_GLOSSARY)

    def rebuild() -> None:
        build_index(
            factory=factory,
            store=store,
            embedder=FakeEmbedder(),
            glossary=glossary,
            glossary_sha256="test",
        )

    rebuild()
    retriever = HybridRetriever(
        store=store,
        embedder=FakeEmbedder(),
        glossary=glossary,
        fillers=QueryFillers.load(DEFAULT_FILLERS),
    )
    assert not any(
        "keyword" in h.sources for h in retriever.first_stage("livestream fanpage", kinds=["plan"])
    )
    # The real engine over that retriever; every hit trusted (this is about the passage).
    engine = AnswerEngine(
        knowledge=retriever,
        conversations=InMemoryConversationStore(ttl=600),
        thresholds=Thresholds(dense=-1.0, dense_alone=-1.0, title=0.0),
    )
    question = "kế hoạch 733/KH-STP tổ chức livestream hỏi đáp thủ tục ở đâu"

    def ask(user: str) -> str:
        answer = engine.answer(Question(text=question, channel="test", user_id=user))
        assert answer.citations and answer.citations[0].id == PLAN
        return answer.text

    assert "Fanpage" not in ask("before")

    editor, reviewer = login("lan"), login("minh")
    page = editor.get("/admin/edit/plan", params={"key": PLAN})
    assert page.status_code == 200 and "Nâng cao nhận thức" in page.text
    values = form_of(page)
    assert values["sec3_rows"] == "STT | Nội dung\n1 | Tuyên truyền | cổ động"
    values[f"sec{_section_index(values, PASSAGE)}_text"] = NEW_PASSAGE
    values.update({"note": "Bổ sung hình thức tuyên truyền", "action": "submit"})
    change = _change_id(editor.post("/admin/edit/plan", data=values))
    detail = editor.get(f"/admin/changes/{change}").text
    assert "Nội dung › 1.1" in detail and "livestream" in detail
    assert _plan(factory).sections[0].children[0].text == PASSAGE  # not before review

    _approve(reviewer, change)
    plan = _plan(factory)
    assert plan.sections[0].children[0].text == NEW_PASSAGE
    # Untouched table cells kept exactly, even the one holding a "|".
    assert plan.sections[1].children[0].rows == [
        ["STT", "Nội dung"],
        ["1", "Tuyên truyền | cổ động"],
    ]
    assert refresh.requests == [f"plan {PLAN} published"]

    # What the index builder makes of the published record: the same running retriever
    # finds the plan by the new passage's words, and the stored record holds it.
    rebuild()
    hits = retriever.first_stage("livestream hỏi đáp trên fanpage", kinds=["plan"])
    assert hits[0].id == PLAN and "keyword" in hits[0].sources
    stored = retriever.record("plan", PLAN)
    assert stored is not None and NEW_PASSAGE in str(stored)
    assert NEW_PASSAGE in ask("after")  # the engine quotes the edited passage

    history = reviewer.get("/admin/history/plan", params={"key": PLAN})
    assert f"<del>1. Nâng cao nhận thức\n{PASSAGE}</del>" in history.text
    assert f"<ins>1. Nâng cao nhận thức\n{NEW_PASSAGE}</ins>" in history.text
    revisions = [int(r) for r in re.findall(r'id="rev-(\d+)"', history.text)]
    back = reviewer.post(
        "/admin/history/plan/rollback",
        data={
            "csrftoken": csrf_of(history.text),
            "key": PLAN,
            "revision": str(revisions[-1]),
            "latest": str(revisions[0]),
        },
    )
    assert back.status_code == 303
    assert _plan(factory).sections[0].children[0].text == PASSAGE
    assert refresh.requests[-1] == f"plan {PLAN} rolled back"


def test_new_plan_form_validates_number_dates_levels(
    login: Login, factory: sessionmaker[Session]
) -> None:
    editor, reviewer = login("lan"), login("thu")
    page = editor.get("/admin/edit/plan")
    assert page.status_code == 200 and "Thêm kế hoạch" in page.text
    form = {
        "csrftoken": csrf_of(page.text),
        "number": "Kế hoạch số 12",
        "title": "Kế hoạch truyền thông dịch vụ công trực tuyến năm 2027",
        "issued_on": "2026-13-01",
        "year": "27",
        "sections": "3",
        "sec0_level": "0",
        "sec0_marker": "I.",
        "sec0_heading": "MỤC ĐÍCH",
        "sec1_level": "2",
        "sec1_marker": "a)",
        "sec1_heading": "Tuyên truyền trên Zalo",
        "action": "submit",
    }
    bad = editor.post("/admin/edit/plan", data=form)
    assert bad.status_code == 400
    assert "số ký hiệu “Kế hoạch số 12” không hợp lệ" in bad.text
    assert "ngày không hợp lệ" in bad.text and "năm có bốn chữ số" in bad.text
    assert "mục ở cấp 2 nhưng mục ngay trên ở cấp 0" in bad.text
    form.update(
        {"number": "12 / kh-ubnd", "issued_on": "2026-11-20", "year": "2027", "sec1_level": "1"}
    )
    change = _change_id(editor.post("/admin/edit/plan", data=form))
    _approve(reviewer, change)
    plan = _plan(factory, "12/KH-UBND")
    assert (plan.number, plan.issued_on, plan.year) == ("12/KH-UBND", dt.date(2026, 11, 20), 2027)
    assert plan.sections[0].children[0].heading == "Tuyên truyền trên Zalo"
    assert "12/KH-UBND" in editor.get("/admin/plans?q=truyen+thong").text
    # A second plan with the same number is refused, nothing is drafted.
    again = editor.post("/admin/edit/plan", data={**form, "number": "12/KH-UBND"})
    assert again.status_code == 409 and "Đã có bản ghi “12/KH-UBND”" in again.text


def test_procedure_documents_and_legal_bases(login: Login, factory: sessionmaker[Session]) -> None:
    editor, reviewer = login("lan"), login("minh")
    page = editor.get("/admin/edit/procedure", params={"key": CODE})
    assert "Thành phần hồ sơ" in page.text and "Căn cứ pháp lý" in page.text
    values = form_of(page)
    assert values["doc0_required"] == "yes" and values["basis0_number"] == "Luật Hộ tịch năm 2014"
    values.update(
        {
            "doc1_name": "Giấy chứng sinh",
            "doc1_copies": "-1",
            "doc1_form_name": "mau/chung-sinh",
            "basis1_number": "Nghị định 123",
            "basis1_title": "Nghị định quy định chi tiết Luật Hộ tịch",
            "action": "submit",
        }
    )
    bad = editor.post("/admin/edit/procedure", data=values)
    assert bad.status_code == 400
    assert "số bản phải là số nguyên từ 0 đến 100" in bad.text
    assert "tên tệp mẫu “mau/chung-sinh” không hợp lệ" in bad.text
    assert "số ký hiệu “Nghị định 123” không hợp lệ" in bad.text
    values.update(
        {
            "doc1_copies": "1",
            "doc1_required": "yes",
            "doc1_form_name": "chung-sinh.docx",
            "basis1_number": "123/2015/nđ-cp",
        }
    )
    change = _change_id(editor.post("/admin/edit/procedure", data=values))
    detail = editor.get(f"/admin/changes/{change}").text
    assert "Thành phần hồ sơ 2" in detail and "Căn cứ pháp lý 2" in detail
    _approve(reviewer, change)
    with transaction(factory) as session:
        data = to_json(KnowledgeRepository(session).get("procedure", CODE))
    assert data["documents"][0]["name"] == "Tờ khai đăng ký khai sinh"  # kept as it was
    assert data["documents"][1] == {
        "name": "Giấy chứng sinh",
        "originals": None,
        "copies": 1,
        "required": True,
        "has_form": True,
        "form_name": "chung-sinh.docx",
        "case": "",
    }
    shown = editor.get(f"/admin/procedures/{CODE}").text
    assert "chung-sinh.docx" in shown and "<strong>123/2015/NĐ-CP</strong>" in shown
    # The untouched basis keeps its loose number; the new one is normalised.
    assert [b["number"] for b in data["legal_bases"]] == ["Luật Hộ tịch năm 2014", "123/2015/NĐ-CP"]

    # Removing a row (all its cells cleared) removes the document.
    page = editor.get("/admin/edit/procedure", params={"key": CODE})
    values = form_of(page)
    for name in ("name", "case", "originals", "copies", "form_name"):
        values[f"doc0_{name}"] = ""
    values.update({"doc0_required": "", "action": "submit"})
    change = _change_id(editor.post("/admin/edit/procedure", data=values))
    _approve(reviewer, change)
    history = reviewer.get("/admin/history/procedure", params={"key": CODE}).text
    assert "Tờ khai đăng ký khai sinh" in history
    with transaction(factory) as session:
        row = session.query(ChangeRequest).filter_by(id=change).one()
        assert row.status == "published"
        data = to_json(KnowledgeRepository(session).get("procedure", CODE))
    assert [d["name"] for d in data["documents"]] == ["Giấy chứng sinh"]
