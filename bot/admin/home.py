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
    # Due changes are published by DuePublisher (bot/admin/due.py) every minute, not
    # here: a page view must not write, and every reviewer's visit was a publish pass.
    staff = await require(request)
    counts = await run_db(request, _counts)
    refresh = admin_context(request).refresh
    try:
        index: dict[str, Any] = await asyncio.to_thread(refresh.status)
    except Exception as exc:  # the page still shows the counts
        index = {"build_state": "failed", "message": f"Không đọc được trạng thái chỉ mục: {exc}"}
    return render(
        request, "home.html", nav="home", staff=staff, counts=counts, index=_index_view(index)
    )


_STAGES = {
    "records": "đọc dữ liệu",
    "chunks": "chia đoạn",
    "embedding": "nhúng vector",
    "writing": "ghi chỉ mục",
    "switching": "chuyển thế hệ",
}


def _index_view(status: dict[str, Any]) -> dict[str, Any]:
    """One shape for the page from either port: the background builder's status
    (``serving``, ``state``, ``stage``, ``progress``, ``outdated`` ...; see
    :func:`indexer.refresh.read_status`) or the plain one (``generation``,
    ``build_state``, ``message``)."""
    if "state" not in status:
        return status
    serving = status.get("serving") or {}
    state = str(status.get("state") or "")
    if state == "idle" and status.get("outdated"):
        state = "pending"
    view: dict[str, Any] = {
        "generation": serving.get("generation"),
        "created_at": serving.get("created_at"),
        "knowledge_revision": serving.get("knowledge_revision"),
        "latest_revision": status.get("knowledge_revision"),
        "build_state": {"queued": "pending", "building": "running"}.get(state, state),
        "last_duration_seconds": status.get("last_duration_seconds"),
    }
    stage = status.get("stage")
    progress = status.get("progress") or {}
    if state == "building" and stage:
        done, total = progress.get("done"), progress.get("total")
        view["message"] = f"Bước: {_STAGES.get(str(stage), str(stage))}" + (
            f" ({done}/{total})" if total else ""
        )
    elif state == "failed":
        view["message"] = f"Lần xây dựng gần nhất lỗi: {status.get('error') or 'không rõ'}"
    return view


def routes() -> list[Route]:
    """The home page."""
    return [Route("/", home, name="admin_home")]
