"""The officer inbox and the knowledge-gaps page on a real PostgreSQL: the queries of
these pages (newest message per conversation, open drafts per group) and a claim race."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette

from bot.handoff import HandoffService, OfficeHours
from knowledge.db import transaction
from knowledge.models import ChangeRequest, Handoff, UnansweredQuestion
from knowledge.staff import create_user
from tests.bot.admin.conftest import PASSWORD, Login, csrf_of, make_web
from tests.fakes import FakeIndexRefresh

pytestmark = pytest.mark.postgres
NOW = dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC)  # Wednesday 09:00 in Hà Nội


@pytest.fixture
def db_url(postgres_server_url: str) -> str:
    engine = create_engine(postgres_server_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return postgres_server_url


@pytest.fixture
def service(factory: sessionmaker[Session]) -> HandoffService:
    return HandoffService(
        factory=factory,
        hours=OfficeHours.parse("Mon-Fri 07:30-11:30,13:30-17:00"),
        timeout=dt.timedelta(minutes=30),
        clock=lambda: NOW,
    )


@pytest.fixture
def web(
    factory: sessionmaker[Session],
    refresh: FakeIndexRefresh,
    users: dict[str, str],
    service: HandoffService,
    tmp_path: Path,
) -> Starlette:
    with transaction(factory) as session:
        create_user(session, "khoa", PASSWORD, "officer", actor="test")
        session.add(
            UnansweredQuestion(
                created_at=NOW - dt.timedelta(days=1),
                channel="zalo-oa",
                status="no_answer",
                question="xin giấy phép xây dựng nhà ở riêng lẻ",
            )
        )
    return make_web(factory, refresh, handoffs=service, clock=lambda: NOW)


def test_inbox_and_gaps_on_postgresql(
    login: Login, service: HandoffService, factory: sessionmaker[Session]
) -> None:
    ids = []
    for n, last in ((1, "tin thứ hai của người dân một"), (2, "tin thứ hai của người dân hai")):
        view = service.start(
            channel="telegram",
            account_id="",
            user_id=f"10{n}",
            reply_target=f"10{n}",
            reason="asked",
            text="gặp cán bộ",
        )
        service.citizen_message(view.id, last)
        ids.append(view.id)
    hoa, khoa = login("hoa"), login("khoa")
    listing = hoa.get("/admin/inbox").text
    assert "tin thứ hai của người dân một" in listing and "tin thứ hai của người dân hai" in listing
    page = f"/admin/inbox/{ids[0]}"
    assert hoa.post(f"{page}/claim", data={"csrftoken": csrf_of(listing)}).status_code == 303
    khoa.post(f"{page}/claim", data={"csrftoken": csrf_of(khoa.get(page).text)})
    assert "Cán bộ hoa đang trả lời cuộc trò chuyện này." in khoa.get(page).text
    with factory() as session:
        assert session.scalar(select(Handoff.officer).where(Handoff.id == ids[0])) == "hoa"

    editor = login("lan")
    gaps = editor.get("/admin/gaps").text
    assert "xin giấy phép xây dựng nhà ở riêng lẻ" in gaps
    made = editor.post(
        "/admin/gaps/faq",
        data={
            "csrftoken": csrf_of(gaps),
            "wording": "xin giấy phép xây dựng nhà ở riêng lẻ",
            "days": "30",
        },
    )
    assert made.status_code == 303
    with factory() as session:
        change_id = session.scalar(select(ChangeRequest.id))
    assert f"đề xuất #{change_id}" in editor.get("/admin/gaps").text
