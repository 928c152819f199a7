"""Request bodies read with a size cap, before anything looks at them.

Starlette's ``request.body()`` buffers whatever the client sends: four 100 MB posts to a
webhook grew the process from 299 to 786 MB before any signature was checked. Here a
declared ``Content-Length`` over the cap is refused at once, and a body without one (or
lying about it) is read chunk by chunk and abandoned as soon as it passes the cap.
"""

from __future__ import annotations

from starlette.requests import Request

#: Default of ``TTHC_MAX_BODY_BYTES``: far above any platform event or chat message.
DEFAULT_MAX_BODY_BYTES = 262_144


class BodyTooLarge(Exception):
    """The request body is larger than the cap (the caller answers 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body larger than {limit} bytes")
        self.limit = limit


async def read_body(request: Request, limit: int = DEFAULT_MAX_BODY_BYTES) -> bytes:
    """The whole body, or :class:`BodyTooLarge` once more than ``limit`` bytes arrived."""
    declared = request.headers.get("content-length", "").strip()
    if declared.isascii() and declared.isdigit() and (len(declared) > 18 or int(declared) > limit):
        raise BodyTooLarge(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(limit)
    return bytes(body)
