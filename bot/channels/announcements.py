"""Announcements (tuyên truyền) to the subscribers of chat channels, sent as queue jobs.

Staff write a text, pick channels and a time; at that time the ``tthc.announce`` job
(``bot.channels.jobs``) takes a snapshot of the channels' subscribers as one delivery row
per (announcement, channel, recipient), unique, and sends row by row. Each row goes
pending → sending → sent, or ends skipped_window / unsubscribed / failed:

- **Resumable, never twice.** A row is marked "sending" right before its request's first
  byte (``bot.channels.inflight``, as the reply parts are); a run that dies leaves it
  "sending", and the next run counts it as sent without sending it again (a duplicate
  in a citizen's chat is worse than one lost announcement). A send whose answer was
  lost (``DeliveryUncertain``) is counted as sent for the same reason. Pending rows are
  all the next run sends.
- **Unsubscribe** is checked right before each send (a /unsubscribe after the snapshot
  still wins).
- **Platform rules:**

  - Telegram: no window for a bot a user started; sends are paced under Telegram's
    flood limit (``FloodLimit.MESSAGES_PER_SECOND = 30`` across chats,
    channels.md §1.4) with a ``limits`` moving window, and a 429's ``retry_after`` is
    waited out before the same recipient is tried again.
  - Zalo OA: an announcement goes as a consultation ("tư vấn", ``cs``) message, which
    Zalo only delivers to a user who interacted with the OA within the last 7 days
    (error -230 "User has not interacted with the OA in the past 7 days", channels.md
    "Windows, quotas and errors"). Recipients whose last interaction is older are
    skipped and counted (``skipped_window``), never sent.
  - Messenger: the standard messaging window is 24 hours after the person's last
    message (Messenger Platform policy, channels.md §3.5); an announcement fits no
    message tag (tags are for specific non-promotional updates), so recipients outside
    the window are skipped and counted; inside it the message goes as ``UPDATE``.

A citizen's last interaction is the latest of their last message in the conversation
record (``answer_exchanges.at``) and the time they subscribed (the /subscribe message,
the follow or the button press is itself an interaction).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import inflight
from bot.channels.base import (
    ChannelAdapter,
    ChannelError,
    DeliveryUncertain,
    InboundEvent,
    OutboundMessage,
    OutsideWindow,
    PlatformRateLimited,
    PlatformUnavailable,
    TokenExpired,
)
from knowledge.db import transaction
from knowledge.models import (
    Announcement,
    AnnouncementDelivery,
    AnswerExchange,
    Subscription,
)

logger = logging.getLogger(__name__)

#: Channels an announcement can go to (the Zalo Bot platform documents no broadcast rule).
ANNOUNCE_CHANNELS = ("telegram", "zalo-oa", "messenger")

#: Interaction windows per channel (None: no window).
WINDOWS: dict[str, dt.timedelta | None] = {
    "telegram": None,
    "zalo-oa": dt.timedelta(days=7),
    "messenger": dt.timedelta(hours=24),
}

#: The longest text: every channel then sends it as one message (Zalo and Messenger
#: take 2000 characters, Telegram 4096), footer included.
MAX_TEXT = 2000

#: How long a run keeps retrying a channel that is down (5xx, network, a token that
#: cannot be refreshed): after that its pending rows are marked failed and the
#: announcement is done, so a stale announcement never arrives days late.
GIVE_UP_AFTER = dt.timedelta(hours=24)

#: Added to every announcement: how to stop them.
FOOTER = "\n\n(Gửi /unsubscribe để ngừng nhận thông báo.)"

DRAFT, SCHEDULED, SENDING, DONE, CANCELLED = "draft", "scheduled", "sending", "done", "cancelled"
PENDING, IN_FLIGHT, SENT = "pending", "sending", "sent"
SKIPPED_WINDOW, UNSUBSCRIBED, FAILED = "skipped_window", "unsubscribed", "failed"
#: Delivery states in report order.
DELIVERY_STATES = (PENDING, IN_FLIGHT, SENT, SKIPPED_WINDOW, UNSUBSCRIBED, FAILED)


class AnnouncementError(ValueError):
    """Bad input for an announcement (message in Vietnamese, for staff)."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite gives naive datetimes back: they are UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def clean_text(text: str) -> str:
    """NFC, stripped; raises :class:`AnnouncementError` when empty or too long."""
    text = unicodedata.normalize("NFC", text).strip()
    if not text:
        raise AnnouncementError("Nội dung thông báo không được để trống.")
    if len(text) + len(FOOTER) > MAX_TEXT:
        raise AnnouncementError(
            f"Nội dung dài {len(text)} ký tự; tối đa {MAX_TEXT - len(FOOTER)} ký tự."
        )
    return text


def parse_channels(value: str | Iterable[str]) -> list[str]:
    """``"telegram,zalo-oa"`` or a list → known channel names, in a stable order.

    Raises :class:`AnnouncementError` for an unknown name or an empty list.
    """
    names = value.split(",") if isinstance(value, str) else list(value)
    wanted = {name.strip().lower() for name in names if name.strip()}
    unknown = sorted(wanted - set(ANNOUNCE_CHANNELS))
    if unknown:
        raise AnnouncementError(
            f"Kênh không hỗ trợ: {', '.join(unknown)}. Chọn trong: {', '.join(ANNOUNCE_CHANNELS)}."
        )
    if not wanted:
        raise AnnouncementError("Chọn ít nhất một kênh.")
    return [name for name in ANNOUNCE_CHANNELS if name in wanted]


def rendered_text(text: str) -> str:
    """What each recipient reads: the text and how to stop receiving announcements."""
    return text + FOOTER


@dataclass(frozen=True)
class ChannelPreview:
    """Recipients of one channel now: subscribed, and how many are outside its window."""

    channel: str
    subscribers: int
    outside_window: int

    @property
    def reachable(self) -> int:
        return self.subscribers - self.outside_window


@dataclass(frozen=True)
class AnnouncementView:
    """One announcement and its delivery report ``{channel: {state: count}}``."""

    id: int
    text: str
    channels: list[str]
    state: str
    scheduled_at: dt.datetime | None
    author: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    report: dict[str, dict[str, int]] = field(default_factory=dict)


class AnnouncementStore:
    """Announcements and their deliveries in the knowledge database (synchronous; call
    from a thread in async code). ``now`` is injectable for tests."""

    def __init__(
        self,
        *,
        factory: sessionmaker[Session],
        windows: Mapping[str, dt.timedelta | None] | None = None,
        now: Callable[[], dt.datetime] = _now,
    ) -> None:
        self._factory = factory
        self._windows = dict(WINDOWS if windows is None else windows)
        self._now = now

    # -- staff side ---------------------------------------------------------------

    def create(
        self,
        *,
        text: str,
        channels: Iterable[str] | str,
        author: str,
        at: dt.datetime | None = None,
        draft: bool = False,
    ) -> int:
        """A new announcement; scheduled for ``at`` (UTC-aware; None = now) unless
        ``draft``. Raises :class:`AnnouncementError` for bad text, channels or time."""
        clean = clean_text(text)
        names = parse_channels(channels)
        when = self._check_time(at)
        with transaction(self._factory) as session:
            row = Announcement(
                text=clean,
                channels=names,
                audience="subscribers",
                scheduled_at=when,
                state=DRAFT if draft else SCHEDULED,
                author=author[:64],
                created_at=self._now(),
                updated_at=self._now(),
            )
            session.add(row)
            session.flush()
            return row.id

    def _check_time(self, at: dt.datetime | None) -> dt.datetime:
        if at is None:
            return self._now()
        if at.tzinfo is None:
            raise AnnouncementError("Thời điểm gửi phải có múi giờ (ví dụ +07:00).")
        if at < self._now() - dt.timedelta(minutes=1):
            raise AnnouncementError("Thời điểm gửi đã qua.")
        return at.astimezone(dt.UTC)

    def schedule(self, announcement_id: int, at: dt.datetime | None = None) -> bool:
        """A draft (or a scheduled one, re-timed) goes out at ``at`` (None = now).
        False when it is no longer draft/scheduled."""
        when = self._check_time(at)
        with transaction(self._factory) as session:
            result = session.execute(
                update(Announcement)
                .where(Announcement.id == announcement_id)
                .where(Announcement.state.in_((DRAFT, SCHEDULED)))
                .values(state=SCHEDULED, scheduled_at=when, updated_at=self._now())
            )
            return bool(getattr(result, "rowcount", 0))

    def cancel(self, announcement_id: int) -> bool:
        """Cancel a draft or scheduled one; False once it started sending."""
        with transaction(self._factory) as session:
            result = session.execute(
                update(Announcement)
                .where(Announcement.id == announcement_id)
                .where(Announcement.state.in_((DRAFT, SCHEDULED)))
                .values(state=CANCELLED, updated_at=self._now())
            )
            return bool(getattr(result, "rowcount", 0))

    def preview(self, channels: Iterable[str] | str) -> list[ChannelPreview]:
        """Per channel: subscribers now and how many are outside its interaction window."""
        names = parse_channels(channels)
        with self._factory() as session:
            result = []
            for name in names:
                users = [user for user, _ in self._subscribers(session, name)]
                outside = sum(1 for user in users if not self._in_window(session, name, user))
                result.append(ChannelPreview(name, len(users), outside))
            return result

    def get(self, announcement_id: int) -> AnnouncementView | None:
        """One announcement with its report, or None."""
        with self._factory() as session:
            row = session.get(Announcement, announcement_id)
            if row is None:
                return None
            return self._view(row, self._reports(session, [row.id]).get(row.id, {}))

    def recent(self, limit: int = 50) -> list[AnnouncementView]:
        """The newest announcements first, each with its report."""
        with self._factory() as session:
            rows = list(
                session.scalars(select(Announcement).order_by(Announcement.id.desc()).limit(limit))
            )
            reports = self._reports(session, [row.id for row in rows])
            return [self._view(row, reports.get(row.id, {})) for row in rows]

    def _view(self, row: Announcement, report: dict[str, dict[str, int]]) -> AnnouncementView:
        return AnnouncementView(
            id=row.id,
            text=row.text,
            channels=list(row.channels),
            state=row.state,
            scheduled_at=_aware(row.scheduled_at) if row.scheduled_at else None,
            author=row.author,
            created_at=_aware(row.created_at),
            finished_at=_aware(row.finished_at) if row.finished_at else None,
            report={name: report.get(name, _zero()) for name in row.channels},
        )

    @staticmethod
    def _reports(session: Session, ids: list[int]) -> dict[int, dict[str, dict[str, int]]]:
        reports: dict[int, dict[str, dict[str, int]]] = {}
        if not ids:
            return reports
        counted = session.execute(
            select(
                AnnouncementDelivery.announcement_id,
                AnnouncementDelivery.channel,
                AnnouncementDelivery.state,
                func.count(),
            )
            .where(AnnouncementDelivery.announcement_id.in_(ids))
            .group_by(
                AnnouncementDelivery.announcement_id,
                AnnouncementDelivery.channel,
                AnnouncementDelivery.state,
            )
        )
        for announcement_id, channel, state, count in counted:
            by_channel = reports.setdefault(announcement_id, {})
            by_channel.setdefault(channel, _zero())[state] = int(count)
        return reports

    # -- sending side -------------------------------------------------------------

    def due(self) -> list[int]:
        """Ids to run now: scheduled ones whose time came, and any left "sending"."""
        now = self._now()
        with self._factory() as session:
            return list(
                session.scalars(
                    select(Announcement.id)
                    .where(
                        (Announcement.state == SENDING)
                        | and_(Announcement.state == SCHEDULED, Announcement.scheduled_at <= now)
                    )
                    .order_by(Announcement.id)
                )
            )

    def begin(self, announcement_id: int) -> tuple[str, list[str]] | None:
        """Start or resume a run: ``(text, channels)``, or None when there is nothing to do.

        The first run takes the recipients' snapshot (one pending row each; the unique
        constraint makes a repeat harmless); every run first counts as sent the rows a
        dead run left "sending".
        """
        now = self._now()
        with transaction(self._factory) as session:
            row = session.get(Announcement, announcement_id)
            if row is None or row.state not in (SCHEDULED, SENDING):
                return None
            if row.state == SCHEDULED:
                if row.scheduled_at is not None and _aware(row.scheduled_at) > now:
                    return None
                row.state, row.started_at, row.updated_at = SENDING, now, now
                for name in row.channels:
                    users = [user for user, _ in self._subscribers(session, name)]
                    self._insert_pending(session, announcement_id, name, users)
            left = session.execute(
                update(AnnouncementDelivery)
                .where(AnnouncementDelivery.announcement_id == announcement_id)
                .where(AnnouncementDelivery.state == IN_FLIGHT)
                .values(
                    state=SENT, detail="uncertain: a run stopped during the send", updated_at=now
                )
            )
            if getattr(left, "rowcount", 0):
                logger.warning(
                    "announcement %s: %s sends a stopped run left are counted as sent",
                    announcement_id,
                    left.rowcount,  # type: ignore[attr-defined]
                )
            started = _aware(row.started_at) if row.started_at is not None else now
            if now - started > GIVE_UP_AFTER:
                stale = session.execute(
                    update(AnnouncementDelivery)
                    .where(AnnouncementDelivery.announcement_id == announcement_id)
                    .where(AnnouncementDelivery.state == PENDING)
                    .values(state=FAILED, detail="gave up: channel unavailable", updated_at=now)
                )
                if getattr(stale, "rowcount", 0):
                    logger.warning(
                        "announcement %s: %s sends given up after %s",
                        announcement_id,
                        stale.rowcount,  # type: ignore[attr-defined]
                        GIVE_UP_AFTER,
                    )
            return row.text, list(row.channels)

    def _insert_pending(
        self, session: Session, announcement_id: int, channel: str, users: list[str]
    ) -> None:
        if not users:
            return
        now = self._now()
        values = [
            {
                "announcement_id": announcement_id,
                "channel": channel,
                "user_id": user,
                "state": PENDING,
                "detail": "",
                "updated_at": now,
            }
            for user in users
        ]
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(AnnouncementDelivery).on_conflict_do_nothing(
            index_elements=["announcement_id", "channel", "user_id"]
        )
        session.execute(statement, values)

    def pending(
        self, announcement_id: int, channel: str, limit: int = 200
    ) -> list[tuple[int, str]]:
        """``(row id, user id)`` of the next pending rows of one channel, in order."""
        with self._factory() as session:
            return [
                (row_id, user)
                for row_id, user in session.execute(
                    select(AnnouncementDelivery.id, AnnouncementDelivery.user_id)
                    .where(AnnouncementDelivery.announcement_id == announcement_id)
                    .where(AnnouncementDelivery.channel == channel)
                    .where(AnnouncementDelivery.state == PENDING)
                    .order_by(AnnouncementDelivery.id)
                    .limit(limit)
                )
            ]

    def gate(self, channel: str, user_id: str) -> str | None:
        """Right before a send: UNSUBSCRIBED, SKIPPED_WINDOW, or None (send it)."""
        with self._factory() as session:
            subscribed = session.scalar(
                select(Subscription.id).where(
                    Subscription.channel == channel, Subscription.user_id == user_id
                )
            )
            if subscribed is None:
                return UNSUBSCRIBED
            if not self._in_window(session, channel, user_id):
                return SKIPPED_WINDOW
            return None

    def mark(
        self, row_id: int, state: str, detail: str = "", *, only_from: str | None = None
    ) -> bool:
        """Set one row's state; with ``only_from`` only when it is still in that state."""
        with transaction(self._factory) as session:
            statement = update(AnnouncementDelivery).where(AnnouncementDelivery.id == row_id)
            if only_from is not None:
                statement = statement.where(AnnouncementDelivery.state == only_from)
            result = session.execute(
                statement.values(state=state, detail=detail[:255], updated_at=self._now())
            )
            return bool(getattr(result, "rowcount", 0))

    def finish(self, announcement_id: int) -> bool:
        """Done when no row is pending; False (still sending) otherwise."""
        now = self._now()
        with transaction(self._factory) as session:
            left = session.scalar(
                select(func.count())
                .select_from(AnnouncementDelivery)
                .where(AnnouncementDelivery.announcement_id == announcement_id)
                .where(AnnouncementDelivery.state.in_((PENDING, IN_FLIGHT)))
            )
            if left:
                return False
            session.execute(
                update(Announcement)
                .where(Announcement.id == announcement_id)
                .where(Announcement.state == SENDING)
                .values(state=DONE, finished_at=now, updated_at=now)
            )
            return True

    # -- helpers ------------------------------------------------------------------

    @staticmethod
    def _subscribers(session: Session, channel: str) -> list[tuple[str, dt.datetime]]:
        return [
            (user, _aware(created))
            for user, created in session.execute(
                select(Subscription.user_id, Subscription.created_at)
                .where(Subscription.channel == channel)
                .order_by(Subscription.id)
            )
        ]

    def _in_window(self, session: Session, channel: str, user_id: str) -> bool:
        window = self._windows.get(channel)
        if window is None:
            return True
        since = self._now() - window
        subscribed = session.scalar(
            select(Subscription.created_at).where(
                Subscription.channel == channel, Subscription.user_id == user_id
            )
        )
        if subscribed is not None and _aware(subscribed) >= since:
            return True
        last = session.scalar(
            select(func.max(AnswerExchange.at)).where(
                AnswerExchange.channel == channel, AnswerExchange.user_id == user_id
            )
        )
        return last is not None and _aware(last) >= since


def _zero() -> dict[str, int]:
    return dict.fromkeys(DELIVERY_STATES, 0)


class TelegramPace:
    """At most ``per_second`` Telegram sends per second in this process (``limits``)."""

    def __init__(self, per_second: int = 25) -> None:
        self._strategy = MovingWindowRateLimiter(MemoryStorage())
        self._item = RateLimitItemPerSecond(max(1, per_second), 1, namespace="tthc-announce")

    async def wait(self) -> None:
        """Return once one more send fits in the window."""
        while not self._strategy.hit(self._item, "telegram"):
            await asyncio.sleep(0.02)


class AnnouncementSender:
    """Runs one announcement: ``await run(id)`` (the ``tthc.announce`` job's body).

    Safe to run again at any point (see the module docstring). Raises
    ``PlatformUnavailable`` / ``TokenExpired`` / ``PlatformRateLimited`` (a wait longer
    than ``max_wait`` seconds) for the queue to retry the job later; the row it was on
    stays pending.
    """

    def __init__(
        self,
        *,
        store: AnnouncementStore,
        adapters: Iterable[ChannelAdapter],
        telegram_per_second: int = 25,
        max_wait: float = 60.0,
    ) -> None:
        self._store = store
        self._adapters = {adapter.name: adapter for adapter in adapters}
        self._pace = TelegramPace(telegram_per_second)
        self._max_wait = max_wait

    async def run(self, announcement_id: int) -> bool:
        """Send what is pending; True when the announcement is done."""
        begun = await asyncio.to_thread(self._store.begin, announcement_id)
        if begun is None:
            return False
        text, channels = begun
        message = OutboundMessage(rendered_text(text))
        down: ChannelError | None = None
        for name in channels:
            try:
                await self._channel(announcement_id, name, message)
            except (PlatformUnavailable, TokenExpired, PlatformRateLimited) as exc:
                # One platform down (or asking for a long wait) must not hold the others.
                logger.warning("announcement %s: %s unavailable for now", announcement_id, name)
                down = exc
        if down is not None:
            raise down  # the queue retries the job; sent rows are not sent again
        done = await asyncio.to_thread(self._store.finish, announcement_id)
        if done:
            logger.info("announcement %s done", announcement_id)
        return done

    async def _channel(self, announcement_id: int, name: str, message: OutboundMessage) -> None:
        """Send one channel's pending rows, in order."""
        adapter = self._adapters.get(name)
        while batch := await asyncio.to_thread(self._store.pending, announcement_id, name):
            for row_id, user in batch:
                if adapter is None:
                    await asyncio.to_thread(
                        self._store.mark, row_id, FAILED, "channel not configured"
                    )
                    continue
                await self._one(adapter, announcement_id, row_id, user, message)

    async def _one(
        self,
        adapter: ChannelAdapter,
        announcement_id: int,
        row_id: int,
        user: str,
        message: OutboundMessage,
    ) -> None:
        verdict = await asyncio.to_thread(self._store.gate, adapter.name, user)
        if verdict is not None:
            await asyncio.to_thread(self._store.mark, row_id, verdict)
            return
        event = InboundEvent(
            channel=adapter.name,
            account_id="",
            event_key=f"announce:{announcement_id}:{row_id}",
            user_id=user,
            reply_target=user,
            kind="announce",
        )
        while True:
            if adapter.name == "telegram":
                await self._pace.wait()

            async def mark() -> None:
                await asyncio.to_thread(self._store.mark, row_id, IN_FLIGHT, "", only_from=PENDING)

            try:
                with inflight.before_first_byte(mark):
                    await adapter.send(event, adapter.render(message))
            except DeliveryUncertain:
                logger.warning(
                    "%s: no answer for announcement row %s; counted as sent", adapter.name, row_id
                )
                await asyncio.to_thread(self._store.mark, row_id, SENT, "uncertain: no answer")
                return
            except PlatformRateLimited as exc:
                await asyncio.to_thread(self._store.mark, row_id, PENDING)
                if exc.retry_after > self._max_wait:
                    raise
                logger.info("%s asked to wait %.1f s", adapter.name, exc.retry_after)
                await asyncio.sleep(exc.retry_after)
                continue
            except (PlatformUnavailable, TokenExpired):
                await asyncio.to_thread(self._store.mark, row_id, PENDING)
                raise
            except OutsideWindow as exc:  # the platform's window closed after our check
                await asyncio.to_thread(self._store.mark, row_id, SKIPPED_WINDOW, str(exc))
                return
            except ChannelError as exc:  # refused: blocked bot, deleted account, ...
                await asyncio.to_thread(self._store.mark, row_id, FAILED, str(exc))
                return
            await asyncio.to_thread(self._store.mark, row_id, SENT)
            return
