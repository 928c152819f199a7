"""The embedded SQLite database on a real file: WAL (a write never blocks readers) and a
busy timeout (a writer waits for another connection's lock instead of failing with
"database is locked"), as a staff import in another process holds it for seconds."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from knowledge.db import SQLITE_BUSY_TIMEOUT_MS, make_engine

HOLD_SECONDS = 0.6


@pytest.fixture
def path(tmp_path: Path) -> Path:
    database = tmp_path / "tthc.sqlite3"
    engine = make_engine(f"sqlite:///{database}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    engine.dispose()
    return database


@contextmanager
def write_lock_held(database: Path, seconds: float) -> Iterator[threading.Thread]:
    """Another connection (as another process would) holds the write lock ``seconds``."""
    holder = sqlite3.connect(database, timeout=0, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (1)")

    def release() -> None:
        time.sleep(seconds)
        holder.execute("COMMIT")
        holder.close()

    thread = threading.Thread(target=release)
    thread.start()
    try:
        yield thread
    finally:
        thread.join()


def test_journal_mode_is_wal_with_a_busy_timeout(path: Path) -> None:
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT_MS
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert path.with_name(path.name + "-wal").exists()
    engine.dispose()


def test_a_writer_waits_for_the_lock_and_a_reader_is_not_blocked(path: Path) -> None:
    engine = make_engine(f"sqlite:///{path}")
    with write_lock_held(path, HOLD_SECONDS):
        started = time.perf_counter()
        with engine.connect() as conn:  # WAL: reads the last committed state at once
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0
        assert time.perf_counter() - started < HOLD_SECONDS / 2
        with engine.begin() as conn:  # waits for the lock instead of failing
            conn.execute(text("INSERT INTO t VALUES (2)"))
        waited = time.perf_counter() - started
    assert waited >= HOLD_SECONDS * 0.8
    with engine.connect() as conn:
        assert sorted(conn.execute(text("SELECT x FROM t")).scalars()) == [1, 2]
    engine.dispose()


def test_without_a_busy_timeout_the_same_write_fails(path: Path) -> None:
    """What the timeout prevents (and proof that the pragma is what makes writers wait)."""
    engine = make_engine(f"sqlite:///{path}", busy_timeout_ms=0)
    with (
        write_lock_held(path, HOLD_SECONDS),
        pytest.raises(OperationalError, match="locked"),
        engine.begin() as conn,
    ):
        conn.execute(text("INSERT INTO t VALUES (2)"))
    engine.dispose()
