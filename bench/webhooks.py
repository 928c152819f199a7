"""Webhook throughput on loopback; prints its figures.

    python bench/webhooks.py [--events 300] [--concurrency 20] [--duplicates 0.1]

Needs a built index (`make run`). Starts the real app under uvicorn with Telegram, Zalo OA
and Messenger pointed at fake platform servers on 127.0.0.1 (from the test suite), then
a load generator (asyncio + httpx, keep-alive connections) posts signed webhooks, a share
of them delivered twice. Prints webhooks acknowledged per second, acknowledgement latency
p50/p95, end-to-end replies per second, and checks that the fake servers received exactly
one reply per distinct event: nothing lost, nothing doubled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from bot.app import build_assistant, build_web_app  # noqa: E402
from bot.settings import ServerSettings  # noqa: E402
from tests.bot.channels import fake_meta as meta  # noqa: E402
from tests.bot.channels import fake_telegram as tg  # noqa: E402
from tests.bot.channels import fake_zalo as zalo  # noqa: E402
from tests.bot.channels.fake_world import fake_world  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def questions() -> list[str]:
    path = REPO / "eval" / "retrieval_dev.jsonl"
    return [json.loads(line)["question"] for line in path.read_text("utf-8").splitlines()]


#: Event ids are claimed for good in the database: every run needs ids of its own.
RUN = int(time.time()) % 100_000


def event(number: int, question: str) -> tuple[str, bytes, dict[str, str]]:
    kind = number % 3
    if kind == 0:
        update = json.loads(tg.text_update(str(RUN * 100_000 + number), question))
        update["update_id"] = RUN * 100_000 + number
        update["message"]["chat"]["id"] = 10_000_000 + number  # one chat per event
        update["message"]["from"]["id"] = 10_000_000 + number
        body = json.dumps(update, ensure_ascii=False).encode()
        return "/webhooks/telegram", body, tg.signed(body)
    if kind == 1:
        body = zalo.oa_text_event(f"bench-{RUN}-{number}", question, user=f"61424948{number:08d}")
        return "/webhooks/zalo-oa", body, zalo.oa_sign(body)
    item = meta.text_item(f"mid.bench.{RUN}.{number}", question, sender=f"23990{number:08d}")
    body = meta.page_body(meta.messaging_entry(item))
    return "/webhooks/messenger", body, meta.sign(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--duplicates", type=float, default=0.1)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--wait", type=float, default=300, help="Seconds to wait for replies.")
    args = parser.parse_args()
    with fake_world() as fakes:
        telegram, zalo_fake, graph = fakes.telegram, fakes.zalo_fake, fakes.graph
        channels = fakes.settings
        assistant = build_assistant()
        # Generous limits: the bench measures throughput, not the per-user limiter.
        app = build_web_app(assistant, ServerSettings(rate_limit_per_minute=100_000), channels)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)

        pool = questions()
        rng = random.Random(7)
        deliveries = []
        for number in range(args.events):
            deliveries.append(event(number, rng.choice(pool)))
            if rng.random() < args.duplicates:
                deliveries.append(deliveries[-1])  # the platform delivers it twice
        rng.shuffle(deliveries)
        latencies: list[float] = []
        statuses: list[int] = []

        async def load() -> float:
            limits = httpx.Limits(max_connections=args.concurrency)
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30
            ) as client:
                queue: asyncio.Queue[tuple[str, bytes, dict[str, str]]] = asyncio.Queue()
                for item in deliveries:
                    queue.put_nowait(item)

                async def worker() -> None:
                    while not queue.empty():
                        path, body, headers = queue.get_nowait()
                        started = time.perf_counter()
                        response = await client.post(path, content=body, headers=headers)
                        latencies.append((time.perf_counter() - started) * 1000)
                        statuses.append(response.status_code)

                started = time.perf_counter()
                await asyncio.gather(*(worker() for _ in range(args.concurrency)))
                return time.perf_counter() - started

        started = time.perf_counter()
        ack_seconds = asyncio.run(load())

        def replies() -> dict[str, int]:
            # Long answers go out in several parts: count the distinct chats answered
            # (each event has its own chat).
            return {
                "telegram": len({b["chat_id"] for b in tg.calls(telegram, "sendMessage")}),
                "zalo-oa": len(set(zalo_fake.recipients)),
                "messenger": len(
                    {r.body["recipient"]["id"] for r in meta.sends(graph) if r.status < 300}
                ),
            }

        def doubled() -> int:
            """Chats that received the same opening twice (an event answered twice)."""
            seen: dict[tuple[str, str], int] = {}
            pairs = [
                (str(b["chat_id"]), str(b["text"])[:80]) for b in tg.calls(telegram, "sendMessage")
            ]
            pairs += [
                (r, t[:80]) for r, t in zip(zalo_fake.recipients, zalo_fake.delivered, strict=True)
            ]
            for pair in pairs:
                seen[pair] = seen.get(pair, 0) + 1
            return sum(1 for n in seen.values() if n > 1)

        expected = {
            "telegram": len(range(0, args.events, 3)),
            "zalo-oa": len(range(1, args.events, 3)),
            "messenger": len(range(2, args.events, 3)),
        }
        deadline = time.monotonic() + args.wait
        while time.monotonic() < deadline:
            got = replies()
            if all(got[k] >= expected[k] for k in expected):
                break
            time.sleep(0.2)
        end_to_end = time.perf_counter() - started
        time.sleep(2)  # anything doubled would arrive now
        got = replies()
        twice = doubled()
        server.should_exit = True
        thread.join(timeout=30)
        assistant.close()

    figures: dict[str, Any] = {
        "events": args.events,
        "deliveries_including_duplicates": len(deliveries),
        "concurrency": args.concurrency,
        "acknowledged_per_second": round(len(deliveries) / ack_seconds, 1),
        "ack_latency_ms_p50": round(percentile(latencies, 50), 1),
        "ack_latency_ms_p95": round(percentile(latencies, 95), 1),
        "all_acks_200": all(s == 200 for s in statuses),
        "end_to_end_replies_per_second": round(args.events / end_to_end, 1),
        "replies_expected": expected,
        "replies_received": got,
        "chats_answered_twice": twice,
        "exact": got == expected and twice == 0,
    }
    print(
        json.dumps(figures, ensure_ascii=False, indent=2)
        if args.json
        else "\n".join(f"{k:<34}{v}" for k, v in figures.items())
    )


if __name__ == "__main__":
    main()
