"""The one ASGI app: web chat page and widget, its JSON API, health and readiness.

Webhook channels (Telegram, Zalo, Messenger) mount here too as they are added. The
engine runs in a worker thread (``asyncio.to_thread``) so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from importlib import resources
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot import bounded_json
from bot.analytics import Exchange, exchange_of
from bot.bounded_json import JSONRejected
from bot.engine import texts
from bot.engine.intake import MAX_QUESTION_CHARS, too_long
from bot.engine.model import Answer, Answerer, Question
from bot.openapi import openapi_document
from bot.ratelimit import RateLimiter
from bot.request_body import DEFAULT_MAX_BODY_BYTES, BodyTooLarge, read_body

logger = logging.getLogger(__name__)
#: Longest chat message (the engine's question cap; longer gets 413 and ``TOO_LONG``).
MAX_MESSAGE = MAX_QUESTION_CHARS


class FeedbackSink(Protocol):
    """Stores a citizen's 👍/👎 on an answer."""

    def record(
        self,
        *,
        channel: str,
        answer_id: str,
        value: str,
        cited: str,
        question: str = "",
        status: str = "",
        answer: str = "",
    ) -> None: ...


class ExchangeLog(Protocol):
    """The conversation record (``bot.analytics.SqlExchangeLog``)."""

    def record(
        self, *, channel: str, account_id: str, user_id: str, answer_id: str, exchange: Exchange
    ) -> None: ...


class Promotions(Protocol):
    """Counted online-service links (``bot.promotion.PromoLinks``)."""

    def promote(self, answer: Answer, channel: str) -> Answer: ...


def _asset(name: str) -> str:
    return resources.files("bot.webchat").joinpath(name).read_text("utf-8")


def _bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _too_long(error: str) -> JSONResponse:
    # The chat shows ``text`` (why, and what to do) instead of an empty bubble.
    return JSONResponse(
        {
            "error": error,
            "status": "too_long",
            "text": texts.TOO_LONG,
            "choices": [],
            "online_service": None,
            "citations": [],
        },
        status_code=413,
    )


def create_app(
    *,
    engine: Answerer,
    feedback: FeedbackSink,
    ready: Callable[[], dict[str, Any] | None],
    limiter: RateLimiter | None = None,
    extra_routes: list[BaseRoute] | None = None,
    on_startup: list[Callable[[], Any]] | None = None,
    on_shutdown: list[Callable[[], Any]] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    trusted_proxies: frozenset[str] = frozenset(),
    hotlines: Callable[[], str] | None = None,
    exchanges: ExchangeLog | None = None,
    promotions: Promotions | None = None,
) -> Starlette:
    """Build the ASGI app around an engine (composition happens in ``bot.app``).

    ``exchanges`` records every web chat message (user = the browser's session id, never
    its address); ``promotions`` rewrites online-service links to the counted redirect.
    Request bodies of ``/api/*`` are read up to ``max_body_bytes`` (413 past it) and
    parsed with bounded JSON (400 for deep nesting or huge numbers).
    """
    page, widget = _asset("index.html"), _asset("widget.js")
    limiter = limiter or RateLimiter()
    #: answer id -> (cited keys, question (masked), status, text): what feedback rates.
    cited_by_answer: OrderedDict[str, tuple[str, str, str, str]] = OrderedDict()

    def apology() -> str:
        try:
            lines = hotlines() if hotlines is not None else ""
        except Exception:  # the apology goes out without them
            logger.exception("reading the hotlines for the apology failed")
            lines = ""
        return "\n".join(x for x in (texts.APOLOGY, lines) if x)

    async def note(session: str, answer_id: str, exchange: Exchange) -> None:
        if exchanges is not None:
            await asyncio.to_thread(
                exchanges.record,
                channel="web",
                account_id="",
                user_id=session,
                answer_id=answer_id,
                exchange=exchange,
            )

    async def index(_: Request) -> Response:
        return HTMLResponse(page)

    async def widget_js(_: Request) -> Response:
        return Response(widget, media_type="application/javascript; charset=utf-8")

    async def openapi_json(_: Request) -> Response:
        return JSONResponse(openapi_document(max_body_bytes=max_body_bytes))

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        try:
            info = await asyncio.to_thread(ready)
        except Exception:  # not loaded yet, or the index folder is broken
            logger.warning("index generation not ready", exc_info=True)
            info = None
        if info is None:
            return JSONResponse({"status": "not ready"}, status_code=503)
        return JSONResponse({"status": "ready", **info})

    async def chat(request: Request) -> Response:
        try:
            body = bounded_json.loads(await read_body(request, max_body_bytes))
        except BodyTooLarge as exc:
            return _too_long(str(exc))
        except JSONRejected as exc:
            return _bad(str(exc))
        if not isinstance(body, dict) or not isinstance(body.get("message"), str):
            return _bad("'message' (string) is required")
        message = body["message"].strip()
        client = client_address(request, trusted_proxies)
        given = str(body.get("session_id") or "")[:64]
        session = given or client
        if not message:
            return _bad("'message' is empty")
        if too_long(message):
            await note(given, "", Exchange(message[:2000], "", "too_long", ""))
            return _too_long(f"'message' is longer than {MAX_MESSAGE} characters")
        # Limited per client address, not per session id (a new id is free to invent).
        if limiter.verdict(f"web:{client}") != "allow":
            await note(given, "", Exchange(message, "", "rate_limited", ""))
            return JSONResponse(
                {
                    "status": "rate_limited",
                    "text": texts.RATE_LIMITED,
                    "choices": [],
                    "online_service": None,
                    "citations": [],
                },
                status_code=429,
            )
        choice = _choice_of(body.get("choice"))
        started = time.perf_counter()
        try:
            answer = await asyncio.to_thread(
                engine.answer,
                Question(text=message, channel="web", user_id=session, choice=choice),
            )
        except Exception:  # the citizen gets the apology; the log gets the traceback
            logger.exception("web chat answer failed")
            await note(given, "", Exchange(message, "", "error", ""))
            return JSONResponse(
                {
                    "status": "error",
                    "text": await asyncio.to_thread(apology),
                    "choices": [],
                    "online_service": None,
                    "citations": [],
                }
            )
        latency_ms = (time.perf_counter() - started) * 1000
        if promotions is not None:
            answer = await asyncio.to_thread(promotions.promote, answer, "web")
        answer_id = uuid.uuid4().hex
        await note(given, answer_id, exchange_of(answer, latency_ms=latency_ms))
        cited_by_answer[answer_id] = (
            ",".join(c.id for c in answer.citations)[:255],
            answer.question,
            answer.status,
            answer.text,
        )
        while len(cited_by_answer) > 10_000:
            cited_by_answer.popitem(last=False)
        data = answer.as_dict()
        return JSONResponse(
            {
                "answer_id": answer_id,
                "status": data["status"],
                "text": data["text"],
                "choices": [
                    {"number": c["number"], "label": c["label"], "list_id": c["list_id"]}
                    for c in data["choices"]
                ],
                "online_service": data["online_service"],
                "citations": data["citations"],
            }
        )

    async def feedback_endpoint(request: Request) -> Response:
        try:
            body = bounded_json.loads(await read_body(request, max_body_bytes))
        except BodyTooLarge as exc:
            return _bad(str(exc), 413)
        except JSONRejected as exc:
            return _bad(str(exc))
        if not isinstance(body, dict) or body.get("value") not in ("up", "down"):
            return _bad("'value' must be 'up' or 'down'")
        answer_id = str(body.get("answer_id") or "")
        if answer_id not in cited_by_answer:
            return _bad("unknown 'answer_id'", 404)
        cited, question, status, text = cited_by_answer[answer_id]
        await asyncio.to_thread(
            feedback.record,
            channel="web",
            answer_id=answer_id,
            value=body["value"],
            cited=cited,
            question=question,
            status=status,
            answer=text,
        )
        return Response(status_code=204)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        for hook in on_startup or []:  # open the job queue, start the reply worker
            result = hook()
            if asyncio.iscoroutine(result):
                await result
        yield
        for hook in on_shutdown or []:  # stop the reply worker, close HTTP clients
            result = hook()
            if asyncio.iscoroutine(result):
                await result

    return Starlette(
        lifespan=lifespan,
        routes=[
            *(extra_routes or []),
            Route("/", index),
            Route("/widget.js", widget_js),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/api/chat", chat, methods=["POST"]),
            Route("/api/feedback", feedback_endpoint, methods=["POST"]),
            Route("/openapi.json", openapi_json),
        ],
    )


def client_address(request: Request, trusted_proxies: frozenset[str]) -> str:
    """The citizen's address: the peer, or the last untrusted hop of X-Forwarded-For
    when the peer is one of our reverse proxies (``TTHC_TRUSTED_PROXIES``)."""
    peer = request.client.host if request.client else "anonymous"
    if peer not in trusted_proxies:
        return peer  # a spoofed X-Forwarded-For from a citizen is ignored
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted_proxies:
            return hop[:64]
    return peer


def _choice_of(value: object) -> tuple[str, int] | None:
    """``{"list_id": "ab12cd34", "number": 2}`` from a pressed choice button, if valid."""
    if not isinstance(value, dict):
        return None
    list_id, number = value.get("list_id"), value.get("number")
    if not isinstance(list_id, str) or not isinstance(number, int) or isinstance(number, bool):
        return None
    if not 0 < number < 100 or len(list_id) > 32:
        return None
    return list_id, number
