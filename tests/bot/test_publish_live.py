"""A published fee change reaches the bot by itself: the refresh builds in a child
process, and both an in-process engine (``tthc serve``/``tthc worker`` without engine
processes) and the engine child processes (``EnginePool``) answer with the new fee,
without a restart."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import pytest

from bot.app import build_assistant
from bot.engine.model import Question
from bot.engine_process import EnginePool, warm_up
from indexer.refresh import BackgroundIndexRefresh
from knowledge.codec import from_json, to_json
from knowledge.db import make_engine, make_session_factory, transaction
from knowledge.repository import KnowledgeRepository
from tests.bot.replies import CITED

QUESTION = "Đăng ký thường trú thì lệ phí bao nhiêu?"
NEW_FEE = 7_654_000


def test_published_fee_is_answered_without_restart(
    small_real_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "var"
    shutil.copytree(small_real_env["TTHC_DATA_DIR"], data_dir, symlinks=True)
    monkeypatch.setenv("TTHC_DATA_DIR", str(data_dir))
    assistant = build_assistant(shared_state=True)
    pool = EnginePool(1)
    database = make_engine(f"sqlite:///{data_dir / 'tthc.sqlite3'}")
    factory = make_session_factory(database)
    refresh = BackgroundIndexRefresh(
        index_dir=data_dir / "index", factory=factory, debounce_seconds=0.1
    )
    try:

        async def ask(user: str) -> tuple[str, str]:
            await warm_up(pool)
            remote = await pool.answer(Question(text=QUESTION, user_id=f"pool-{user}"))
            local = assistant.engine.answer(Question(text=QUESTION, user_id=f"local-{user}"))
            return remote.text, local.text

        remote, local = asyncio.run(ask("before"))
        (code,) = set(CITED.findall(remote))
        assert "7.654.000" not in remote + local

        with transaction(factory) as session:
            repo = KnowledgeRepository(session)
            data = to_json(repo.get("procedure", code))
            fee = next(f for c in data["channels"] for f in c["fees"] if f.get("amount_vnd"))
            fee.update(amount_vnd=NEW_FEE, meaning="amount")
            repo.upsert([from_json("procedure", data)], author="nguoi.duyet")
        before = refresh.status()
        assert before["outdated"] is True
        published = time.monotonic()
        refresh.request(f"xuất bản {code}")
        deadline = published + 120
        while True:
            status = refresh.status()
            if status["state"] == "idle" and not status["outdated"]:
                break
            assert status["state"] != "failed", status
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
        serving = status["serving"]
        assert isinstance(serving, dict)
        assert serving["generation"] != before["serving"]["generation"]  # type: ignore[index]

        remote, local = asyncio.run(ask("after"))
        assert "7.654.000 đồng" in remote, remote
        assert "7.654.000 đồng" in local, local
        assert set(CITED.findall(remote)) == {code}
    finally:
        refresh.close()
        pool.shutdown()
        assistant.close()
        database.dispose()
