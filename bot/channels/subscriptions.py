"""Who asked to be told about updates (/subscribe, /unsubscribe) on a chat channel."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.db import transaction
from knowledge.models import Subscription


class SqlSubscriptions:
    """Subscriptions in the knowledge database (platform user ids, no personal data)."""

    def __init__(self, *, factory: sessionmaker[Session]) -> None:
        self._factory = factory

    def add(self, channel: str, user_id: str, source: str = "command") -> bool:
        """Subscribe; False when already subscribed.

        ``source``: how the citizen opted in, "command" (/subscribe), "follow" (Zalo OA
        follow event) or "button" ("Nhận thông báo")."""
        with transaction(self._factory) as session:
            found = session.scalars(
                select(Subscription).where(
                    Subscription.channel == channel, Subscription.user_id == user_id
                )
            ).first()
            if found is not None:
                return False
            session.add(Subscription(channel=channel, user_id=user_id, source=source))
            return True

    def remove(self, channel: str, user_id: str) -> bool:
        """Unsubscribe; False when there was nothing to remove."""
        with transaction(self._factory) as session:
            result = session.execute(
                delete(Subscription).where(
                    Subscription.channel == channel, Subscription.user_id == user_id
                )
            )
            return bool(getattr(result, "rowcount", 0))
