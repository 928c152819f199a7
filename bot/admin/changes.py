"""Review pages: change requests (list, detail, submit/approve/reject/publish/withdraw)
and a record's history with one-click rollback. A publish or rollback asks the
:class:`~knowledge.refresh.IndexRefresh` for a rebuild after its transaction commits."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.admin.filters import LOCAL
from bot.admin.web import (
    Staff,
    admin_context,
    client,
    flash,
    redirect,
    render,
    require,
    run_db,
)
from knowledge.codec import RecordKind, to_json
from knowledge.errors import RecordNotFound
from knowledge.record_diff import readable_diff
from knowledge.repository import KnowledgeRepository
from knowledge.workflow import (
    REVIEW_ROLES,
    STATUS_NAMES,
    Actor,
    WorkflowError,
    approve,
    get_change,
    latest_revision,
    list_changes,
    publish,
    reject,
    rollback,
    submit,
    withdraw,
)

logger = logging.getLogger(__name__)
KIND_NAMES = {
    "procedure": "Thủ tục",
    "hotline": "Đường dây nóng",
    "faq": "Hỏi đáp",
    "plan": "Kế hoạch",
}
PAGE_SIZE = 30


def today() -> dt.date:
    """Today in Vietnam (effective dates are Vietnamese calendar days)."""
    return dt.datetime.now(LOCAL).date()


async def refresh_after(request: Request, published: list[tuple[str, str]], why: str) -> None:
    """Ask for an index rebuild for each published record (never fails the request)."""
    refresh = admin_context(request).refresh
    for kind, key in published:
        try:
            await asyncio.to_thread(refresh.request, f"{kind} {key} {why}")
        except Exception:
            logger.exception("index refresh request failed")


async def changes(request: Request) -> Response:
    await require(request, "editor", "reviewer")
    params = request.query_params
    status = params.get("status", "") if params.get("status", "") in STATUS_NAMES else ""
    kind = params.get("kind", "") if params.get("kind", "") in KIND_NAMES else ""
    page = int(params["page"]) if params.get("page", "").isdigit() else 1
    rows, total = await run_db(
        request,
        list_changes,
        status=status,
        kind=kind,
        limit=PAGE_SIZE,
        offset=(max(page, 1) - 1) * PAGE_SIZE,
    )
    return render(
        request,
        "changes.html",
        nav="changes",
        rows=rows,
        total=total,
        status=status,
        kind=kind,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        statuses=STATUS_NAMES,
        kinds=KIND_NAMES,
    )


def _change_view(session: Session, change_id: int) -> dict[str, Any]:
    change = get_change(session, change_id)
    kind: RecordKind = change.record_kind  # type: ignore[assignment]
    try:
        current = to_json(KnowledgeRepository(session).get(kind, change.record_key))
    except RecordNotFound:
        current = None
    latest = latest_revision(session, kind, change.record_key)
    return {
        "change": change,
        "diff": readable_diff(kind, current, change.data),
        "stale": latest != change.base_revision
        and change.status in ("draft", "submitted", "approved", "rejected"),
        "latest": latest,
        "exists": current is not None,
    }


async def change_detail(request: Request) -> Response:
    staff = await require(request, "editor", "reviewer")
    try:
        view = await run_db(request, _change_view, int(request.path_params["id"]))
    except RecordNotFound as exc:
        return render(request, "error.html", status_code=404, message=str(exc))
    change = view["change"]
    return render(
        request,
        "change.html",
        nav="changes",
        **view,
        statuses=STATUS_NAMES,
        kinds=KIND_NAMES,
        is_author=change.author == staff.username,
        can_review=staff.has(*REVIEW_ROLES) and change.author != staff.username,
        can_publish=staff.has(*REVIEW_ROLES),
    )


ACTIONS = ("submit", "approve", "reject", "publish", "withdraw")


async def change_action(request: Request) -> Response:
    staff = await require(request, "editor", "reviewer")
    change_id, action = int(request.path_params["id"]), request.path_params["action"]
    if action not in ACTIONS:
        return render(request, "error.html", status_code=404, message="Không có thao tác này.")
    if action in ("approve", "reject", "publish"):
        await require(request, *REVIEW_ROLES)
    form = await request.form()
    comment = str(form.get("comment", "")).strip()[:2000]
    actor = Actor(staff.username, staff.role, client(request))

    def act(session: Session) -> list[tuple[str, str]]:
        if action == "submit":
            submit(session, change_id, actor=actor)
        elif action == "approve":
            return approve(session, change_id, actor=actor, comment=comment, today=today())
        elif action == "reject":
            reject(session, change_id, actor=actor, comment=comment)
        elif action == "publish":
            return publish(session, change_id, actor=actor)
        else:
            withdraw(session, change_id, actor=actor)
        return []

    try:
        published = await run_db(request, act)
    except RecordNotFound as exc:
        return render(request, "error.html", status_code=404, message=str(exc))
    except WorkflowError as exc:
        flash(request, str(exc), "error")
        return redirect(request, f"/changes/{change_id}")
    await refresh_after(request, published, "published")
    messages = {
        "submit": "Đã gửi đề xuất để duyệt.",
        "approve": "Đã duyệt và xuất bản."
        if published
        else "Đã duyệt; đề xuất sẽ xuất bản vào ngày hiệu lực.",
        "reject": "Đã trả lại đề xuất cho người soạn.",
        "publish": "Đã xuất bản.",
        "withdraw": "Đã huỷ đề xuất.",
    }
    flash(request, messages[action])
    return redirect(request, f"/changes/{change_id}")


# ------------------------------------------------------------------ history and rollback


def _history(session: Session, kind: RecordKind, key: str) -> dict[str, Any]:
    revisions = KnowledgeRepository(session).revisions(kind, key)
    if not revisions:
        raise RecordNotFound(f"không có lịch sử của {key!r}")
    rows = []
    for rev in reversed(revisions):
        old = {f: pair[0] for f, pair in (rev.diff or {}).items()}
        new = {f: pair[1] for f, pair in (rev.diff or {}).items()}
        rows.append(
            {
                "id": rev.id,
                "action": rev.action,
                "author": rev.author,
                "comment": rev.comment,
                "at": rev.created_at,
                "diff": readable_diff(kind, old, new),
                "restorable": rev.snapshot is not None,
            }
        )
    return {"rows": rows, "latest": revisions[-1].id}


async def history(request: Request) -> Response:
    staff = await require(request, "editor", "reviewer")
    kind = request.path_params["kind"]
    key = request.query_params.get("key", "")[:255]
    if kind not in KIND_NAMES:
        return render(request, "error.html", status_code=404, message="Không có loại bản ghi này.")
    try:
        info = await run_db(request, _history, kind, key)
    except RecordNotFound as exc:
        return render(request, "error.html", status_code=404, message=str(exc))
    return render(
        request,
        "history.html",
        nav="changes",
        kind=kind,
        key=key,
        kinds=KIND_NAMES,
        can_rollback=staff.has(*REVIEW_ROLES),
        **info,
    )


async def rollback_action(request: Request) -> Response:
    staff = await require(request, *REVIEW_ROLES)
    kind = request.path_params["kind"]
    form = await request.form()
    key = str(form.get("key", ""))[:255]
    revision, expected = str(form.get("revision", "")), str(form.get("latest", ""))
    if kind not in KIND_NAMES or not revision.isdigit() or not expected.isdigit():
        return render(
            request, "error.html", status_code=400, message="Yêu cầu khôi phục không hợp lệ."
        )
    actor = Actor(staff.username, staff.role, client(request))
    try:
        published = await run_db(
            request, rollback, kind, key, int(revision), actor=actor, expected_latest=int(expected)
        )
    except RecordNotFound as exc:
        return render(request, "error.html", status_code=404, message=str(exc))
    except WorkflowError as exc:
        flash(request, str(exc), "error")
    else:
        await refresh_after(request, published, "rolled back")
        flash(request, f"Đã khôi phục nội dung của phiên bản {revision}.")
    from urllib.parse import quote

    return redirect(request, f"/history/{kind}?key={quote(key, safe='')}")


def routes() -> list[BaseRoute]:
    """Change requests, history and rollback."""
    return [
        Route("/changes", changes, name="admin_changes"),
        Route("/changes/{id:int}", change_detail, name="admin_change"),
        Route(
            "/changes/{id:int}/{action}",
            change_action,
            methods=["POST"],
            name="admin_change_action",
        ),
        Route("/history/{kind}", history, name="admin_history"),
        Route("/history/{kind}/rollback", rollback_action, methods=["POST"], name="admin_rollback"),
    ]


__all__ = ["Staff", "routes"]
