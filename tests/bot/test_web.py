"""The web app for real: ASGI in-process for the API contract (the page in Chromium is
``test_webchat_browser.py``).

Plumbing (routing, validation, rate limiting, feedback storage, the page) is driven by
``tests.fakes.FakeAnswerer`` so no test here depends on which of two near-tied records the
retriever ranks first; ranking claims live in the quality tests and the benchmark.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select
from starlette.applications import Starlette

from bot.analytics import SqlFeedbackSink
from bot.app import Assistant, build_assistant, build_web_app
from bot.engine import texts
from bot.engine.model import Answer, Citation
from bot.ratelimit import RateLimiter
from bot.settings import ServerSettings
from bot.web import create_app
from knowledge import migrate
from knowledge.db import make_engine, make_session_factory, transaction
from knowledge.models import AnswerFeedback
from tests.fakes import FakeAnswerer


@pytest.fixture
def assistant(
    small_real_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Assistant]:
    monkeypatch.setenv("TTHC_DATA_DIR", small_real_env["TTHC_DATA_DIR"])
    built = build_assistant()
    yield built
    built.close()


@pytest.fixture
def real_app(assistant: Assistant) -> Starlette:
    return build_web_app(assistant, ServerSettings(rate_limit_per_minute=5))


FEE_QUESTION = "Đăng ký thường trú nộp online thì lệ phí bao nhiêu?"
FEE_ANSWER = Answer(
    question=FEE_QUESTION,
    status="answered",
    text="Thủ tục: Đăng ký thường trú (mã 1.004222)\nLệ phí:\n- Nộp trực tuyến: 10.000 đồng",
    citations=[Citation("procedure", "1.004222", "Đăng ký thường trú", None)],
    online_service={"level": "một phần", "url": "https://dichvucong.gov.vn/p/home/dvc-tthc.html"},
    aspect="fee",
)


@pytest.fixture
def answerer() -> FakeAnswerer:
    return FakeAnswerer(script={FEE_QUESTION: FEE_ANSWER})


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'web.sqlite3'}")
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def app(answerer: FakeAnswerer, database: Engine) -> Starlette:
    """The web app around a fake answerer and a real (SQLite) feedback store."""
    return create_app(
        engine=answerer,
        feedback=SqlFeedbackSink(factory=make_session_factory(database)),
        ready=lambda: {"model_id": "fake"},
        limiter=RateLimiter(limit=5, window=60.0),
    )


def call(app: Starlette, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


def test_health_and_readiness(real_app: Starlette) -> None:
    assert call(real_app, "GET", "/healthz").json() == {"status": "ok"}
    ready = call(real_app, "GET", "/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert ready.json()["model_id"].startswith("intfloat/multilingual-e5-small")


def test_not_ready_without_an_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, assistant: Assistant
) -> None:
    from bot.web import create_app

    def ready() -> dict[str, Any] | None:
        raise FileNotFoundError("no generation")

    app = create_app(
        engine=assistant.engine,
        feedback=None,  # type: ignore[arg-type]
        ready=ready,
    )
    assert call(app, "GET", "/readyz").status_code == 503


def test_page_and_widget(app: Starlette) -> None:
    page = call(app, "GET", "/")
    assert page.status_code == 200 and "Trợ lý thủ tục hành chính" in page.text
    widget = call(app, "GET", "/widget.js")
    assert widget.headers["content-type"].startswith("application/javascript")
    assert "iframe" in widget.text


def test_chat_answers_and_feedback_is_stored(
    app: Starlette, answerer: FakeAnswerer, database: Engine
) -> None:
    reply = call(
        app, "POST", "/api/chat", json={"message": f"  {FEE_QUESTION} ", "session_id": "w1"}
    )
    data = reply.json()
    assert reply.status_code == 200 and data["status"] == "answered"
    assert data["text"] == FEE_ANSWER.text and data["online_service"]["level"] == "một phần"
    assert data["citations"][0]["id"] == "1.004222"
    # The engine saw the trimmed text as a web question of this session.
    asked = answerer.questions[-1]
    assert (asked.text, asked.channel, asked.user_id) == (FEE_QUESTION, "web", "w1")
    assert (
        call(
            app, "POST", "/api/feedback", json={"answer_id": data["answer_id"], "value": "up"}
        ).status_code
        == 204
    )
    with transaction(make_session_factory(database)) as session:
        row = session.scalars(
            select(AnswerFeedback).where(AnswerFeedback.answer_id == data["answer_id"])
        ).one()
        assert (row.value, row.cited, row.channel) == ("up", "1.004222", "web")
        # What the feedback rates: the question, the answer's status and its text.
        assert (row.question, row.status, row.answer) == (FEE_QUESTION, "answered", FEE_ANSWER.text)


def _feedback_rows(database: Engine) -> int:
    with transaction(make_session_factory(database)) as session:
        return session.scalar(select(func.count()).select_from(AnswerFeedback)) or 0


def test_bad_input_gets_4xx_and_no_answer(
    app: Starlette, answerer: FakeAnswerer, database: Engine
) -> None:
    before = _feedback_rows(database)
    assert call(app, "POST", "/api/chat", content=b"{not json").status_code == 400
    assert call(app, "POST", "/api/chat", json={"nope": 1}).status_code == 400
    assert call(app, "POST", "/api/chat", json={"message": "   "}).status_code == 400
    too_long = call(app, "POST", "/api/chat", json={"message": "x" * 2001})
    assert too_long.status_code == 413 and too_long.json()["text"] == texts.TOO_LONG
    # The limit counts the trimmed text, as the page's counter does.
    assert (
        call(app, "POST", "/api/chat", json={"message": " " + "x" * 2000 + " "}).status_code == 200
    )
    assert (
        call(app, "POST", "/api/feedback", json={"answer_id": "x", "value": "meh"}).status_code
        == 400
    )
    assert (
        call(app, "POST", "/api/feedback", json={"answer_id": "x", "value": "up"}).status_code
        == 404
    )
    assert call(app, "GET", "/api/chat").status_code == 405
    assert _feedback_rows(database) == before
    assert [q.text for q in answerer.questions] == ["x" * 2000]


def test_rate_limit_is_polite(app: Starlette) -> None:
    codes = [
        call(app, "POST", "/api/chat", json={"message": "xin chào", "session_id": "spam"})
        for _ in range(6)
    ]
    assert [c.status_code for c in codes[:5]] == [200] * 5
    assert codes[5].status_code == 429 and codes[5].json()["text"] == texts.RATE_LIMITED


def test_contract_json_is_serialisable(real_app: Starlette) -> None:
    reply = call(real_app, "POST", "/api/chat", json={"message": "hôm nay thời tiết thế nào"})
    data = reply.json()
    assert data["status"] == "out_of_scope" and data["citations"] == []
    json.dumps(data, ensure_ascii=False)
