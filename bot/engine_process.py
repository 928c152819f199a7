"""The answer engine in worker processes, so its Python work never holds the web
process's interpreter lock while webhooks are acknowledged.

Each child builds its own assistant from the environment (the same index generation,
conversations in the shared store: the database or Redis) once, at start. Questions
and answers cross the process boundary as the engine's plain dataclasses.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from bot.engine.model import Answer, Answerer, Question

logger = logging.getLogger(__name__)

_ENGINE: Answerer | None = None


def _exit_with_parent(parent: int) -> None:
    """A child whose parent was killed (kill -9 gives it no chance to stop us) exits
    instead of holding its copy of the index for ever."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _start_child() -> None:
    global _ENGINE
    threading.Thread(
        target=_exit_with_parent, args=(os.getppid(),), daemon=True, name="parent-watch"
    ).start()
    from bot.app import build_assistant

    _ENGINE = build_assistant(shared_state=True, migrate_schema=False).engine


def answer(question: Question) -> Answer:
    """Answer in this child (the function the pool runs)."""
    if _ENGINE is None:
        raise RuntimeError("the engine process was not started")
    return _ENGINE.answer(question)


def _ready() -> bool:
    return _ENGINE is not None


async def warm_up(pool: Executor) -> None:
    """Start every child now (each loads the index), not at the first question."""
    loop = asyncio.get_running_loop()
    workers = getattr(pool, "_max_workers", 1)
    await asyncio.gather(*(loop.run_in_executor(pool, _ready) for _ in range(workers)))


def _new_pool(processes: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=processes,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_child,
    )


class EnginePool(Executor):
    """``processes`` children, started fresh ("spawn": nothing inherited from a parent
    that runs threads and database pools). A pool broken by a dead child (killed, out
    of memory) is replaced by a new one, and the question asked again once."""

    def __init__(self, processes: int) -> None:
        self._processes = processes
        self._max_workers = processes
        self._pool = _new_pool(processes)

    async def answer(self, question: Question) -> Answer:
        """The engine's answer, computed in a child process."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, answer, question)
        except BrokenProcessPool:
            logger.warning("an engine process died; starting a new pool")
            broken, self._pool = self._pool, _new_pool(self._processes)
            broken.shutdown(wait=False, cancel_futures=True)
            return await loop.run_in_executor(self._pool, answer, question)

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` in a child (``warm_up``)."""
        return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the children."""
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def engine_pool(processes: int) -> EnginePool:
    """The engine in ``processes`` child processes."""
    return EnginePool(processes)
