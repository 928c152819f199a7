"""Database engine and session factory for SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

#: How long a SQLite connection waits for another one's write lock before "database is
#: locked" (a staff import holds it for seconds; webhooks must not fail meanwhile).
SQLITE_BUSY_TIMEOUT_MS = 10_000


def make_engine(
    url: str, *, echo: bool = False, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL (readers never block the writer,
    the writer never blocks readers) and a busy timeout (writers wait for each other)."""
    engine = create_engine(url, echo=echo, future=True)
    if engine.dialect.name == "sqlite":
        timeout = int(busy_timeout_ms)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            # First: switching to WAL itself needs the lock another process may hold.
            cursor.execute(f"PRAGMA busy_timeout={timeout}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False, future=True)


#: One writer at a time per SQLite engine within this process. SQLite admits one writer
#: anyway; queueing our own threads on a lock instead of SQLite's busy handler (which
#: sleeps in steps of up to 100 ms) keeps a webhook's insert from waiting behind
#: those sleeps while the reply jobs write.
_SQLITE_WRITERS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
_WRITERS_GUARD = threading.Lock()


def _writer_lock(factory: sessionmaker[Session]) -> AbstractContextManager[Any]:
    bind = factory.kw.get("bind")
    if not isinstance(bind, Engine) or bind.dialect.name != "sqlite":
        return nullcontext()
    with _WRITERS_GUARD:
        lock = _SQLITE_WRITERS.get(bind)
        if lock is None:
            lock = _SQLITE_WRITERS[bind] = threading.RLock()
    return lock


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back everything on any error.

    On SQLite, the process's writers take turns (see ``_SQLITE_WRITERS``).
    """
    with _writer_lock(factory):
        session = factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
