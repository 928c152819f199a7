"""The real server killed under load: every acknowledged event is answered exactly once.

``tthc serve`` runs as a subprocess (SQLite, the real engine over a small real index,
the reply jobs in-process) with the Zalo Bot channel pointed at a fake Bot API on
loopback. Events arrive from several threads; the server is killed (SIGKILL, or
SIGTERM for a graceful stop) while it answers, restarted, and the platform redelivers
everything (as it does for what got no 200). Then each chat must hold its reply once.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.bot.channels.test_delivery import HEADERS, PATH, SECRET, TOKEN, Faults, FaultyBotAPI
from tests.bot.channels.test_delivery import update as bot_update

EVENTS = 40
QUESTIONS = ("lệ phí cấp hộ chiếu", "đăng ký thường trú cần giấy tờ gì", "xin chào")


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise AssertionError(process.stderr.read().decode() if process.stderr else "died")
        time.sleep(0.2)
    process.kill()
    raise AssertionError("the server did not become ready")


def _post(port: int, n: int) -> int:
    body = bot_update(f"crash-{n}", QUESTIONS[n % len(QUESTIONS)], chat=f"chat-{n}")
    try:
        response = httpx.post(
            f"http://127.0.0.1:{port}{PATH}", content=body, headers=HEADERS, timeout=10
        )
    except httpx.HTTPError:
        return 0  # the server died with the request: not acknowledged
    return response.status_code


@pytest.mark.parametrize(
    ("stop", "engine_processes"),
    [(signal.SIGKILL, "0"), (signal.SIGTERM, "1")],
    ids=["kill-9", "sigterm-engine-process"],
)
def test_every_acknowledged_event_is_answered_once_across_a_crash(
    small_real_env: dict[str, str], tmp_path: Path, stop: signal.Signals, engine_processes: str
) -> None:
    faults = Faults()
    faults.delay = 0.05  # a platform that takes its time: sends are in flight when we stop
    with FaultyBotAPI(faults).running() as platform:
        database = tmp_path / "crash.sqlite3"
        env = dict(small_real_env) | {
            "TTHC_DATABASE_URL": f"sqlite:///{database}",
            "TTHC_RATE_LIMIT_PER_MINUTE": "1000",
            "ZALO_BOT_TOKEN": TOKEN,
            "ZALO_BOT_WEBHOOK_SECRET": SECRET,
            "ZALO_BOT_API_BASE_URL": platform.base_url,
            "OMP_NUM_THREADS": "1",
            "TTHC_ENGINE_PROCESSES": engine_processes,
        }
        port = _port()
        server = _start(env, port)
        statuses: dict[int, int] = {}
        try:
            with ThreadPoolExecutor(max_workers=4) as pool:
                futures = {n: pool.submit(_post, port, n) for n in range(EVENTS)}
                # Stop the server once some replies went out and others are waiting.
                deadline = time.monotonic() + 60
                while len(faults.to_chats) < 3 and time.monotonic() < deadline:
                    time.sleep(0.01)
                os.kill(server.pid, stop)
                statuses = {n: f.result() for n, f in futures.items()}
            server.wait(timeout=60)
        finally:
            if server.poll() is None:
                server.kill()
        acknowledged = {n for n, status in statuses.items() if status == 200}
        assert acknowledged, "nothing was acknowledged before the stop"
        before_restart = len(faults.to_chats)
        answered_before = {chat for chat, _ in faults.to_chats}
        if stop == signal.SIGKILL:
            # The kill left acknowledged events unanswered: the restart has work to resume.
            # (SIGTERM lets running replies finish first, so it may leave nothing.)
            assert len(answered_before) < len(acknowledged)

        server = _start(env, port)
        try:
            # The platform redelivers everything (unacknowledged events for real).
            with ThreadPoolExecutor(max_workers=4) as pool:
                redelivered = list(pool.map(lambda n: _post(port, n), range(EVENTS)))
            assert redelivered == [200] * EVENTS
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                with sqlite3.connect(database) as conn:
                    waiting = conn.execute(
                        "SELECT count(*) FROM inbox_events WHERE status IN ('received','replying')"
                    ).fetchone()[0]
                if waiting == 0:
                    break
                time.sleep(0.2)
            assert waiting == 0
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)

    with sqlite3.connect(database) as conn:
        rows = conn.execute(
            "SELECT key, status, uncertain_parts FROM inbox_events WHERE channel = 'zalo-bot'"
        ).fetchall()
    assert len(rows) == EVENTS  # one row per event, whatever was redelivered
    assert {status for _, status, _ in rows} == {"answered"}
    uncertain = {key.rsplit(":", 1)[-1] for key, _, parts in rows if parts}
    per_chat = Counter(chat for chat, _ in faults.to_chats)
    texts_per_chat = Counter(faults.to_chats)
    assert all(count == 1 for count in texts_per_chat.values()), "a part was sent twice"
    for n in range(EVENTS):
        # A part left in flight by the kill is counted as sent (never resent): that
        # chat may miss it, and the row says so.
        assert per_chat[f"chat-{n}"] >= 1 or f"crash-{n}" in uncertain, n
    assert before_restart < len(faults.to_chats)
