"""The composition root: the only place that builds concrete objects for the assistant."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.routing import Route

from bot.analytics import SqlFeedbackSink, SqlQuestionLog
from bot.channels.base import ChannelAdapter, InboundEvent
from bot.channels.dispatch import Dispatcher, SqlEventClaims, TaskRunner
from bot.channels.messenger import MessengerAdapter
from bot.channels.routes import webhook_routes
from bot.channels.subscriptions import SqlSubscriptions
from bot.channels.telegram import TelegramAdapter
from bot.channels.tokens import SqlTokenStore
from bot.channels.zalo_bot import ZaloBotAdapter
from bot.channels.zalo_oa import ZaloOAAdapter
from bot.engine.conversation import InMemoryConversationStore
from bot.engine.engine import AnswerEngine
from bot.ratelimit import RateLimiter
from bot.settings import BotSettings, ChannelSettings, ServerSettings
from bot.web import create_app
from indexer.components import make_retriever
from indexer.retriever import HybridRetriever
from indexer.settings import IndexSettings
from knowledge import migrate
from knowledge.db import make_engine, make_session_factory
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


def build_assistant() -> Assistant:
    """Settings from the environment → a ready engine over the current index generation."""
    knowledge_settings = KnowledgeSettings()
    database = make_engine(knowledge_settings.resolved_database_url())
    migrate.upgrade(database)
    retriever = make_retriever(IndexSettings())
    retriever.generation()  # fail now, with a clear message, if there is no index
    bot_settings = BotSettings()
    engine = AnswerEngine(
        knowledge=retriever,
        conversations=InMemoryConversationStore(ttl=bot_settings.conversation_ttl_seconds),
        log=SqlQuestionLog(factory=make_session_factory(database)),
    )
    return Assistant(engine=engine, retriever=retriever, database=database)


@dataclass
class Channels:
    """The configured channel adapters and what serves them."""

    adapters: list[ChannelAdapter]
    dispatcher: Dispatcher
    tasks: TaskRunner
    routes: list[Route]
    shutdown: list[Callable[[], Any]]


def build_channels(
    assistant: Assistant, settings: ServerSettings, channels: ChannelSettings
) -> Channels:
    """The configured channels, their webhook routes and their shutdown hooks.

    A channel whose credentials are missing is simply not built (its route is a 404).
    """
    # Telegram and Zalo Bot URLs contain the bot token; httpx logs URLs at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    factory = make_session_factory(assistant.database)
    client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))
    adapters: list[ChannelAdapter] = []
    if (telegram := channels.telegram()) is not None:
        adapters.append(
            TelegramAdapter(
                token=telegram[0],
                webhook_secret=telegram[1],
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
    if (page := channels.messenger()) is not None:
        adapters.append(
            MessengerAdapter(
                **page, client=client, graph_base_url=channels.facebook_graph_api_base_url
            )
        )
    feedback = SqlFeedbackSink(factory=factory)

    async def on_feedback(event: InboundEvent, answer_id: str, value: str) -> None:
        if value in ("up", "down"):
            await asyncio.to_thread(
                feedback.record, channel=event.channel, answer_id=answer_id, value=value, cited=""
            )

    tasks = TaskRunner()
    dispatcher = Dispatcher(
        engine=assistant.engine,
        claims=SqlEventClaims(factory=factory),
        tasks=tasks,
        limiter=RateLimiter(limit=settings.rate_limit_per_minute, window=60.0),
        on_feedback=on_feedback,
        subscriptions=SqlSubscriptions(factory=factory),
    )
    routes = [route for adapter in adapters for route in webhook_routes(adapter, dispatcher)]
    hooks: list[Callable[[], Any]] = [tasks.drain]
    hooks += [a.stop for a in adapters if isinstance(a, TelegramAdapter)]
    hooks.append(client.aclose)
    return Channels(adapters, dispatcher, tasks, routes, hooks)


def build_web_app(
    assistant: Assistant,
    settings: ServerSettings,
    channels: ChannelSettings | None = None,
) -> Starlette:
    """The ASGI app over an assistant: web chat, channel webhooks, health and readiness."""

    def ready() -> dict[str, object] | None:
        manifest = assistant.retriever.manifest
        return {
            "model_id": manifest.model_id,
            "created_at": manifest.created_at,
            "knowledge_revision": manifest.knowledge_revision,
        }

    built = build_channels(assistant, settings, channels or ChannelSettings())
    return create_app(
        engine=assistant.engine,
        feedback=SqlFeedbackSink(factory=make_session_factory(assistant.database)),
        ready=ready,
        limiter=RateLimiter(limit=settings.rate_limit_per_minute, window=60.0),
        extra_routes=built.routes,
        on_shutdown=built.shutdown,
    )
