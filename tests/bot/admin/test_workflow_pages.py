"""Knowledge editing through the admin over HTTP: draft → submit → review → publish,
self-approval refused, concurrent edits refused, history and rollback, hotlines, FAQ."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.codec import to_json
from knowledge.db import transaction
from knowledge.models import AuditEntry, ChangeRequest
from knowledge.records import HotlineData, ProcedureData
from knowledge.repository import KnowledgeRepository
from tests.bot.admin.conftest import RESIDENCE, AdminClient, Login, csrf_of, residence_procedure
from tests.fakes import FakeIndexRefresh

CODE = RESIDENCE


@pytest.fixture(autouse=True)
def knowledge(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        KnowledgeRepository(session).upsert(
            [
                residence_procedure(),
                ProcedureData(
                    code="2.000123", name="Cấp bản sao trích lục hộ tịch", fields=["Hộ tịch"]
                ),
                HotlineData(
                    "national", "Tổng đài Dịch vụ công quốc gia", ["18001096"], source="Cổng DVCQG"
                ),
            ],
            author="import",
        )


def _fee_of(factory: sessionmaker[Session], method: str = "truc_tuyen") -> int | None:
    with transaction(factory) as session:
        data = to_json(KnowledgeRepository(session).get("procedure", CODE))
    channel = next(c for c in data["channels"] if c["method"] == method)
    return channel["fees"][0]["amount_vnd"] if channel["fees"] else None


def _edit_form(client: AdminClient, fee: str, action: str = "submit") -> dict[str, str]:
    page = client.get(f"/admin/edit/procedure?key={CODE}")
    assert page.status_code == 200
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page.text))
    fields.update(
        {
            k: v
            for k, v in re.findall(
                r'<textarea[^>]*name="([^"]+)"[^>]*>([^<]*)</textarea>', page.text
            )
        }
    )
    fields.update(
        {
            "ch1_fee0_amount": fee,
            "ch1_fee0_currency": "VND",
            "ch0_fee0_currency": "VND",
            "ch0_time_unit": "working_day",
            "ch1_time_unit": "working_day",
            "online_level": "none",
            "note": "Nghị quyết mới",
            "action": action,
        }
    )
    fields["csrftoken"] = csrf_of(page.text)
    return fields


def _change_id(response: object) -> int:
    location = response.headers["location"]  # type: ignore[attr-defined]
    match = re.fullmatch(r"/admin/changes/(\d+)", location)
    assert match, location
    return int(match.group(1))


def _act(client: AdminClient, change: int, action: str, comment: str = "") -> int:
    page = client.get(f"/admin/changes/{change}")
    response = client.post(
        f"/admin/changes/{change}/{action}",
        data={"csrftoken": csrf_of(page.text), "comment": comment},
    )
    assert response.status_code == 303
    return int(response.status_code)


def _status(factory: sessionmaker[Session], change: int) -> str:
    with transaction(factory) as session:
        row = session.get(ChangeRequest, change)
        assert row is not None
        return row.status


def test_lists_and_procedure_page(login: Login) -> None:
    client = login("lan")
    listing = client.get("/admin/procedures?q=thuong tru")  # without diacritics too
    assert listing.status_code == 200 and CODE in listing.text and "2.000123" not in listing.text
    by_field = client.get("/admin/procedures?field=Hộ tịch")
    assert "2.000123" in by_field.text and CODE not in by_field.text
    page = client.get(f"/admin/procedures/{CODE}")
    assert (
        "10.000 đồng" in page.text and "20.000 đồng" in page.text and "7 ngày làm việc" in page.text
    )
    assert client.get("/admin/procedures/9.999999").status_code == 404
    assert "18001096" in client.get("/admin/hotlines").text


def test_fee_edit_review_publish_and_rollback(
    login: Login, factory: sessionmaker[Session], refresh: FakeIndexRefresh
) -> None:
    editor, reviewer = login("lan"), login("minh")
    response = editor.post("/admin/edit/procedure", data=_edit_form(editor, "1,5 triệu"))
    assert response.status_code == 303, response.text
    change = _change_id(response)
    assert _status(factory, change) == "submitted"
    detail = editor.get(f"/admin/changes/{change}").text
    assert "10.000 đồng" in detail and "1.500.000 đồng" in detail  # readable diff
    # The editor can neither approve (role) nor publish; nothing changes.
    page = editor.get(f"/admin/changes/{change}")
    for action in ("approve", "publish"):
        refused = editor.post(
            f"/admin/changes/{change}/{action}", data={"csrftoken": csrf_of(page.text)}
        )
        assert refused.status_code == 403 and "không có quyền" in refused.text
    assert _fee_of(factory) == 10000 and refresh.requests == []
    _act(reviewer, change, "approve", "Đúng theo nghị quyết")
    assert _status(factory, change) == "published"
    assert _fee_of(factory) == 1_500_000
    assert refresh.requests == [f"procedure {CODE} published"]
    history = reviewer.get(f"/admin/history/procedure?key={CODE}")
    assert history.status_code == 200
    assert "<del>Lệ phí: 10.000 đồng</del>" in history.text
    assert "<ins>Lệ phí: 1.500.000 đồng</ins>" in history.text
    revisions = [int(r) for r in re.findall(r'id="rev-(\d+)"', history.text)]
    latest, first = revisions[0], revisions[-1]
    # An editor sees no rollback button and may not post one.
    assert "Khôi phục" not in editor.get(f"/admin/history/procedure?key={CODE}").text
    form = {
        "csrftoken": csrf_of(history.text),
        "key": CODE,
        "revision": str(first),
        "latest": str(latest),
    }
    assert editor.post("/admin/history/procedure/rollback", data=form).status_code == 403
    back = reviewer.post("/admin/history/procedure/rollback", data=form)
    assert back.status_code == 303
    assert _fee_of(factory) == 10000
    assert refresh.requests[-1] == f"procedure {CODE} rolled back"
    # A second click on the now outdated page changes nothing.
    again = reviewer.post("/admin/history/procedure/rollback", data=form, follow_redirects=True)
    assert "vừa có thay đổi mới" in again.text
    with transaction(factory) as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.target_key == CODE)
        ).all()
    assert [a for a in actions if a.startswith(("change.", "record."))] == [
        "change.draft",
        "change.submit",
        "change.approve",
        "change.publish",
        "record.rollback",
    ]


def test_reviewer_cannot_approve_own_change(login: Login, factory: sessionmaker[Session]) -> None:
    reviewer = login("minh")
    change = _change_id(reviewer.post("/admin/edit/procedure", data=_edit_form(reviewer, "15.000")))
    page = reviewer.get(f"/admin/changes/{change}")
    assert "không thể tự duyệt" in page.text and "Duyệt và xuất bản" not in page.text
    reviewer.post(f"/admin/changes/{change}/approve", data={"csrftoken": csrf_of(page.text)})
    assert "không thể tự duyệt" in reviewer.get(f"/admin/changes/{change}").text
    assert _status(factory, change) == "submitted" and _fee_of(factory) == 10000


def test_reject_needs_a_reason_and_returns_to_author(
    login: Login, factory: sessionmaker[Session]
) -> None:
    editor, reviewer = login("lan"), login("minh")
    change = _change_id(editor.post("/admin/edit/procedure", data=_edit_form(editor, "15.000")))
    _act(reviewer, change, "reject", "")
    assert _status(factory, change) == "submitted"
    _act(reviewer, change, "reject", "Thiếu căn cứ")
    assert _status(factory, change) == "rejected"
    edit = editor.get(f"/admin/edit/procedure?change={change}")
    assert edit.status_code == 200 and 'value="15.000"' in edit.text
    # Another editor may not touch lan's change.
    assert login("tuan").get(f"/admin/edit/procedure?change={change}").status_code == 403


def test_concurrent_edit_is_refused(login: Login, factory: sessionmaker[Session]) -> None:
    first, second, reviewer = login("lan"), login("tuan"), login("minh")
    stale_form = _edit_form(second, "30.000")  # opened before the other change lands
    change = _change_id(first.post("/admin/edit/procedure", data=_edit_form(first, "25.000")))
    # A draft of the same record made from the same base, waiting for review:
    waiting = _change_id(second.post("/admin/edit/procedure", data=_edit_form(second, "40.000")))
    _act(reviewer, change, "approve")
    assert _fee_of(factory) == 25000
    refused = second.post("/admin/edit/procedure", data=stale_form)
    assert refused.status_code == 409 and "Không ghi đè" in refused.text
    page = reviewer.get(f"/admin/changes/{waiting}")
    assert "không thể xuất bản" in page.text
    _act(reviewer, waiting, "approve")
    assert _status(factory, waiting) == "submitted" and _fee_of(factory) == 25000


def test_amounts_urls_are_validated_in_vietnamese(
    login: Login, factory: sessionmaker[Session]
) -> None:
    editor = login("lan")
    form = _edit_form(editor, "35")
    form["online_url"] = "dichvucong.gov.vn"
    response = editor.post("/admin/edit/procedure", data=form)
    assert response.status_code == 400
    assert "nhỏ bất thường" in response.text and "35.000" in response.text
    assert "phải bắt đầu bằng http:// hoặc https://" in response.text
    for typed, amount in (("50.000 đồng", 50000), ("1.500.000", 1500000), ("2 triệu", 2000000)):
        change = _change_id(
            editor.post("/admin/edit/procedure", data=_edit_form(editor, typed, "save"))
        )
        with transaction(factory) as session:
            row = session.get(ChangeRequest, change)
            assert row is not None and row.status == "draft"
            assert row.data["channels"][1]["fees"][0]["amount_vnd"] == amount


def test_effective_date_holds_publication(login: Login, factory: sessionmaker[Session]) -> None:
    editor, reviewer = login("lan"), login("minh")
    form = _edit_form(editor, "12.000")
    form["effective_on"] = "2999-01-01"
    change = _change_id(editor.post("/admin/edit/procedure", data=form))
    _act(reviewer, change, "approve")
    assert _status(factory, change) == "approved" and _fee_of(factory) == 10000
    assert re.search(r'id="count-approved">1<', reviewer.get("/admin/").text)
    _act(reviewer, change, "publish")  # "Xuất bản ngay"
    assert _status(factory, change) == "published" and _fee_of(factory) == 12000


def test_hotline_create_validates_phones(login: Login, factory: sessionmaker[Session]) -> None:
    editor, reviewer = login("lan"), login("minh")
    page = editor.get("/admin/edit/hotline")
    form = {
        "csrftoken": csrf_of(page.text),
        "scope": "province",
        "area": "Lai Châu",
        "name": "Trung tâm Phục vụ hành chính công tỉnh",
        "phones": "12345",
        "source": "",
        "action": "submit",
        "hours": "7:30–17:00 thứ Hai đến thứ Sáu",
    }
    bad = editor.post("/admin/edit/hotline", data=form)
    assert bad.status_code == 400
    assert "không phải số điện thoại Việt Nam hợp lệ" in bad.text and "hãy ghi nguồn" in bad.text
    form.update({"phones": "0213 3796 888\n+84 912 345 678", "source": "Website UBND tỉnh"})
    change = _change_id(editor.post("/admin/edit/hotline", data=form))
    _act(reviewer, change, "approve")
    with transaction(factory) as session:
        hotline = KnowledgeRepository(session).get(
            "hotline", "province|Lai Châu|Trung tâm Phục vụ hành chính công tỉnh"
        )
    assert hotline.phones == ["0213 3796 888", "0912 345 678"]  # type: ignore[union-attr]


def test_faq_create_through_review(login: Login, factory: sessionmaker[Session]) -> None:
    editor, reviewer = login("lan"), login("thu")
    page = editor.get("/admin/edit/faq")
    source_id = re.search(r'name="source_id" value="(staff-[0-9a-f]{8})"', page.text)
    assert source_id
    form = {
        "csrftoken": csrf_of(page.text),
        "source_id": source_id.group(1),
        "question": "Làm căn cước cho trẻ em dưới 6 tuổi ở đâu?",
        "answer": "Cha, mẹ làm thủ tục qua Cổng Dịch vụ công hoặc ứng dụng VNeID.",
        "topic": "Căn cước",
        "source_url": "https://dichvucong.gov.vn",
        "action": "submit",
    }
    change = _change_id(editor.post("/admin/edit/faq", data=form))
    _act(reviewer, change, "approve")
    with transaction(factory) as session:
        faq = KnowledgeRepository(session).get("faq", source_id.group(1))
    assert faq.question.startswith("Làm căn cước")  # type: ignore[union-attr]
    assert "Làm căn cước" in editor.get("/admin/faqs?q=can cuoc").text


def test_home_counts(login: Login) -> None:
    editor = login("lan")
    editor.post("/admin/edit/procedure", data=_edit_form(editor, "15.000"))
    home = editor.get("/admin/").text
    assert re.search(r'id="count-submitted">1<', home)
    assert "gen-test" in home
