"""The announcements page in real headless Chromium: a reviewer writes, previews (the
text citizens read, recipients and out-of-window counts per channel), sends now; the
send job delivers to a fake Telegram and Zalo OA on loopback; the page then shows the
per-channel report. Screenshots go to ``$TTHC_TEST_SCREENSHOT_DIR``."""

from __future__ import annotations

import asyncio
import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.routing import Mount

from bot.admin.app import build_admin
from bot.admin.pages import ADMIN_PAGES
from bot.channels import inflight
from bot.channels.announcements import AnnouncementSender, AnnouncementStore, rendered_text
from knowledge.db import transaction
from knowledge.models import Subscription
from tests.bot.admin.conftest import PASSWORD, SECRET
from tests.bot.channels import fake_telegram as tg
from tests.bot.channels import fake_zalo as zalo
from tests.bot.channels.harness import FakePlatform
from tests.bot.channels.test_announcements import last_message, platform_adapters
from tests.bot.test_webchat_browser import Served, _port, _screenshot_dir
from tests.fakes import FakeIndexRefresh

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
TEXT = "Từ 01/12/2026, đăng ký khai sinh nộp trực tuyến toàn trình trên Cổng Dịch vụ công."


def _seed(factory: sessionmaker[Session]) -> None:
    """Telegram: 3 subscribers; Zalo OA: one who wrote 2 days ago, one silent for 30."""
    now = dt.datetime.now(dt.UTC)
    old = now - dt.timedelta(days=30)
    with transaction(factory) as session:
        for user in ("111", "222", "333"):
            session.add(Subscription(channel="telegram", user_id=user, created_at=old))
        session.add(
            Subscription(channel="zalo-oa", user_id="z-in", created_at=old, source="follow")
        )
        session.add(Subscription(channel="zalo-oa", user_id="z-out", created_at=old))
    last_message(factory, "zalo-oa", "z-in", now - dt.timedelta(days=2))


def test_write_preview_send_and_report_in_chromium(
    browser: Any, factory: sessionmaker[Session], users: dict[str, str], tmp_path: Path
) -> None:
    shots = _screenshot_dir(tmp_path)
    _seed(factory)
    admin = build_admin(
        factory=factory,
        refresh=FakeIndexRefresh(),
        secret_key=SECRET,
        secure_cookies=False,
        pages=ADMIN_PAGES,
    )
    port = _port()
    base = f"http://127.0.0.1:{port}"
    served = Served(Starlette(routes=[Mount("/admin", app=admin)]), port)
    served.start()
    zalo_fake = zalo.ZaloOAFake()
    try:
        with (
            FakePlatform(tg.BotAPI()).running() as telegram,
            zalo.HeaderAwarePlatform(zalo_fake).running() as zalo_oa,
        ):
            page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
            page.goto(f"{base}/admin/announcements")
            page.fill("#username", "minh")  # a reviewer: may send
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/admin/announcements")
            page.fill("#text", TEXT)
            page.uncheck("input[name=channels][value=messenger]")
            page.click("#do-preview")
            page.wait_for_selector("#preview")
            assert page.locator("#preview-text").inner_text() == rendered_text(TEXT)
            rows = page.locator("#preview-counts tbody tr")
            assert [rows.nth(i).inner_text().split("\t") for i in range(rows.count())] == [
                ["Telegram", "3", "0", "3"],
                ["Zalo OA", "2", "1", "1"],
            ]
            page.screenshot(path=str(shots / "announcements-preview.png"), full_page=True)
            page.click("#do-send")
            page.wait_for_selector(".announcement-item")
            item = page.locator(".announcement-item").first
            assert item.get_attribute("data-state") == "scheduled"
            assert "sẽ được gửi trong vòng 15 giây" in page.content()

            # The worker's job (the same code the queue runs).
            async def work() -> bool:
                async with httpx.AsyncClient(event_hooks=inflight.event_hooks()) as http:
                    adapters = platform_adapters(
                        http, telegram=telegram.base_url, zalo_oa=zalo_oa.base_url
                    )
                    store = AnnouncementStore(factory=factory)
                    [due] = store.due()
                    return await AnnouncementSender(store=store, adapters=adapters).run(due)

            # Playwright's sync API holds this thread's event loop: the job gets a thread.
            with ThreadPoolExecutor(max_workers=1) as pool:
                assert pool.submit(asyncio.run, work()).result(timeout=60)
            assert sorted(str(b["chat_id"]) for b in tg.calls(telegram, "sendMessage")) == [
                "111",
                "222",
                "333",
            ]
            assert zalo_fake.recipients == ["z-in"]
            page.reload()
            item = page.locator(".announcement-item").first
            assert item.get_attribute("data-state") == "done"
            report = item.locator("table.report tbody tr")
            assert report.nth(0).inner_text().split("\t") == [
                "Telegram",
                "3",
                "0",
                "0",
                "0",
                "0",
                "0",
            ]
            assert report.nth(1).inner_text().split("\t") == [
                "Zalo OA",
                "1",
                "1",
                "0",
                "0",
                "0",
                "0",
            ]
            page.screenshot(path=str(shots / "announcements-report.png"), full_page=True)
    finally:
        served.stop()
