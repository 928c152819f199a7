"""The officer inbox and the knowledge-gaps page in real headless Chromium.

The inbox test serves the one ASGI app of ``tthc serve`` (:func:`bot.app.build_web_app`:
the Zalo OA webhook, the reply worker, the admin) under uvicorn on 127.0.0.1, with the
real answer engine over an empty index, and the Zalo OA API faked on loopback. A citizen
asks for a person; an officer logs in, claims, replies, releases; the fake platform
receives exactly that reply once, the bot stays silent while the officer holds the
chat, and answers again after the release.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import Assistant, build_web_app
from bot.engine import texts as citizen_texts
from bot.engine.conversation import InMemoryConversationStore
from bot.engine.engine import AnswerEngine
from bot.settings import AdminSettings, ChannelSettings, ServerSettings
from knowledge.db import transaction
from knowledge.models import ChangeRequest, Handoff, HandoffMessage, UnansweredQuestion
from knowledge.staff import create_user
from tests.bot.admin.conftest import PASSWORD, SECRET, make_web
from tests.bot.channels import fake_zalo as zalo
from tests.bot.test_webchat_browser import (
    BROWSER_ARGS,
    CHROMIUM,
    Served,
    _port,
    _screenshot_dir,
)
from tests.fakes import FakeIndexRefresh

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PROVINCE_LINE = {
    "scope": "province",
    "area": "Đà Nẵng",
    "name": "Tổng đài 1022 Đà Nẵng",
    "phones": ["0236 1022"],
    "email": "",
    "hours": "24/7",
    "source": "https://1022.danang.gov.vn",
    "verified_at": "2026-11-20",
}


class EmptyKnowledge:
    """An index that finds nothing (these tests are about the staff pages)."""

    def search(self, query: str, *, k: int = 10, kinds: Any = None) -> list[Any]:
        return []

    def record(self, kind: str, record_id: str) -> dict[str, Any] | None:
        return None


class StaticHotlines:
    def published(self) -> list[dict[str, Any]]:
        return [PROVINCE_LINE]


def _wait(condition: Callable[[], bool], what: str, seconds: float = 20) -> None:
    """Poll ``condition`` every 0.05 s; fail if still false after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture
def browser(playwright: Any) -> Iterator[Any]:
    launched = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS
    )
    yield launched
    launched.close()


def serve_app(engine: Engine, channels: ChannelSettings) -> Served:
    """The app of ``tthc serve`` (webhooks of ``channels``, reply worker, admin) with the
    real answer engine over an empty index, started under uvicorn on 127.0.0.1."""
    answers = AnswerEngine(
        knowledge=EmptyKnowledge(),
        conversations=InMemoryConversationStore(),
        hotlines=StaticHotlines(),
    )
    nothing: Any = None  # readiness (the retriever) is not part of these tests
    app = build_web_app(
        Assistant(engine=answers, retriever=nothing, database=engine),
        ServerSettings(),
        channels,
        admin=AdminSettings(secret_key=SECRET, secure_cookies=False),  # type: ignore[arg-type]
        index_refresh=FakeIndexRefresh(),
    )
    served = Served(app, _port())
    served.start()
    return served


def handoff_thread(factory: sessionmaker[Session]) -> list[tuple[str, str]]:
    """The stored handoff messages as (direction, text), oldest first."""
    with factory() as session:
        rows = session.execute(select(HandoffMessage).order_by(HandoffMessage.id)).scalars()
        return [(m.direction, m.text) for m in rows]


def _login(page: Any, base: str, name: str, start: str) -> None:
    page.goto(f"{base}{start}")
    assert "/admin/login" in page.url  # anonymous: the login page first
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{start}")


def test_officer_answers_a_zalo_citizen_from_the_inbox(
    browser: Any,
    engine: Engine,
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # Office always open, so the test means the same at any hour it runs.
    monkeypatch.setenv("TTHC_HANDOFF_HOURS", "Mon-Sun 00:00-23:59")
    monkeypatch.setattr("bot.admin.inbox.REFRESH_SECONDS", 1)
    with transaction(factory) as session:
        create_user(session, "hoa", PASSWORD, "officer", actor="test")
    fake = zalo.ZaloOAFake()
    with zalo.HeaderAwarePlatform(fake).running() as platform:
        channels = ChannelSettings(
            zalo_oa_app_id=zalo.APP_ID,
            zalo_oa_secret_key=zalo.OA_SECRET_KEY,
            zalo_oa_access_token="access-0",
            zalo_oa_refresh_token="refresh-0",
            zalo_app_secret=zalo.APP_SECRET,
            zalo_oa_api_base_url=platform.base_url,
            zalo_oauth_base_url=platform.base_url,
        )
        served = serve_app(engine, channels)
        base = f"http://127.0.0.1:{served.port}"
        try:
            _scenario(browser, base, fake, factory, _screenshot_dir(tmp_path))
        finally:
            served.stop()


def _scenario(
    browser: Any, base: str, fake: zalo.ZaloOAFake, factory: sessionmaker[Session], shots: Path
) -> None:
    def citizen(msg_id: str, text: str) -> None:
        body = zalo.oa_text_event(msg_id, text)
        response = httpx.post(f"{base}/webhooks/zalo-oa", content=body, headers=zalo.oa_sign(body))
        assert response.status_code == 200, response.text

    def thread() -> list[tuple[str, str]]:
        return handoff_thread(factory)

    citizen("z1", "gặp cán bộ")
    _wait(lambda: len(fake.delivered) == 1, "the handoff notice")
    assert fake.delivered == [citizen_texts.HANDOFF_OPEN]

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _login(page, base, "hoa", "/admin/inbox")
    row = page.locator("#inbox-rows tr[data-state=waiting]")
    assert row.count() == 1
    assert "Zalo OA" in row.inner_text() and "gặp cán bộ" in row.inner_text()
    assert "Đang trong giờ làm việc" in page.inner_text("#office-hours")
    page.screenshot(path=str(shots / "inbox.png"), full_page=True)
    row.locator("a").click()

    page.click("#claim")
    assert "Bạn đang trả lời" in page.inner_text("#handoff-state")

    # While the officer holds it, the citizen's message reaches the officer, not the bot;
    # the thread on the open page refreshes by itself.
    citizen("z2", "hồ sơ đất của tôi nộp chưa, sđt 0905123456")
    page.locator("#thread .msg.citizen", has_text="hồ sơ đất của tôi nộp chưa").wait_for()
    assert "0905123456" not in page.inner_text("#thread")
    assert any(d == "citizen" and "hồ sơ đất" in t and "0905123456" not in t for d, t in thread())
    assert fake.delivered == [citizen_texts.HANDOFF_OPEN]  # the bot said nothing

    answer = "Chào anh/chị, hồ sơ đất đã nộp tại Bộ phận Một cửa UBND phường, hẹn trả ngày 10/12."
    page.fill("#reply-text", answer)
    page.click("#send")
    assert "Đã gửi trả lời tới người dân qua Zalo OA." in page.inner_text("main")
    _wait(lambda: len(fake.delivered) == 2, "the officer's reply on Zalo")
    assert fake.delivered[1] == answer and fake.recipients[1] == zalo.USER_ID
    page.locator("#thread .msg.officer", has_text="hồ sơ đất đã nộp").wait_for()
    page.screenshot(path=str(shots / "conversation.png"), full_page=True)

    page.uncheck("input[name=notify]")
    page.click("#release")
    assert page.url == f"{base}/admin/inbox"
    assert "Đã trả cuộc trò chuyện cho trợ lý tự động." in page.inner_text("main")
    assert page.locator("#inbox-rows tr[data-handoff]").count() == 0
    with factory() as session:
        [handoff] = session.execute(select(Handoff)).scalars()
        assert (handoff.state, handoff.close_reason, handoff.officer) == (
            "closed",
            "released",
            "hoa",
        )

    # Back to the bot: the next question gets the bot's answer (the hotline here).
    citizen("z3", "cho tôi xin số hotline")
    _wait(lambda: len(fake.delivered) == 3, "the bot's answer after the release")
    assert "0236 1022" in fake.delivered[2]
    assert fake.delivered.count(answer) == 1  # the officer's reply went out exactly once
    context.close()


def test_knowledge_gap_becomes_an_faq_draft_in_the_browser(
    browser: Any, factory: sessionmaker[Session], users: dict[str, str], tmp_path: Path
) -> None:
    shots = _screenshot_dir(tmp_path)
    now = dt.datetime.now(dt.UTC)
    with transaction(factory) as session:
        for days, channel in ((3, "zalo-oa"), (2, "messenger"), (1, "zalo-oa")):
            session.add(
                UnansweredQuestion(
                    created_at=now - dt.timedelta(days=days),
                    channel=channel,
                    status="no_answer",
                    question="đăng ký kết hôn với người nước ngoài cần gì",
                )
            )
    refresh = FakeIndexRefresh()
    served = Served(make_web(factory, refresh), _port())
    served.start()
    base = f"http://127.0.0.1:{served.port}"
    try:
        context = browser.new_context(viewport={"width": 390, "height": 844})
        page = context.new_page()
        _login(page, base, "lan", "/admin/gaps")
        group = page.locator("section.gap").first
        assert "3" in group.locator("strong.count").inner_text()
        assert "Zalo OA: 2" in group.inner_text() and "Messenger: 1" in group.inner_text()
        page.screenshot(path=str(shots / "gaps.png"), full_page=True)
        group.locator("button.make-faq").click()
        page.wait_for_url(f"{base}/admin/edit/faq?change=*")
        assert "Đã tạo bản nháp hỏi đáp" in page.inner_text("main")
        assert page.input_value("#question") == "đăng ký kết hôn với người nước ngoài cần gì"
        page.fill(
            "#answer",
            "Hồ sơ gồm tờ khai đăng ký kết hôn, giấy xác nhận tình trạng hôn nhân; nộp tại "
            "UBND cấp tỉnh (Sở Tư pháp).",
        )
        page.click("button[name=action][value=submit]")
        page.wait_for_url(f"{base}/admin/changes/*")
        assert page.inner_text("#change-status") == "chờ duyệt"
        page.goto(f"{base}/admin/gaps")
        assert "Đã có bản nháp hỏi đáp" in page.locator("section.gap").first.inner_text()
        context.close()
    finally:
        served.stop()
    with factory() as session:
        [change] = session.execute(select(ChangeRequest)).scalars()
        assert (change.record_kind, change.status, change.author) == ("faq", "submitted", "lan")
        assert change.data["answer"].startswith("Hồ sơ gồm tờ khai")
