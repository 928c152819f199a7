"""Platform tokens kept in the database, so a refreshed (single-use) Zalo refresh token
survives restarts and is seen by every worker."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.db import transaction
from knowledge.models import ChannelToken


class SqlTokenStore:
    """One row per channel; seeded from the settings the first time.

    Refreshes are serialised by an asyncio lock within a process; the adapter re-reads the
    pair under the lock, so a caller that waited reuses the token another refreshed.
    """

    def __init__(
        self, *, factory: sessionmaker[Session], channel: str, access: str, refresh: str
    ) -> None:
        self._factory = factory
        self._channel = channel
        self._seed = (access, refresh)
        self._lock = asyncio.Lock()

    def _get(self) -> tuple[str, str]:
        with transaction(self._factory) as session:
            row = session.scalars(
                select(ChannelToken).where(ChannelToken.channel == self._channel)
            ).first()
            if row is None:
                row = ChannelToken(
                    channel=self._channel, access_token=self._seed[0], refresh_token=self._seed[1]
                )
                session.add(row)
            return row.access_token, row.refresh_token

    def _save(self, access: str, refresh: str) -> None:
        with transaction(self._factory) as session:
            row = session.scalars(
                select(ChannelToken).where(ChannelToken.channel == self._channel)
            ).first()
            if row is None:
                session.add(
                    ChannelToken(channel=self._channel, access_token=access, refresh_token=refresh)
                )
            else:
                row.access_token, row.refresh_token = access, refresh

    async def get(self) -> tuple[str, str]:
        """The current ``(access, refresh)`` pair."""
        return await asyncio.to_thread(self._get)

    async def save(self, access: str, refresh: str) -> None:
        """Store a new pair (the old refresh token is spent)."""
        await asyncio.to_thread(self._save, access, refresh)

    def refresh_lock(self) -> asyncio.Lock:
        """Serialises refreshes in this process."""
        return self._lock
