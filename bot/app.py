"""The composition root: the only place that builds concrete objects for the assistant."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from bot.admin.app import build_admin
from bot.admin.due import DuePublisher
from bot.admin.pages import ADMIN_PAGES
from bot.analytics import SqlExchangeLog, SqlFeedbackSink, SqlQuestionLog
from bot.channels import inflight
from bot.channels.announcements import AnnouncementSender, AnnouncementStore
from bot.channels.base import ChannelAdapter, InboundEvent
from bot.channels.dispatch import Dispatcher
from bot.channels.inbox import SqlInbox
from bot.channels.jobs import JobQueue
from bot.channels.messenger import MessengerAdapter
from bot.channels.routes import webhook_routes
from bot.channels.subscriptions import SqlSubscriptions
from bot.channels.telegram import TelegramAdapter
from bot.channels.tokens import SqlTokenStore, TokenCipher
from bot.channels.zalo_bot import ZaloBotAdapter
from bot.channels.zalo_oa import ZaloOAAdapter
from bot.conversations import RedisConversationStore, SqlConversationStore
from bot.engine.conversation import ConversationStore, InMemoryConversationStore
from bot.engine.engine import AnswerEngine
from bot.engine_process import engine_pool, warm_up
from bot.handoff import HandoffService
from bot.hotlines import SqlHotlineDirectory
from bot.privacy import RetentionPurger
from bot.promotion import PromoLinks, redirect_routes
from bot.ratelimit import RateLimiter
from bot.settings import (
    AdminSettings,
    BotSettings,
    ChannelSettings,
    DeliverySettings,
    HandoffSettings,
    PrivacySettings,
    ServerSettings,
)
from bot.web import create_app
from indexer.components import make_index_refresh, make_retriever
from indexer.retriever import HybridRetriever
from indexer.settings import IndexSettings
from knowledge import migrate
from knowledge.db import make_engine, make_session_factory
from knowledge.refresh import IndexRefresh
from knowledge.settings import KnowledgeSettings


@dataclass
class Assistant:
    """Everything a process that answers citizens holds."""

    engine: AnswerEngine
    retriever: HybridRetriever
    database: Engine

    def close(self) -> None:
        """Release the database connections."""
        self.database.dispose()


def build_assistant(*, shared_state: bool = False, migrate_schema: bool = True) -> Assistant:
    """Settings from the environment → a ready engine over the current index generation.

    ``shared_state`` (the server and the workers) keeps conversations where every
    process sees them: Redis when ``TTHC_REDIS_URL`` is set, else the database. The
    console commands keep them in memory.
    """
    knowledge_settings = KnowledgeSettings()
    database = make_engine(knowledge_settings.resolved_database_url())
    if migrate_schema:  # engine processes skip it: no connection until a question needs one
        migrate.upgrade(database)
    retriever = make_retriever(IndexSettings())
    retriever.generation()  # fail now, with a clear message, if there is no index
    bot_settings = BotSettings()
    factory = make_session_factory(database)
    engine = AnswerEngine(
        knowledge=retriever,
        conversations=_conversations(database, bot_settings, shared=shared_state),
        log=SqlQuestionLog(factory=factory),
        # Staff edits of hotlines reach the bot within the cache time, without a restart.
        hotlines=SqlHotlineDirectory(factory=factory, ttl=HandoffSettings().hotline_cache_seconds),
    )
    return Assistant(engine=engine, retriever=retriever, database=database)


def _conversations(database: Engine, settings: BotSettings, *, shared: bool) -> ConversationStore:
    ttl = settings.conversation_ttl_seconds
    if not shared:
        return InMemoryConversationStore(ttl=ttl)
    redis_url = ServerSettings().redis_url
    if redis_url:
        import redis

        return RedisConversationStore(client=redis.Redis.from_url(redis_url), ttl=ttl)
    return SqlConversationStore(factory=make_session_factory(database), ttl=ttl)


@dataclass
class Channels:
    """The configured channel adapters and what serves them."""

    adapters: list[ChannelAdapter]
    dispatcher: Dispatcher
    queue: JobQueue
    routes: list[Route]
    startup: list[Callable[[], Any]]
    shutdown: list[Callable[[], Any]]
    #: Live handoff to officers (``tthc handoff``, the officer inbox).
    handoffs: HandoffService | None = None


def build_channels(
    assistant: Assistant,
    settings: ServerSettings,
    channels: ChannelSettings,
    delivery: DeliverySettings | None = None,
    *,
    run_worker: bool | None = None,
    default_engine_processes: int = 0,
    exchanges: SqlExchangeLog | None = None,
    promotions: PromoLinks | None = None,
) -> Channels:
    """The configured channels, their webhook routes, the reply job queue and the hooks
    to run at start-up and shutdown.

    A channel whose credentials are missing is simply not built (its route is a 404).
    ``run_worker`` (default: ``TTHC_WORKER_IN_PROCESS``, always on SQLite) starts the
    reply worker inside this process. ``default_engine_processes`` applies when
    ``TTHC_ENGINE_PROCESSES`` is unset. ``exchanges`` / ``promotions``: the conversation
    record and the counted links (built here from ``settings`` when not given).
    """
    delivery = delivery or DeliverySettings()
    # Telegram and Zalo Bot URLs contain the bot token; httpx logs URLs at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    factory = make_session_factory(assistant.database)
    timeout = delivery.platform_timeout_seconds
    client = httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
        # Drop idle connections before servers do (uvicorn after 5 s, others later), so a
        # send rarely meets a connection closed under it.
        limits=httpx.Limits(keepalive_expiry=2.0),
        # A reply part is marked in flight right before its request's first byte.
        event_hooks=inflight.event_hooks(),
    )
    adapters: list[ChannelAdapter] = []
    if (telegram := channels.telegram()) is not None:
        adapters.append(
            TelegramAdapter(
                token=telegram[0],
                webhook_secret=telegram[1],
                username=channels.telegram_bot_username,
                api_base_url=channels.telegram_api_base_url,
            )
        )
    if (zalo := channels.zalo_oa()) is not None:
        adapters.append(
            ZaloOAAdapter(
                app_id=zalo["app_id"],
                oa_secret_key=zalo["oa_secret_key"],
                app_secret=zalo["app_secret"],
                token_store=SqlTokenStore(
                    factory=factory,
                    cipher=TokenCipher(settings.token_key_value()),
                    channel="zalo-oa",
                    access=zalo["access_token"],
                    refresh=zalo["refresh_token"],
                ),
                client=client,
                api_base_url=channels.zalo_oa_api_base_url,
                oauth_base_url=channels.zalo_oauth_base_url,
            )
        )
    if (bot := channels.zalo_bot()) is not None:
        adapters.append(
            ZaloBotAdapter(
                token=bot[0],
                webhook_secret=bot[1],
                client=client,
                api_base_url=channels.zalo_bot_api_base_url,
            )
        )
    handoff_settings = HandoffSettings()
    handoffs = HandoffService(
        factory=factory,
        hours=handoff_settings.office_hours(),
        timeout=dt.timedelta(minutes=handoff_settings.handoff_timeout_minutes),
    )
    exchanges = exchanges or SqlExchangeLog(factory=factory)
    promotions = promotions or PromoLinks(factory=factory, base_url=settings.public_base_url)
    if (page := channels.messenger()) is not None:
        adapters.append(
            MessengerAdapter(
                **page, client=client, graph_base_url=channels.facebook_graph_api_base_url
            )
        )
    feedback = SqlFeedbackSink(factory=factory, exchanges=exchanges)

    async def on_feedback(event: InboundEvent, answer_id: str, value: str) -> None:
        if value in ("up", "down"):
            await asyncio.to_thread(
                feedback.rate, channel=event.channel, answer_id=answer_id, value=value
            )

    processes = delivery.engine_processes
    if processes is None:
        processes = default_engine_processes
    worker = delivery.worker_in_process if run_worker is None else run_worker
    durable = JobQueue.durable_for(assistant.database.url.render_as_string(hide_password=False))
    # Engine processes only where reply jobs run (a web-only process never needs them).
    runs_jobs = worker or not durable
    pool = engine_pool(processes) if processes and adapters and runs_jobs else None
    inbox = SqlInbox(factory=factory)
    queue = JobQueue.for_database(
        assistant.database.url.render_as_string(hide_password=False),
        inbox=inbox,
        max_attempts=delivery.reply_max_attempts,
        backoff_base=delivery.reply_backoff_base_seconds,
        backoff_cap=delivery.reply_backoff_cap_seconds,
        lease_seconds=delivery.inbox_lease_seconds,
        stalled_seconds=delivery.stalled_worker_seconds,
        concurrency=delivery.worker_concurrency,
        recover_cron=delivery.recover_cron,
    )
    dispatcher = Dispatcher(
        engine=assistant.engine,
        inbox=inbox,
        queue=queue,
        adapters=adapters,
        limiter=RateLimiter(
            limit=settings.rate_limit_per_minute,
            window=60.0,
            storage_uri=settings.rate_limit_storage(),
        ),
        on_feedback=on_feedback,
        subscriptions=SqlSubscriptions(factory=factory),
        ack_timeout=delivery.ack_timeout_seconds,
        engine_threads=delivery.engine_threads or None,
        engine_processes=pool,
        handoffs=handoffs,
        exchanges=exchanges,
        hotlines=assistant.engine.hotline_text,
        promotions=promotions,
    )
    handoffs.bind_outbox(dispatcher)
    queue.bind(dispatcher.process)
    announcements = AnnouncementStore(factory=factory)
    sender = AnnouncementSender(
        store=announcements,
        adapters=adapters,
        telegram_per_second=delivery.announce_telegram_per_second,
    )
    queue.bind_announcements(sender.run, announcements.due)
    routes = [
        route
        for adapter in adapters
        for route in webhook_routes(adapter, dispatcher, max_body_bytes=settings.max_body_bytes)
    ]
    startup: list[Callable[[], Any]] = [queue.open]
    if pool is not None:
        startup.append(lambda: warm_up(pool))  # the children load the index now
    if worker or not queue.durable:
        startup.append(queue.start_worker)
    # Groups: the bot's @username (from getMe unless configured) to see it mentioned.
    startup += [a.learn_username for a in adapters if isinstance(a, TelegramAdapter)]
    hooks: list[Callable[[], Any]] = [queue.close]
    hooks += [a.stop for a in adapters if isinstance(a, TelegramAdapter)]
    hooks += [client.aclose, dispatcher.close]
    return Channels(adapters, dispatcher, queue, routes, startup, hooks, handoffs)


def build_web_app(
    assistant: Assistant,
    settings: ServerSettings,
    channels: ChannelSettings | None = None,
    *,
    default_engine_processes: int = 0,
    admin: AdminSettings | None = None,
    index_refresh: IndexRefresh | None = None,
) -> Starlette:
    """The ASGI app over an assistant: web chat, channel webhooks, health and readiness,
    and the staff admin at ``/admin`` when ``TTHC_ADMIN_SECRET_KEY`` is set.

    ``default_engine_processes``: see :func:`build_channels`. ``index_refresh``: what a
    publish calls (default: :class:`indexer.refresh.BackgroundIndexRefresh`, a debounced
    incremental build in a child process; every process then loads the new generation).
    """

    def ready() -> dict[str, object] | None:
        # Ready while some intact generation serves, also a fallback: taking every
        # replica out of rotation because a new build is damaged would help no one.
        serving = assistant.retriever.serving()
        manifest = serving.manifest
        return {
            "generation": serving.generation,
            "current": serving.current,
            "fallback": serving.fallback,
            "verified": serving.verified,
            "refused": serving.refused,
            "model_id": manifest.model_id,
            "created_at": manifest.created_at,
            "knowledge_revision": manifest.knowledge_revision,
        }

    retention_days = PrivacySettings().retention_days  # a bad value stops the start-up
    factory = make_session_factory(assistant.database)
    exchanges = SqlExchangeLog(factory=factory)
    promotions = PromoLinks(factory=factory, base_url=settings.public_base_url)
    built = build_channels(
        assistant,
        settings,
        channels or ChannelSettings(),
        default_engine_processes=default_engine_processes,
        exchanges=exchanges,
        promotions=promotions,
    )
    routes: list[BaseRoute] = [*built.routes, *redirect_routes(promotions)]
    if index_refresh is None:
        background = make_index_refresh(IndexSettings(), factory)
        built.shutdown.append(background.close)
        index_refresh = background
    admin_app = build_admin_app(
        assistant,
        settings,
        admin or AdminSettings(),
        index_refresh,
        handoffs=built.handoffs,
        glossary_path=IndexSettings().glossary_path,
    )
    if admin_app is not None:
        routes.append(Mount("/admin", app=admin_app))
        # Approved changes with an effective date go live on that day by themselves
        # (every process runs it; each change is published once, see bot.admin.due).
        due = DuePublisher(factory, index_refresh)
        built.startup.append(due.start)
        built.shutdown.insert(0, due.stop)
    # Personal data older than TTHC_RETENTION_DAYS goes every hour (see bot.privacy).
    purger = RetentionPurger(factory, retention_days)
    built.startup.append(purger.start)
    built.shutdown.insert(0, purger.stop)
    return create_app(
        engine=assistant.engine,
        feedback=SqlFeedbackSink(factory=factory),
        ready=ready,
        limiter=RateLimiter(
            limit=settings.rate_limit_per_minute,
            window=60.0,
            storage_uri=settings.rate_limit_storage(),
        ),
        trusted_proxies=settings.trusted_proxy_set(),
        extra_routes=routes,
        on_startup=built.startup,
        max_body_bytes=settings.max_body_bytes,
        on_shutdown=built.shutdown,
        hotlines=assistant.engine.hotline_text,
        exchanges=exchanges,
        promotions=promotions,
    )


def build_admin_app(
    assistant: Assistant,
    settings: ServerSettings,
    admin: AdminSettings,
    refresh: IndexRefresh,
    *,
    handoffs: HandoffService | None = None,
    glossary_path: Path | None = None,
) -> ASGIApp | None:
    """The staff admin over the assistant's database, or ``None`` when
    ``TTHC_ADMIN_SECRET_KEY`` is unset (the admin is then not mounted: /admin is 404).

    ``handoffs``: the live-handoff service of this process's channels (the officer
    inbox replies through it); ``glossary_path``: ``TTHC_GLOSSARY_PATH``.
    """
    secret = admin.secret_value()
    if not secret:
        return None
    return build_admin(
        factory=make_session_factory(assistant.database),
        refresh=refresh,
        secret_key=secret,
        secure_cookies=admin.secure_cookies,
        idle_minutes=admin.idle_minutes,
        login_attempts=admin.login_attempts,
        login_window_minutes=admin.login_window_minutes,
        limiter_storage=settings.rate_limit_storage(),
        trusted_proxies=settings.trusted_proxy_set(),
        pages=ADMIN_PAGES,
        handoffs=handoffs,
        glossary_path=glossary_path,
    )
