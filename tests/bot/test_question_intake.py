"""A question is composed (NFC), cut of combining-mark floods and capped in length before
the engine searches anything: the real engine over a knowledge base that records calls."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from bot.engine import texts
from bot.engine.conversation import InMemoryConversationStore
from bot.engine.engine import AnswerEngine
from bot.engine.intake import MAX_COMBINING_RUN, MAX_QUESTION_CHARS, clean_question, too_long
from bot.engine.model import Question

VIETNAMESE = "Cho tôi hỏi lệ phí đăng ký thường trú ở phường Hòa Khánh là bao nhiêu? "


class RecordingKnowledge:
    """A knowledge base that knows nothing and remembers every search."""

    def __init__(self) -> None:
        self.searches: list[str] = []

    def search(self, query: str, *, k: int = 10, kinds: Any = None) -> list[Any]:
        self.searches.append(query)
        return []

    def record(self, kind: str, record_id: str) -> dict[str, Any] | None:
        return None


class RecordingLog:
    def __init__(self) -> None:
        self.questions: list[str] = []

    def unanswered(self, *, question: str, channel: str, status: str, best: str) -> None:
        self.questions.append(question)


@pytest.fixture
def knowledge() -> RecordingKnowledge:
    return RecordingKnowledge()


@pytest.fixture
def log() -> RecordingLog:
    return RecordingLog()


@pytest.fixture
def engine(knowledge: RecordingKnowledge, log: RecordingLog) -> AnswerEngine:
    return AnswerEngine(
        knowledge=knowledge, conversations=InMemoryConversationStore(ttl=600), log=log
    )


def test_a_question_over_the_cap_is_not_searched_logged_or_remembered(
    engine: AnswerEngine, knowledge: RecordingKnowledge, log: RecordingLog
) -> None:
    question = (VIETNAMESE * 40)[: MAX_QUESTION_CHARS + 1]
    answer = engine.answer(Question(text=question, channel="zalo-oa", user_id="u1"))
    assert (answer.status, answer.text) == ("too_long", texts.TOO_LONG)
    assert knowledge.searches == [] and log.questions == []
    # The conversation was not touched: the next question is answered normally.
    engine.answer(Question(text="lệ phí khai sinh", channel="zalo-oa", user_id="u1"))
    assert knowledge.searches


def test_the_cap_counts_composed_characters(
    engine: AnswerEngine, knowledge: RecordingKnowledge
) -> None:
    composed = (VIETNAMESE * 40)[:MAX_QUESTION_CHARS]
    decomposed = unicodedata.normalize("NFD", composed)
    assert len(decomposed) > MAX_QUESTION_CHARS  # what a decomposing keyboard sends
    answer = engine.answer(Question(text=decomposed, channel="telegram", user_id="u2"))
    assert answer.status != "too_long"
    # The engine searched with the composed text (the tokenizer corrupts decomposed text).
    assert knowledge.searches
    assert all(unicodedata.is_normalized("NFC", query) for query in knowledge.searches)


def test_a_flood_of_combining_marks_is_cut_before_the_search(
    engine: AnswerEngine, knowledge: RecordingKnowledge
) -> None:
    flood = "lệ phí khai sinh" + "\u0301" * 1980  # under the cap, so it is answered
    engine.answer(Question(text=flood, channel="web", user_id="u3"))
    assert knowledge.searches
    for query in knowledge.searches:
        assert len(query) < 40
        assert "\u0301" * (MAX_COMBINING_RUN + 1) not in query


def test_clean_question() -> None:
    assert clean_question("Ho\u0300a") == "Hòa"  # composed
    assert clean_question("e\u0302\u0301") == "ế"  # two marks compose into one letter
    assert clean_question("x" + "\u0301\u0300\u0303\u0309") == "x\u0301\u0300"
    assert clean_question("q" + "\u0301" * 5000) == "q\u0301\u0301"
    assert clean_question("Đăng ký thường trú") == "Đăng ký thường trú"


def test_too_long() -> None:
    assert not too_long("a" * MAX_QUESTION_CHARS)
    assert too_long("a" * (MAX_QUESTION_CHARS + 1))
    assert not too_long("  " + "a" * MAX_QUESTION_CHARS + "\n")  # surrounding blanks
    assert not too_long(unicodedata.normalize("NFD", "ế" * MAX_QUESTION_CHARS))
    assert too_long("\u0301" * (MAX_QUESTION_CHARS + 1))  # a flood counts against its sender
