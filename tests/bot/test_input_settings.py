"""The composition root applies the input settings: ``TTHC_MAX_BODY_BYTES`` on every route
(web chat API and each webhook) and ``TELEGRAM_BOT_USERNAME`` on the Telegram adapter.
The real ``build_web_app`` over an engine whose knowledge base records searches."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import Engine

from bot.app import Assistant, build_channels, build_web_app
from bot.channels.telegram import TelegramAdapter
from bot.engine.conversation import InMemoryConversationStore
from bot.engine.engine import AnswerEngine
from bot.settings import ChannelSettings, ServerSettings
from knowledge import migrate
from knowledge.db import make_engine
from tests.bot.channels import fake_telegram as tg
from tests.bot.channels.signed_channels import ZALO_BOT_SECRET, ZALO_BOT_TOKEN, zalo_bot_text
from tests.bot.test_question_intake import RecordingKnowledge


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'tthc.sqlite3'}")
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def assistant(database: Engine) -> Assistant:
    engine = AnswerEngine(
        knowledge=RecordingKnowledge(), conversations=InMemoryConversationStore(ttl=60)
    )
    return Assistant(engine=engine, retriever=cast(Any, None), database=database)


@pytest.fixture
def channel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", tg.TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", tg.SECRET)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:9/bot")
    monkeypatch.setenv("ZALO_BOT_TOKEN", ZALO_BOT_TOKEN)
    monkeypatch.setenv("ZALO_BOT_WEBHOOK_SECRET", ZALO_BOT_SECRET)
    monkeypatch.setenv("ZALO_BOT_API_BASE_URL", "http://127.0.0.1:9")


def test_max_body_bytes_reaches_every_route(
    assistant: Assistant, channel_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTHC_MAX_BODY_BYTES", "4096")
    app = build_web_app(assistant, ServerSettings(), ChannelSettings())
    small = zalo_bot_text("m-1", "lệ phí khai sinh")
    big = zalo_bot_text("m-2", "x" * 4096)
    signed = {"X-Bot-Api-Secret-Token": ZALO_BOT_SECRET}

    async def go() -> tuple[dict[str, int], str]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            pad = "x" * 4096
            telegram = {"X-Telegram-Bot-Api-Secret-Token": tg.SECRET}
            responses = {
                "chat": await client.post("/api/chat", json={"message": "hi", "p": pad}),
                "feedback": await client.post("/api/feedback", json={"p": pad}),
                "zalo-bot": await client.post("/webhooks/zalo-bot", content=big, headers=signed),
                "telegram": await client.post(
                    "/webhooks/telegram", content=b" " * 5000, headers=telegram
                ),
                "zalo-bot, small": await client.post(
                    "/webhooks/zalo-bot", content=small, headers=signed
                ),
            }
            document = (await client.get("/openapi.json")).text
        return {k: r.status_code for k, r in responses.items()}, document

    codes, document = asyncio.run(go())
    assert codes == {
        "chat": 413,
        "feedback": 413,
        "zalo-bot": 413,
        "telegram": 413,
        "zalo-bot, small": 200,
    }
    assert "4096 bytes" in document


def test_the_telegram_username_setting_reaches_the_adapter(
    assistant: Assistant, channel_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "@tthc_hue_bot")
    built = build_channels(assistant, ServerSettings(), ChannelSettings())
    [telegram] = [a for a in built.adapters if isinstance(a, TelegramAdapter)]
    assert telegram.username == "tthc_hue_bot"
    # Start-up also asks getMe when the name is not configured (a no-op when it is).
    assert telegram.learn_username in built.startup
