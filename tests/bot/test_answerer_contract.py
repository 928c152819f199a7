"""The one contract every :class:`bot.engine.model.Answerer` keeps: the real engine over a
real index and ``tests.fakes.FakeAnswerer`` pass the same checks, so plumbing tests that use
the fake exercise what the engine really returns."""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.engine import texts
from bot.engine.conversation import InMemoryConversationStore
from bot.engine.engine import AnswerEngine
from bot.engine.intake import MAX_QUESTION_CHARS
from bot.engine.model import Answer, Answerer, Choice, Question, Status
from indexer.components import make_retriever
from indexer.settings import IndexSettings
from tests.fakes import FakeAnswerer

QUESTIONS = [
    "Đăng ký thường trú nộp online thì lệ phí bao nhiêu?",
    "khai sinh",
    "xin chào",
    "lệ phí " * 300,  # 2,100 characters: over the question cap
]


@pytest.fixture(params=["engine", "fake"])
def answerer(request: pytest.FixtureRequest) -> Iterator[Answerer]:
    if request.param == "fake":
        clarify = Answer(
            question="khai sinh",
            status="clarify",
            text="Bạn hỏi thủ tục nào?",
            choices=[Choice(1, "Đăng ký khai sinh", "procedure", "1.001193")],
        )
        yield FakeAnswerer(script={"khai sinh": clarify})
        return
    env: dict[str, str] = request.getfixturevalue("small_real_env")
    retriever = make_retriever(IndexSettings(data_dir=Path(env["TTHC_DATA_DIR"])))
    yield AnswerEngine(knowledge=retriever, conversations=InMemoryConversationStore(ttl=600))


@pytest.mark.parametrize("text", QUESTIONS)
def test_answerer_contract(answerer: Answerer, text: str) -> None:
    answer = answerer.answer(Question(text=text, channel="web", user_id="contract"))
    assert isinstance(answer, Answer)
    assert answer.status in typing.get_args(Status)
    assert answer.text.strip() and answer.question == text
    # Choices are numbered 1..n; citations name a kind and an id.
    assert [c.number for c in answer.choices] == list(range(1, len(answer.choices) + 1))
    assert all(c.kind and c.id for c in answer.citations)
    if answer.online_service is not None:
        assert answer.online_service["url"].startswith(("http://", "https://"))
    data = answer.as_dict()
    assert set(data) >= {"question", "status", "text", "citations", "choices", "online_service"}
    json.dumps(data, ensure_ascii=False)
    # Over the cap: the citizen is asked to shorten it, nothing is searched.
    assert (answer.status == "too_long") == (len(text.strip()) > MAX_QUESTION_CHARS)
    if answer.status == "too_long":
        assert answer.text == texts.TOO_LONG and not answer.candidates
