"""Conversation state shared by every bot process: in the database, or in Redis.

A numbered choice answered by another process, or after a restart, finds its list.
Both stores forget a conversation after ``ttl`` seconds of silence.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from bot.engine.conversation import ConversationState, state_from_dict, state_to_dict
from knowledge.db import transaction
from knowledge.models import ConversationRecord

logger = logging.getLogger(__name__)


class SqlConversationStore:
    """Conversations in the knowledge database (SQLite or PostgreSQL)."""

    def __init__(
        self,
        *,
        factory: sessionmaker[Session],
        ttl: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._factory = factory
        self._ttl = ttl
        self._clock = clock
        self._saves = 0

    def load(self, channel: str, user_id: str) -> ConversationState:
        """The state, or a fresh one when unknown or older than the TTL."""
        with self._factory() as session:
            data = session.execute(
                select(ConversationRecord.state).where(
                    ConversationRecord.channel == channel,
                    ConversationRecord.user_id == user_id[:128],
                )
            ).scalar()
        if not isinstance(data, dict):
            return ConversationState()
        state = state_from_dict(data)
        if self._clock() - state.updated_at > self._ttl:
            return ConversationState()
        return state

    def save(self, channel: str, user_id: str, state: ConversationState) -> None:
        """Insert or replace the state (one row per channel and user)."""
        state.updated_at = self._clock()
        values: dict[str, Any] = {
            "channel": channel,
            "user_id": user_id[:128],
            "state": state_to_dict(state),
            "updated_at": dt.datetime.fromtimestamp(state.updated_at, dt.UTC),
        }
        with transaction(self._factory) as session:
            dialect = session.get_bind().dialect.name
            insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(
                ConversationRecord
            )
            session.execute(
                insert.values(**values).on_conflict_do_update(
                    index_elements=["channel", "user_id"],
                    set_={"state": values["state"], "updated_at": values["updated_at"]},
                )
            )
            self._saves += 1
            if self._saves % 500 == 0:  # forget silent conversations now and then
                cutoff = dt.datetime.fromtimestamp(self._clock() - self._ttl, dt.UTC)
                session.execute(
                    delete(ConversationRecord).where(ConversationRecord.updated_at < cutoff)
                )


class RedisConversationStore:
    """Conversations in Redis (``TTHC_REDIS_URL``), each key expiring after the TTL."""

    def __init__(self, *, client: Any, ttl: float, clock: Callable[[], float] = time.time) -> None:
        self._redis = client
        self._ttl = ttl
        self._clock = clock

    @staticmethod
    def _key(channel: str, user_id: str) -> str:
        return f"tthc:conversation:{channel}:{user_id[:128]}"

    def load(self, channel: str, user_id: str) -> ConversationState:
        """The state, or a fresh one when unknown or expired."""
        raw = self._redis.get(self._key(channel, user_id))
        if raw is None:
            return ConversationState()
        try:
            return state_from_dict(json.loads(raw))
        except ValueError:
            return ConversationState()

    def forget(self, channel: str, user_id: str) -> int:
        """Delete one citizen's conversation (an erasure request); 1 if there was one."""
        return int(self._redis.delete(self._key(channel, user_id)))

    def save(self, channel: str, user_id: str, state: ConversationState) -> None:
        """Store the state with the TTL as the key's expiry."""
        state.updated_at = self._clock()
        self._redis.set(
            self._key(channel, user_id),
            json.dumps(state_to_dict(state), ensure_ascii=False),
            ex=max(1, int(self._ttl)),
        )
