"""Office hours, the platforms' reply windows, staff-entered hotlines in the engine (read
from the database, edits live without a restart), the ``tthc handoff`` CLI and the
knowledge-gap grouping."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.engine.conversation import InMemoryConversationStore
from bot.engine.engine import AnswerEngine
from bot.engine.intents import read_intent
from bot.engine.model import Question
from bot.gaps import add_citizen_words, faq_draft, knowledge_gaps
from bot.handoff import HUMAN_AGENT, HandoffService, OfficeHours, ReplyWindowClosed, reply_tag
from bot.hotlines import SqlHotlineDirectory
from bot.settings import HandoffSettings
from indexer.glossary import Glossary
from knowledge.db import transaction
from knowledge.models import AnswerFeedback, Hotline, UnansweredQuestion

UTC = dt.UTC
#: 2026-12-02 is a Wednesday.
WED_0900_HANOI = dt.datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


# ------------------------------------------------------------------------ office hours


def test_office_hours_sessions_and_the_next_one() -> None:
    hours = OfficeHours.parse("Mon-Fri 07:30-11:30,13:30-17:00; Sat 07:30-11:30")
    assert hours.is_open(WED_0900_HANOI)
    lunch = dt.datetime(2026, 12, 2, 5, 0, tzinfo=UTC)  # 12:00 in Hà Nội
    assert not hours.is_open(lunch)
    assert hours.next_open(lunch).strftime("%a %H:%M") == "Wed 13:30"
    saturday_noon = dt.datetime(2026, 12, 5, 5, 0, tzinfo=UTC)
    assert hours.next_open(saturday_noon).strftime("%a %d %H:%M") == "Mon 07 07:30"
    assert hours.session_end(saturday_noon).strftime("%a %H:%M") == "Mon 11:30"
    assert hours.describe() == ("Thứ Hai–Thứ Sáu: 07:30–11:30, 13:30–17:00; Thứ Bảy: 07:30–11:30")


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "Mon-Fri",
        "Mon-Fri 7h30-11h30",
        "Fri-Mon 07:30-11:30",
        "Xyz 07:30-11:30",
        "Mon 11:30-07:30",
        "Mon 25:00-26:00",
    ],
)
def test_malformed_office_hours_stop_start_up(spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="TTHC_HANDOFF_HOURS"):
        OfficeHours.parse(spec)
    monkeypatch.setenv("TTHC_HANDOFF_HOURS", spec or ";")
    with pytest.raises(ValueError, match="TTHC_HANDOFF_HOURS"):
        HandoffSettings()


def test_reply_windows_of_each_platform() -> None:
    last = WED_0900_HANOI
    assert reply_tag("messenger", last, last + dt.timedelta(hours=23)) == ""
    assert reply_tag("messenger", last, last + dt.timedelta(hours=25)) == HUMAN_AGENT
    with pytest.raises(ReplyWindowClosed, match="7 ngày"):
        reply_tag("messenger", last, last + dt.timedelta(days=8))
    assert reply_tag("zalo-oa", last, last + dt.timedelta(days=6)) == ""
    with pytest.raises(ReplyWindowClosed, match="Zalo"):
        reply_tag("zalo-oa", last, last + dt.timedelta(days=7, minutes=1))
    assert reply_tag("telegram", last, last + dt.timedelta(days=60)) == ""
    with pytest.raises(ReplyWindowClosed):
        reply_tag("web", last, last)


# ---------------------------------------------------------------------------- hotlines


@pytest.mark.parametrize(
    "question",
    [
        "cho tôi xin số hotline",
        "số tổng đài là bao nhiêu",
        "đường dây nóng của tỉnh",
        "số điện thoại hỗ trợ",
        "liên hệ ở đâu?",
        "liên hệ với ai",
        "hotline",
        "cho xin sdt tổng đài hỗ trợ",
        "tôi muốn gọi số nào để hỏi",
        "dien thoai ho tro la so may",
    ],
)
def test_hotline_questions_phrased_many_ways(question: str) -> None:
    assert read_intent(question).kind == "hotline"


@pytest.mark.parametrize(
    "question",
    ["làm căn cước liên hệ ở đâu", "hồ sơ gói thầu", "hồ sơ hỗ trợ học phí", "gặp cán bộ"],
)
def test_procedure_questions_are_not_hotline_questions(question: str) -> None:
    assert read_intent(question).kind != "hotline"


class _NoIndex:
    def search(self, query: str, *, k: int = 10, kinds: Any = None) -> list[Any]:
        return []

    def record(self, kind: str, record_id: str) -> dict[str, Any] | None:
        return None


def _line(**values: Any) -> Hotline:
    base: dict[str, Any] = {
        "scope": "province",
        "area": "Đà Nẵng",
        "name": "Trung tâm Phục vụ hành chính công Đà Nẵng",
        "phones": ["0236 3888 000"],
        "email": "",
        "hours": "Thứ Hai–Thứ Sáu 7:30–17:00",
        "source": "https://dichvucong.danang.gov.vn",
        "verified_at": dt.date(2026, 11, 20),
        "status": "published",
    }
    return Hotline(**(base | values))


def test_staff_entered_hotlines_answer_and_edits_reach_the_bot(
    factory: sessionmaker[Session],
) -> None:
    with transaction(factory) as session:
        session.add(_line())
        session.add(
            _line(
                scope="national",
                area="",
                name="Tổng đài Dịch vụ công quốc gia",
                phones=["18001096"],
                hours="",
                verified_at=None,
                source="https://dichvucong.gov.vn",
            )
        )
        session.add(_line(area="Huế", name="Tổng đài Huế", phones=["0234 1022"]))
        session.add(_line(name="Số cũ", phones=["0000"], status="draft"))
    now = [0.0]
    directory = SqlHotlineDirectory(factory=factory, ttl=30, clock=lambda: now[0])
    engine = AnswerEngine(
        knowledge=_NoIndex(), conversations=InMemoryConversationStore(), hotlines=directory
    )
    answer = engine.answer(Question("cho tôi xin số hotline"))
    assert answer.status == "answered"
    assert "0236 3888 000" in answer.text and "18001096" in answer.text
    assert "cập nhật ngày 20/11/2026" in answer.text and "Thứ Hai–Thứ Sáu 7:30–17:00" in answer.text
    # The citizen's area is unknown: every province line is offered; a named area picks.
    assert "0234 1022" in answer.text
    hue = engine.answer(Question("đường dây nóng Huế")).text
    assert "0234 1022" in hue and "0236 3888 000" not in hue
    from_hue = engine.answer(Question("cho tôi xin số hotline", user_id="h", area="Huế")).text
    assert "0234 1022" in from_hue and "0236 3888 000" not in from_hue
    assert "0000" not in answer.text  # drafts are not published
    # "Don't know" answers carry the lines too.
    unknown = engine.answer(Question("thủ tục cấp giấy phép nuôi rồng", user_id="u2"))
    assert unknown.status == "no_answer" and "0236 3888 000" in unknown.text
    # A staff edit shows once the cache time has passed, without a restart.
    with transaction(factory) as session:
        session.execute(
            update(Hotline)
            .where(Hotline.name == "Trung tâm Phục vụ hành chính công Đà Nẵng")
            .values(phones=["0236 1022"])
        )
    assert "0236 3888 000" in engine.answer(Question("số tổng đài")).text  # cached
    now[0] = 31.0
    fresh = engine.answer(Question("số tổng đài")).text
    assert "0236 1022" in fresh and "0236 3888 000" not in fresh


# ------------------------------------------------------------------------------- CLI


def test_cli_lists_claims_and_releases(
    factory: sessionmaker[Session], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import main

    service = HandoffService(
        factory=factory,
        hours=OfficeHours.parse("Mon-Sun 00:00-23:59"),
        timeout=dt.timedelta(minutes=30),
    )
    opened = service.start(
        channel="telegram",
        account_id="bot",
        user_id="42",
        reply_target="42",
        reason="asked",
        text="gặp cán bộ, số tôi 0905123456",
    )
    monkeypatch.setenv("TTHC_DATABASE_URL", db_url)
    runner = CliRunner()
    listed = json.loads(runner.invoke(main, ["handoff", "list", "--json"]).output)
    assert [(h["id"], h["state"], h["channel"]) for h in listed] == [
        (opened.id, "waiting", "telegram")
    ]
    shown = runner.invoke(main, ["handoff", "show", str(opened.id)])
    assert "gặp cán bộ" in shown.output and "0905123456" not in shown.output
    claimed = runner.invoke(main, ["handoff", "claim", str(opened.id), "--officer", "a"])
    assert claimed.exit_code == 0 and "officer (a)" in claimed.output
    refused = runner.invoke(main, ["handoff", "release", str(opened.id), "--officer", "b"])
    assert refused.exit_code == 1 and "Cán bộ a đang trả lời" in refused.output
    assert (
        runner.invoke(main, ["handoff", "release", str(opened.id), "--officer", "a"]).exit_code == 0
    )
    assert json.loads(runner.invoke(main, ["handoff", "list", "--json"]).output) == []


# ---------------------------------------------------------------------- knowledge gaps


def test_gaps_group_similar_questions_and_become_faq_or_citizens_words(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with transaction(factory) as session:
        for channel, text in [
            ("zalo-oa", "làm lại sổ đỏ bị mất"),
            ("telegram", "mất sổ đỏ làm lại thế nào"),
            ("web", "làm lại sổ đỏ bị mất"),
            ("web", "xin giấy phép nuôi chim yến"),
        ]:
            session.add(
                UnansweredQuestion(
                    channel=channel, status="no_answer", question=text, best_candidate=""
                )
            )
        session.add(
            AnswerFeedback(
                channel="messenger",
                answer_id="x",
                value="down",
                cited="",
                question="sổ đỏ bị mất làm lại",
                status="answered",
                answer="...",
            )
        )
        session.add(
            AnswerFeedback(
                channel="messenger",
                answer_id="y",
                value="up",
                cited="",
                question="sổ đỏ bị mất làm lại",
                status="answered",
                answer="",
            )
        )
    groups = knowledge_gaps(factory, similarity=0.5)
    top = groups[0]
    assert top.count == 4
    assert top.channels == {"zalo-oa": 1, "telegram": 1, "web": 1, "messenger": 1}
    assert top.kinds == {"no_answer": 3, "thumbs_down": 1}
    assert top.wording == "làm lại sổ đỏ bị mất"
    assert [g.count for g in groups] == [4, 1]
    draft = faq_draft(top)
    assert (draft["question"], draft["status"], draft["answer"]) == (
        "làm lại sổ đỏ bị mất",
        "draft",
        "",
    )
    glossary = tmp_path / "glossary.tsv"
    line = add_citizen_words(
        glossary,
        top.wording,
        "Cấp lại Giấy chứng nhận quyền sử dụng đất do bị mất",
    )
    assert line.startswith("lam lai so do bi mat\t")
    entry = Glossary.load(glossary).entries[0]
    assert entry.term == ("lam", "lai", "so", "do", "bi", "mat")
    with pytest.raises(ValueError, match="đã có"):
        add_citizen_words(
            glossary, top.wording, "Cấp lại Giấy chứng nhận quyền sử dụng đất do bị mất"
        )
