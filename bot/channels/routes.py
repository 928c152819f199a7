"""Starlette routes for one channel's webhook: GET handshake, POST events."""

from __future__ import annotations

import logging
import traceback

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.bounded_json import JSONRejected
from bot.channels.base import ChannelAdapter, InboundEvent
from bot.channels.dispatch import Dispatcher, StorageUnavailable
from bot.request_body import DEFAULT_MAX_BODY_BYTES, BodyTooLarge, read_body

logger = logging.getLogger(__name__)


def webhook_routes(
    adapter: ChannelAdapter,
    dispatcher: Dispatcher,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> list[Route]:
    """``/webhooks/<name>``: verify → parse → store in the inbox → queue → 200."""

    async def handshake(request: Request) -> Response:
        challenge = adapter.handshake(request.query_params)
        if challenge is None:
            return Response(status_code=403)
        return PlainTextResponse(challenge)

    async def receive(request: Request) -> Response:
        events = await verified_events(adapter, request, max_body_bytes)
        if isinstance(events, Response):
            return events
        try:
            accepted = await dispatcher.accept(adapter, events)
        except StorageUnavailable:
            # Not stored, so not acknowledged: the platform delivers it again later.
            return JSONResponse({"error": "temporarily unavailable"}, status_code=503)
        return JSONResponse({"ok": True, "accepted": accepted})

    path = f"/webhooks/{adapter.name}"
    return [
        Route(path, handshake, methods=["GET"]),
        Route(path, receive, methods=["POST"]),
    ]


async def verified_events(
    adapter: ChannelAdapter, request: Request, max_body_bytes: int
) -> list[InboundEvent] | Response:
    """The events of a webhook request, or the 4xx to answer: never a 5xx for bad input.

    The body is read with a cap (413 past it), the signature is checked on the raw bytes
    (403), and only then is the body parsed, with bounded JSON (400 when malformed). An
    adapter may also ignore a signed body it cannot use (Telegram redelivers anything
    but a 2xx for ever), by returning no events.
    """
    try:
        raw = await read_body(request, max_body_bytes)
    except BodyTooLarge as exc:
        logger.warning("%s webhook body refused: %s", adapter.name, exc)
        return JSONResponse({"error": str(exc)}, status_code=413)
    except ClientDisconnect:
        return Response(status_code=400)
    try:
        verified = adapter.verify(request.headers, raw)
    except Exception as exc:  # odd headers or bytes must not become a 500
        logger.warning("%s webhook signature check raised %s", adapter.name, type(exc).__name__)
        verified = False
    if not verified:
        logger.warning("%s webhook with a bad or missing signature", adapter.name)
        return Response(status_code=403)
    try:
        return adapter.parse(raw)
    except JSONRejected as exc:  # says what is wrong and nothing of the content
        logger.warning("%s webhook body refused: %s", adapter.name, exc)
        return JSONResponse({"error": str(exc)}, status_code=400)
    except (ValueError, KeyError, TypeError) as exc:
        logger.warning("%s webhook body malformed (%s)", adapter.name, type(exc).__name__)
        return JSONResponse({"error": "malformed payload"}, status_code=400)
    except Exception as exc:
        # A parser bug met a signed body. The message may quote the citizen's text, so
        # the log gets the type and where it was raised, not the message.
        where = traceback.extract_tb(exc.__traceback__)[-1]
        logger.error(
            "%s webhook parser raised %s at %s:%s",
            adapter.name,
            type(exc).__name__,
            where.filename,
            where.lineno,
        )
        return JSONResponse({"error": "malformed payload"}, status_code=400)
