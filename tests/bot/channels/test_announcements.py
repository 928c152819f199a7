"""Announcements to subscribers: fake Telegram, Zalo OA and Graph servers on loopback get
exactly the expected recipients, once, across a crash, a 429 and an unsubscribe."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import announcements as ann
from bot.channels import inflight
from bot.channels.announcements import AnnouncementSender, AnnouncementStore
from bot.channels.base import ChannelAdapter, PlatformUnavailable
from bot.channels.jobs import JobQueue
from bot.channels.messenger import MessengerAdapter
from bot.channels.subscriptions import SqlSubscriptions
from bot.channels.telegram import TelegramAdapter
from bot.channels.zalo_oa import InMemoryTokenStore, ZaloOAAdapter
from knowledge import migrate
from knowledge.db import make_engine, make_session_factory, transaction
from knowledge.models import AnnouncementDelivery, AnswerExchange, Subscription
from tests.bot.channels import fake_meta as meta
from tests.bot.channels import fake_telegram as tg
from tests.bot.channels import fake_zalo as zalo
from tests.bot.channels.harness import FakePlatform, Recorded

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
LONG_AGO = NOW - dt.timedelta(days=30)
TEXT = "Từ 01/12/2026, thủ tục cấp lại căn cước được nộp trực tuyến toàn trình."


@dataclass
class World:
    store: AnnouncementStore
    subscriptions: SqlSubscriptions
    factory: Any
    telegram: FakePlatform
    zalo_oa: FakePlatform
    zalo_fake: zalo.ZaloOAFake
    graph: FakePlatform


@contextmanager
def world(db_url: str) -> Iterator[World]:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    zalo_fake = zalo.ZaloOAFake()
    try:
        with (
            FakePlatform(tg.BotAPI()).running() as telegram,
            zalo.HeaderAwarePlatform(zalo_fake).running() as zalo_oa,
            FakePlatform(meta.graph_responder()).running() as graph,
        ):
            yield World(
                AnnouncementStore(factory=factory, now=lambda: NOW),
                SqlSubscriptions(factory=factory),
                factory,
                telegram,
                zalo_oa,
                zalo_fake,
                graph,
            )
    finally:
        engine.dispose()


def subscribe(w: World, channel: str, user: str, *, at: dt.datetime = LONG_AGO) -> None:
    with transaction(w.factory) as session:
        session.add(Subscription(channel=channel, user_id=user, created_at=at, source="command"))


def last_message(factory: sessionmaker[Session], channel: str, user: str, at: dt.datetime) -> None:
    """A message in the conversation record (what opens a platform's window)."""
    with transaction(factory) as session:
        session.add(
            AnswerExchange(
                channel=channel,
                user_id=user,
                answer_id="a1",
                question="?",
                answer="",
                status="answered",
                at=at,
            )
        )


def platform_adapters(
    http: httpx.AsyncClient, *, telegram: str, zalo_oa: str, graph: str = ""
) -> list[ChannelAdapter]:
    """Telegram, Zalo OA (and Messenger when ``graph`` is given) on fake servers' URLs."""
    built: list[ChannelAdapter] = [
        TelegramAdapter(token=tg.TOKEN, webhook_secret=tg.SECRET, api_base_url=f"{telegram}/bot"),
        ZaloOAAdapter(
            app_id=zalo.APP_ID,
            oa_secret_key=zalo.OA_SECRET_KEY,
            app_secret=zalo.APP_SECRET,
            token_store=InMemoryTokenStore("access-0", "refresh-0"),
            client=http,
            api_base_url=zalo_oa,
            oauth_base_url=zalo_oa,
        ),
    ]
    if graph:
        built.append(
            MessengerAdapter(
                page_id=meta.PAGE_ID,
                page_access_token=meta.PAGE_TOKEN,
                app_secret=meta.APP_SECRET,
                verify_token=meta.VERIFY_TOKEN,
                client=http,
                graph_base_url=graph,
            )
        )
    return built


def adapters(w: World, http: httpx.AsyncClient) -> list[ChannelAdapter]:
    return platform_adapters(
        http, telegram=w.telegram.base_url, zalo_oa=w.zalo_oa.base_url, graph=w.graph.base_url
    )


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=5.0, event_hooks=inflight.event_hooks())


def telegram_chats(w: World) -> list[str]:
    return [str(body["chat_id"]) for body in tg.calls(w.telegram, "sendMessage")]


def graph_sends(w: World) -> list[Recorded]:
    return [r for r in meta.sends(w.graph) if r.status < 300]


def states(w: World, announcement_id: int) -> dict[tuple[str, str], str]:
    with w.factory() as session:
        return {
            (row.channel, row.user_id): row.state
            for row in session.scalars(
                select(AnnouncementDelivery).where(
                    AnnouncementDelivery.announcement_id == announcement_id
                )
            )
        }


def seed_audience(w: World) -> None:
    """Telegram 3 subscribers; Zalo OA 2 in its 7-day window, 1 outside; Messenger 1 in
    its 24 h window, 1 outside; and one citizen who talks to the bot, not subscribed."""
    for user in ("101", "102", "103"):
        subscribe(w, "telegram", user)
    subscribe(w, "zalo-oa", "z1")
    subscribe(w, "zalo-oa", "z2", at=NOW - dt.timedelta(hours=1))  # the follow opened it
    subscribe(w, "zalo-oa", "z-old")
    last_message(w.factory, "zalo-oa", "z1", NOW - dt.timedelta(days=6))
    last_message(w.factory, "zalo-oa", "z-old", NOW - dt.timedelta(days=8))
    subscribe(w, "messenger", "p-in")
    subscribe(w, "messenger", "p-out")
    last_message(w.factory, "messenger", "p-in", NOW - dt.timedelta(hours=23))
    last_message(w.factory, "messenger", "p-out", NOW - dt.timedelta(hours=25))
    last_message(w.factory, "telegram", "999", NOW)  # talks to the bot, never subscribed


def test_reaches_exactly_the_subscribers_in_their_windows_once(db_url: str) -> None:
    with world(db_url) as w:
        seed_audience(w)
        preview = {p.channel: p for p in w.store.preview("telegram,zalo-oa,messenger")}
        assert (preview["telegram"].subscribers, preview["telegram"].outside_window) == (3, 0)
        assert (preview["zalo-oa"].subscribers, preview["zalo-oa"].outside_window) == (3, 1)
        assert (preview["messenger"].subscribers, preview["messenger"].outside_window) == (2, 1)
        announcement = w.store.create(
            text=TEXT, channels=["telegram", "zalo-oa", "messenger"], author="bientap"
        )

        async def run() -> tuple[bool, bool]:
            async with client() as http:
                sender = AnnouncementSender(store=w.store, adapters=adapters(w, http))
                first = await sender.run(announcement)
                again = await sender.run(announcement)  # a repeated job: nothing more
                return first, again

        assert asyncio.run(run()) == (True, False)
        assert sorted(telegram_chats(w)) == ["101", "102", "103"]
        assert sorted(w.zalo_fake.recipients) == ["z1", "z2"]
        sent = graph_sends(w)
        assert [r.body["recipient"]["id"] for r in sent] == ["p-in"]
        assert sent[0].body["messaging_type"] == "UPDATE"
        expected = ann.rendered_text(TEXT)
        assert tg.replies(w.telegram) == [expected] * 3
        assert w.zalo_fake.delivered == [expected] * 2
        assert meta.message_text(sent[0].body) == expected
        view = w.store.get(announcement)
        assert view is not None and view.state == ann.DONE
        assert view.report["telegram"]["sent"] == 3
        assert view.report["zalo-oa"]["sent"] == 2
        assert view.report["zalo-oa"]["skipped_window"] == 1
        assert view.report["messenger"]["sent"] == 1
        assert view.report["messenger"]["skipped_window"] == 1
        assert states(w, announcement)[("zalo-oa", "z-old")] == "skipped_window"


def test_a_platform_down_holds_no_other_channel_and_is_given_up_after_a_day(
    db_url: str,
) -> None:
    """Telegram answers 502 to every send: Zalo OA and Messenger still get theirs, the
    job fails for the queue to retry; a day later the Telegram rows are given up."""
    with world(db_url) as w:
        seed_audience(w)
        bot_api = tg.BotAPI()

        def down(path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            if path.endswith("/sendMessage"):
                return 502, {"ok": False, "description": "Bad Gateway"}
            return bot_api(path, body)

        w.telegram.responder = down
        announcement = w.store.create(
            text=TEXT, channels=["telegram", "zalo-oa", "messenger"], author="a"
        )

        async def run(store: AnnouncementStore) -> bool:
            async with client() as http:
                return await AnnouncementSender(store=store, adapters=adapters(w, http)).run(
                    announcement
                )

        with pytest.raises(PlatformUnavailable):
            asyncio.run(run(w.store))
        assert sorted(w.zalo_fake.recipients) == ["z1", "z2"]
        assert [r.body["recipient"]["id"] for r in graph_sends(w)] == ["p-in"]
        view = w.store.get(announcement)
        assert view is not None and view.state == ann.SENDING
        assert view.report["telegram"]["pending"] == 3
        # A retry within the day tries Telegram again and resends nothing elsewhere.
        with pytest.raises(PlatformUnavailable):
            asyncio.run(run(w.store))
        assert len(w.zalo_fake.recipients) == 2 and len(graph_sends(w)) == 1
        later = AnnouncementStore(factory=w.factory, now=lambda: NOW + dt.timedelta(hours=25))
        assert asyncio.run(run(later))
        view = later.get(announcement)
        assert view is not None and view.state == ann.DONE
        assert view.report["telegram"]["failed"] == 3 and view.report["telegram"]["sent"] == 0
        assert view.report["zalo-oa"]["sent"] == 2 and view.report["messenger"]["sent"] == 1
        tried = [r.status for r in w.telegram.requests if r.path.endswith("/sendMessage")]
        assert len(tried) >= 2 and set(tried) == {502}  # once per run, none after the day


def test_a_window_the_platform_says_is_closed_is_skipped_not_failed(db_url: str) -> None:
    """Our record says z1 and p-in are in their windows, but Zalo answers -230 and the
    Graph API code 10 / subcode 2018278: both count as skipped_window, not failed."""
    with world(db_url) as w:
        seed_audience(w)
        w.zalo_fake.out_of_window.add("z1")
        graph = meta.graph_responder()

        def closed(path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            if body.get("recipient", {}).get("id") == "p-in":
                error = {
                    "message": "(#10) This message is sent outside of allowed window.",
                    "type": "OAuthException",
                    "code": 10,
                    "error_subcode": 2018278,
                }
                return 400, {"error": error}
            return graph(path, body)

        w.graph.responder = closed
        announcement = w.store.create(text=TEXT, channels=["zalo-oa", "messenger"], author="a")

        async def run() -> bool:
            async with client() as http:
                return await AnnouncementSender(store=w.store, adapters=adapters(w, http)).run(
                    announcement
                )

        assert asyncio.run(run())
        assert w.zalo_fake.recipients == ["z2"] and graph_sends(w) == []
        view = w.store.get(announcement)
        assert view is not None and view.state == ann.DONE
        assert view.report["zalo-oa"] == {
            **dict.fromkeys(ann.DELIVERY_STATES, 0),
            "sent": 1,
            "skipped_window": 2,
        }
        assert view.report["messenger"]["skipped_window"] == 2
        assert view.report["messenger"]["failed"] == 0
        assert states(w, announcement)[("zalo-oa", "z1")] == "skipped_window"


def test_an_unsubscribe_after_the_snapshot_is_honoured(db_url: str) -> None:
    with world(db_url) as w:
        for user in ("201", "202", "203"):
            subscribe(w, "telegram", user)
        announcement = w.store.create(text=TEXT, channels="telegram", author="a")
        assert w.store.begin(announcement) is not None  # the snapshot holds 202
        assert w.subscriptions.remove("telegram", "202")

        async def run() -> bool:
            async with client() as http:
                return await AnnouncementSender(store=w.store, adapters=adapters(w, http)).run(
                    announcement
                )

        assert asyncio.run(run())
        assert sorted(telegram_chats(w)) == ["201", "203"]
        view = w.store.get(announcement)
        assert view is not None
        assert view.report["telegram"]["unsubscribed"] == 1
        assert view.report["telegram"]["sent"] == 2


def test_a_crash_mid_run_then_a_resume_sends_the_rest_and_none_twice(db_url: str) -> None:
    """The job dies while the platform holds the 4th send: that one counts as sent (it
    reached the platform), the resume sends the 6 others left, nobody gets two."""
    users = [str(300 + n) for n in range(10)]
    with world(db_url) as w:
        for user in users:
            subscribe(w, "telegram", user)
        released = threading.Event()
        reached = threading.Event()
        bot_api = tg.BotAPI()
        count = {"n": 0}

        def stalling(path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            if path.endswith("/sendMessage"):
                count["n"] += 1
                if count["n"] == 4:
                    reached.set()
                    released.wait(timeout=10)
            return bot_api(path, body)

        w.telegram.responder = stalling
        announcement = w.store.create(text=TEXT, channels="telegram", author="a")

        async def crash() -> None:
            async with client() as http:
                sender = AnnouncementSender(store=w.store, adapters=adapters(w, http))
                task = asyncio.create_task(sender.run(announcement))
                await asyncio.to_thread(reached.wait, 10)
                task.cancel()  # the worker dies mid-send
                with pytest.raises(asyncio.CancelledError):
                    await task

        asyncio.run(crash())
        released.set()
        left = states(w, announcement)
        assert sorted(left.values()) == ["pending"] * 6 + ["sending"] + ["sent"] * 3
        view = w.store.get(announcement)
        assert view is not None and view.state == ann.SENDING
        assert w.store.due() == [announcement]  # the periodic pick-up finds it

        async def resume() -> bool:
            async with client() as http:
                sender = AnnouncementSender(store=w.store, adapters=adapters(w, http))
                return await sender.run(announcement)

        assert asyncio.run(resume())
        chats = telegram_chats(w)
        assert sorted(chats) == sorted(users)  # each exactly once (4th included)
        assert len(chats) == len(set(chats)) == 10
        assert count["n"] == 10
        final = states(w, announcement)
        assert set(final.values()) == {"sent"}
        with w.factory() as session:
            uncertain = session.scalars(
                select(AnnouncementDelivery.user_id).where(
                    AnnouncementDelivery.detail.like("uncertain%")
                )
            ).all()
        assert uncertain == [users[3]]


def test_telegram_429_is_waited_out_and_sends_are_paced(db_url: str) -> None:
    users = [str(400 + n) for n in range(8)]
    with world(db_url) as w:
        for user in users:
            subscribe(w, "telegram", user)
        bot_api, limited = tg.BotAPI(), []

        def flood_once(path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            if path.endswith("/sendMessage") and not limited:
                limited.append(body)
                return 429, tg.TOO_MANY  # the first send: retry after 1 s
            return bot_api(path, body)

        w.telegram.responder = flood_once
        announcement = w.store.create(text=TEXT, channels="telegram", author="a")

        async def run() -> float:
            async with client() as http:
                sender = AnnouncementSender(
                    store=w.store, adapters=adapters(w, http), telegram_per_second=4
                )
                started = time.perf_counter()
                assert await sender.run(announcement)
                return time.perf_counter() - started

        elapsed = asyncio.run(run())
        rejected = [r for r in w.telegram.requests if r.status == 429]
        assert len(rejected) == 1 and str(rejected[0].body["chat_id"]) == "400"
        assert sorted(telegram_chats(w)) == sorted(users)  # 400 too, once
        # 9 requests at 4/s need 2 windows, plus the 1 s Telegram asked for.
        assert elapsed >= 2.0
        sends = [r for r in w.telegram.requests if r.path.endswith("/sendMessage")]
        assert [r.status for r in sends].count(200) == 8


def test_scheduled_announcement_waits_for_its_time(db_url: str) -> None:
    with world(db_url) as w:
        subscribe(w, "telegram", "501")
        later = w.store.create(
            text=TEXT, channels="telegram", author="a", at=NOW + dt.timedelta(hours=2)
        )
        draft = w.store.create(text=TEXT, channels="telegram", author="a", draft=True)
        now = w.store.create(text=TEXT, channels="telegram", author="a")
        assert w.store.due() == [now]
        assert w.store.begin(later) is None and w.store.begin(draft) is None
        assert w.store.cancel(later)
        assert w.store.begin(now) is not None
        assert not w.store.cancel(now)  # sending: too late to cancel
        assert w.store.due() == [now]  # until it is done
        assert telegram_chats(w) == []


def test_the_queue_picks_up_due_announcements(db_url: str) -> None:
    """The periodic job queues the due announcement (procrastinate on PostgreSQL, in
    memory on SQLite); the worker runs it to done."""
    with world(db_url) as w:
        for user in ("601", "602"):
            subscribe(w, "telegram", user)
        announcement = w.store.create(text=TEXT, channels="telegram", author="a")

        class NoInbox:
            def unfinished(self, *, older_than: float) -> list[tuple[int, str]]:
                return []

        async def run() -> None:
            async with client() as http:
                sender = AnnouncementSender(store=w.store, adapters=adapters(w, http))
                queue = JobQueue.for_database(db_url, inbox=NoInbox())  # type: ignore[arg-type]
                queue.bind_announcements(sender.run, w.store.due)
                assert await queue.queue_due_announcements() == 1
                assert await queue.queue_due_announcements() == 0  # one job at a time
                await queue.run_worker(wait=False)
                await queue.close()

        asyncio.run(run())
        assert sorted(telegram_chats(w)) == ["601", "602"]
        view = w.store.get(announcement)
        assert view is not None and view.state == ann.DONE


@pytest.mark.parametrize(
    ("text", "channels", "message"),
    [
        ("", "telegram", "không được để trống"),
        ("x" * 2000, "telegram", "tối đa"),
        (TEXT, "telegram,viber", "Kênh không hỗ trợ: viber"),
        (TEXT, "", "ít nhất một kênh"),
    ],
)
def test_bad_input_is_refused_in_vietnamese(
    tmp_path: Any, text: str, channels: str, message: str
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'kb.sqlite3'}")
    migrate.upgrade(engine)
    store = AnnouncementStore(factory=make_session_factory(engine))
    with pytest.raises(ann.AnnouncementError, match=message):
        store.create(text=text, channels=channels, author="a")
    engine.dispose()


def test_cli_schedules_validates_and_reports(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from bot.cli import main

    monkeypatch.setenv("TTHC_DATABASE_URL", db_url)
    runner = CliRunner()
    with world(db_url) as w:
        subscribe(w, "telegram", "701")
        subscribe(w, "messenger", "p-old")  # outside the 24 h window
        decomposed = "Le\u0302\u0323 phi\u0301 mới"  # "Lệ phí mới" typed decomposed
        result = runner.invoke(
            main,
            ["announce", "--text", decomposed, "--channels", "telegram,messenger", "--json"],
        )
        assert result.exit_code == 0, result.output
        import json

        created = json.loads(result.output)
        assert created["state"] == "scheduled"
        assert created["recipients"] == {
            "telegram": {"subscribers": 1, "outside_window": 0},
            "messenger": {"subscribers": 1, "outside_window": 1},
        }
        view = w.store.get(created["id"])
        assert view is not None and view.text == "Lệ phí mới"  # stored NFC

        for bad, hint in (
            (["--channels", "telegram,sms"], "sms"),
            (["--channels", "telegram", "--at", "ngày mai"], "không hợp lệ"),
            (["--channels", "telegram", "--at", "2020-01-01T08:00"], "đã qua"),
        ):
            refused = runner.invoke(main, ["announce", "--text", TEXT, *bad])
            assert refused.exit_code == 2, refused.output
            assert hint in refused.output
        later = runner.invoke(
            main,
            ["announce", "--text", TEXT, "--channels", "telegram", "--at", "2099-01-01T08:00"],
        )
        assert later.exit_code == 0 and "01/01/2099 08:00" in later.output

        async def run() -> bool:
            async with client() as http:
                store = AnnouncementStore(factory=w.factory)  # the real clock
                return await AnnouncementSender(store=store, adapters=adapters(w, http)).run(
                    created["id"]
                )

        assert asyncio.run(run())
        assert telegram_chats(w) == ["701"]
        assert graph_sends(w) == []
        shown = runner.invoke(main, ["announce", "--report", str(created["id"])])
        assert shown.exit_code == 0
        assert "đã gửi xong" in shown.output
        lines = dict(line.split("\t", 1) for line in shown.output.splitlines()[1:])
        assert lines["telegram"] == "0\t0\t1\t0\t0\t0"
        assert lines["messenger"] == "0\t0\t0\t1\t0\t0"
        missing = runner.invoke(main, ["announce", "--report", "9999"])
        assert missing.exit_code == 1


def test_follow_button_and_command_opt_in_and_unsubscribe(tmp_path: Any) -> None:
    """Zalo OA follow → subscribed ("follow"), unfollow → unsubscribed (nothing sent
    to the unfollower); the greeting's "Nhận thông báo" button on
    Telegram → subscribed ("button"); /unsubscribe removes it."""
    from starlette.applications import Starlette

    from bot.channels.base import SUBSCRIBE_PAYLOAD
    from bot.channels.dispatch import Dispatcher
    from bot.channels.inbox import SqlInbox
    from bot.channels.routes import webhook_routes
    from bot.engine import texts
    from bot.engine.model import Answer
    from bot.ratelimit import RateLimiter
    from tests.fakes import FakeAnswerer

    url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    with world(url) as w:

        class Greeter(FakeAnswerer):
            def answer(self, question: Any) -> Answer:
                return Answer(question=question.text, status="smalltalk", text=texts.WELCOME)

        async def run() -> None:
            async with client() as http:
                oa, telegram, _ = adapters(w, http)
                inbox = SqlInbox(factory=w.factory)
                queue = JobQueue.for_database(url, inbox=inbox)
                dispatcher = Dispatcher(
                    engine=Greeter(),
                    inbox=inbox,
                    queue=queue,
                    adapters=[oa, telegram],
                    limiter=RateLimiter(limit=1000),
                    subscriptions=w.subscriptions,
                )
                queue.bind(dispatcher.process)
                app = Starlette(
                    routes=[*webhook_routes(oa, dispatcher), *webhook_routes(telegram, dispatcher)]
                )
                async with httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://bot"
                ) as web:

                    async def post(path: str, raw: bytes, headers: dict[str, str]) -> None:
                        response = await web.post(path, content=raw, headers=headers)
                        assert response.status_code == 200
                        assert await queue.drain(timeout=20)

                    await post(
                        "/webhooks/zalo-oa",
                        zalo.oa_follow_event("z-f"),
                        zalo.oa_sign(zalo.oa_follow_event("z-f")),
                    )
                    await post(
                        "/webhooks/zalo-oa",
                        zalo.oa_follow_event("z-u"),
                        zalo.oa_sign(zalo.oa_follow_event("z-u")),
                    )
                    unfollow = zalo.oa_follow_event("z-u", "unfollow")
                    await post("/webhooks/zalo-oa", unfollow, zalo.oa_sign(unfollow))
                    await post("/webhooks/telegram", tg.text_update("a1", "/start"), tg.signed(b""))
                    await post(
                        "/webhooks/telegram",
                        tg.callback_update("a2", SUBSCRIBE_PAYLOAD),
                        tg.signed(b""),
                    )
                await queue.close()

        asyncio.run(run())
        with w.factory() as session:
            rows = {(s.channel, s.user_id): s.source for s in session.scalars(select(Subscription))}
        assert rows == {("zalo-oa", "z-f"): "follow", ("telegram", str(tg.USER_ID)): "button"}
        welcome = f"{texts.WELCOME}\n{texts.FOLLOW_SUBSCRIBED}"
        assert w.zalo_fake.delivered == [welcome, welcome]  # z-f and z-u; none on unfollow
        greeting = tg.calls(w.telegram, "sendMessage")[0]
        keyboard = json_loads(greeting["reply_markup"])["inline_keyboard"]
        assert [{"text": texts.SUBSCRIBE_BUTTON, "callback_data": "subscribe"}] in keyboard
        assert tg.replies(w.telegram)[-1] == texts.SUBSCRIBED
        assert w.subscriptions.remove("telegram", str(tg.USER_ID))


def json_loads(value: Any) -> Any:
    import json

    return json.loads(value) if isinstance(value, str) else value


def test_a_killed_worker_process_then_a_resume_sends_each_once(db_url: str) -> None:
    """SIGKILL the worker process while the platform holds its 5th send; a new run
    sends the 7 left and counts the 5th as sent: 12 subscribers, 12 messages."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    users = [str(800 + n) for n in range(12)]
    with world(db_url) as w:
        for user in users:
            subscribe(w, "telegram", user)
        reached, count, bot_api = threading.Event(), {"n": 0}, tg.BotAPI()

        def stalling(path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            if path.endswith("/sendMessage"):
                count["n"] += 1
                if count["n"] == 5:
                    reached.set()
                    time.sleep(3)  # the process is killed meanwhile
            return bot_api(path, body)

        w.telegram.responder = stalling
        real_clock = AnnouncementStore(factory=w.factory)
        announcement = real_clock.create(text=TEXT, channels="telegram", author="a")
        root = Path(__file__).resolve().parents[3]
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.bot.channels.announce_child",
                db_url,
                w.telegram.base_url,
                str(announcement),
            ],
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
        )
        try:
            assert reached.wait(timeout=60), "the worker never reached the 5th send"
            child.send_signal(signal.SIGKILL)
            assert child.wait(timeout=10) == -signal.SIGKILL
        finally:
            if child.poll() is None:
                child.kill()
        left = states(w, announcement)
        assert sorted(left.values()) == ["pending"] * 7 + ["sending"] + ["sent"] * 4
        time.sleep(3)  # the held request is answered by now

        async def resume() -> bool:
            async with client() as http:
                return await AnnouncementSender(store=real_clock, adapters=adapters(w, http)).run(
                    announcement
                )

        assert asyncio.run(resume())
        chats = [
            str(r.body["chat_id"]) for r in w.telegram.requests if r.path.endswith("/sendMessage")
        ]
        assert sorted(chats) == sorted(users) and len(chats) == 12
        assert set(states(w, announcement).values()) == {"sent"}


def test_one_row_per_recipient_is_enforced_by_the_database(db_url: str) -> None:
    from sqlalchemy.exc import IntegrityError

    with world(db_url) as w:
        subscribe(w, "telegram", "901")
        announcement = w.store.create(text=TEXT, channels="telegram", author="a")
        assert w.store.begin(announcement) is not None
        assert w.store.begin(announcement) is not None  # a second run: no second row
        assert list(states(w, announcement)) == [("telegram", "901")]
        with pytest.raises(IntegrityError), transaction(w.factory) as session:
            session.add(
                AnnouncementDelivery(
                    announcement_id=announcement,
                    channel="telegram",
                    user_id="901",
                    state="pending",
                    detail="",
                    updated_at=NOW,
                )
            )
