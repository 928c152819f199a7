"""Platform tokens kept in the database, encrypted, so a refreshed (single-use) Zalo
refresh token survives restarts and is seen by every process.

Refreshes are serialised across processes: an asyncio lock within one process and, on
PostgreSQL, an advisory lock held for the whole refresh, so two processes never spend
the same refresh token. The adapter re-reads the pair under the lock (a waiter reuses
what another refreshed) and saves the new pair before using it.

Known limit: Zalo spends the refresh token when it answers. A process killed after
Zalo answered and before the new pair was saved leaves a spent token stored; the
next refresh is then refused and logged, and the OA must be authorised again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import AsyncIterator

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from knowledge.db import transaction
from knowledge.models import ChannelToken

logger = logging.getLogger(__name__)

_ENCRYPTED = "fernet:"


class TokenCipher:
    """Encrypts tokens at rest with a Fernet key (``TTHC_TOKEN_KEY``).

    Without a key, tokens are stored as they are (a warning says so at start-up).
    Values stored before a key was set are read as they are and encrypted at the
    next save.
    """

    def __init__(self, key: str = "") -> None:
        self._fernet = Fernet(key.encode()) if key else None
        if self._fernet is None:
            logger.warning("TTHC_TOKEN_KEY is not set: channel tokens are stored unencrypted")

    def seal(self, value: str) -> str:
        """The value as stored."""
        if self._fernet is None:
            return value
        return _ENCRYPTED + self._fernet.encrypt(value.encode()).decode()

    def open(self, stored: str) -> str:
        """The value from what is stored; ``ValueError`` for a wrong key."""
        if not stored.startswith(_ENCRYPTED):
            return stored
        if self._fernet is None:
            raise ValueError("a channel token is encrypted but TTHC_TOKEN_KEY is not set")
        try:
            return self._fernet.decrypt(stored[len(_ENCRYPTED) :].encode()).decode()
        except InvalidToken as exc:
            raise ValueError("TTHC_TOKEN_KEY does not decrypt the stored channel token") from exc


class SqlTokenStore:
    """One row per channel; seeded from the settings the first time."""

    def __init__(
        self,
        *,
        factory: sessionmaker[Session],
        channel: str,
        access: str,
        refresh: str,
        cipher: TokenCipher | None = None,
    ) -> None:
        self._factory = factory
        self._channel = channel
        self._seed = (access, refresh)
        self._cipher = cipher or TokenCipher()
        self._lock = asyncio.Lock()

    def _get(self) -> tuple[str, str]:
        try:
            return self._get_or_seed()
        except IntegrityError:
            # Another process seeded the row between our read and our insert: read it.
            return self._get_or_seed()

    def _get_or_seed(self) -> tuple[str, str]:
        with transaction(self._factory) as session:
            row = session.scalars(
                select(ChannelToken).where(ChannelToken.channel == self._channel)
            ).first()
            if row is None:
                access, refresh = self._seed
                session.add(
                    ChannelToken(
                        channel=self._channel,
                        access_token=self._cipher.seal(access),
                        refresh_token=self._cipher.seal(refresh),
                    )
                )
                return access, refresh
            return self._cipher.open(row.access_token), self._cipher.open(row.refresh_token)

    def _save(self, access: str, refresh: str) -> None:
        sealed = self._cipher.seal(access), self._cipher.seal(refresh)
        with transaction(self._factory) as session:
            row = session.scalars(
                select(ChannelToken).where(ChannelToken.channel == self._channel)
            ).first()
            if row is None:
                session.add(
                    ChannelToken(
                        channel=self._channel, access_token=sealed[0], refresh_token=sealed[1]
                    )
                )
            else:
                row.access_token, row.refresh_token = sealed

    async def get(self) -> tuple[str, str]:
        """The current ``(access, refresh)`` pair."""
        return await asyncio.to_thread(self._get)

    async def save(self, access: str, refresh: str) -> None:
        """Store a new pair (the old refresh token is spent)."""
        await asyncio.to_thread(self._save, access, refresh)

    @contextlib.asynccontextmanager
    async def refresh_lock(self) -> AsyncIterator[None]:
        """Held while a refresh runs: this process's lock, then the database's."""
        async with self._lock:
            bind = self._factory.kw.get("bind")
            if not isinstance(bind, Engine) or bind.dialect.name != "postgresql":
                yield  # SQLite: one process serves, the asyncio lock is enough
                return
            key = zlib.crc32(f"tthc-token:{self._channel}".encode())
            connection = await asyncio.to_thread(bind.connect)
            try:
                await asyncio.to_thread(
                    connection.execute, text("SELECT pg_advisory_lock(:key)"), {"key": key}
                )
                try:
                    yield
                finally:
                    await asyncio.to_thread(
                        connection.execute, text("SELECT pg_advisory_unlock(:key)"), {"key": key}
                    )
            finally:
                await asyncio.to_thread(connection.close)
