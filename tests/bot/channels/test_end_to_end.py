"""The whole flow on loopback: `tthc serve`'s app under uvicorn, the real engine over a
real index, and fake Telegram, Zalo and Meta servers counting what they receive."""

from __future__ import annotations

import html
import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import uvicorn

from bot.app import Assistant, build_assistant, build_web_app
from bot.settings import ChannelSettings, ServerSettings
from tests.bot.channels import test_messenger as meta
from tests.bot.channels import test_telegram as tg
from tests.bot.channels import test_zalo as zalo
from tests.bot.channels.fake_world import fake_world
from tests.bot.channels.harness import FakePlatform

QUESTION = "Đăng ký thường trú nộp online thì lệ phí bao nhiêu?"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.fixture
def world(
    small_real_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, FakePlatform, FakePlatform, zalo.ZaloOAFake, FakePlatform]]:
    with fake_world() as fakes:
        monkeypatch.setenv("TTHC_DATA_DIR", small_real_env["TTHC_DATA_DIR"])
        telegram, zalo_fake, graph = fakes.telegram, fakes.zalo_fake, fakes.graph
        settings = fakes.settings
        assistant: Assistant = build_assistant()
        app = build_web_app(assistant, ServerSettings(), settings)
        port = _port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        _wait(lambda: server.started, 20)
        try:
            yield f"http://127.0.0.1:{port}", telegram, fakes.zalo_oa, zalo_fake, graph
        finally:
            server.should_exit = True
            thread.join(timeout=20)
            assistant.close()


def test_one_correct_reply_per_platform_and_forgeries_refused(world: tuple) -> None:
    base, telegram, _zalo_oa, zalo_fake, graph = world
    with httpx.Client(base_url=base, timeout=30) as client:
        body = tg.text_update("9001", QUESTION)
        assert (
            client.post(
                "/webhooks/telegram",
                content=body,
                headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"},
            ).status_code
            == 403
        )
        assert (
            client.post("/webhooks/telegram", content=body, headers=tg.signed(body)).status_code
            == 200
        )
        assert (
            client.post("/webhooks/telegram", content=body, headers=tg.signed(body)).status_code
            == 200
        )  # redelivery

        body = zalo.oa_text_event("zmsg-1", QUESTION)
        assert (
            client.post(
                "/webhooks/zalo-oa", content=body, headers={"X-ZEvent-Signature": "mac=" + "0" * 64}
            ).status_code
            == 403
        )
        assert (
            client.post("/webhooks/zalo-oa", content=body, headers=zalo.oa_sign(body)).status_code
            == 200
        )

        body = meta.page_body(meta.messaging_entry(meta.text_item("mid.1", QUESTION)))
        assert (
            client.post(
                "/webhooks/messenger",
                content=body,
                headers={"X-Hub-Signature-256": "sha256=" + "0" * 64},
            ).status_code
            == 403
        )
        assert (
            client.post("/webhooks/messenger", content=body, headers=meta.sign(body)).status_code
            == 200
        )
        # The Meta verification handshake, and a channel without credentials: 404.
        assert (
            client.get(
                "/webhooks/messenger",
                params={
                    "hub.mode": "subscribe",
                    "hub.verify_token": meta.VERIFY_TOKEN,
                    "hub.challenge": "123",
                },
            ).text
            == "123"
        )
        assert client.post("/webhooks/zalo-bot", content=b"{}").status_code == 404

    def answered(texts: list[str]) -> list[str]:
        return [t for t in texts if "10.000 đồng" in t]

    _wait(
        lambda: (
            bool(answered(tg.replies(telegram)))
            and bool(answered(zalo_fake.delivered))
            and bool(answered(meta.accepted_texts(graph)))
        )
    )
    for replies in (tg.replies(telegram), zalo_fake.delivered, meta.accepted_texts(graph)):
        good = answered(replies)
        assert len(good) == 1, replies  # exactly one reply, in Vietnamese, with the fee
        assert "Đăng ký thường trú (mã 1.004222)" in html.unescape(good[0])
    time.sleep(1)  # nothing else arrives late (the Telegram redelivery got no reply)
    assert len(answered(tg.replies(telegram))) == 1


def test_unconfigured_channels_are_not_mounted(
    small_real_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    monkeypatch.setenv("TTHC_DATA_DIR", small_real_env["TTHC_DATA_DIR"])
    assistant = build_assistant()
    app = build_web_app(assistant, ServerSettings(), ChannelSettings())

    async def go() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return [
                (await client.post(f"/webhooks/{name}", content=b"{}")).status_code
                for name in ("telegram", "zalo-oa", "zalo-bot", "messenger")
            ]

    assert asyncio.run(go()) == [404, 404, 404, 404]
    assistant.close()


def test_placeholder_secret_fails_fast() -> None:
    with pytest.raises(ValueError, match="TELEGRAM_BOT_TOKEN"):
        ChannelSettings(telegram_bot_token="changeme", telegram_webhook_secret="x").telegram()
