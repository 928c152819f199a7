"""An officer answers a Telegram citizen from /admin/inbox, end to end over HTTP.

The one ASGI app of ``tthc serve`` (:func:`bot.app.build_web_app`: the Telegram webhook,
the reply worker, the admin) runs under uvicorn on 127.0.0.1; python-telegram-bot talks
to a fake Bot API server on 127.0.0.1. The citizen's messages arrive as real webhook
POSTs; the officer uses the admin pages with a cookie-keeping HTTP client (the Chromium
walk through the same pages is ``test_inbox_browser.py``, on Zalo).
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.engine import texts as citizen_texts
from bot.settings import ChannelSettings
from knowledge.db import transaction
from knowledge.models import Handoff
from knowledge.staff import create_user
from tests.bot.admin.conftest import PASSWORD, csrf_of
from tests.bot.admin.test_inbox_browser import _wait, handoff_thread, serve_app
from tests.bot.channels import fake_telegram as tg
from tests.bot.channels.harness import FakePlatform

ANSWER = "Chào anh/chị, hồ sơ khai sinh của cháu đã nhận tại UBND phường, hẹn trả ngày 10/12."


def _sent(platform: FakePlatform) -> list[tuple[int, str]]:
    """(chat id, text as the citizen reads it) of every accepted sendMessage."""
    return [
        (int(body["chat_id"]), text)
        for body, text in zip(tg.calls(platform, "sendMessage"), tg.replies(platform), strict=True)
    ]


def test_officer_answers_a_telegram_citizen_from_the_inbox(
    engine: Engine,
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("TTHC_HANDOFF_HOURS", "Mon-Sun 00:00-23:59")  # open at any hour
    with transaction(factory) as session:
        create_user(session, "hoa", PASSWORD, "officer", actor="test")
    with FakePlatform(tg.BotAPI()).running() as telegram:
        channels = ChannelSettings(
            telegram_bot_token=tg.TOKEN,  # type: ignore[arg-type]
            telegram_webhook_secret=tg.SECRET,  # type: ignore[arg-type]
            telegram_api_base_url=f"{telegram.base_url}/bot",
        )
        served = serve_app(engine, channels)
        try:
            _scenario(f"http://127.0.0.1:{served.port}", telegram, factory)
        finally:
            served.stop()


def _scenario(base: str, telegram: FakePlatform, factory: sessionmaker[Session]) -> None:
    def citizen(event: str, text: str) -> None:
        body = tg.text_update(event, text)
        response = httpx.post(f"{base}/webhooks/telegram", content=body, headers=tg.signed(body))
        assert response.status_code == 200, response.text

    def thread() -> list[tuple[str, str]]:
        return handoff_thread(factory)

    citizen("tg-handoff-1", "gặp cán bộ")
    _wait(lambda: len(_sent(telegram)) == 1, "the handoff notice")
    assert _sent(telegram) == [(tg.CHAT_ID, citizen_texts.HANDOFF_OPEN)]

    with httpx.Client(base_url=base, timeout=30) as officer:
        login = officer.get("/admin/login", params={"next": "/admin/inbox"})
        done = officer.post(
            "/admin/login",
            data={
                "username": "hoa",
                "password": PASSWORD,
                "csrftoken": csrf_of(login.text),
                "next": "/admin/inbox",
            },
        )
        assert done.status_code == 303, done.text
        inbox = officer.get("/admin/inbox")
        links = re.findall(r'href="/admin/inbox/(\d+)"', inbox.text)
        assert len(set(links)) == 1 and "Telegram" in inbox.text and "gặp cán bộ" in inbox.text
        handoff = int(links[0])
        page = officer.get(f"/admin/inbox/{handoff}")
        token = csrf_of(page.text)
        claimed = officer.post(f"/admin/inbox/{handoff}/claim", data={"csrftoken": token})
        assert claimed.status_code == 303
        assert "Bạn đang trả lời" in officer.get(f"/admin/inbox/{handoff}").text

        # While the officer holds it the citizen's words reach the officer, not the bot.
        citizen("tg-handoff-2", "hồ sơ khai sinh cho con tôi nộp chưa? sđt 0905123456")
        _wait(lambda: any("khai sinh" in t for d, t in thread() if d == "citizen"), "the thread")
        assert not any("0905123456" in t for _, t in thread())  # masked before storage
        assert len(_sent(telegram)) == 1  # the bot said nothing

        sent = officer.post(
            f"/admin/inbox/{handoff}/reply", data={"csrftoken": token, "text": ANSWER}
        )
        assert sent.status_code == 303, sent.text
        assert (
            "Đã gửi trả lời tới người dân qua Telegram."
            in officer.get(f"/admin/inbox/{handoff}").text
        )
        _wait(lambda: len(_sent(telegram)) == 2, "the officer's reply on Telegram")
        assert _sent(telegram)[1] == (tg.CHAT_ID, ANSWER)

        released = officer.post(
            f"/admin/inbox/{handoff}/release", data={"csrftoken": token, "notify": "1"}
        )
        assert released.status_code == 303 and released.headers["location"] == "/admin/inbox"
        _wait(lambda: len(_sent(telegram)) == 3, "the release notice")
        assert _sent(telegram)[2] == (tg.CHAT_ID, citizen_texts.HANDOFF_RELEASED)
    with factory() as session:
        [row] = session.execute(select(Handoff)).scalars()
        assert (row.channel, row.state, row.close_reason, row.officer) == (
            "telegram",
            "closed",
            "released",
            "hoa",
        )

    # Back to the bot: the next question gets the bot's own answer (the hotlines here).
    citizen("tg-handoff-3", "cho tôi xin số hotline")
    _wait(lambda: len(_sent(telegram)) == 4, "the bot's answer after the release")
    chat, text = _sent(telegram)[3]
    assert chat == tg.CHAT_ID and "0236 1022" in text
    assert [t for _, t in _sent(telegram)].count(ANSWER) == 1  # the reply went out once
