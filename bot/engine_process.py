"""The answer engine in worker processes, so its Python work never holds the web
process's interpreter lock while webhooks are acknowledged.

Each child builds its own assistant from the environment (the same index generation,
conversations in the shared store: the database or Redis) once, at start. Questions
and answers cross the process boundary as the engine's plain dataclasses.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor

from bot.engine.model import Answer, Answerer, Question

_ENGINE: Answerer | None = None


def _start_child() -> None:
    global _ENGINE
    from bot.app import build_assistant

    _ENGINE = build_assistant(shared_state=True).engine


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


def engine_pool(processes: int) -> ProcessPoolExecutor:
    """``processes`` children, started fresh ("spawn": nothing inherited from a parent
    that runs threads and database pools)."""
    return ProcessPoolExecutor(
        max_workers=processes,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_child,
    )
