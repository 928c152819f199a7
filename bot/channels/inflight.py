"""Mark a reply part "in flight" at the last moment: when its request's first byte goes out.

Why: none of the platforms takes an idempotency key, so a part whose send a crash
interrupted is never sent again (see ``bot.channels.dispatch``): it may have been
delivered. The part is recorded as in flight in the inbox *before* it can reach the
platform. Recorded earlier (before the connection is opened, the request built, a
thread scheduled), a ``kill -9`` in between left a part marked in flight that never
left, and the citizen got nothing (``bench/delivery.py --scenarios kill_worker_scale``
lost 1 of 120 that way). Here the mark is written from httpcore's ``trace`` hook at
``send_request_headers.started``: the connection is open and the very next thing the
process does is write the request, so a crash before the mark is committed resends a
part that surely never left, and a crash after it almost surely finds it delivered.

Use: ``event_hooks()`` for every platform client (``httpx.AsyncClient(event_hooks=...)``,
python-telegram-bot's ``HTTPXRequest(httpx_kwargs={"event_hooks": ...})``), and around one
send ``with before_first_byte(mark): await adapter.send(...)``. Several requests in one
send (a token refresh, then the message) mark on the first one; ``mark`` is called at
most once per ``with`` block, and an exception it raises aborts the request before any
byte is written.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx

Mark = Callable[[], Awaitable[None]]

_mark: contextvars.ContextVar[_Once | None] = contextvars.ContextVar("tthc_mark", default=None)

#: httpcore trace events that come right before the first byte of a request is written.
_FIRST_BYTE = frozenset(
    {"http11.send_request_headers.started", "http2.send_request_headers.started"}
)


class _Once:
    def __init__(self, mark: Mark) -> None:
        self._mark = mark
        self.done = False

    async def __call__(self) -> None:
        if not self.done:
            await self._mark()
            self.done = True


@contextlib.contextmanager
def before_first_byte(mark: Mark) -> Iterator[_Once]:
    """Within the block, the first platform request of this task awaits ``mark()`` right
    before writing its first byte. The yielded object's ``done`` tells whether it ran."""
    once = _Once(mark)
    token = _mark.set(once)
    try:
        yield once
    finally:
        _mark.reset(token)


async def _add_trace(request: httpx.Request) -> None:
    """httpx ``request`` event hook: adds the ``trace`` extension calling the current mark.

    A hook, not a transport, so the client keeps its own transports (and the proxies
    httpx reads from the environment)."""
    once = _mark.get()
    if once is None or once.done:
        return
    previous = request.extensions.get("trace")

    async def trace(name: str, info: dict[str, Any]) -> None:
        if name in _FIRST_BYTE:
            await once()
        if previous is not None:
            await previous(name, info)

    request.extensions = {**request.extensions, "trace": trace}


def event_hooks() -> dict[str, list[Callable[[httpx.Request], Awaitable[None]]]]:
    """``event_hooks`` for every platform client (``httpx.AsyncClient(event_hooks=...)``)."""
    return {"request": [_add_trace]}
