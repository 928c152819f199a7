"""Two web processes and a worker on PostgreSQL, faults on the way; nothing lost or doubled.

Real processes: two ``tthc serve`` (webhooks only, ``TTHC_WORKER_IN_PROCESS=false``) and
``tthc worker`` processes, all on one PostgreSQL database reached through a TCP relay
on loopback that the test can cut (PostgreSQL "stopped" for the others, while the
server itself keeps serving the rest of the suite). The Zalo Bot channel talks to a
fake Bot API. Events go to either web process, a share of them delivered to both.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, make_url, text

from tests.bot.channels.test_crash import QUESTIONS, _port
from tests.bot.channels.test_delivery import HEADERS, PATH, SECRET, TOKEN, Faults, FaultyBotAPI
from tests.bot.channels.test_delivery import update as bot_update

pytestmark = pytest.mark.postgres

EVENTS = 30


class Relay:
    """A TCP relay to PostgreSQL that can be cut: while cut, connections are refused and
    the open ones dropped (what the other processes see when the server stops)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = _port()
        self._cut = threading.Event()
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> Relay:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._drop_all()
        self._thread.join(timeout=5)

    def cut(self) -> None:
        self._cut.set()
        self._drop_all()

    def restore(self) -> None:
        self._cut.clear()

    def _drop_all(self) -> None:
        with self._lock:
            for sock in self._sockets:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def _serve(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            if self._cut.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
        listener.close()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                readable, _, _ = select.select([a, b], [], [], 1.0)
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    (b if source is a else a).sendall(data)
        except OSError:
            return
        finally:
            for sock in (a, b):
                with suppress(OSError):
                    sock.close()


#: Where the processes' stderr goes (a file: a pipe nobody reads would fill and block).
LOG = Path("/dev/null")


def _spawn(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    with LOG.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


def _ready(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert process.poll() is None, LOG.read_text(errors="replace")[-3000:]
        time.sleep(0.2)
    raise AssertionError("a web process did not become ready")


@contextmanager
def stopped_at_exit(processes: list[subprocess.Popen[bytes]]) -> Iterator[None]:
    try:
        yield
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _post(port: int, n: int) -> int:
    body = bot_update(f"scale-{n}", QUESTIONS[n % len(QUESTIONS)], chat=f"chat-{n}")
    try:
        response = httpx.post(
            f"http://127.0.0.1:{port}{PATH}", content=body, headers=HEADERS, timeout=10
        )
    except httpx.HTTPError:
        return 0
    return response.status_code


def _waiting(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM inbox_events "
                        "WHERE status IN ('received', 'replying')"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_two_web_processes_and_workers_answer_each_event_once_through_faults(
    small_real_env: dict[str, str], postgres_server_url: str, tmp_path: Path
) -> None:
    global LOG
    LOG = tmp_path / "processes.log"
    admin = create_engine(postgres_server_url)
    with admin.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    admin.dispose()
    real = make_url(postgres_server_url)
    faults = Faults()
    faults.delay = 0.05
    with Relay((real.host or "127.0.0.1", real.port or 5432)) as relay, FaultyBotAPI(
        faults
    ).running() as platform:
        url = real.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
        env = dict(small_real_env) | {
            "TTHC_DATABASE_URL": url,
            "TTHC_RATE_LIMIT_PER_MINUTE": "1000",
            "TTHC_WORKER_IN_PROCESS": "false",
            "TTHC_INBOX_LEASE_SECONDS": "4",
            "TTHC_STALLED_WORKER_SECONDS": "3",
            "TTHC_RECOVER_CRON": "* * * * * *",
            "TTHC_REPLY_BACKOFF_BASE_SECONDS": "0.2",
            "TTHC_REPLY_BACKOFF_CAP_SECONDS": "1",
            "ZALO_BOT_TOKEN": TOKEN,
            "ZALO_BOT_WEBHOOK_SECRET": SECRET,
            "ZALO_BOT_API_BASE_URL": platform.base_url,
            "OMP_NUM_THREADS": "1",
        }
        subprocess.run(
            [sys.executable, "-m", "bot.cli", "kb", "init"], env=env, check=True, timeout=120
        )
        ports = [_port(), _port()]
        webs = [_spawn(env, "serve", "--port", str(port)) for port in ports]
        worker = _spawn(env, "worker")
        processes = [*webs, worker]
        with stopped_at_exit(processes):
            for port, web in zip(ports, webs, strict=True):
                _ready(port, web)

            # 1. Load through both web processes, a third of it delivered to both; the
            #    worker is killed while it sends, and a new one takes over.
            with ThreadPoolExecutor(max_workers=6) as pool:
                first = list(pool.map(lambda n: _post(ports[n % 2], n), range(EVENTS)))
                again = list(pool.map(lambda n: _post(ports[1 - n % 2], n), range(0, EVENTS, 3)))
            assert first == [200] * EVENTS and again == [200] * len(again)
            deadline = time.monotonic() + 60
            while len(faults.to_chats) < 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
            assert _waiting(url) > 0  # work was left behind by the killed worker
            worker = _spawn(env, "worker")
            processes.append(worker)

            # 2. PostgreSQL "stops" for a while: webhooks say 503 (never 500), nothing
            #    acknowledged is lost; the platform redelivers after it is back.
            relay.cut()
            down = [_post(ports[n % 2], EVENTS + n) for n in range(6)]
            assert set(down) <= {503}, down
            time.sleep(3)
            relay.restore()
            redelivered = [_post(ports[n % 2], EVENTS + n) for n in range(6)]
            assert redelivered == [200] * 6

            deadline = time.monotonic() + 180
            while _waiting(url) and time.monotonic() < deadline:
                time.sleep(0.5)
            assert _waiting(url) == 0, LOG.read_text(errors="replace")[-3000:]

    engine = create_engine(postgres_server_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT key, status, uncertain_parts FROM inbox_events")).all()
    engine.dispose()
    total = EVENTS + 6
    assert len(rows) == total
    assert {status for _, status, _ in rows} == {"answered"}
    uncertain = {key.rsplit(":", 1)[-1] for key, _, parts in rows if parts}
    assert all(n == 1 for n in Counter(faults.to_chats).values()), "a part was sent twice"
    per_chat = Counter(chat for chat, _ in faults.to_chats)
    for n in range(total):
        assert per_chat[f"chat-{n}"] >= 1 or f"scale-{n}" in uncertain, n
