"""The announcements page over HTTP: roles (editor drafts, reviewer sends, officer
sees nothing), CSRF, preview counts, validation and the audit trail."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.admin import texts
from knowledge.db import transaction
from knowledge.models import Announcement, AuditEntry, Subscription
from tests.bot.admin.conftest import Login, csrf_of
from tests.bot.channels.test_announcements import last_message

TEXT = "Lệ phí cấp lại căn cước giảm 50% khi nộp trực tuyến từ 01/12/2026."


def _seed(factory: sessionmaker[Session]) -> None:
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    with transaction(factory) as session:
        session.add_all(
            [
                Subscription(channel="telegram", user_id="1", created_at=old),
                Subscription(channel="telegram", user_id="2", created_at=old),
                Subscription(channel="zalo-oa", user_id="z1", created_at=old),
                Subscription(channel="zalo-oa", user_id="z2", created_at=old),
            ]
        )
    last_message(factory, "zalo-oa", "z1", dt.datetime.now(dt.UTC) - dt.timedelta(days=1))


def _post(client, data: dict[str, object]):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/admin/announcements").text)
    return client.post("/admin/announcements", data={**data, "csrftoken": token})


def test_editor_previews_and_drafts_but_cannot_send(
    login: Login, factory: sessionmaker[Session]
) -> None:
    _seed(factory)
    editor = login("lan")
    page = editor.get("/admin/announcements")
    assert page.status_code == 200 and "Gửi ngay" not in page.text
    shown = _post(editor, {"text": TEXT, "channels": ["telegram", "zalo-oa"], "action": "preview"})
    assert shown.status_code == 200
    assert 'data-channel="telegram"><td>Telegram</td><td>2</td><td>0</td><td>2</td>' in shown.text
    assert 'data-channel="zalo-oa"><td>Zalo OA</td><td>2</td><td>1</td><td>1</td>' in shown.text
    refused = _post(editor, {"text": TEXT, "channels": ["telegram"], "action": "send"})
    assert refused.status_code == 403 and texts.ANNOUNCE_SEND_ROLE in refused.text
    drafted = _post(editor, {"text": TEXT, "channels": ["telegram"], "action": "draft"})
    assert drafted.status_code == 303
    with factory() as session:
        [row] = session.scalars(select(Announcement)).all()
        assert (row.state, row.author, row.channels) == ("draft", "lan", ["telegram"])
    token = csrf_of(editor.get("/admin/announcements").text)
    sent = editor.post(f"/admin/announcements/{row.id}/send", data={"csrftoken": token})
    assert sent.status_code == 403


def test_reviewer_sends_a_draft_and_schedules_with_audit(
    login: Login, factory: sessionmaker[Session]
) -> None:
    _seed(factory)
    editor, reviewer = login("lan"), login("minh")
    _post(editor, {"text": TEXT, "channels": ["telegram"], "action": "draft"})
    with factory() as session:
        draft_id = session.scalars(select(Announcement.id)).one()
    token = csrf_of(reviewer.get("/admin/announcements").text)
    assert (
        reviewer.post(
            f"/admin/announcements/{draft_id}/send", data={"csrftoken": token}
        ).status_code
        == 303
    )
    later = _post(
        reviewer,
        {"text": TEXT, "channels": ["zalo-oa"], "action": "schedule", "at": "2099-01-01T08:00"},
    )
    assert later.status_code == 303
    past = _post(
        reviewer,
        {"text": TEXT, "channels": ["zalo-oa"], "action": "schedule", "at": "2020-01-01T08:00"},
    )
    assert past.status_code == 400 and "đã qua" in past.text
    none = _post(reviewer, {"text": TEXT, "action": "send"})
    assert none.status_code == 400 and "ít nhất một kênh" in none.text
    with factory() as session:
        rows = {a.id: a for a in session.scalars(select(Announcement))}
        assert rows[draft_id].state == "scheduled"
        scheduled = [a for a in rows.values() if a.id != draft_id]
        assert [a.state for a in scheduled] == ["scheduled"]
        at = scheduled[0].scheduled_at
        assert at is not None
        assert at.replace(tzinfo=dt.UTC) == dt.datetime(2099, 1, 1, 1, 0, tzinfo=dt.UTC)
        actions = [
            (e.actor, e.action)
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
            if e.action.startswith("announcement.")
        ]
    assert actions == [
        ("lan", "announcement.draft"),
        ("minh", "announcement.send"),
        ("minh", "announcement.schedule"),
    ]
    token = csrf_of(reviewer.get("/admin/announcements").text)
    cancel = reviewer.post(
        f"/admin/announcements/{scheduled[0].id}/cancel", data={"csrftoken": token}
    )
    assert cancel.status_code == 303
    with factory() as session:
        assert session.get(Announcement, scheduled[0].id).state == "cancelled"  # type: ignore[union-attr]


def test_officer_is_refused_and_csrf_is_required(login: Login) -> None:
    officer = login("hoa")
    assert officer.get("/admin/announcements").status_code == 403
    reviewer = login("minh")
    reviewer.get("/admin/announcements")
    forged = reviewer.post(
        "/admin/announcements", data={"text": TEXT, "channels": "telegram", "action": "send"}
    )
    assert forged.status_code == 403
