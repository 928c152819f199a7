"""The composition root: the only place that builds concrete objects for the assistant."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from bot.analytics import SqlQuestionLog
from bot.engine.conversation import InMemoryConversationStore
from bot.engine.engine import AnswerEngine
from bot.settings import BotSettings
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
