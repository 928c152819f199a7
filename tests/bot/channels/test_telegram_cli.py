"""`tthc telegram set-webhook`, `tthc telegram poll` and /subscribe against a fake Bot API."""

from __future__ import annotations

import html
import json
import sqlite3
from pathlib import Path
from typing import Any

from indexer.components import make_retriever
from indexer.settings import IndexSettings
from tests.bot.channels import fake_telegram as tg
from tests.bot.channels.harness import FakePlatform
from tests.bot.replies import check_fee_answer
from tests.conftest import run_tthc


class PollingBotAPI(tg.BotAPI):
    """The fake Bot API plus getUpdates (one batch, then nothing) and deleteWebhook."""

    def __init__(self, updates: list[dict[str, Any]]) -> None:
        super().__init__()
        self.updates = updates

    def __call__(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        method = path.rsplit("/", 1)[-1]
        if method == "getUpdates":
            batch, self.updates = self.updates, []
            return 200, {"ok": True, "result": batch}
        if method == "deleteWebhook":
            return 200, {"ok": True, "result": True}
        return super().__call__(path, body)


def _env(base: dict[str, str], platform: FakePlatform) -> dict[str, str]:
    return {
        **base,
        "TELEGRAM_BOT_TOKEN": tg.TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": tg.SECRET,
        "TELEGRAM_API_BASE_URL": f"{platform.base_url}/bot",
    }


def test_set_webhook(small_real_env: dict[str, str]) -> None:
    with FakePlatform(PollingBotAPI([])).running() as platform:
        out = run_tthc(
            _env(small_real_env, platform),
            "telegram",
            "set-webhook",
            "https://example.gov.vn/webhooks/telegram",
        )
        assert "Đã đăng ký webhook." in out
        body = tg.calls(platform, "setWebhook")[0]
        assert body["url"] == "https://example.gov.vn/webhooks/telegram"
        assert body["secret_token"] == tg.SECRET
        assert json.loads(body["allowed_updates"]) == ["message", "callback_query"]


def test_poll_once_answers_and_subscribes(small_real_env: dict[str, str]) -> None:
    updates = [
        json.loads(tg.text_update("7001", "Đăng ký thường trú nộp online thì lệ phí bao nhiêu?")),
        json.loads(tg.text_update("7002", "/subscribe")),
    ]
    with FakePlatform(PollingBotAPI(updates)).running() as platform:
        run_tthc(_env(small_real_env, platform), "telegram", "poll", "--once", "--timeout", "0")
        replies = [html.unescape(t) for t in tg.replies(platform)]
        # One reply per update: the fee answer (whichever near-tied record ranks first)
        # and the subscription confirmation.
        assert len(replies) == 2, replies
        confirmations = [r for r in replies if r.startswith("Bạn đã đăng ký nhận thông báo")]
        assert len(confirmations) == 1, replies
        retriever = make_retriever(IndexSettings(data_dir=Path(small_real_env["TTHC_DATA_DIR"])))
        answer = next(r for r in replies if r not in confirmations)
        check_fee_answer(answer, lambda code: retriever.record("procedure", code))
        assert tg.calls(platform, "deleteWebhook")
    db = sqlite3.connect(Path(small_real_env["TTHC_DATA_DIR"]) / "tthc.sqlite3")
    rows = db.execute("SELECT channel, user_id FROM subscriptions").fetchall()
    assert ("telegram", str(tg.USER_ID)) in rows
