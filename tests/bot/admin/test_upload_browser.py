"""Upload with preview in real headless Chromium: an editor uploads the readable
workbook with one fee edited, sees the readable diff, applies; a reviewer approves and
the fee is published."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from knowledge.codec import to_json
from knowledge.db import transaction
from knowledge.records import ChannelData, FeeData, ProcedureData
from knowledge.repository import KnowledgeRepository
from tests.bot.admin.conftest import PASSWORD
from tests.bot.admin.upload_helpers import edited_workbook
from tests.bot.test_webchat_browser import Served, _port

CODE = "1.004222"


@pytest.fixture(autouse=True)
def knowledge(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        KnowledgeRepository(session).upsert(
            [
                ProcedureData(
                    code=CODE,
                    name="Đăng ký thường trú",
                    fields=["Đăng ký, quản lý cư trú"],
                    channels=[
                        ChannelData(
                            "truc_tuyen", 7, "working_day", "", (FeeData("Lệ phí", 10000),)
                        ),
                    ],
                    dataset="dvcqg_opengov_details",
                ),
            ],
            author="import",
        )


def _login(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/admin/")
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Đăng nhập')")
    page.wait_for_url(f"{base}/admin/")


def test_upload_preview_apply_review(
    web: Any,
    factory: sessionmaker[Session],
    browser: Any,
    tmp_path: Path,
) -> None:
    workbook = tmp_path / "thu-tuc-sua.xlsx"
    workbook.write_bytes(edited_workbook(factory, CODE, "Trực tuyến", 10000, 55000))
    server = Served(web, _port())
    server.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        editor = browser.new_context().new_page()
        _login(editor, base, "lan")
        editor.click("nav >> text=Nhập tệp")
        editor.set_input_files("#file", str(workbook))
        editor.click("button:has-text('Tải lên và xem trước')")
        preview = editor.locator("#preview")
        preview.wait_for()
        assert editor.locator("#count-changed").inner_text() == "1"
        diff = preview.locator(f"[data-key='{CODE}'] table").inner_text()
        assert "10.000 đồng" in diff and "55.000 đồng" in diff
        editor.fill("#note", "Mức thu mới theo nghị quyết")
        editor.click("button:has-text('Áp dụng')")
        editor.wait_for_url(f"{base}/admin/changes?status=submitted")
        assert "Đã tạo 1 đề xuất" in editor.locator(".flash.ok").inner_text()

        reviewer = browser.new_context().new_page()
        _login(reviewer, base, "minh")
        reviewer.goto(f"{base}/admin/changes?status=submitted")
        reviewer.click("main table a[href*='/admin/changes/']")
        assert "55.000 đồng" in reviewer.locator("#diff").inner_text()
        reviewer.click("button:has-text('Duyệt và xuất bản')")
        reviewer.locator("#change-status", has_text="đã xuất bản").wait_for()
    finally:
        server.stop()
    with transaction(factory) as session:
        data = to_json(KnowledgeRepository(session).get("procedure", CODE))
    assert data["channels"][0]["fees"][0]["amount_vnd"] == 55000
