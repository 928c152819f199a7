"""Plan editing in real headless Chromium: find a plan by a word of its text, change a
passage and add a sub-item in the form, send it for review; another person publishes.
Also the procedure form's new rows (a document, a legal basis) as a browser submits them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from knowledge.codec import to_json
from knowledge.db import transaction
from knowledge.records import LegalBasisData, PlanSection, ProcedureData
from knowledge.repository import KnowledgeRepository
from tests.bot.admin.conftest import PLAN, seed_plan
from tests.bot.admin.test_upload_browser import _login
from tests.bot.test_webchat_browser import Served, _port, _screenshot_dir

OLD = "Đăng tải thủ tục hành chính mới trên Trang thông tin điện tử của Sở."
NEW = "Đăng tải thủ tục hành chính mới trên Trang thông tin điện tử và Fanpage của Sở."


def _seed(factory: sessionmaker[Session]) -> None:
    seed_plan(
        factory,
        [
            PlanSection(
                "I.", "NỘI DUNG", children=[PlanSection("1.", "Hình thức tuyên truyền", OLD)]
            )
        ],
        ProcedureData(
            code="1.001193",
            name="Đăng ký khai sinh",
            legal_bases=[LegalBasisData("60/2014/QH13", "Luật Hộ tịch")],
        ),
    )


def test_plan_passage_edited_in_the_browser(
    web: Any,
    factory: sessionmaker[Session],
    browser: Any,
    tmp_path: Path,
) -> None:
    _seed(factory)
    shots = _screenshot_dir(tmp_path)
    server = Served(web, _port())
    server.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        editor = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        _login(editor, base, "lan")
        editor.click("nav >> text=Kế hoạch")
        editor.fill("#q", "trang thong tin dien tu")
        editor.click("button:has-text('Tìm')")
        row = editor.locator("main table tbody tr", has_text=PLAN)
        assert row.count() == 1 and "30/12/2019" in row.inner_text()
        row.locator("a:has-text('Sửa')").click()
        editor.wait_for_url(lambda url: "/admin/edit/plan?key=" in url)
        assert editor.input_value("#sec1_text") == OLD
        editor.fill("#sec1_text", NEW)
        # The blank last row becomes a new item under "1.".
        editor.fill("#sec2_level", "2")
        editor.fill("#sec2_marker", "a)")
        editor.fill("#sec2_heading", "Tuyên truyền trên Zalo OA của Sở")
        editor.fill("#note", "Bổ sung kênh tuyên truyền")
        editor.screenshot(path=str(shots / "plan-edit.png"), full_page=True)
        editor.click("button[name=action][value=submit]")
        editor.wait_for_url(f"{base}/admin/changes/*")
        assert editor.inner_text("#change-status") == "chờ duyệt"
        diff = editor.inner_text("#diff")
        assert "Fanpage" in diff and "Tuyên truyền trên Zalo OA" in diff

        # The procedure form: a legal basis typed with a lower-case symbol.
        editor.goto(f"{base}/admin/edit/procedure?key=1.001193")
        editor.fill("[name=basis1_number]", "123/2015/nđ-cp")
        editor.fill("[name=basis1_title]", "Nghị định quy định chi tiết Luật Hộ tịch")
        editor.fill("[name=doc0_name]", "Tờ khai đăng ký khai sinh")
        editor.select_option("[name=doc0_required]", "yes")
        editor.click("button[name=action][value=submit]")
        editor.wait_for_url(f"{base}/admin/changes/*")
        assert "123/2015/NĐ-CP" in editor.inner_text("#diff")

        reviewer = browser.new_context().new_page()
        _login(reviewer, base, "minh")
        for status_page in ("plan", "procedure"):
            reviewer.goto(f"{base}/admin/changes?status=submitted&kind={status_page}")
            reviewer.click("main table a[href*='/admin/changes/']")
            reviewer.click("button:has-text('Duyệt và xuất bản')")
            reviewer.locator("#change-status", has_text="đã xuất bản").wait_for()
    finally:
        server.stop()
    with transaction(factory) as session:
        repo = KnowledgeRepository(session)
        plan = to_json(repo.get("plan", PLAN))
        procedure = to_json(repo.get("procedure", "1.001193"))
    item = plan["sections"][0]["children"][0]
    assert item["text"] == NEW
    assert [c["heading"] for c in item["children"]] == ["Tuyên truyền trên Zalo OA của Sở"]
    assert [b["number"] for b in procedure["legal_bases"]] == ["60/2014/QH13", "123/2015/NĐ-CP"]
    assert procedure["documents"][0]["required"] is True
