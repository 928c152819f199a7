"""The admin home page: what waits for review and what the bot serves now."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.admin.web import admin_context, render, require, run_db
from knowledge.models import ChangeRequest


def _counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(ChangeRequest.status, func.count()).group_by(ChangeRequest.status)
    ).all()
    return {str(status): int(n) for status, n in rows}


async def home(request: Request) -> Response:
    staff = await require(request)
    if staff.has("reviewer"):
        from bot.admin.changes import publish_due_now

        await publish_due_now(request)
    counts = await run_db(request, _counts)
    refresh = admin_context(request).refresh
    try:
        index: dict[str, Any] = await asyncio.to_thread(refresh.status)
    except Exception as exc:  # the page still shows the counts
        index = {"build_state": "failed", "message": f"Không đọc được trạng thái chỉ mục: {exc}"}
    return render(request, "home.html", nav="home", staff=staff, counts=counts, index=index)


def routes() -> list[Route]:
    """The home page."""
    return [Route("/", home, name="admin_home")]
