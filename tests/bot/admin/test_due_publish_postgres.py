"""Due publishing by itself on a real PostgreSQL: two processes' rounds at the same time
publish each approved change exactly once; the periodic task publishes and asks for the
index refresh as "hệ thống"."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.admin.due import DuePublisher, publish_due_once
from knowledge.db import transaction
from knowledge.models import AuditEntry, ChangeRequest, Revision
from knowledge.records import ProcedureData
from knowledge.repository import KnowledgeRepository
from knowledge.workflow import Actor, approve, latest_revision, publish_due, save_draft, submit
from tests.fakes import FakeIndexRefresh

pytestmark = pytest.mark.postgres
TODAY = dt.date(2026, 7, 1)
CODES = [f"1.00{i}" for i in range(4)]


@pytest.fixture
def db_url(postgres_server_url: str) -> str:
    engine = create_engine(postgres_server_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return postgres_server_url


@pytest.fixture
def due(factory: sessionmaker[Session]) -> list[int]:
    """One approved change per procedure, effective ``TODAY``."""
    ids = []
    with transaction(factory) as session:
        repo = KnowledgeRepository(session)
        repo.upsert([ProcedureData(code=c, name=f"Thủ tục {c}") for c in CODES], author="import")
        for code in CODES:
            data = repo.current_json("procedure", [code])[code]
            data["name"] += " (mới)"
            change = save_draft(
                session,
                kind="procedure",
                data=data,
                actor=Actor("lan", "editor"),
                base_revision=latest_revision(session, "procedure", code),
                effective_on=TODAY,
            )
            submit(session, change.id, actor=Actor("lan", "editor"))
            assert (
                approve(
                    session,
                    change.id,
                    actor=Actor("minh", "reviewer"),
                    today=TODAY - dt.timedelta(1),
                )
                == []
            )
            ids.append(change.id)
    return ids


def _state(factory: sessionmaker[Session]) -> tuple[list[str], int, int]:
    with transaction(factory) as session:
        statuses = list(session.scalars(select(ChangeRequest.status).order_by(ChangeRequest.id)))
        revisions = int(session.scalar(select(func.count()).select_from(Revision)) or 0)
        publishes = int(
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "change.publish", AuditEntry.actor == "hệ thống")
            )
            or 0
        )
    return statuses, revisions, publishes


def test_a_round_in_progress_is_skipped_not_repeated(
    factory: sessionmaker[Session], due: list[int]
) -> None:
    """Process A holds its round open; process B's round meanwhile publishes nothing
    and does not wait; after A commits, every change is published once."""
    actor = Actor("hệ thống", "admin")
    session_a = factory()
    published_a = publish_due(session_a, today=TODAY, actor=actor)
    assert len(published_a) == len(CODES)
    with ThreadPoolExecutor(1) as pool:
        other = pool.submit(publish_due_once, factory, FakeIndexRefresh(), TODAY)
        assert other.result(timeout=10) == []  # skipped A's locked rows, did not block
    session_a.commit()
    session_a.close()
    statuses, revisions, publishes = _state(factory)
    assert statuses == ["published"] * len(CODES)
    assert revisions == 2 * len(CODES)  # the import's and one publish each
    assert publishes == len(CODES)


def test_two_concurrent_rounds_publish_each_change_once(
    factory: sessionmaker[Session], due: list[int]
) -> None:
    refreshes = [FakeIndexRefresh(), FakeIndexRefresh()]
    start = threading.Barrier(2)

    def round_(i: int) -> list[tuple[str, str]]:
        start.wait(timeout=10)
        return publish_due_once(factory, refreshes[i], TODAY)

    with ThreadPoolExecutor(2) as pool:
        results = [f.result(timeout=30) for f in [pool.submit(round_, i) for i in (0, 1)]]
    published = sorted(results[0] + results[1])
    assert published == [("procedure", c) for c in CODES]
    assert sorted(refreshes[0].requests + refreshes[1].requests) == [
        f"procedure {c} published (effective date)" for c in CODES
    ]
    statuses, revisions, publishes = _state(factory)
    assert statuses == ["published"] * len(CODES)
    assert revisions == 2 * len(CODES) and publishes == len(CODES)


def test_the_periodic_task_publishes_at_start_up(
    factory: sessionmaker[Session], due: list[int]
) -> None:
    refresh = FakeIndexRefresh()

    async def scenario() -> None:
        publisher = DuePublisher(factory, refresh, interval=3600, today=lambda: TODAY)
        await publisher.start()
        for _ in range(200):  # bounded poll: the first round runs at once
            if publisher.rounds:
                break
            await asyncio.sleep(0.05)
        await publisher.stop()
        assert publisher.rounds == 1

    asyncio.run(scenario())
    assert len(refresh.requests) == len(CODES)
    assert _state(factory)[0] == ["published"] * len(CODES)
