"""The composition root: the only place that builds concrete objects for the assistant."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from starlette.applications import Starlette

from bot.analytics import SqlFeedbackSink, SqlQuestionLog
from bot.engine.conversation import InMemoryConversationStore
from bot.engine.engine import AnswerEngine
from bot.ratelimit import RateLimiter
from bot.settings import BotSettings, ServerSettings
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


def build_web_app(assistant: Assistant, settings: ServerSettings) -> Starlette:
    """The ASGI app over an assistant: web chat, its API, health and readiness."""

    def ready() -> dict[str, object] | None:
        manifest = assistant.retriever.manifest
        return {
            "model_id": manifest.model_id,
            "created_at": manifest.created_at,
            "knowledge_revision": manifest.knowledge_revision,
        }

    return create_app(
        engine=assistant.engine,
        feedback=SqlFeedbackSink(factory=make_session_factory(assistant.database)),
        ready=ready,
        limiter=RateLimiter(limit=settings.rate_limit_per_minute, window=60.0),
    )
