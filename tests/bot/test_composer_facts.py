"""Fee and time answers on real records, read the way the engine gets them (DB → codec).

The clock is injected: the same record answers differently before and after a rate's end.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.engine import texts
from bot.engine.composer import ASPECT_LIMIT, GENERAL_LIMIT, compose_procedure
from bot.engine.conversation import InMemoryConversationStore
from bot.engine.engine import AnswerEngine
from bot.engine.model import Question
from knowledge import migrate
from knowledge.codec import to_json
from knowledge.db import make_engine, make_session_factory, transaction
from knowledge.importing import import_files
from knowledge.repository import KnowledgeRepository
from tests.conftest import DATA_DIR

TODAY = dt.date(2026, 11, 30)
DETAILS = [
    "1.001020",
    "1.000893",
    "1.115755",
    "1.004222",
    "1.013315",
    "2.001159",
    "1.115403",
    "3.000323",
]
MINISTRY = ["1.000757", "1.001456", "1.004306"]


def _subset(path: Path, key: str, codes: list[str], out: Path) -> Path:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    out.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows if r[key] in codes),
        encoding="utf-8",
    )
    return out


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Real records imported into SQLite and read back as the index store holds them."""
    folder = tmp_path_factory.mktemp("facts")
    files = [
        _subset(
            DATA_DIR / "dvcqg_opengov_crawl" / "details.jsonl.gz",
            "code",
            DETAILS,
            folder / "details.jsonl",
        ),
        _subset(
            DATA_DIR / "dvcqg_bo_nganh_tthc" / "tthc_records.jsonl.gz",
            "ma_thu_tuc",
            MINISTRY,
            folder / "ministry.jsonl",
        ),
    ]
    engine = make_engine(f"sqlite:///{folder / 'kb.sqlite3'}")
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    import_files(factory, files)
    with transaction(factory) as session:
        repo = KnowledgeRepository(session)
        out = {code: to_json(repo.get("procedure", code)) for code in DETAILS + MINISTRY}
    engine.dispose()
    return out


def _fee_line(text: str, label: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"- {label}"))


def test_usd_fee_is_shown_in_usd(records: dict[str, dict[str, Any]]) -> None:
    text = compose_procedure(records["1.001020"], "fee", today=TODAY)
    assert "5 USD" in text
    assert not re.search(r"(?<![\d.])5 đồng", text)


def test_council_fee_says_who_sets_it_and_never_free(records: dict[str, dict[str, Any]]) -> None:
    text = compose_procedure(records["1.000893"], "fee", today=TODAY)
    direct = _fee_line(text, "Nộp trực tiếp")
    assert "do Hội đồng nhân dân tỉnh quy định" in direct
    assert texts.FREE not in direct.lower().replace("miễn lệ phí cho", "")
    assert "Miễn lệ phí cho người thuộc gia đình có công với cách mạng" in direct
    # The online channel's bare 0 is told as the record says it: 0 đồng, not "miễn phí".
    assert texts.FEE_ZERO in _fee_line(text, "Nộp trực tuyến")


def test_land_fee_quotes_the_amounts_of_its_note(records: dict[str, dict[str, Any]]) -> None:
    text = compose_procedure(records["1.115755"], "fee", today=TODAY)
    for amount in ("150.000", "200.000", "1.500.000", "25.000", "80.000"):
        assert amount in text
    assert not re.search(r"(?im)(?::\s|\+\s)miễn phí(?!\s*(?:đối với|cho))", text)
    assert len(text) <= 1200


def test_identity_card_half_rate_in_force_and_after(records: dict[str, dict[str, Any]]) -> None:
    record = records["1.000757"]
    now = _fee_line(compose_procedure(record, "fee", today=TODAY), "Nộp trực tiếp")
    assert now.startswith("- Nộp trực tiếp: 35.000 đồng")
    assert "31/12/2026" in now and "70.000 đồng" in now
    later = _fee_line(compose_procedure(record, "fee", today=dt.date(2027, 1, 5)), "Nộp trực tiếp")
    assert "35.000" not in later and "70.000 đồng" in later


def test_expired_passport_rate_is_not_current(records: dict[str, dict[str, Any]]) -> None:
    text = compose_procedure(records["1.001456"], "fee", today=TODAY)
    expired = [line for line in text.splitlines() if "160.000 đồng" in line]
    assert expired and all(texts.FEE_EXPIRED_MARK in line for line in expired)
    assert "31/12/2023" in expired[0]
    assert texts.FEE_EXPIRED_NOTE in text
    # On a day inside the rate's validity it is simply the rate.
    before = compose_procedure(records["1.001456"], "fee", today=dt.date(2023, 10, 1))
    assert texts.FEE_EXPIRED_MARK not in before and "160.000 đồng" in before


def test_times_always_carry_a_unit(records: dict[str, dict[str, Any]]) -> None:
    # 2.001159 is processed in hours, 1.115403 in months; 3.000323 has a bare "3" (OTHER).
    hours = compose_procedure(records["2.001159"], "time", today=TODAY)
    assert re.search(r"\d+ giờ", hours), hours
    months = compose_procedure(records["1.115403"], "time", today=TODAY)
    assert "2 tháng" in months
    bare = compose_procedure(records["3.000323"], "time", today=TODAY)
    assert texts.TIME_SEE_DETAIL in bare
    assert not re.search(r"(?m)^- [^:]+:\s*\d+\s*$", bare)


def test_answers_are_short_and_end_with_what_to_type(records: dict[str, dict[str, Any]]) -> None:
    for code, record in records.items():
        for aspect in ("fee", "time", "documents", "where"):
            text = compose_procedure(record, aspect, today=TODAY)
            limit = 1200 if aspect == "fee" else ASPECT_LIMIT
            assert len(text) <= limit, (code, aspect, len(text))
            lines = text.splitlines()
            assert lines[-1] == texts.DETAIL_LINK.format(url=record["portal_url"])
            assert lines[-2].startswith("Muốn biết thêm, gõ")
            assert len(lines) == len(set(lines)), (code, aspect)  # identical lines merged
        assert len(compose_procedure(record, None, today=TODAY)) <= GENERAL_LIMIT


def test_a_section_never_shows_its_title_alone(records: dict[str, dict[str, Any]]) -> None:
    """Choices below the answer (``reserve``) leave the documents little room: a title (the
    section's or a case's) is followed by a line of its own, cut, or goes too; never the
    title and the pointer to the detail page alone (seen on 1.000757 with 275 reserved)."""
    shown = 0
    for reserve in range(0, 450, 25):
        text = compose_procedure(records["1.000757"], "documents", today=TODAY, reserve=reserve)
        assert len(text) <= ASPECT_LIMIT - reserve or texts.DOCUMENTS_TITLE not in text
        lines = text.splitlines()
        for at, line in enumerate(lines[:-1]):
            if line.endswith(":"):
                assert lines[at + 1] != texts.SEE_DETAIL, (reserve, line)
        shown += texts.DOCUMENTS_TITLE in lines
    assert 5 <= shown < 18  # the section shows while it fits, and goes when it cannot


def test_identical_channels_share_one_line(records: dict[str, dict[str, Any]]) -> None:
    text = compose_procedure(records["1.004222"], "time", today=TODAY)
    assert f"- {texts.EVERY_METHOD}: 7 ngày làm việc" in text


class _Hit:
    """A search hit as the engine reads it (kind, id, title, score, field, raw scores)."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.kind, self.id, self.title = "procedure", record["code"], record["name"]
        self.score, self.field = 1.0, "name"
        self.raw = {"keyword_titles": 30.0}


class _OneRecord:
    """A knowledge search that finds one real record (ranking is not under test here)."""

    def __init__(self, record: dict[str, Any]) -> None:
        self._record = record

    def search(self, text: str, k: int = 10, kinds: list[str] | None = None) -> list[_Hit]:
        return [_Hit(self._record)]

    def record(self, kind: str, record_id: str) -> dict[str, Any] | None:
        return self._record if record_id == self._record["code"] else None


def test_engine_takes_the_day_from_its_clock(records: dict[str, dict[str, Any]]) -> None:
    """The engine asks its injected clock for the day; nothing reads the calendar inside."""

    def answer_on(day: dt.date) -> str:
        engine = AnswerEngine(
            knowledge=_OneRecord(records["1.000757"]),  # type: ignore[arg-type]
            conversations=InMemoryConversationStore(ttl=600),
            today=lambda: day,
        )
        question = Question(text="lệ phí cấp lại thẻ căn cước thực hiện tại cấp trung ương")
        answer = engine.answer(question)
        assert answer.status == "answered", answer
        return answer.text

    assert "35.000 đồng" in answer_on(TODAY)
    assert "35.000 đồng" not in answer_on(dt.date(2027, 1, 5))
