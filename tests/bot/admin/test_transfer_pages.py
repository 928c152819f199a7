"""Upload with preview, apply as change requests, export, accounts: over HTTP."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.db import transaction
from knowledge.models import AuditEntry, ChangeRequest, Revision, StaffUser
from knowledge.readable import SHEET_PROCEDURES
from knowledge.records import ProcedureData
from knowledge.repository import KnowledgeRepository
from knowledge.workflow import Actor, approve, latest_revision, save_draft, submit
from tests.bot.admin.conftest import (
    PASSWORD,
    RESIDENCE,
    AdminClient,
    Login,
    csrf_of,
    residence_procedure,
)
from tests.bot.admin.upload_helpers import edited_workbook

CODE = RESIDENCE
OTHER = "2.000123"


@pytest.fixture(autouse=True)
def knowledge(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        KnowledgeRepository(session).upsert(
            [
                residence_procedure(),
                ProcedureData(
                    code=OTHER,
                    name="Cấp bản sao trích lục hộ tịch",
                    fields=["Hộ tịch"],
                    implementing_agencies="UBND cấp xã",
                ),
            ],
            author="import",
        )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _upload(client: AdminClient, data: bytes, name: str = "thu-tuc.xlsx") -> tuple[int, str]:
    token = csrf_of(client.get("/admin/import").text)
    response = client.post(
        "/admin/import", data={"csrftoken": token}, files={"file": (name, data, XLSX)}
    )
    return response.status_code, response.text


def _counts(factory: sessionmaker[Session]) -> tuple[int, int, int]:
    with transaction(factory) as session:
        return (
            int(session.scalar(select(func.count()).select_from(ChangeRequest)) or 0),
            int(session.scalar(select(func.count()).select_from(Revision)) or 0),
            int(
                session.scalar(
                    select(func.count())
                    .select_from(AuditEntry)
                    .where(AuditEntry.action.startswith("change."))
                )
                or 0
            ),
        )


def test_preview_writes_nothing_and_apply_creates_the_previewed_changes(
    login: Login, factory: sessionmaker[Session]
) -> None:
    before = _counts(factory)
    editor = login("lan")
    status, page = _upload(editor, edited_workbook(factory, CODE, "Trực tuyến", 10000, 55000))
    assert status == 200, page
    assert '<td id="count-changed">1</td>' in page
    assert '<td id="count-unchanged">0</td>' in page  # only CODE was exported
    assert "10.000 đồng" in page and "55.000 đồng" in page  # fees readable in the diff
    assert 'data-key="1.004222" data-action="changed"' in page
    assert _counts(factory) == before  # the preview wrote no change, revision or workflow audit
    assert editor.get("/admin/import").text.count('data-action="changed"') == 1  # kept

    token = csrf_of(page)
    digest = page.split('name="digest" value="')[1].split('"')[0]
    applied = editor.post(
        "/admin/import/apply",
        data={"csrftoken": token, "digest": digest, "note": "Nghị quyết HĐND tỉnh"},
    )
    assert applied.status_code == 303
    assert applied.headers["location"] == "/admin/changes?status=submitted"
    with transaction(factory) as session:
        changes = session.scalars(select(ChangeRequest)).all()
        assert [(c.record_key, c.status, c.author, c.note) for c in changes] == [
            (CODE, "submitted", "lan", "Nghị quyết HĐND tỉnh")
        ]
        online = next(ch for ch in changes[0].data["channels"] if ch["method"] == "truc_tuyen")
        assert online["fees"][0]["amount_vnd"] == 55000
        assert (
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "import.apply")
            )
            == 1
        )
    assert _counts(factory)[1] == before[1]  # nothing published: a reviewer must approve
    # The kept file is gone: a second apply has nothing to apply.
    again = editor.post("/admin/import/apply", data={"csrftoken": token, "digest": digest})
    assert again.status_code == 303 and again.headers["location"] == "/admin/import"
    assert _counts(factory)[0] == 1


def test_stale_apply_is_refused(login: Login, factory: sessionmaker[Session]) -> None:
    editor = login("lan")
    _, page = _upload(editor, edited_workbook(factory, CODE, "Trực tuyến", 10000, 55000))
    token = csrf_of(page)
    digest = page.split('name="digest" value="')[1].split('"')[0]
    # Meanwhile another fee change is published through the workflow.
    with transaction(factory) as session:
        data = KnowledgeRepository(session).current_json("procedure", [CODE])[CODE]
        base = latest_revision(session, "procedure", CODE)
        data["name"] = "Đăng ký thường trú (sửa tên)"
        change = save_draft(
            session, kind="procedure", data=data, actor=Actor("tuan", "editor"), base_revision=base
        )
        submit(session, change.id, actor=Actor("tuan", "editor"))
        import datetime as dt

        approve(session, change.id, actor=Actor("minh", "reviewer"), today=dt.date(2026, 1, 1))
    before = _counts(factory)
    refused = editor.post("/admin/import/apply", data={"csrftoken": token, "digest": digest})
    assert refused.status_code == 409
    assert "Dữ liệu đã thay đổi kể từ khi bạn xem trước" in refused.text
    assert _counts(factory) == before


def test_errors_block_the_apply(login: Login, factory: sessionmaker[Session]) -> None:
    editor = login("lan")
    status, page = _upload(
        editor, edited_workbook(factory, CODE, "Trực tuyến", 10000, "mười nghìn")
    )
    assert status == 200
    assert 'id="errors"' in page and "thu-tuc.xlsx:" in page
    assert "Áp dụng:" not in page
    token = csrf_of(page)
    refused = editor.post("/admin/import/apply", data={"csrftoken": token, "digest": ""})
    assert refused.status_code == 303  # no apply form was offered: back to the page
    assert _counts(factory)[0] == 0


def test_upload_roles_csrf_and_bad_files(login: Login, factory: sessionmaker[Session]) -> None:
    officer = login("hoa")
    assert officer.get("/admin/import").status_code == 403
    assert officer.get("/admin/export").status_code == 403
    editor = login("lan")
    no_csrf = editor.post("/admin/import", files={"file": ("a.xlsx", b"x", XLSX)})
    assert no_csrf.status_code == 403
    status, page = _upload(editor, b"\x00\x01 not a workbook", "rac.exe")
    assert status == 400 and "Định dạng tệp không được hỗ trợ" in page
    status, page = _upload(editor, b"PK\x03\x04 broken", "hong.xlsx")
    assert status == 200 and 'id="errors"' in page  # reported, not a 500
    from bot.admin import transfer

    status, page = _upload(editor, b"x" * (transfer.UPLOAD_MAX_BYTES + 1), "lon.csv")
    assert status == 413
    assert _counts(factory)[0] == 0


def test_export_filters(login: Login) -> None:
    editor = login("lan")
    everything = editor.get("/admin/export.xlsx")
    assert everything.status_code == 200 and everything.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )

    def codes(response_bytes: bytes) -> list[str]:
        sheet = load_workbook(io.BytesIO(response_bytes))[SHEET_PROCEDURES]
        return [str(r[0].value) for r in sheet.iter_rows(min_row=2) if r[0].value]

    assert codes(everything.content) == [CODE, OTHER]
    assert codes(editor.get("/admin/export.xlsx", params={"codes": OTHER}).content) == [OTHER]
    assert codes(editor.get("/admin/export.xlsx", params={"field": "hộ TỊCH"}).content) == [OTHER]
    assert codes(editor.get("/admin/export.xlsx", params={"agency": "công an"}).content) == [CODE]
    assert codes(editor.get("/admin/export.xlsx", params={"since": "2999-01-01"}).content) == []
    assert editor.get("/admin/export.xlsx", params={"since": "hôm qua"}).status_code == 400
    counted = editor.get("/admin/export", params={"field": "cư trú"})
    assert "1 thủ tục khớp bộ lọc" in counted.text


def test_accounts_page(login: Login, factory: sessionmaker[Session]) -> None:
    assert login("minh").get("/admin/users").status_code == 403
    admin = login("quan")
    page = admin.get("/admin/users")
    assert page.status_code == 200 and 'data-user="lan"' in page.text
    token = csrf_of(page.text)
    assert admin.post("/admin/users", data={"username": "x1", "role": "editor"}).status_code == 403
    short = admin.post(
        "/admin/users",
        data={"csrftoken": token, "username": "moi", "role": "editor", "password": "ngan"},
    )
    assert short.status_code == 400 and "ít nhất 10 ký tự" in short.text
    made = admin.post(
        "/admin/users",
        data={
            "csrftoken": token,
            "username": "moi",
            "display_name": "Nguyễn Văn Mới",
            "role": "editor",
            "password": PASSWORD,
        },
    )
    assert made.status_code == 303
    assert (
        admin.post(
            "/admin/users/moi/role", data={"csrftoken": token, "role": "reviewer"}
        ).status_code
        == 303
    )
    assert (
        admin.post(
            "/admin/users/moi/password",
            data={"csrftoken": token, "password": "mật khẩu mới rất dài"},
        ).status_code
        == 303
    )
    assert admin.post("/admin/users/moi/disable", data={"csrftoken": token}).status_code == 303
    own = admin.post("/admin/users/quan/disable", data={"csrftoken": token})
    assert own.status_code == 303
    with transaction(factory) as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == "moi"))
        assert user is not None and user.role == "reviewer" and not user.active
        me = session.scalar(select(StaffUser).where(StaffUser.username == "quan"))
        assert me is not None and me.active
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.target_key == "moi").order_by(AuditEntry.id)
        ).all()
    assert actions == ["user.create", "user.role", "user.password", "user.disable"]
    assert "đã khoá" in admin.get("/admin/users").text
