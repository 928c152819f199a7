"""The review workflow and staff accounts on real SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from argon2 import PasswordHasher, profiles
from sqlalchemy.orm import Session, sessionmaker

from knowledge import staff
from knowledge.codec import to_json
from knowledge.db import transaction
from knowledge.records import ChannelData, FeeData, ProcedureData
from knowledge.repository import KnowledgeRepository
from knowledge.validation import FieldError, check_phone, check_url
from knowledge.workflow import (
    Actor,
    StaleRecord,
    WorkflowError,
    approve,
    latest_revision,
    publish_due,
    rollback,
    save_draft,
    submit,
)

EDITOR = Actor("lan", "editor", "10.0.0.1")
REVIEWER = Actor("minh", "reviewer", "10.0.0.2")
TODAY = dt.date(2026, 12, 1)


def _procedure(fee: int) -> ProcedureData:
    return ProcedureData(
        code="1.000001",
        name="Thủ tục thử",
        channels=[ChannelData("truc_tiep", 5, "working_day", "", (FeeData("Lệ phí", fee),))],
    )


@pytest.fixture
def seeded(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with transaction(factory) as session:
        KnowledgeRepository(session).upsert([_procedure(10000)], author="import")
    return factory


def _fee(session: Session) -> int:
    data = to_json(KnowledgeRepository(session).get("procedure", "1.000001"))
    return int(data["channels"][0]["fees"][0]["amount_vnd"])


def _draft(session: Session, fee: int, actor: Actor = EDITOR, **kwargs: object) -> int:
    data = to_json(_procedure(fee))
    base = latest_revision(session, "procedure", "1.000001")
    change = save_draft(
        session, kind="procedure", data=data, actor=actor, base_revision=base, **kwargs
    )  # type: ignore[arg-type]
    submit(session, change.id, actor=actor)
    return change.id


def test_publish_stale_and_rollback(seeded: sessionmaker[Session]) -> None:
    with transaction(seeded) as session:
        first, second = _draft(session, 20000), _draft(session, 30000, Actor("tuan", "editor"))
    with transaction(seeded) as session:
        with pytest.raises(WorkflowError, match="tự duyệt"):
            approve(session, first, actor=Actor("lan", "admin"), today=TODAY)
        assert approve(session, first, actor=REVIEWER, today=TODAY) == [("procedure", "1.000001")]
        assert _fee(session) == 20000
    with transaction(seeded) as session, pytest.raises(StaleRecord):
        approve(session, second, actor=REVIEWER, today=TODAY)
    with transaction(seeded) as session:
        assert _fee(session) == 20000
        revisions = KnowledgeRepository(session).revisions("procedure", "1.000001")
        latest = revisions[-1].id
        with pytest.raises(WorkflowError, match="người duyệt"):
            rollback(
                session,
                "procedure",
                "1.000001",
                revisions[0].id,
                actor=EDITOR,
                expected_latest=latest,
            )
        rollback(
            session,
            "procedure",
            "1.000001",
            revisions[0].id,
            actor=REVIEWER,
            expected_latest=latest,
        )
        assert _fee(session) == 10000
        assert (
            "rollback"
            in KnowledgeRepository(session).revisions("procedure", "1.000001")[-1].comment
        )


def test_effective_date_publishes_when_due(seeded: sessionmaker[Session]) -> None:
    with transaction(seeded) as session:
        change = _draft(session, 45000, effective_on=dt.date(2027, 1, 1))
        assert approve(session, change, actor=REVIEWER, today=TODAY) == []
        assert _fee(session) == 10000
        system = Actor("hệ thống", "admin")
        assert publish_due(session, today=dt.date(2026, 12, 31), actor=system) == []
        assert publish_due(session, today=dt.date(2027, 1, 1), actor=system) == [
            ("procedure", "1.000001")
        ]
        assert _fee(session) == 45000


def test_accounts(factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(staff, "HASHER", PasswordHasher.from_parameters(profiles.CHEAPEST))
    with transaction(factory) as session:
        staff.create_user(session, "Lan.Nguyen", "mật khẩu dài 12345", "editor", actor="cli")
        with pytest.raises(staff.StaffError, match="đã có"):
            staff.create_user(session, "lan.nguyen", "mật khẩu dài 12345", "editor", actor="cli")
        with pytest.raises(staff.StaffError, match="tên đăng nhập"):
            staff.create_user(session, "Lan Nguyễn", "mật khẩu dài 12345", "editor", actor="cli")
    with transaction(factory) as session:
        user = staff.authenticate(session, "lan.nguyen", "mật khẩu dài 12345")
        assert user is not None and user.role == "editor" and user.last_login_at is not None
        assert staff.authenticate(session, "lan.nguyen", "sai") is None
        assert staff.authenticate(session, "không-có", "mật khẩu dài 12345") is None
        rows, total = staff.audit_entries(session, actor="cli")
        assert total == 1 and rows[0].action == "user.create"


@pytest.mark.parametrize(
    "typed",
    [
        "0912 345 678",
        "+84 912 345 678",
        "024 3823 4567",
        "02133.796.888",
        "1900 1234",
        "18001096",
        "113",
        "1022",
    ],
)
def test_phones_accepted(typed: str) -> None:
    assert check_phone(typed)


@pytest.mark.parametrize("typed", ["12345", "0912 345", "09123456789", "hotline", "0112 345 678"])
def test_phones_refused(typed: str) -> None:
    with pytest.raises(FieldError, match="số điện thoại"):
        check_phone(typed)


def test_urls() -> None:
    assert check_url("https://dichvucong.gov.vn/p/home") == "https://dichvucong.gov.vn/p/home"
    assert check_url("") == ""
    for bad in ("dichvucong.gov.vn", "javascript:alert(1)", "https://a b.vn", "ftp://x.vn"):
        with pytest.raises(FieldError):
            check_url(bad)
