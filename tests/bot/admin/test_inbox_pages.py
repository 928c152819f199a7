"""The officer inbox over HTTP (real admin app, real HandoffService, SQLite): who may
see it, CSRF, claims by two officers, the platform's reply window, release, audit.

Delivery of a reply through a real channel (dispatcher, reply job, fake Zalo server) is
the Chromium test's part (``test_inbox_browser.py``); here replies land in a recording
``OfficerOutbox``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette

from bot.admin import texts
from bot.engine import texts as citizen_texts
from bot.handoff import HandoffService, OfficeHours
from knowledge.db import transaction
from knowledge.models import AuditEntry, Handoff
from knowledge.staff import create_user
from tests.bot.admin.conftest import PASSWORD, Login, csrf_of, make_web
from tests.fakes import FakeIndexRefresh

#: A Wednesday, 09:00 in Hà Nội: inside the default office hours.
WEDNESDAY_9AM = dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC)
CITIZEN = "6142494823000000001"


@pytest.fixture
def clock() -> list[dt.datetime]:
    return [WEDNESDAY_9AM]


class FakeOfficerOutbox:
    """An ``OfficerOutbox`` that records what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []

    async def send_officer_reply(self, **message: str) -> int:
        self.sent.append(message)
        return len(self.sent)


@pytest.fixture
def outbox() -> FakeOfficerOutbox:
    return FakeOfficerOutbox()


@pytest.fixture
def service(
    factory: sessionmaker[Session], clock: list[dt.datetime], outbox: FakeOfficerOutbox
) -> HandoffService:
    return HandoffService(
        factory=factory,
        hours=OfficeHours.parse("Mon-Fri 07:30-11:30,13:30-17:00"),
        timeout=dt.timedelta(days=10),
        outbox=outbox,
        clock=lambda: clock[0],
    )


@pytest.fixture
def web(
    factory: sessionmaker[Session],
    refresh: FakeIndexRefresh,
    users: dict[str, str],
    service: HandoffService,
    clock: list[dt.datetime],
    tmp_path: Path,
) -> Starlette:
    with transaction(factory) as session:
        create_user(session, "khoa", PASSWORD, "officer", actor="test")
    return make_web(
        factory,
        refresh,
        handoffs=service,
        glossary_path=tmp_path / "glossary.tsv",
        clock=lambda: clock[0],
    )


def _open(service: HandoffService, user: str = CITIZEN, channel: str = "zalo-oa") -> int:
    view = service.start(
        channel=channel,
        account_id="3662729599332560487",
        user_id=user,
        reply_target=user,
        reason="asked",
        text="gặp cán bộ, số điện thoại của tôi 0905123456",
    )
    return view.id


def _row(factory: sessionmaker[Session], handoff_id: int) -> Handoff:
    with factory() as session:
        row = session.get(Handoff, handoff_id)
        assert row is not None
        session.expunge(row)
        return row


def _audits(factory: sessionmaker[Session], action: str) -> list[AuditEntry]:
    with factory() as session:
        rows = list(
            session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars()
        )
        for row in rows:
            session.expunge(row)
        return rows


def test_anonymous_is_sent_to_login(login: Login, service: HandoffService) -> None:
    handoff_id = _open(service)
    client = login("hoa")
    client.post("/admin/logout", data={"csrftoken": csrf_of(client.get("/admin/inbox").text)})
    for path in ("/admin/inbox", f"/admin/inbox/{handoff_id}", "/admin/inbox/rows", "/admin/gaps"):
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/admin/login?next="), path


def test_inbox_is_for_officers_and_admins_only(
    login: Login, service: HandoffService, factory: sessionmaker[Session]
) -> None:
    handoff_id = _open(service)
    editor = login("lan")
    page = editor.get("/admin/inbox")
    assert page.status_code == 403 and texts.FORBIDDEN in page.text
    assert editor.get(f"/admin/inbox/{handoff_id}").status_code == 403
    assert "Hộp thư cán bộ" not in editor.get("/admin/").text  # no link either
    token = csrf_of(editor.get("/admin/").text)
    refused = editor.post(f"/admin/inbox/{handoff_id}/claim", data={"csrftoken": token})
    assert refused.status_code == 403
    assert _row(factory, handoff_id).state == "waiting"

    officer = login("hoa")
    assert officer.get("/admin/inbox").status_code == 200
    assert officer.get("/admin/gaps").status_code == 403  # gaps are the editors' work
    assert login("quan").get("/admin/inbox").status_code == 200  # admin passes


def test_inbox_lists_open_conversations_masked(login: Login, service: HandoffService) -> None:
    first = _open(service)
    second = _open(service, user="6142494823000000002", channel="messenger")
    service.claim(second, "khoa")
    officer = login("hoa")
    page = officer.get("/admin/inbox")
    assert page.status_code == 200
    assert "Đang trong giờ làm việc (Thứ Hai–Thứ Sáu: 07:30–11:30, 13:30–17:00)" in page.text
    assert f'data-handoff="{first}" data-state="waiting"' in page.text
    assert f'data-handoff="{second}" data-state="officer"' in page.text
    assert "Cán bộ khoa" in page.text and "Đang chờ cán bộ" in page.text
    assert "Zalo OA" in page.text and "Messenger" in page.text
    assert "gặp cán bộ, số điện thoại của tôi" in page.text
    assert "0905123456" not in page.text  # stored masked
    assert "02/12/2026 09:00" in page.text  # since when, Vietnam time
    rows = officer.get("/admin/inbox/rows")
    assert rows.status_code == 200 and "<html" not in rows.text
    assert f'data-handoff="{first}"' in rows.text


def test_missing_csrf_token_is_refused(
    login: Login, service: HandoffService, factory: sessionmaker[Session]
) -> None:
    handoff_id = _open(service)
    officer = login("hoa")
    for action in ("claim", "release", "reply"):
        response = officer.post(f"/admin/inbox/{handoff_id}/{action}", data={"text": "x"})
        assert response.status_code == 403, action
        assert "chống giả mạo" in response.text
    forged = officer.post(
        f"/admin/inbox/{handoff_id}/claim", data={"csrftoken": "forged-token-value"}
    )
    assert forged.status_code == 403
    assert _row(factory, handoff_id).state == "waiting"


def test_second_officer_claim_is_refused_with_a_clear_message(
    login: Login, service: HandoffService, factory: sessionmaker[Session]
) -> None:
    handoff_id = _open(service)
    hoa, khoa = login("hoa"), login("khoa")
    page = f"/admin/inbox/{handoff_id}"
    first = hoa.post(f"{page}/claim", data={"csrftoken": csrf_of(hoa.get(page).text)})
    assert first.status_code == 303 and first.headers["location"] == page
    assert texts.CLAIMED in hoa.get(page).text

    token = csrf_of(khoa.get(page).text)
    second = khoa.post(f"{page}/claim", data={"csrftoken": token})
    assert second.status_code == 303
    shown = khoa.get(page).text
    assert "Cán bộ hoa đang trả lời cuộc trò chuyện này." in shown
    assert 'id="send"' not in shown  # no reply form for the one who does not hold it
    row = _row(factory, handoff_id)
    assert (row.state, row.officer) == ("officer", "hoa")

    # Replying or releasing over the holder is refused the same way, the text kept.
    reply = khoa.post(f"{page}/reply", data={"csrftoken": token, "text": "Chào anh, tôi là Khoa."})
    assert reply.status_code == 409
    assert "Cán bộ hoa đang trả lời" in reply.text
    release = khoa.post(f"{page}/release", data={"csrftoken": token})
    assert release.status_code == 303
    assert "Cán bộ hoa đang trả lời" in khoa.get(page).text
    assert _row(factory, handoff_id).state == "officer"

    claims = _audits(factory, "handoff.claim")
    assert [(a.actor, "refused" in (a.detail or {})) for a in claims] == [
        ("hoa", False),
        ("khoa", True),
    ]
    assert all(a.target_key == str(handoff_id) for a in claims)
    assert [a.actor for a in _audits(factory, "handoff.reply")] == ["khoa"]


def test_closed_reply_window_is_shown_and_the_reply_refused(
    login: Login, service: HandoffService, factory: sessionmaker[Session], clock: list[dt.datetime]
) -> None:
    handoff_id = _open(service)
    clock[0] += dt.timedelta(days=8)  # Zalo OA: consultation messages only within 7 days
    officer = login("hoa")
    page = f"/admin/inbox/{handoff_id}"
    shown = officer.get(page)
    assert "Đã quá 7 ngày kể từ lần cuối người dân tương tác với Zalo OA" in shown.text
    assert "Không trả lời được qua kênh này" in officer.get("/admin/inbox").text
    typed = "Chào anh/chị, hồ sơ đã có kết quả."
    refused = officer.post(f"{page}/reply", data={"csrftoken": csrf_of(shown.text), "text": typed})
    assert refused.status_code == 409
    assert 'id="reply-error"' in refused.text
    assert "Zalo chỉ cho phép gửi tin tư vấn trong 7 ngày" in refused.text
    assert typed in refused.text  # the officer's text is not lost
    [entry] = _audits(factory, "handoff.reply")
    assert "7 ngày" in entry.detail["refused"]


def test_reply_goes_to_the_citizens_channel_and_release_tells_them(
    login: Login,
    service: HandoffService,
    factory: sessionmaker[Session],
    outbox: FakeOfficerOutbox,
    clock: list[dt.datetime],
) -> None:
    handoff_id = _open(service, channel="messenger")
    clock[0] += dt.timedelta(hours=30)  # past Messenger's 24 h: the HUMAN_AGENT tag
    officer = login("hoa")
    page = f"/admin/inbox/{handoff_id}"
    shown = officer.get(page).text
    assert texts.WINDOW_TAGGED in shown
    text = "Chào anh/chị, hồ sơ đã có kết quả, mời nhận tại Bộ phận Một cửa."
    sent = officer.post(f"{page}/reply", data={"csrftoken": csrf_of(shown), "text": text})
    assert sent.status_code == 303 and sent.headers["location"] == page
    after = officer.get(page).text
    assert texts.REPLY_QUEUED_TAGGED.format(channel="Messenger") in after
    assert "Bạn đang trả lời" in after  # replying claims an unclaimed conversation
    [message] = outbox.sent
    assert message["channel"] == "messenger" and message["text"] == text
    assert message["tag"] == "HUMAN_AGENT" and message["user_id"] == CITIZEN
    [entry] = _audits(factory, "handoff.reply")
    assert entry.actor == "hoa" and entry.detail["tag"] == "HUMAN_AGENT"
    assert text not in str(entry.detail)  # the audit keeps the size, not the words

    released = officer.post(f"{page}/release", data={"csrftoken": csrf_of(after), "notify": "1"})
    assert released.status_code == 303
    assert texts.RELEASED_NOTIFIED in officer.get("/admin/inbox").text
    assert [m["text"] for m in outbox.sent][-1] == citizen_texts.HANDOFF_RELEASED
    assert _row(factory, handoff_id).state == "closed"


def test_empty_reply_is_refused(login: Login, service: HandoffService) -> None:
    handoff_id = _open(service)
    officer = login("hoa")
    page = f"/admin/inbox/{handoff_id}"
    response = officer.post(
        f"{page}/reply", data={"csrftoken": csrf_of(officer.get(page).text), "text": "   "}
    )
    assert response.status_code == 400
    assert "Nội dung trả lời đang trống." in response.text


def test_release_gives_the_conversation_back_to_the_bot(
    login: Login, service: HandoffService, factory: sessionmaker[Session]
) -> None:
    handoff_id = _open(service)
    officer = login("hoa")
    page = f"/admin/inbox/{handoff_id}"
    token = csrf_of(officer.get(page).text)
    assert officer.post(f"{page}/claim", data={"csrftoken": token}).status_code == 303
    released = officer.post(f"{page}/release", data={"csrftoken": token})
    assert released.status_code == 303 and released.headers["location"] == "/admin/inbox"
    assert texts.RELEASED in officer.get("/admin/inbox").text
    row = _row(factory, handoff_id)
    assert (row.state, row.close_reason, row.open_key) == ("closed", "released", None)
    assert service.active("zalo-oa", "3662729599332560487", CITIZEN) is None
    closed = officer.get(page).text
    assert "cán bộ trả lại cho trợ lý tự động" in closed and 'id="claim"' not in closed
    [entry] = _audits(factory, "handoff.release")
    assert entry.actor == "hoa" and entry.detail == {"channel": "zalo-oa", "notified": False}
    # Releasing again: it is not open any more.
    again = officer.post(f"{page}/release", data={"csrftoken": token})
    assert again.status_code == 303
    assert "không còn mở" in officer.get(page).text


def test_unknown_conversation_is_404(login: Login) -> None:
    officer = login("hoa")
    assert officer.get("/admin/inbox/999").status_code == 404


def test_without_channels_the_inbox_says_so(
    factory: sessionmaker[Session], refresh: FakeIndexRefresh, users: dict[str, str]
) -> None:
    from tests.bot.admin.conftest import AdminClient

    app = make_web(factory, refresh)
    with AdminClient(app) as client:
        page = client.get("/admin/login")
        client.post(
            "/admin/login",
            data={"username": "hoa", "password": PASSWORD, "csrftoken": csrf_of(page.text)},
        )
        response = client.get("/admin/inbox")
        assert response.status_code == 403 and "chưa hoạt động" in response.text
