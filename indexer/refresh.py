"""Publishing reaches the bot by itself: debounced, locked, observable index builds.

The staff workspace calls :meth:`IndexRefresh.request` after each publish; a few
seconds later (several publishes → one build) a child process runs the incremental
build (``python -m indexer.refresh``, the same work as ``tthc index build
--if-outdated``) under the build lock of ``INDEX_DIR`` (:mod:`indexer.build_state`), so
that two builds never run at once across processes and the build's Python work never
holds the web process's interpreter lock. Every process serving answers switches to the
new generation on its next question (the retriever follows ``current``).

Why a file lock and not procrastinate: the build's inputs and outputs (the generation
folders, the shared vector cache) are on the ``INDEX_DIR`` filesystem every serving
process reads, on SQLite and PostgreSQL alike; a lock there excludes exactly the
writers of that folder, including an operator's ``tthc index build``, and dies with
its holder.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from indexer.build import BuildReport, ProgressFactory, build_index
from indexer.build_state import BuildLock, BuildStatusFile, pid_alive, utc_stamp
from indexer.embedding import Embedder
from indexer.glossary import Glossary
from indexer.store import GenerationError, GenerationStore, Manifest
from knowledge.db import transaction
from knowledge.repository import KnowledgeRepository

logger = logging.getLogger(__name__)

#: Progress is written at most this often (seconds): readers poll, the build runs.
_PROGRESS_EVERY = 0.5


class IndexRefresh(Protocol):
    """Keeps the serving index up to date with the published knowledge."""

    def request(self, reason: str) -> None:
        """Schedule a (debounced) incremental build; returns at once."""

    def status(self) -> dict[str, object]:
        """Serving generation, latest knowledge revision, build state (see
        :func:`read_status`)."""


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text if len(text) <= 300 else text[:297] + "..."


class _StatusProgress:
    """A ``ProgressFactory`` bar that writes ``done``/``total`` to the status file."""

    def __init__(self, status: BuildStatusFile, total: int) -> None:
        self._status = status
        self._total = total
        self._done = 0
        self._written = 0.0
        status.update(done=0, total=total)

    def update(self, n: int = 1) -> None:
        self._done += n
        now = time.monotonic()
        if now - self._written >= _PROGRESS_EVERY:
            self._written = now
            self._status.update(done=self._done, total=self._total)

    def close(self) -> None:
        self._status.update(done=self._done, total=self._total)


def up_to_date(
    factory: sessionmaker[Session], store: GenerationStore, *, model_id: str, glossary_sha256: str
) -> bool:
    """Whether ``current`` was built from the newest knowledge revision with this model
    and glossary (then a build would write the same generation again)."""
    current = store.current()
    if current is None:
        return False
    try:
        manifest = Manifest.read(current)
    except GenerationError:
        return False
    if manifest.model_id != model_id or manifest.glossary_sha256 != glossary_sha256:
        return False
    with transaction(factory) as session:
        latest = KnowledgeRepository(session).max_revision()
    return manifest.knowledge_revision >= latest


def run_build(
    *,
    factory: sessionmaker[Session],
    store: GenerationStore,
    embedder: Embedder,
    glossary: Glossary,
    glossary_sha256: str,
    full: bool = False,
    folded_dense: bool = False,
    only_if_outdated: bool = False,
    progress: ProgressFactory | None = None,
) -> BuildReport | None:
    """:func:`indexer.build.build_index` under the build lock, recorded in the status file.

    Waits for a build running elsewhere to finish first. With ``only_if_outdated``
    returns ``None`` without building when ``current`` is already up to date (the build
    that held the lock took this request's changes with it). A failure is recorded as
    ``error`` (``current`` is untouched) and raised.
    """
    status = BuildStatusFile(store.index_dir)
    with BuildLock(store.index_dir).hold():
        # Every request made before this moment is served by what happens now.
        status.update(picked_at=utc_stamp())
        if only_if_outdated and up_to_date(
            factory, store, model_id=embedder.model_id, glossary_sha256=glossary_sha256
        ):
            return None
        status.update(
            started_at=utc_stamp(),
            finished_at=None,
            pid=os.getpid(),
            building=True,
            stage="records",
            done=None,
            total=None,
        )

        def bar(total: int, desc: str) -> Any:
            mine = _StatusProgress(status, total)
            theirs = progress(total, desc) if progress is not None else None
            if theirs is None:
                return mine
            return _Both(mine, theirs)

        try:
            report = build_index(
                factory=factory,
                store=store,
                embedder=embedder,
                glossary=glossary,
                glossary_sha256=glossary_sha256,
                full=full,
                folded_dense=folded_dense,
                progress=bar,
                on_stage=lambda name: _stage(status, name),
            )
        except BaseException as exc:
            status.update(building=False, finished_at=utc_stamp(), error=_short(exc))
            raise
        status.update(
            building=False,
            stage=None,
            finished_at=utc_stamp(),
            error=None,
            last_duration_seconds=round(report.seconds, 3),
            last_generation=report.generation.name,
            last_embedded=report.embedded,
        )
        return report


def _stage(status: BuildStatusFile, name: str) -> None:
    status.update(stage=name, done=None, total=None)


class _Both:
    def __init__(self, *bars: Any) -> None:
        self._bars = bars

    def update(self, n: int = 1) -> None:
        for b in self._bars:
            b.update(n)

    def close(self) -> None:
        for b in self._bars:
            b.close()


def read_status(index_dir: Path, factory: sessionmaker[Session] | None) -> dict[str, object]:
    """What the staff workspace shows about the index (blocking: a file read and one query).

    Keys:

    - ``serving``: ``{"generation", "path", "created_at", "knowledge_revision",
      "records"}`` of the generation ``current`` points at, or ``None`` before the
      first build;
    - ``knowledge_revision``: newest revision id in the database (``None`` without a
      ``factory``); ``outdated``: the serving generation was built before it;
    - ``state``: ``"idle"``, ``"queued"`` (requested, not started), ``"building"`` or
      ``"failed"`` (the last build failed; the serving generation is unchanged);
    - ``stage`` (``records``/``chunks``/``embedding``/``writing``/``switching`` while
      building, else ``None``), ``progress`` (``{"done", "total"}`` of the stage or
      ``None``), ``error`` (short reason when failed);
    - ``reason`` (of the newest request), ``requested_at``, ``started_at``,
      ``finished_at`` (ISO 8601 UTC or ``None``);
    - ``last_duration_seconds`` and ``last_generation`` of the last successful build.
    """
    store = GenerationStore(index_dir)
    raw = BuildStatusFile(index_dir).read()
    serving: dict[str, object] | None = None
    current = store.current()
    if current is not None:
        try:
            manifest = Manifest.read(current)
            serving = {
                "generation": current.name,
                "path": str(current),
                "created_at": manifest.created_at,
                "knowledge_revision": manifest.knowledge_revision,
                "records": manifest.counts.get("records"),
            }
        except GenerationError as exc:
            serving = {"generation": current.name, "path": str(current), "error": str(exc)}
    latest: int | None = None
    if factory is not None:
        with transaction(factory) as session:
            latest = KnowledgeRepository(session).max_revision()
    built = serving.get("knowledge_revision") if serving else None
    outdated = latest is not None and (not isinstance(built, int) or built < latest)

    error = raw.get("error")
    building = bool(raw.get("building"))
    if building and not (pid_alive(raw.get("pid")) and BuildLock(index_dir).busy()):
        building = False
        error = error or "Tiến trình dựng chỉ mục đã dừng giữa chừng"
    requested, picked = raw.get("requested_at"), raw.get("picked_at")
    if building:
        state = "building"
    elif requested and (not picked or str(requested) > str(picked)):
        state = "queued"
    elif error:
        state = "failed"
    else:
        state = "idle"
    done, total = raw.get("done"), raw.get("total")
    return {
        "serving": serving,
        "knowledge_revision": latest,
        "outdated": outdated,
        "state": state,
        "stage": raw.get("stage") if building else None,
        "progress": {"done": done, "total": total} if building and isinstance(total, int) else None,
        "error": error if state == "failed" else None,
        "reason": raw.get("reason"),
        "requested_at": requested,
        "started_at": raw.get("started_at"),
        "finished_at": raw.get("finished_at"),
        "last_duration_seconds": raw.get("last_duration_seconds"),
        "last_generation": raw.get("last_generation"),
    }


def child_build(index_dir: Path) -> None:
    """Run ``python -m indexer.refresh`` (settings from this process's environment)
    and wait; a child that dies before recording its failure gets it recorded here."""
    started = utc_stamp()
    result = subprocess.run(
        [sys.executable, "-m", "indexer.refresh"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        tail = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        logger.error("index build failed (exit %s): %s", result.returncode, tail)
        status = BuildStatusFile(index_dir)
        if str(status.read().get("finished_at") or "") < started:
            status.update(building=False, finished_at=utc_stamp(), error=tail[:300])


class BackgroundIndexRefresh:
    """The real :class:`IndexRefresh`: one daemon thread per process that waits out the
    debounce and runs ``runner`` (by default :func:`child_build`, a child process).

    A request waits ``debounce_seconds`` after the last request before building, but
    never more than ``max_delay_seconds`` after the first one of a burst. A request
    during a build schedules one more build after it. ``status()`` blocks for a file
    read and one query (call it through ``asyncio.to_thread`` from async code).
    """

    def __init__(
        self,
        *,
        index_dir: Path,
        factory: sessionmaker[Session] | None,
        debounce_seconds: float = 2.0,
        max_delay_seconds: float = 10.0,
        runner: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.index_dir = index_dir
        self._factory = factory
        self._debounce = debounce_seconds
        self._max_delay = max_delay_seconds
        self._runner = runner or (lambda: child_build(index_dir))
        self._clock = clock
        self._status = BuildStatusFile(index_dir)
        self._cond = threading.Condition()
        self._first: float | None = None
        self._due: float | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None

    def request(self, reason: str) -> None:
        """Schedule a build ``debounce_seconds`` from now; returns at once."""
        self._status.update(requested_at=utc_stamp(), reason=reason[:200])
        with self._cond:
            now = self._clock()
            if self._first is None:
                self._first = now
            self._due = min(now + self._debounce, self._first + self._max_delay)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="index-refresh", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def status(self) -> dict[str, object]:
        """See :func:`read_status`."""
        return read_status(self.index_dir, self._factory)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread (a build already running in a child finishes on its own)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (self._due is None or self._clock() < self._due):
                    wait = None if self._due is None else max(0.0, self._due - self._clock())
                    self._cond.wait(wait)
                if self._stopping:
                    return
                self._due = self._first = None
            try:
                self._runner()
            except Exception:
                logger.exception("index refresh failed")


def build_from_settings(
    *, full: bool = False, only_if_outdated: bool = False, progress: ProgressFactory | None = None
) -> BuildReport | None:
    """:func:`run_build` with everything taken from the environment (the CLI's and the
    refresh child's composition root)."""
    from indexer.components import load_glossary, make_embedder
    from indexer.settings import IndexSettings
    from knowledge.db import make_engine, make_session_factory
    from knowledge.settings import KnowledgeSettings

    settings = IndexSettings()
    engine = make_engine(KnowledgeSettings().resolved_database_url())
    glossary, digest = load_glossary(settings)
    try:
        return run_build(
            factory=make_session_factory(engine),
            store=GenerationStore(settings.resolved_index_dir()),
            embedder=make_embedder(settings),
            glossary=glossary,
            glossary_sha256=digest,
            full=full,
            folded_dense=settings.folded_dense_index,
            only_if_outdated=only_if_outdated,
            progress=progress,
        )
    finally:
        engine.dispose()


def main() -> None:
    """``python -m indexer.refresh``: one build if the index is outdated; exit 1 on failure."""
    logging.basicConfig(level=logging.WARNING)
    try:
        report = build_from_settings(only_if_outdated=True)
    except Exception as exc:
        print(_short(exc), file=sys.stderr)
        sys.exit(1)
    if report is not None:
        print(f"{report.generation.name} {report.seconds:.2f}s embedded={report.embedded}")


if __name__ == "__main__":
    main()
