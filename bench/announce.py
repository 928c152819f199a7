"""Announcement throughput on loopback; prints its figures.

    python bench/announce.py [--subscribers 300] [--telegram-per-second 25] [--database URL]

Seeds ``--subscribers`` subscribers on Telegram, Zalo OA and Messenger (a third of the
Zalo OA and Messenger ones outside their window), then runs one announcement's send job
against the fake platform servers of the test suite (127.0.0.1). Prints the time per
channel and messages per second, and checks that every platform received exactly the
expected recipients once.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from bot.channels import inflight  # noqa: E402
from bot.channels.announcements import AnnouncementSender, AnnouncementStore  # noqa: E402
from knowledge import migrate  # noqa: E402
from knowledge.db import make_engine, make_session_factory, transaction  # noqa: E402
from knowledge.models import AnswerExchange, Subscription  # noqa: E402
from tests.bot.channels import fake_meta as meta  # noqa: E402
from tests.bot.channels import fake_telegram as tg  # noqa: E402
from tests.bot.channels.fake_world import fake_world  # noqa: E402
from tests.bot.channels.test_announcements import platform_adapters  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=300)
    parser.add_argument("--telegram-per-second", type=int, default=25)
    parser.add_argument("--database", default="")
    args = parser.parse_args()
    url = args.database or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    now = dt.datetime.now(dt.UTC)
    n = args.subscribers
    expected: dict[str, set[str]] = {"telegram": set(), "zalo-oa": set(), "messenger": set()}
    with transaction(factory) as session:
        for i in range(n):
            old = now - dt.timedelta(days=30)
            for channel in expected:
                user = f"{1000 + i}" if channel == "telegram" else f"{channel[:2]}{i}"
                session.add(Subscription(channel=channel, user_id=user, created_at=old))
                inside = channel == "telegram" or i % 3 != 0
                if channel != "telegram":
                    age = dt.timedelta(hours=1) if inside else dt.timedelta(days=10)
                    session.add(
                        AnswerExchange(
                            channel=channel,
                            user_id=user,
                            answer_id="b",
                            question="?",
                            answer="",
                            status="answered",
                            at=now - age,
                        )
                    )
                if inside:
                    expected[channel].add(user)
    store = AnnouncementStore(factory=factory)
    announcement = store.create(
        text="Thông báo thử: lệ phí mới.", channels=list(expected), author="bench"
    )
    with fake_world() as world:

        async def run() -> float:
            async with httpx.AsyncClient(event_hooks=inflight.event_hooks()) as http:
                adapters = platform_adapters(
                    http,
                    telegram=world.telegram.base_url,
                    zalo_oa=world.zalo_oa.base_url,
                    graph=world.graph.base_url,
                )
                sender = AnnouncementSender(
                    store=store, adapters=adapters, telegram_per_second=args.telegram_per_second
                )
                started = time.perf_counter()
                assert await sender.run(announcement)
                return time.perf_counter() - started

        elapsed = asyncio.run(run())
        got = {
            "telegram": [str(b["chat_id"]) for b in tg.calls(world.telegram, "sendMessage")],
            "zalo-oa": list(world.zalo_fake.recipients),
            "messenger": [r.body["recipient"]["id"] for r in meta.sends(world.graph)],
        }
    view = store.get(announcement)
    assert view is not None
    total = sum(len(v) for v in got.values())
    print(f"database: {url.split(':')[0]}; subscribers per channel: {n}")
    for channel, users in got.items():
        exact = sorted(users) == sorted(expected[channel])
        print(
            f"  {channel}: sent {len(users)} (expected {len(expected[channel])}, "
            f"exactly once: {exact}); report {view.report[channel]}"
        )
        if not exact:
            sys.exit(1)
    print(f"total {total} messages in {elapsed:.1f} s ({total / elapsed:.1f}/s)")
    engine.dispose()


if __name__ == "__main__":
    main()
