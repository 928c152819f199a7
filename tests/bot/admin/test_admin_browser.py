"""The whole staff flow in real headless Chromium against the real app under uvicorn.

An editor changes the online fee of "Đăng ký thường trú" (1.004222) from 10.000 to
55.000 đồng and submits; a reviewer (another account) approves and publishes; the
index of the small real knowledge base is rebuilt (``tthc index build``, the real
model) and the new fee shows in ``tthc ask`` and on the web chat of the same running
server (it switches generation without restart); the reviewer rolls back, the index
is rebuilt, and the old fee is back. Screenshots go to ``$TTHC_TEST_SCREENSHOT_DIR``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.app import build_assistant, build_web_app
from bot.cli import main
from bot.settings import ServerSettings
from tests.bot.test_webchat_browser import (
    Served,
    _port,
    _screenshot_dir,
)
from tests.fakes import FakeIndexRefresh

CODE = "1.004222"
QUESTION = "Đăng ký thường trú nộp online thì lệ phí bao nhiêu?"
PASSWORD = "mật khẩu thử nghiệm 2026"


@pytest.fixture
def data_dir(
    small_real_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A private copy of the small real knowledge base and its index (this test writes)."""
    target = tmp_path / "data"
    shutil.copytree(small_real_env["TTHC_DATA_DIR"], target, symlinks=True)
    monkeypatch.setenv("TTHC_DATA_DIR", str(target))
    monkeypatch.setenv("TTHC_ADMIN_SECRET_KEY", "e2e-secret-key-long-enough-0123456789abcdef")
    monkeypatch.setenv("TTHC_ADMIN_SECURE_COOKIES", "false")
    return target


def _cli(*args: str, stdin: str | None = None) -> str:
    result = CliRunner().invoke(main, list(args), input=stdin)
    assert result.exit_code == 0, result.output
    return result.output


def _login(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/admin/")
    assert "/admin/login" in page.url
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Đăng nhập')")
    page.wait_for_url(f"{base}/admin/")


def _chat_fee(page: Any, base: str, fee: str) -> None:
    page.goto(base + "/")
    page.fill("#q", QUESTION)
    page.press("#q", "Enter")
    page.locator(".msg.bot").filter(has_text=fee).wait_for(timeout=20_000)


def test_fee_edit_review_publish_ask_rollback(
    data_dir: Path, browser: Any, tmp_path: Path
) -> None:
    shots = _screenshot_dir(tmp_path)
    for name, role in (("lan", "editor"), ("minh", "reviewer")):
        _cli("admin", "create-user", name, "--role", role, "--password-stdin", stdin=PASSWORD)
    assert "10.000 đồng" in _cli("ask", QUESTION)

    assistant = build_assistant()
    refresh = FakeIndexRefresh()
    app = build_web_app(assistant, ServerSettings(), index_refresh=refresh)
    server = Served(app, _port())
    server.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        editor = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        _login(editor, base, "lan")
        editor.goto(f"{base}/admin/procedures?q={CODE}")
        editor.click(f"a:has-text('{CODE}')")
        assert "10.000 đồng" in editor.locator("#fees").inner_text()
        editor.click("text=Sửa thủ tục")
        online = editor.locator("fieldset", has_text="Nộp trực tuyến")
        online.locator("input[name$='_amount'][value='10.000']").fill("55.000")
        editor.fill("#note", "Mức thu mới theo nghị quyết của HĐND tỉnh")
        editor.screenshot(path=str(shots / "admin-edit.png"), full_page=True)
        editor.click("button:has-text('Lưu và gửi duyệt')")
        editor.wait_for_url(f"{base}/admin/changes/*")
        assert editor.locator("#change-status").inner_text() == "chờ duyệt"
        change_url = editor.url
        assert "Duyệt và xuất bản" not in editor.content()

        reviewer = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        _login(reviewer, base, "minh")
        assert reviewer.locator("#count-submitted").inner_text() == "1"
        reviewer.goto(change_url)
        diff = reviewer.locator("#diff").inner_text()
        assert "10.000 đồng" in diff and "55.000 đồng" in diff
        reviewer.fill("#approve-comment", "Đã đối chiếu nghị quyết")
        reviewer.click("button:has-text('Duyệt và xuất bản')")
        reviewer.locator("#change-status", has_text="đã xuất bản").wait_for()
        assert refresh.requests == [f"procedure {CODE} published"]

        _cli("index", "build")
        assert "55.000 đồng" in _cli("ask", QUESTION)
        _chat_fee(editor, base, "55.000 đồng")
        editor.screenshot(path=str(shots / "admin-chat-new-fee.png"), full_page=True)

        reviewer.goto(f"{base}/admin/history/procedure?key={CODE}")
        reviewer.screenshot(path=str(shots / "admin-history.png"), full_page=True)
        restore = reviewer.locator("section.revision").nth(1).locator("button")
        restore.click()
        reviewer.locator(".flash.ok", has_text="Đã khôi phục").wait_for()

        _cli("index", "build")
        answer = _cli("ask", QUESTION)
        assert "10.000 đồng" in answer and "55.000" not in answer
        _chat_fee(editor, base, "10.000 đồng")
    finally:
        server.stop()
        assistant.close()
