"""Nhật ký thao tác: the audit log, for the admin role."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.admin.web import render, require, run_db
from knowledge.staff import audit_entries

PAGE_SIZE = 50


async def audit_log(request: Request) -> Response:
    await require(request, "admin")
    params = request.query_params
    page = max(1, int(params.get("page", "1"))) if params.get("page", "1").isdigit() else 1
    actor = params.get("actor", "")[:64]
    action = params.get("action", "")[:32]
    rows, total = await run_db(
        request,
        audit_entries,
        actor=actor,
        action_prefix=action,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    return render(
        request,
        "audit.html",
        nav="audit",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        actor=actor,
        action=action,
    )


def routes() -> list[BaseRoute]:
    """The audit log page."""
    return [Route("/audit", audit_log, name="admin_audit")]
