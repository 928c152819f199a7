"""What every process can know about index builds: a status file and a build lock.

Both live in ``INDEX_DIR`` next to the generations, because that folder is what every
bot process already shares (whatever the database): a build writes there, a reader
switches there.

- ``build-status.json``: the state of the newest build request (``idle``, ``queued``,
  ``building`` with a stage and progress, ``failed`` with a short reason), written
  whole and renamed into place, so a reader never sees half of it.
- ``build.lock``: an exclusive ``flock(2)`` held for the whole build. Two builds never
  run at once, whichever process (web, worker, CLI) started them; the lock is released
  by the kernel when its holder dies, so a killed build never blocks the next one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

STATUS_FILE = "build-status.json"
LOCK_FILE = "build.lock"

BuildState = Literal["idle", "queued", "building", "failed"]


def utc_stamp() -> str:
    """Now, ISO 8601 UTC with milliseconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class BuildStatusFile:
    """``INDEX_DIR/build-status.json``: read by anyone, written atomically.

    The document is a flat JSON object of facts (the state is derived from them by
    :func:`indexer.refresh.read_status`); :meth:`update` merges keys into it. Keys:
    ``building`` (bool), ``picked_at`` (when the newest build or up-to-date check took
    the lock), ``stage`` (str), ``done``/``total`` (ints, progress
    of the stage), ``reason`` (why the last build was requested), ``requested_at``,
    ``started_at``, ``finished_at`` (ISO UTC), ``pid`` (the building process),
    ``error`` (short reason of the last failure, else null), ``last_duration_seconds``
    (float, last finished build), ``last_generation`` (folder name it wrote) and
    ``last_embedded`` (passages embedded by it).
    """

    def __init__(self, index_dir: Path) -> None:
        self.path = index_dir / STATUS_FILE

    def read(self) -> dict[str, Any]:
        """The current document; ``{}`` when there is none (or it is unreadable)."""
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def update(self, **values: Any) -> dict[str, Any]:
        """Merge ``values`` into the document and replace the file in one rename."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {**self.read(), **values}
        tmp = self.path.with_name(f".{STATUS_FILE}.{os.getpid()}.{secrets.token_hex(3)}")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), "utf-8")
        os.replace(tmp, self.path)
        return data


class BuildLock:
    """The exclusive build lock of one ``INDEX_DIR`` (``flock`` on ``build.lock``)."""

    def __init__(self, index_dir: Path) -> None:
        self.path = index_dir / LOCK_FILE

    @contextlib.contextmanager
    def hold(self, *, blocking: bool = True) -> Iterator[bool]:
        """Hold the lock for the block; yields ``False`` (without waiting) when
        ``blocking`` is false and another process holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def busy(self) -> bool:
        """Whether some process holds the lock right now."""
        with self.hold(blocking=False) as got:
            return not got


def pid_alive(pid: object) -> bool:
    """Whether a process with this id exists on this machine."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
