"""Starlette routes for one channel's webhook: GET handshake, POST events."""

from __future__ import annotations

import json
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.channels.base import ChannelAdapter
from bot.channels.dispatch import Dispatcher

logger = logging.getLogger(__name__)


def webhook_routes(adapter: ChannelAdapter, dispatcher: Dispatcher) -> list[Route]:
    """``/webhooks/<name>``: verify → parse → claim → schedule → 200 at once."""

    async def handshake(request: Request) -> Response:
        challenge = adapter.handshake(request.query_params)
        if challenge is None:
            return Response(status_code=403)
        return PlainTextResponse(challenge)

    async def receive(request: Request) -> Response:
        raw = await request.body()
        if not adapter.verify(request.headers, raw):
            logger.warning("%s webhook with a bad or missing signature", adapter.name)
            return Response(status_code=403)
        try:
            events = adapter.parse(raw)
        except (ValueError, KeyError, TypeError, json.JSONDecodeError):
            return JSONResponse({"error": "malformed payload"}, status_code=400)
        accepted = dispatcher.accept(adapter, events)
        return JSONResponse({"ok": True, "accepted": accepted})

    path = f"/webhooks/{adapter.name}"
    return [
        Route(path, handshake, methods=["GET"]),
        Route(path, receive, methods=["POST"]),
    ]
