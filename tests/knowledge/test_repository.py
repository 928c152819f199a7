"""Repository writes on real SQLite and real PostgreSQL: upsert, revisions, rollback."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.codec import to_json
from knowledge.db import transaction
from knowledge.errors import RecordNotFound
from knowledge.models import ChannelFee, Revision
from knowledge.records import (
    ChannelData,
    DocumentData,
    FaqData,
    FeeData,
    HotlineData,
    LegalBasisData,
    PlanData,
    PlanSection,
    ProcedureData,
)
from knowledge.repository import KnowledgeRepository


def sample_procedure(**changes: object) -> ProcedureData:
    base = ProcedureData(
        code="9.999001",
        name="Thủ tục mẫu dùng cho kiểm thử",
        fields=["Hộ tịch"],
        levels=["Cấp xã"],
        steps=["Bước 1: Nộp hồ sơ.", "Bước 2: Nhận kết quả."],
        channels=[
            ChannelData(
                method="truc_tuyen",
                time_value=7,
                time_unit="working_day",
                time_text="7 ngày làm việc",
                fees=(FeeData("Lệ phí", 10000, "Nộp trực tuyến"),),
            ),
            ChannelData(
                method="truc_tiep",
                time_text="Theo quy định",
                time_unit="other",
                fees=(FeeData("Lệ phí", None, "Do HĐND tỉnh quy định"),),
            ),
        ],
        documents=[
            DocumentData(
                "Tờ khai",
                originals=1,
                copies=0,
                required=True,
                has_form=True,
                form_name="to-khai.docx",
            )
        ],
        legal_bases=[LegalBasisData("66.7/2025/NQ-CP", "Nghị quyết 66.7")],
        online_level="mot_phan",
        dataset="dvcqg_opengov_details",
        crawled_at=dt.date(2026, 7, 18),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_create_read_back_exactly(factory: sessionmaker[Session]) -> None:
    proc = sample_procedure()
    with transaction(factory) as session:
        report = KnowledgeRepository(session).upsert([proc], author="tester")
    assert report.created["procedure"] == 1
    with transaction(factory) as session:
        back = KnowledgeRepository(session).get("procedure", "9.999001")
    assert to_json(back) == to_json(proc)


def test_upsert_is_idempotent_and_revises_only_changes(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        KnowledgeRepository(session).upsert([sample_procedure()], author="a")
    with transaction(factory) as session:
        again = KnowledgeRepository(session).upsert([sample_procedure()], author="a")
    assert again.unchanged["procedure"] == 1 and again.changed == 0

    changed = sample_procedure(name="Thủ tục mẫu (sửa tên)")
    with transaction(factory) as session:
        report = KnowledgeRepository(session).upsert(
            [changed], author="nguyen.van.a", comment="sửa tên"
        )
    assert report.updated["procedure"] == 1
    with transaction(factory) as session:
        revs = KnowledgeRepository(session).revisions("procedure", "9.999001")
        assert [r.action for r in revs] == ["create", "update"]
        assert revs[1].author == "nguyen.van.a"
        assert revs[1].diff == {"name": ["Thủ tục mẫu dùng cho kiểm thử", "Thủ tục mẫu (sửa tên)"]}
        # Children were replaced, not duplicated.
        assert session.scalar(select(func.count()).select_from(ChannelFee)) == 2


def test_lower_priority_source_does_not_overwrite(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        KnowledgeRepository(session).upsert([sample_procedure()], author="a")
    summary = sample_procedure(
        detail="summary", channels=[], documents=[], dataset="dvcqg_opengov_catalog"
    )
    with transaction(factory) as session:
        report = KnowledgeRepository(session).upsert([summary], author="a")
        assert report.skipped["procedure"] == 1
        kept = KnowledgeRepository(session).get("procedure", "9.999001")
    assert isinstance(kept, ProcedureData) and kept.detail == "full" and kept.channels


def test_status_and_rollback(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        repo = KnowledgeRepository(session)
        repo.upsert([sample_procedure()], author="a")
        repo.upsert([sample_procedure(name="Tên sai")], author="b")
    with transaction(factory) as session:
        repo = KnowledgeRepository(session)
        first = repo.revisions("procedure", "9.999001")[0]
        repo.rollback("procedure", "9.999001", first.id, author="reviewer")
        repo.set_status("procedure", "9.999001", "retired", author="reviewer")
    with transaction(factory) as session:
        repo = KnowledgeRepository(session)
        record = repo.get("procedure", "9.999001")
        assert isinstance(record, ProcedureData)
        assert record.name == "Thủ tục mẫu dùng cho kiểm thử" and record.status == "retired"
        assert [r.action for r in repo.revisions("procedure", "9.999001")] == [
            "create",
            "update",
            "update",
            "update",
        ]
        with pytest.raises(RecordNotFound):
            repo.rollback("procedure", "9.999001", 999_999, author="x")


def test_other_kinds_round_trip(factory: sessionmaker[Session]) -> None:
    records = [
        HotlineData(
            scope="province",
            area="Tỉnh Mẫu",
            name="Đường dây nóng mẫu",
            phones=["0000 000 000"],
            source="fixture",
            verified_at=dt.date(2026, 1, 2),
        ),
        FaqData(
            source_id="test-faq-0001",
            question="Hỏi?",
            answer="Đáp.",
            topic="Chủ đề",
            question_truncated=True,
        ),
        PlanData(
            number="1/KH-TEST",
            title="Kế hoạch thử",
            year=2026,
            issued_on=dt.date(2026, 1, 1),
            sections=[
                PlanSection(
                    "I.",
                    "MỤC ĐÍCH",
                    children=[
                        PlanSection("table", "", rows=[["STT", "Nội dung"], ["1", "Tuyên truyền"]])
                    ],
                )
            ],
        ),
    ]
    with transaction(factory) as session:
        report = KnowledgeRepository(session).upsert(records, author="a")
    assert dict(report.created) == {"hotline": 1, "faq": 1, "plan": 1}
    with transaction(factory) as session:
        repo = KnowledgeRepository(session)
        assert to_json(repo.get("hotline", "province|Tỉnh Mẫu|Đường dây nóng mẫu")) == to_json(
            records[0]
        )
        assert to_json(repo.get("faq", "test-faq-0001")) == to_json(records[1])
        assert to_json(repo.get("plan", "1/KH-TEST")) == to_json(records[2])
        stats = repo.stats()
        assert stats["hotlines"]["total"] == 1 and stats["plans"]["total"] == 1
        assert session.scalar(select(func.count()).select_from(Revision)) == 3
