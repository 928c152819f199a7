"""The dashboard in real headless Chromium, and a promoted link clicked in the web chat.

One app under uvicorn on 127.0.0.1 (web chat, the counted redirect, a stand-in portal
page on the same loopback server, the admin). A citizen asks in the web chat and clicks
"online service": the browser lands on the portal page through ``/r/<token>`` and the
click is counted. An officer opens the dashboard for the seeded quarter (figures of
``seed.EXPECTED``), filters one channel, downloads the XLSX, and sees today's click.
Screenshots go to ``$TTHC_TEST_SCREENSHOT_DIR``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route

from bot.admin.app import build_admin
from bot.admin.pages import ADMIN_PAGES
from bot.analytics import SqlExchangeLog, SqlFeedbackSink
from bot.engine.model import Answer, Citation
from bot.promotion import PromoLinks, redirect_routes
from bot.reports.periods import VIETNAM
from bot.web import create_app
from knowledge.models import PromoClick
from tests.bot.admin.conftest import PASSWORD, SECRET
from tests.bot.reports.seed import seed
from tests.bot.test_webchat_browser import (
    Served,
    _port,
    _screenshot_dir,
)
from tests.fakes import FakeAnswerer, FakeIndexRefresh

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _portal(_: Any) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang='vi'><title>Cổng DVC</title>"
        "<h1 id='portal'>Cổng Dịch vụ công (trang thử)</h1></html>"
    )


def test_dashboard_and_a_counted_click_in_chromium(
    browser: Any, factory: sessionmaker[Session], users: dict[str, str], tmp_path: Path
) -> None:
    shots = _screenshot_dir(tmp_path)
    seed(factory)
    port = _port()
    base = f"http://127.0.0.1:{port}"
    portal = f"{base}/portal/dvc-1.004222"
    online = Answer(
        question="",
        status="answered",
        text=f"Đăng ký thường trú: có thể nộp trực tuyến toàn trình tại {portal}",
        citations=[Citation("procedure", "1.004222", "Đăng ký thường trú", portal)],
        online_service={"level": "toàn trình", "url": portal},
        aspect="online",
    )
    links = PromoLinks(factory=factory, base_url=base)
    admin = build_admin(
        factory=factory,
        refresh=FakeIndexRefresh(),
        secret_key=SECRET,
        secure_cookies=False,
        pages=ADMIN_PAGES,
    )
    app = create_app(
        engine=FakeAnswerer(script={"nộp thường trú online": online}),
        feedback=SqlFeedbackSink(factory=factory),
        ready=lambda: {},
        exchanges=SqlExchangeLog(factory=factory),
        promotions=links,
        extra_routes=[
            *redirect_routes(links),
            Route("/portal/{name}", _portal),
            Mount("/admin", app=admin),
        ],
    )
    served = Served(app, port)
    served.start()
    try:
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, accept_downloads=True
        )
        officer = context.new_page()
        officer.goto(f"{base}/admin/dashboard?period=2026-Q4")
        assert "/admin/login" in officer.url
        officer.fill("#username", "hoa")  # an officer: every staff role sees the dashboard
        officer.fill("#password", PASSWORD)
        officer.click("button[type=submit]")
        officer.wait_for_url(f"{base}/admin/dashboard?period=2026-Q4")
        assert officer.locator("#stat-questions").inner_text() == "20"
        assert officer.locator("#stat-answered").inner_text() == "55%"
        assert officer.locator("#stat-promotions").inner_text() == "7"
        assert officer.locator("#stat-feedback").inner_text() == "4 / 1"
        assert officer.locator("#stat-handoffs").inner_text() == "2"
        assert officer.locator("#stat-latency").inner_text() == "1000 / 1900 ms"
        rows = officer.locator("#by-channel tbody tr")
        assert rows.count() == 3
        assert rows.nth(0).inner_text().split("\t") == [
            "Telegram",
            "10",
            "6",
            "2",
            "1",
            "4",
            "3",
            "3",
            "1",
            "1",
        ]
        charts = officer.locator("img.chart")
        assert charts.count() == 4
        for i in range(4):
            assert officer.evaluate(
                "(img) => img.complete && img.naturalWidth > 300", charts.nth(i).element_handle()
            )
        assert "Đăng ký thường trú" in officer.locator("#top-procedures").inner_text()
        officer.screenshot(path=str(shots / "dashboard-2026-Q4.png"), full_page=True)
        officer.set_viewport_size({"width": 390, "height": 844})  # a phone
        officer.reload()
        # Nothing wider than the screen but the channel table, which scrolls in its box.
        assert officer.evaluate("document.documentElement.scrollWidth") <= 390
        officer.screenshot(path=str(shots / "dashboard-2026-Q4-phone.png"), full_page=True)
        officer.set_viewport_size({"width": 1280, "height": 900})

        # A citizen asks in the web chat and follows the promoted link.
        chat = context.new_page()
        chat.goto(base + "/")
        chat.fill("#q", "nộp thường trú online")
        chat.press("#q", "Enter")
        link = chat.locator("a.online")
        link.wait_for(timeout=20_000)
        assert link.get_attribute("href").startswith(f"{base}/r/")
        with context.expect_page() as opened:
            link.click()
        page = opened.value
        page.wait_for_load_state()
        assert page.url == portal
        assert page.locator("#portal").inner_text() == "Cổng Dịch vụ công (trang thử)"
        page.close()
        with factory() as session:
            assert (
                session.execute(select(func.count(PromoClick.id))).scalar_one() == 9
            )  # 8 seeded + this one

        officer.select_option("#channel", "zalo-oa")
        officer.click("#dashboard-filters button[type=submit]")
        officer.wait_for_url("**channel=zalo-oa**")
        assert officer.locator("#stat-questions").inner_text() == "6"
        assert officer.locator("#stat-clicks").inner_text() == "3"
        with officer.expect_download() as download:
            officer.click("#download-xlsx")
        saved = tmp_path / "dashboard.xlsx"
        download.value.save_as(saved)
        first = list(load_workbook(saved)["Theo kênh"].iter_rows(values_only=True))
        assert [r[:7] for r in first[1:]] == [
            ("Zalo OA", 6, 3, 0, 2, 3, 3),
            ("Tổng cộng", 6, 3, 0, 2, 3, 3),
        ]
        pdf = officer.request.get(f"{base}/admin/dashboard/report.pdf?period=2026-Q4")
        assert pdf.status == 200 and pdf.body()[:5] == b"%PDF-"
        assert (
            officer.request.get(f"{base}/admin/dashboard/report.doc?period=2026-Q4").status == 404
        )
        bad = officer.request.get(f"{base}/admin/dashboard/report.xlsx?period=2026-Q9")
        assert bad.status == 400

        # Today's question and click from the web chat above.
        today = dt.datetime.now(VIETNAM).date().isoformat()
        officer.goto(f"{base}/admin/dashboard?from={today}&to={today}&channel=web")
        web = officer.locator("#by-channel tbody tr[data-channel=web]").inner_text().split("\t")
        assert (web[5], web[6]) == ("1", "1")  # one promotion, one click
        officer.goto(f"{base}/admin/dashboard?period=2026-Q9")
        assert "không hợp lệ" in officer.locator("#period-error").inner_text()
        context.close()
    finally:
        served.stop()
