"""The web chat in real headless Chromium, at a desktop (1280×800) and a phone (390×844) size.

The app is the real Starlette app under uvicorn on 127.0.0.1 with ``FakeAnswerer`` (fast and
deterministic: these tests are about the page, not ranking). The widget test serves a
department page from a second loopback server and embeds the chat with the README's one
script tag; Chromium maps ``*.test`` to 127.0.0.1 so the two servers are two different sites,
and the profile blocks third-party cookies, which makes ``localStorage`` throw in the frame.
Screenshots go to ``$TTHC_TEST_SCREENSHOT_DIR`` (default: the test's tmp folder).
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine
from starlette.applications import Starlette

from bot.analytics import SqlFeedbackSink
from bot.engine import texts
from bot.engine.model import Answer, Choice, Citation
from bot.ratelimit import RateLimiter
from bot.web import MAX_MESSAGE, create_app
from knowledge import migrate
from knowledge.db import make_engine, make_session_factory
from tests.fakes import FakeAnswerer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: CI sets this so a missing browser fails instead of skipping.
BROWSER_REQUIRED = os.environ.get("TTHC_TEST_BROWSER_REQUIRED") == "1"
ASSETS = Path(__file__).resolve().parents[1] / "assets"
#: axe-core 4.14.1 (npm ``axe-core``, MPL-2.0), vendored so the test runs offline.
AXE = ASSETS / "axe-core" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
SIZES = [pytest.param((1280, 800), id="desktop"), pytest.param((390, 844), id="phone")]
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Two site names for two loopback servers; nothing leaves the machine.
    "--host-resolver-rules=MAP *.test 127.0.0.1",
]

FEE = "lệ phí đăng ký thường trú"
CHOICES = "khai sinh"
LINKS = "cho tôi đường dẫn"
HOSTILE = '<img src=x onerror="window.__pwned = 1"> javascript:alert(1)'


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _screenshot_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("TTHC_TEST_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Served:
    """A uvicorn server on a fixed 127.0.0.1 port that can be stopped and started again."""

    def __init__(self, app: Starlette, port: int) -> None:
        self.app, self.port = app, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
            time.sleep(0.02)
        self._server, self._thread = server, thread

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=20)
            assert not self._thread.is_alive()
        self._server = self._thread = None


@pytest.fixture
def answerer() -> FakeAnswerer:
    fee = Answer(
        question=FEE,
        status="answered",
        text=(
            "Thủ tục: Đăng ký thường trú (mã 1.004222)\nPhí, lệ phí:\n"
            "- Nộp trực tuyến: 10.000 đồng\n- Nộp trực tiếp: 20.000 đồng"
        ),
        citations=[Citation("procedure", "1.004222", "Đăng ký thường trú", None)],
        online_service={"level": "một phần", "url": "https://dichvucong.gov.vn/p/home/dvc.html"},
    )
    choices = Answer(
        question=CHOICES,
        status="clarify",
        text="Bạn hỏi thủ tục nào? Chọn một số:",
        choices=[
            Choice(n, label, "procedure", f"1.00{n}")
            for n, label in enumerate(
                [
                    "Đăng ký khai sinh",
                    "Đăng ký khai sinh có yếu tố nước ngoài",
                    "Đăng ký lại khai sinh",
                    "Đăng ký khai sinh lưu động",
                ],
                start=1,
            )
        ],
    )
    return FakeAnswerer(script={FEE: fee, CHOICES: choices})


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'web.sqlite3'}")
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def served(answerer: FakeAnswerer, database: Engine) -> Iterator[Served]:
    app = create_app(
        engine=answerer,
        feedback=SqlFeedbackSink(factory=make_session_factory(database)),
        ready=lambda: {"model_id": "fake"},
        limiter=RateLimiter(limit=1000, window=60.0),
    )
    server = Served(app, _port())
    server.start()
    # An answer whose text holds a link back to this server and markup that must stay text.
    answerer.script[LINKS] = Answer(
        question=LINKS,
        status="answered",
        text=f"Xem hướng dẫn tại http://127.0.0.1:{server.port}/healthz. {HOSTILE}",
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if BROWSER_REQUIRED:
            pytest.fail(f"Chromium not found at {CHROMIUM}")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


def _context(pw: Any, profile: Path, size: tuple[int, int]) -> Any:
    """A fresh Chromium profile that blocks third-party cookies (and so third-party storage)."""
    (profile / "Default").mkdir(parents=True)
    (profile / "Default" / "Preferences").write_text(
        json.dumps({"profile": {"block_third_party_cookies": True, "cookie_controls_mode": 1}})
    )
    return pw.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        headless=True,
        args=BROWSER_ARGS,
        viewport={"width": size[0], "height": size[1]},
        is_mobile=size[0] < 500,
        has_touch=size[0] < 500,
    )


def _ask(page: Any, text: str) -> None:
    page.fill("#q", text)
    page.press("#q", "Enter")


def _last_bot(page: Any) -> Any:
    return page.locator(".msg.bot:not(.pending)").last


def _fully_visible(page: Any, selector: str) -> bool:
    """The element is inside the log's visible area and nothing (the input bar) covers it."""
    return bool(
        page.evaluate(
            """(sel) => {
                const el = document.querySelector(sel);
                const r = el.getBoundingClientRect();
                const log = document.getElementById("log").getBoundingClientRect();
                const bar = document.getElementById("ask").getBoundingClientRect();
                if (r.top < log.top - 1 || r.bottom > log.bottom + 1) return false;
                if (r.bottom > bar.top + 1 || r.bottom > window.innerHeight) return false;
                const hit = document.elementFromPoint(r.left + r.width / 2, r.bottom - 2);
                return hit === el || el.contains(hit);
            }""",
            selector,
        )
    )


def _axe_serious(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations in a page or frame."""
    source = AXE.read_bytes()
    assert hashlib.sha256(source).hexdigest() == AXE_SHA256, "vendored axe-core changed"
    page.add_script_tag(content=source.decode())
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("size", SIZES)
def test_chat_page(
    playwright: Any, served: Served, answerer: FakeAnswerer, tmp_path: Path, size: tuple[int, int]
) -> None:
    context = _context(playwright, tmp_path / "profile", size)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    base = f"http://127.0.0.1:{served.port}/"
    page.goto(base)
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    # Landmarks and labels.
    assert page.locator("main").count() == 1 and page.locator("h1").count() == 1
    assert page.get_by_label("Câu hỏi của bạn").count() == 1
    assert page.get_by_role("button", name="Gửi").count() == 1
    assert page.locator("#log").get_attribute("aria-live") == "polite"

    # Enter sends without navigating; while the answer is computed the page says so and
    # the send button is disabled.
    gate = threading.Event()
    answerer.gate = gate
    _ask(page, FEE)
    pending = page.locator(".msg.pending")
    pending.wait_for(timeout=10_000)
    assert pending.inner_text() == "đang trả lời…"
    assert page.locator("#send").is_disabled()
    assert page.locator("#q").input_value() == ""
    # A question typed while the answer is pending stays in the box and is not sent.
    page.fill("#q", CHOICES)
    page.press("#q", "Enter")
    assert page.locator("#q").input_value() == CHOICES
    assert page.locator(".msg.user").count() == 1
    page.fill("#q", "")
    gate.set()
    answerer.gate = None
    answer = page.locator(".msg.bot").filter(has_text="10.000 đồng")
    answer.wait_for(timeout=10_000)
    assert pending.count() == 0 and page.locator("#send").is_enabled()
    assert navigations == [] and page.url == base
    online = answer.locator("a.online")
    assert online.inner_text() == "Mở dịch vụ công trực tuyến"
    assert online.get_attribute("href") == "https://dichvucong.gov.vn/p/home/dvc.html"
    answer.get_by_role("button", name="👍 Hữu ích").click()
    answer.get_by_text("Cảm ơn bạn đã phản hồi!").wait_for(timeout=10_000)

    # Several clarifications fill the log; the latest one and its last button are in view,
    # not under the input bar, and a button continues the conversation.
    for _ in range(3):
        before = page.locator(".msg.bot .actions button").count()
        _ask(page, CHOICES)
        page.wait_for_function(
            f"document.querySelectorAll('.msg.bot .actions button').length >= {before + 4}"
        )
    assert page.evaluate(
        "(() => { const l = document.getElementById('log'); "
        "return l.scrollHeight > l.clientHeight; })()"
    )
    assert _fully_visible(page, "#log > .msg:last-child")
    assert _fully_visible(page, "#log > .msg:last-child .actions button:last-child")
    _last_bot(page).get_by_role("button", name="3. Đăng ký lại khai sinh").click()
    page.locator(".msg.user").filter(has_text="3. Đăng ký lại khai sinh").wait_for()
    page.wait_for_function("document.querySelectorAll('.msg.pending').length === 0")
    assert answerer.questions[-1].text == "3"
    sessions = {q.user_id for q in answerer.questions}
    assert len(sessions) == 1 and "127.0.0.1" not in sessions

    # Links in answers are clickable, only http(s), and markup in an answer stays text.
    _ask(page, LINKS)
    linked = page.locator(".msg.bot").filter(has_text="Xem hướng dẫn")
    linked.wait_for(timeout=10_000)
    assert HOSTILE in linked.inner_text()
    assert page.locator("#log img").count() == 0
    assert page.evaluate("window.__pwned") is None
    hrefs = linked.locator("a").evaluate_all("links => links.map(a => a.href)")
    assert hrefs == [f"http://127.0.0.1:{served.port}/healthz"]
    assert linked.locator("a").get_attribute("rel") == "noopener noreferrer"
    with context.expect_page() as popup_info:
        linked.locator("a").click()
    popup = popup_info.value
    popup.wait_for_load_state()
    assert json.loads(popup.inner_text("body")) == {"status": "ok"}
    popup.close()

    # The limit is shown while typing; over it, the server's 413 is explained and the text
    # stays in the box to be shortened.
    assert page.locator("#count").inner_text() == "0/2.000 ký tự"
    page.fill("#q", "a" * 1500)
    assert page.locator("#count").inner_text() == "1.500/2.000 ký tự"
    too_long = "Cho hỏi " + "rất " * (MAX_MESSAGE // 4)
    page.fill("#q", too_long)
    count = page.locator("#count")
    assert count.get_attribute("class") == "over"
    typed = len(too_long.strip())
    assert count.inner_text().startswith(f"{typed:,}/2.000".replace(",", "."))
    asked = len(answerer.questions)
    page.press("#q", "Enter")
    page.locator(".msg.bot").filter(has_text=texts.TOO_LONG).wait_for(timeout=10_000)
    assert page.locator("#q").input_value() == too_long.strip()
    assert len(answerer.questions) == asked

    # Server down: the typed text is kept and "Thử lại" works once the server is back.
    served.stop()
    page.fill("#q", FEE)
    page.press("#q", "Enter")
    retry = page.get_by_role("button", name="Thử lại")
    retry.wait_for(timeout=15_000)
    assert page.locator("#q").input_value() == FEE
    assert _fully_visible(page, "#log > .msg:last-child")
    width, height = size
    page.screenshot(path=str(_screenshot_dir(tmp_path) / f"webchat-offline-{width}x{height}.png"))
    served.start()
    retry.click()
    page.locator(".msg.bot").filter(has_text="10.000 đồng").nth(1).wait_for(timeout=10_000)
    assert page.locator("#q").input_value() == "" and retry.count() == 0
    assert answerer.questions[-1].text == FEE

    assert _axe_serious(page) == []
    assert navigations == [] and errors == []
    page.screenshot(path=str(_screenshot_dir(tmp_path) / f"webchat-{width}x{height}.png"))
    context.close()


class _DepartmentSite(http.server.BaseHTTPRequestHandler):
    """A department's page on another origin, with the README's one script tag."""

    widget_src = ""

    def do_GET(self) -> None:
        page = (
            '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>Sở Tư pháp</title></head><body><main><h1>Sở Tư pháp</h1>"
            "<p>Trang thông tin của sở.</p></main>"
            f'<script src="{self.widget_src}" async></script></body></html>'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def department(served: Served) -> Iterator[str]:
    class Site(_DepartmentSite):
        widget_src = f"http://bot.test:{served.port}/widget.js"

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Site)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    yield f"http://dept.test:{site.server_address[1]}/"
    site.shutdown()
    site.server_close()
    thread.join(timeout=10)


@pytest.mark.parametrize("size", SIZES)
def test_widget_on_another_site_with_storage_blocked(
    playwright: Any,
    served: Served,
    answerer: FakeAnswerer,
    department: str,
    tmp_path: Path,
    size: tuple[int, int],
) -> None:
    context = _context(playwright, tmp_path / "profile", size)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(department)
    page.get_by_role("button", name="Hỏi đáp thủ tục").click()
    toggle = page.locator("button[aria-controls='tthc-widget-frame']")
    assert toggle.get_attribute("aria-expanded") == "true"
    assert toggle.inner_text() == "Đóng hỏi đáp"
    frame_element = page.locator("#tthc-widget-frame")
    assert frame_element.is_visible()
    frame = frame_element.element_handle().content_frame()
    frame.wait_for_selector("#q")
    chat_url = f"http://bot.test:{served.port}/"
    assert frame.url == chat_url
    # The browser really refuses storage to this third-party frame...
    refused = frame.evaluate(
        "() => { try { localStorage.getItem('x'); return 'allowed'; }"
        " catch (e) { return e.name; } }"
    )
    assert refused == "SecurityError"
    # ...and the chat still answers, keeping one session for the conversation in memory.
    navigations: list[str] = []
    page.on("framenavigated", lambda f: navigations.append(f.url))
    # One question at a time, as a citizen does: while an answer is pending the chat keeps a
    # newly typed question in the box instead of sending it.
    frame.fill("#q", FEE)
    frame.press("#q", "Enter")
    frame.locator(".msg.bot").filter(has_text="10.000 đồng").wait_for(timeout=10_000)
    frame.fill("#q", CHOICES)
    frame.press("#q", "Enter")
    frame.locator(".msg.bot .actions button").filter(has_text="4.").wait_for(timeout=10_000)
    assert frame.locator(".msg.bot").filter(has_text="10.000 đồng").count() == 1
    assert navigations == [] and frame.url == chat_url
    assert [q.text for q in answerer.questions] == [FEE, CHOICES]
    assert len({q.user_id for q in answerer.questions}) == 1
    assert frame.evaluate(
        "() => { const b = [...document.querySelectorAll('.msg.bot .actions button')].pop();"
        " const r = b.getBoundingClientRect(); return r.bottom <= innerHeight &&"
        " r.bottom <= document.getElementById('ask').getBoundingClientRect().top + 1; }"
    )
    assert _axe_serious(frame) == []
    assert errors == []
    width, height = size
    page.screenshot(path=str(_screenshot_dir(tmp_path) / f"widget-{width}x{height}.png"))
    context.close()


def test_the_accessibility_check_can_fail(playwright: Any, tmp_path: Path) -> None:
    """The vendored axe-core really reports an unlabelled input as a serious problem."""
    context = _context(playwright, tmp_path / "profile", (1280, 800))
    page = context.new_page()
    page.set_content('<!doctype html><html lang="vi"><title>x</title><main><input></main></html>')
    assert "label" in {v["id"] for v in _axe_serious(page)}
    context.close()
