"""The knowledge-gaps page over HTTP: groups with counts, channels and examples, the
period and channel filters, a group becoming an FAQ draft that goes through review, and
a group's wording added to a procedure's citizens' words."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette

from bot.admin import texts
from knowledge.db import transaction
from knowledge.models import AnswerFeedback, AuditEntry, ChangeRequest, Faq, UnansweredQuestion
from knowledge.records import ProcedureData
from knowledge.repository import KnowledgeRepository
from tests.bot.admin.conftest import AdminClient, Login, csrf_of, make_web
from tests.fakes import FakeIndexRefresh

NOW = dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC)
LOST = "làm lại sổ đỏ bị mất ở đâu"
CODE = "1.000001"


def seed(factory: sessionmaker[Session]) -> None:
    """Three questions about a lost land certificate (two channels, one 👎), one about a
    dog licence 40 days ago, and a procedure to attach citizens' words to."""
    with transaction(factory) as session:
        session.add_all(
            [
                UnansweredQuestion(
                    created_at=NOW - dt.timedelta(days=2),
                    channel="zalo-oa",
                    status="no_answer",
                    question=LOST,
                ),
                UnansweredQuestion(
                    created_at=NOW - dt.timedelta(days=1),
                    channel="zalo-oa",
                    status="handoff",
                    question=LOST,
                ),
                AnswerFeedback(
                    created_at=NOW - dt.timedelta(hours=3),
                    channel="messenger",
                    answer_id="a1",
                    value="down",
                    question="mất sổ đỏ làm lại ở đâu",
                ),
                UnansweredQuestion(
                    created_at=NOW - dt.timedelta(days=40),
                    channel="telegram",
                    status="no_answer",
                    question="giấy phép nuôi chó cảnh",
                ),
            ]
        )
        KnowledgeRepository(session).upsert(
            [ProcedureData(code=CODE, name="Cấp lại Giấy chứng nhận quyền sử dụng đất")],
            author="import",
        )


@pytest.fixture
def web(
    factory: sessionmaker[Session],
    refresh: FakeIndexRefresh,
    users: dict[str, str],
    tmp_path: Path,
) -> Starlette:
    seed(factory)
    return make_web(factory, refresh, glossary_path=tmp_path / "glossary.tsv", clock=lambda: NOW)


def _groups(html: str) -> dict[str, str]:
    """Each group's wording → its section's HTML."""
    sections = re.findall(
        r'<section class="card gap" data-wording="([^"]+)">(.*?)</section>', html, re.S
    )
    return dict(sections)


def test_groups_with_counts_channels_and_filters(login: Login) -> None:
    editor = login("lan")
    page = editor.get("/admin/gaps")  # the last 30 days by default
    assert page.status_code == 200
    groups = _groups(page.text)
    assert list(groups) == [LOST]  # the dog licence is 40 days old
    section = groups[LOST]
    assert '<strong class="count">3</strong> lượt' in section
    assert "Zalo OA: 2" in section and "Messenger: 1" in section
    assert "người dân không hài lòng (👎): 1" in section and "chuyển cán bộ: 1" in section
    assert "mất sổ đỏ làm lại ở đâu" in section  # an example of the group
    assert "02/12/2026 06:00" in section  # last seen, Vietnam time

    everything = _groups(editor.get("/admin/gaps?days=").text)
    assert set(everything) == {LOST, "giấy phép nuôi chó cảnh"}
    messenger = _groups(editor.get("/admin/gaps?days=30&channel=messenger").text)
    assert list(messenger) == ["mất sổ đỏ làm lại ở đâu"]
    assert '<strong class="count">1</strong>' in next(iter(messenger.values()))
    assert editor.get("/admin/gaps?days=abc&channel=<x>").status_code == 200  # ignored


def _make_faq(client: AdminClient, **extra: str) -> object:
    token = csrf_of(client.get("/admin/gaps").text)
    return client.post(
        "/admin/gaps/faq",
        data={"csrftoken": token, "wording": LOST, "days": "30", "channel": "", **extra},
    )


def test_a_group_becomes_an_faq_draft_that_goes_through_review(
    login: Login, factory: sessionmaker[Session], refresh: FakeIndexRefresh
) -> None:
    editor = login("lan")
    created = _make_faq(editor)
    assert created.status_code == 303  # type: ignore[attr-defined]
    location = created.headers["location"]  # type: ignore[attr-defined]
    match = re.fullmatch(r"/admin/edit/faq\?change=(\d+)", location)
    assert match, location
    change_id = int(match.group(1))
    with factory() as session:
        change = session.get(ChangeRequest, change_id)
        assert change is not None
        assert (change.status, change.author, change.record_kind) == ("draft", "lan", "faq")
        assert change.data["question"] == LOST and change.data["answer"] == ""
        assert "3 lượt" in change.note and "mất sổ đỏ làm lại ở đâu" in change.note
        key = change.record_key
        assert session.scalar(select(Faq).where(Faq.source_id == key)) is None  # not live
    form = editor.get(location)
    assert form.status_code == 200 and texts.GAP_FAQ_CREATED in form.text
    assert LOST in form.text

    # The page now points at the draft; a second click reuses it.
    assert f"đề xuất #{change_id}" in editor.get("/admin/gaps").text
    again = editor.post(
        "/admin/gaps/faq",
        data={"csrftoken": csrf_of(form.text), "wording": LOST, "days": "30", "channel": ""},
    )
    assert again.headers["location"] == f"/admin/changes/{change_id}"
    with factory() as session:
        assert session.scalar(select(ChangeRequest.id).where(ChangeRequest.id > change_id)) is None

    # Without an answer it cannot be sent for review.
    detail = f"/admin/changes/{change_id}"
    token = csrf_of(editor.get(detail).text)
    editor.post(f"{detail}/submit", data={"csrftoken": token})
    assert "chưa có câu trả lời" in editor.get(detail).text

    # The author writes the answer in the usual FAQ form and submits it.
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form.text))
    answer = "Nộp hồ sơ tại Bộ phận Một cửa cấp huyện; thành phần hồ sơ gồm đơn đề nghị cấp lại."
    fields.update({"question": LOST, "answer": answer, "status": "published", "action": "submit"})
    saved = editor.post("/admin/edit/faq", data=fields)
    assert saved.status_code == 303 and saved.headers["location"] == detail
    with factory() as session:
        assert session.get(ChangeRequest, change_id).status == "submitted"  # type: ignore[union-attr]

    # A reviewer who is not the author approves: published, and the index asked to rebuild.
    reviewer = login("minh")
    token = csrf_of(reviewer.get(detail).text)
    assert reviewer.post(f"{detail}/approve", data={"csrftoken": token}).status_code == 303
    with factory() as session:
        faq = session.scalar(select(Faq).where(Faq.source_id == key))
        assert faq is not None and faq.answer == answer and faq.question == LOST
    assert any(key in r for r in refresh.requests)
    with factory() as session:
        actions = [a.action for a in session.execute(select(AuditEntry)).scalars()]
    assert "gap.faq_draft" in actions


def test_a_typed_answer_goes_into_the_draft(login: Login, factory: sessionmaker[Session]) -> None:
    editor = login("tuan")
    created = _make_faq(editor, answer="Nộp tại Văn phòng đăng ký đất đai.")
    change_id = int(created.headers["location"].rsplit("=", 1)[1])  # type: ignore[attr-defined]
    with factory() as session:
        change = session.get(ChangeRequest, change_id)
        assert change is not None and change.data["answer"] == "Nộp tại Văn phòng đăng ký đất đai."


def test_a_changed_group_is_not_guessed(login: Login, factory: sessionmaker[Session]) -> None:
    editor = login("lan")
    token = csrf_of(editor.get("/admin/gaps").text)
    response = editor.post(
        "/admin/gaps/faq",
        data={"csrftoken": token, "wording": "một câu không có trong nhóm nào", "days": "30"},
    )
    assert response.status_code == 303
    assert texts.GAP_GONE in editor.get("/admin/gaps").text
    with factory() as session:
        assert session.scalar(select(ChangeRequest.id)) is None


def test_citizens_words_by_reviewers_only(
    login: Login, tmp_path: Path, refresh: FakeIndexRefresh, factory: sessionmaker[Session]
) -> None:
    glossary = tmp_path / "glossary.tsv"
    editor = login("lan")
    page = editor.get("/admin/gaps").text
    assert "Chỉ người duyệt hoặc quản trị được thêm từ" in page
    refused = editor.post(
        "/admin/gaps/words",
        data={"csrftoken": csrf_of(page), "wording": LOST, "days": "30", "code": CODE},
    )
    assert refused.status_code == 303
    assert texts.GAP_WORDS_ROLE in editor.get("/admin/gaps").text
    assert not glossary.exists()

    reviewer = login("minh")
    token = csrf_of(reviewer.get("/admin/gaps").text)
    unknown = reviewer.post(
        "/admin/gaps/words",
        data={"csrftoken": token, "wording": LOST, "days": "30", "code": "9.999999"},
    )
    assert unknown.status_code == 303
    assert "Không có thủ tục mã “9.999999”" in reviewer.get("/admin/gaps").text

    added = reviewer.post(
        "/admin/gaps/words", data={"csrftoken": token, "wording": LOST, "days": "30", "code": CODE}
    )
    assert added.status_code == 303
    line = glossary.read_text("utf-8").strip()
    term, name = line.split("\t")
    assert name == "cấp lại giấy chứng nhận quyền sử dụng đất"
    assert "so do" in term and "mat" in term
    assert "Đã thêm" in reviewer.get("/admin/gaps").text
    assert any(CODE in r for r in refresh.requests)
    with factory() as session:
        [entry] = session.execute(
            select(AuditEntry).where(AuditEntry.action == "gap.citizen_words")
        ).scalars()
        assert entry.actor == "minh" and entry.detail == {"line": line}

    twice = reviewer.post(
        "/admin/gaps/words", data={"csrftoken": token, "wording": LOST, "days": "30", "code": CODE}
    )
    assert twice.status_code == 303
    assert "đã có cho thủ tục này" in reviewer.get("/admin/gaps").text
    assert glossary.read_text("utf-8").count("\n") == 1


def test_gaps_page_refuses_officers_and_forged_posts(login: Login) -> None:
    officer = login("hoa")
    assert officer.get("/admin/gaps").status_code == 403
    editor = login("lan")
    assert editor.post("/admin/gaps/faq", data={"wording": LOST}).status_code == 403
