"""Delivery under load and faults, with real processes; prints its figures.

    python bench/delivery.py [--events 200] [--concurrency 16] [--rate 15] [--short]
                             [--scenarios baseline,platform_500,...] [--soak-seconds 600]

Needs a built index (`make run`; its folder is TTHC_DATA_DIR, default var/) and, for
the scale-out scenarios, PostgreSQL on 127.0.0.1:5432 (a database `tthc_bench` is
created and emptied). Every scenario starts fresh processes: `tthc serve` on SQLite
(one process, replies in-process), or two `tthc serve` (webhooks only) and two
`tthc worker` on PostgreSQL reached through a TCP relay the bench can cut. The Zalo Bot
channel points at a fake Bot API on loopback (from the test suite) whose faults the
scenarios switch on. A load generator posts signed events (one chat per event, a tenth
delivered twice), then, as a platform does, redelivers what got no 200.

For each scenario: webhooks acknowledged per second, acknowledgement p50/p95 (ms),
end-to-end replies per second, and the two numbers that must be 0: acknowledged events
left without any reply (``lost``, as the fake platform saw it), and messages delivered
twice (``doubled``); ``uncertain`` counts parts a crash or a timeout left with an
unknown fate, which were therefore not sent again.
``--short`` shortens the faults (3 s instead of 30 s, Retry-After 3 s instead of 35 s)
for a quick run; the defaults are the issue's.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from sqlalchemy import create_engine, make_url, text  # noqa: E402

from tests.bot.channels.test_crash import _port  # noqa: E402
from tests.bot.channels.test_delivery import (  # noqa: E402
    HEADERS,
    PATH,
    SECRET,
    TOKEN,
    Faults,
    FaultyBotAPI,
)
from tests.bot.channels.test_delivery import update as bot_update  # noqa: E402
from tests.bot.channels.test_scale_out import Relay  # noqa: E402

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"
#: TTHC_ENGINE_PROCESSES of the started processes (``--engine-processes``; None: default).
ENGINE_PROCESSES: int | None = None
QUESTIONS = (
    "lệ phí cấp hộ chiếu phổ thông",
    "đăng ký thường trú cần giấy tờ gì",
    "làm căn cước mất bao lâu",
    "thủ tục đăng ký khai sinh",
    "xin chào",
)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


@dataclass
class Deployment:
    """The processes of one scenario and how to reach them."""

    env: dict[str, str]
    ports: list[int]
    database: str
    scale: bool
    relay: Relay | None = None
    webs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", *args],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=REPO,
        )

    def start_web(self, index: int) -> None:
        process = self.spawn("serve", "--port", str(self.ports[index]))
        if index < len(self.webs):
            self.webs[index] = process
        else:
            self.webs.append(process)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                url = f"http://127.0.0.1:{self.ports[index]}/readyz"
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit("a web process did not become ready")

    def start_worker(self, index: int) -> None:
        process = self.spawn("worker")
        if index < len(self.workers):
            self.workers[index] = process
        else:
            self.workers.append(process)

    def rss_mb(self) -> float:
        """Resident memory of every started process and its children (engine processes)."""
        pids = [p.pid for p in [*self.webs, *self.workers]]
        total, seen = 0, set()
        while pids:
            pid = pids.pop()
            if pid in seen:
                continue
            seen.add(pid)
            status = Path(f"/proc/{pid}/status")
            children = Path(f"/proc/{pid}/task/{pid}/children")
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                pids += [int(c) for c in children.read_text().split()]
            except OSError:
                continue
        return round(total / 1024, 1)

    def waiting(self) -> int:
        return int(self._query("SELECT count(*) FROM inbox_events "
                               "WHERE status IN ('received', 'replying')")[0][0])

    def rows(self) -> list[tuple[Any, ...]]:
        return self._query("SELECT key, status, uncertain_parts FROM inbox_events")

    def _query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.database.startswith("sqlite"):
            with sqlite3.connect(self.database.removeprefix("sqlite:///")) as conn:
                return conn.execute(sql).fetchall()
        engine = create_engine(self.database)
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(text(sql)).all()]
        finally:
            engine.dispose()

    def stop(self) -> None:
        for process in [*self.webs, *self.workers]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [*self.webs, *self.workers]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def deploy(scale: bool, platform_url: str, short: bool, workdir: Path) -> Deployment:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TTHC_")}
    env |= {
        "TTHC_DATA_DIR": os.environ.get("TTHC_DATA_DIR", str(REPO / "var")),
        "TTHC_RATE_LIMIT_PER_MINUTE": "100000",
        "ZALO_BOT_TOKEN": TOKEN,
        "ZALO_BOT_WEBHOOK_SECRET": SECRET,
        "ZALO_BOT_API_BASE_URL": platform_url,
        "OMP_NUM_THREADS": "1",
        "TTHC_INBOX_LEASE_SECONDS": "10" if short else "60",
        "TTHC_STALLED_WORKER_SECONDS": "5" if short else "30",
        "TTHC_RECOVER_CRON": "* * * * * */2" if short else "* * * * * */15",
        "TTHC_REPLY_BACKOFF_CAP_SECONDS": "2" if short else "30",
        "TTHC_PLATFORM_TIMEOUT_SECONDS": "1" if short else "10",
    }
    if ENGINE_PROCESSES is not None:
        env["TTHC_ENGINE_PROCESSES"] = str(ENGINE_PROCESSES)
    relay = None
    if scale:
        admin = create_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text('DROP DATABASE IF EXISTS "tthc_bench" WITH (FORCE)'))
            conn.execute(text('CREATE DATABASE "tthc_bench"'))
        admin.dispose()
        relay = Relay(("127.0.0.1", 5432)).__enter__()
        database = make_url(f"{POSTGRES}/tthc_bench").set(port=relay.port)
        env["TTHC_DATABASE_URL"] = database.render_as_string(hide_password=False)
        env["TTHC_WORKER_IN_PROCESS"] = "false"
    else:
        env["TTHC_DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    subprocess.run([sys.executable, "-m", "bot.cli", "kb", "init"], env=env, check=True,
                   cwd=REPO, stdout=subprocess.DEVNULL)
    ports = [_port(), _port()] if scale else [_port()]
    deployment = Deployment(env, ports, env["TTHC_DATABASE_URL"], scale, relay)
    for index in range(len(ports)):
        deployment.start_web(index)
    if scale:
        for index in range(2):
            deployment.start_worker(index)
    return deployment


def post(client: httpx.Client, port: int, n: int) -> tuple[int, float]:
    body = bot_update(f"b{n}", QUESTIONS[n % len(QUESTIONS)], chat=f"chat-{n}")
    started = time.perf_counter()
    try:
        status = client.post(
            f"http://127.0.0.1:{port}{PATH}", content=body, headers=HEADERS, timeout=30
        ).status_code
    except httpx.HTTPError:
        status = 0
    return status, (time.perf_counter() - started) * 1000


def run_scenario(
    name: str, scale: bool, args: argparse.Namespace, fault: Callable[[Deployment, Faults], None]
) -> dict[str, Any]:
    faults = Faults()
    with tempfile.TemporaryDirectory() as tmp, FaultyBotAPI(faults).running() as platform:
        deployment = deploy(scale, platform.base_url, args.short, Path(tmp))
        rng = random.Random(7)
        deliveries = list(range(args.events))
        deliveries += [n for n in range(args.events) if rng.random() < 0.1]
        rng.shuffle(deliveries)
        statuses: dict[int, int] = {}
        latencies: list[float] = []
        lock = threading.Lock()
        rss_before = deployment.rss_mb()
        injector = threading.Thread(target=fault, args=(deployment, faults), daemon=True)
        try:
            started = time.perf_counter()
            injector.start()
            with httpx.Client() as client, ThreadPoolExecutor(args.concurrency) as pool:

                def send(item: tuple[int, int]) -> None:
                    index, n = item
                    status, ms = post(client, deployment.ports[index % len(deployment.ports)], n)
                    with lock:
                        if status == 200:
                            latencies.append(ms)
                            statuses[n] = 200
                        else:
                            statuses.setdefault(n, status)

                if args.rate:
                    # Paced: a steady offered load, as platforms deliver it.
                    futures = []
                    for item in enumerate(deliveries):
                        delay = started + item[0] / args.rate - time.perf_counter()
                        if delay > 0:
                            time.sleep(delay)
                        futures.append(pool.submit(send, item))
                    for future in futures:
                        future.result()
                else:
                    list(pool.map(send, enumerate(deliveries)))
            ack_seconds = time.perf_counter() - started
            injector.join()
            unacknowledged = sum(1 for n in range(args.events) if statuses.get(n) != 200)
            # The platform redelivers what was not acknowledged.
            deadline = time.monotonic() + 600
            with httpx.Client() as client:
                while time.monotonic() < deadline:
                    missing = [n for n in range(args.events) if statuses.get(n) != 200]
                    if not missing:
                        break
                    for n in missing:
                        status, _ = post(client, deployment.ports[0], n)
                        if status == 200:
                            statuses[n] = 200
                    time.sleep(1)
            deadline = time.monotonic() + 900
            while time.monotonic() < deadline and deployment.waiting():
                time.sleep(0.5)
            end_to_end = time.perf_counter() - started
            time.sleep(2)  # anything doubled would arrive now
            rss_after = deployment.rss_mb()
            rows = deployment.rows()
        finally:
            deployment.stop()
            if deployment.relay is not None:
                deployment.relay.__exit__()
    uncertain = {key.rsplit(":", 1)[-1] for key, _, parts in rows if parts}
    per_chat = Counter(chat for chat, _ in faults.to_chats)
    # Lost: acknowledged, and the platform never got a message for that chat (a part
    # counted as sent after a crash but never received is lost too).
    lost = [n for n in range(args.events) if per_chat[f"chat-{n}"] == 0]
    return {
        "scenario": name,
        "deployment": "2 web + 2 workers, PostgreSQL" if scale else "1 process, SQLite",
        "events": args.events,
        "deliveries": len(deliveries),
        "acknowledged_per_second": round(len(deliveries) / ack_seconds, 1),
        "ack_ms_p50": round(percentile(latencies, 50), 1),
        "ack_ms_p95": round(percentile(latencies, 95), 1),
        "replies_per_second": round(args.events / end_to_end, 1),
        "not_acknowledged_first_time": unacknowledged,
        "answered_rows": sum(1 for _, status, _ in rows if status == "answered"),
        "lost": len(lost),
        "doubled": sum(1 for count in Counter(faults.to_chats).values() if count > 1),
        "uncertain": len(uncertain),
        "rss_mb_before": rss_before,
        "rss_mb_after": rss_after,
    }


def scenarios(short: bool) -> dict[str, tuple[bool, Callable[[Deployment, Faults], None]]]:
    outage = 3.0 if short else 30.0
    retry_after = 3.0 if short else 35.0

    def after_replies(faults: Faults, count: int = 5) -> None:
        deadline = time.monotonic() + 120
        while len(faults.to_chats) < count and time.monotonic() < deadline:
            time.sleep(0.01)

    def none(_: Deployment, __: Faults) -> None:
        return None

    def slow_platform(_: Deployment, faults: Faults) -> None:
        faults.delay = 2.0 if short else 12.0  # longer than TTHC_PLATFORM_TIMEOUT_SECONDS

    def platform_500(_: Deployment, faults: Faults) -> None:
        faults.down_until = time.monotonic() + outage

    def rate_limited(_: Deployment, faults: Faults) -> None:
        faults.retry_after = retry_after

    def kill_server(d: Deployment, faults: Faults) -> None:
        after_replies(faults)
        d.webs[0].send_signal(signal.SIGKILL)
        d.webs[0].wait()
        d.start_web(0)

    def sigterm_server(d: Deployment, faults: Faults) -> None:
        after_replies(faults)
        d.webs[0].send_signal(signal.SIGTERM)
        d.webs[0].wait()
        d.start_web(0)

    def kill_worker(d: Deployment, faults: Faults) -> None:
        after_replies(faults)
        d.workers[0].send_signal(signal.SIGKILL)
        d.workers[0].wait()
        d.start_worker(0)

    def write_lock(d: Deployment, _: Faults) -> None:
        path = d.database.removeprefix("sqlite:///")
        holder = sqlite3.connect(path, timeout=0, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")  # a staff import holding the write lock
        time.sleep(1.0 if short else 10.0)
        holder.rollback()
        holder.close()

    def postgres_down(d: Deployment, _: Faults) -> None:
        assert d.relay is not None
        time.sleep(0.5)
        d.relay.cut()
        time.sleep(outage)
        d.relay.restore()

    return {
        "baseline": (False, none),
        "baseline_scale": (True, none),
        "slow_platform": (False, slow_platform),
        "platform_500": (False, platform_500),
        "rate_limited_retry_after": (False, rate_limited),
        "kill_server": (False, kill_server),
        "sigterm_server": (False, sigterm_server),
        "write_lock": (False, write_lock),
        "kill_worker_scale": (True, kill_worker),
        "kill_server_scale": (True, kill_server),
        "postgres_down_scale": (True, postgres_down),
    }


def soak(args: argparse.Namespace) -> dict[str, Any]:
    """One `tthc serve` under steady load for ``--soak-seconds``: RSS after a warm-up
    and at the end, and whether every event was answered once."""
    faults = Faults()
    with tempfile.TemporaryDirectory() as tmp, FaultyBotAPI(faults).running() as platform:
        deployment = deploy(False, platform.base_url, args.short, Path(tmp))
        sent = 0
        try:
            with httpx.Client() as client:
                for _ in range(100):  # warm-up
                    post(client, deployment.ports[0], sent)
                    sent += 1
                while deployment.waiting():
                    time.sleep(0.5)
                rss_start = deployment.rss_mb()
                started = time.monotonic()
                while time.monotonic() - started < args.soak_seconds:
                    post(client, deployment.ports[0], sent)
                    sent += 1
                    time.sleep(0.05)
            while deployment.waiting():
                time.sleep(0.5)
            rss_end = deployment.rss_mb()
        finally:
            deployment.stop()
    return {
        "scenario": "soak",
        "seconds": args.soak_seconds,
        "events": sent,
        "rss_mb_after_warmup": rss_start,
        "rss_mb_end": rss_end,
        "doubled": sum(1 for count in Counter(faults.to_chats).values() if count > 1),
        "chats_answered": len({chat for chat, _ in faults.to_chats}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--short", action="store_true", help="3 s faults instead of 30 s")
    parser.add_argument("--rate", type=float, default=0,
                        help="Events per second, paced (default: as fast as the clients go).")
    parser.add_argument("--scenarios", default="", help="Comma-separated (default: all).")
    parser.add_argument("--soak-seconds", type=float, default=0,
                        help="Also run a baseline load for this long and report RSS.")
    parser.add_argument("--engine-processes", type=int, default=None,
                        help="TTHC_ENGINE_PROCESSES of the started processes (default: unset).")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    global ENGINE_PROCESSES
    ENGINE_PROCESSES = args.engine_processes
    table = scenarios(args.short)
    chosen = [s for s in args.scenarios.split(",") if s] or list(table)
    results = []
    for name in chosen:
        scale, fault = table[name]
        results.append(run_scenario(name, scale, args, fault))
        print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    if args.soak_seconds:
        print(json.dumps(soak(args), ensure_ascii=False), flush=True)
    if not args.json:
        keys = ["scenario", "acknowledged_per_second", "ack_ms_p50", "ack_ms_p95",
                "replies_per_second", "lost", "doubled", "uncertain"]
        print("\n" + " | ".join(keys))
        for row in results:
            print(" | ".join(str(row[k]) for k in keys))


if __name__ == "__main__":
    main()
