"""Knowledge pages: lists of procedures, hotlines and FAQ, a procedure's page, the edit
form of every kind (saved as a draft change, see :mod:`knowledge.workflow`)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.admin import forms, plan_forms
from bot.admin.web import Forbidden, Staff, client, flash, redirect, render, require, run_db
from indexer.textnorm import fold
from knowledge.codec import RecordKind, record_key, to_json
from knowledge.errors import RecordNotFound
from knowledge.models import Faq, Procedure
from knowledge.record_diff import METHODS, ONLINE_LEVELS, TIME_UNITS, fee_text, time_text
from knowledge.repository import KnowledgeRepository
from knowledge.workflow import (
    EDIT_ROLES,
    Actor,
    WorkflowError,
    get_change,
    latest_revision,
    open_changes,
    save_draft,
    submit,
)

PAGE_SIZE = 25
EDITORS = ("editor", "reviewer")  # admin passes every check


def _page(request: Request) -> int:
    value = request.query_params.get("page", "1")
    return max(1, min(int(value), 100_000)) if value.isdigit() else 1


def paged(request: Request, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``?page=`` slice of ``rows`` for a list template: ``rows``, ``total``,
    ``page`` (1-based) and ``pages`` (at least 1), :data:`PAGE_SIZE` rows a page."""
    page = _page(request)
    return {
        "rows": rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        "total": len(rows),
        "page": page,
        "pages": max(1, -(-len(rows) // PAGE_SIZE)),
    }


def _matches(needle: str, *haystacks: str) -> bool:
    return not needle or any(needle in fold(h).lower() for h in haystacks)


# ------------------------------------------------------------------ procedures list/view


def _procedure_rows(session: Session) -> list[dict[str, Any]]:
    stmt = select(
        Procedure.code,
        Procedure.name,
        Procedure.fields,
        Procedure.levels,
        Procedure.implementing_agencies,
        Procedure.online_level,
    ).order_by(Procedure.code)
    return [
        {
            "code": code,
            "name": name,
            "fields": list(fields or []),
            "levels": list(levels or []),
            "agencies": agencies or "",
            "online_level": online,
        }
        for code, name, fields, levels, agencies, online in session.execute(stmt)
    ]


async def procedures(request: Request) -> Response:
    await require(request, *EDITORS)
    params = request.query_params
    q = params.get("q", "").strip()[:200]
    field, level = params.get("field", "")[:200], params.get("level", "")[:200]
    agency, online = params.get("agency", "").strip()[:200], params.get("online", "")[:16]
    rows = await run_db(request, _procedure_rows)
    all_fields = sorted({f for r in rows for f in r["fields"]})
    all_levels = sorted({lv for r in rows for lv in r["levels"]})
    needle, agency_needle = fold(q).lower(), fold(agency).lower()
    found = [
        r
        for r in rows
        if _matches(needle, r["code"], r["name"])
        and (not field or field in r["fields"])
        and (not level or level in r["levels"])
        and _matches(agency_needle, r["agencies"])
        and (not online or r["online_level"] == online)
    ]
    query = {"q": q, "field": field, "level": level, "agency": agency, "online": online}
    return render(
        request,
        "procedures.html",
        nav="procedures",
        **paged(request, found),
        query=query,
        all_fields=all_fields,
        all_levels=all_levels,
        online_levels=ONLINE_LEVELS,
    )


def _record_page(session: Session, kind: RecordKind, key: str) -> dict[str, Any]:
    data = to_json(KnowledgeRepository(session).get(kind, key))
    return {
        "data": data,
        "revision": latest_revision(session, kind, key),
        "open": [
            {"id": c.id, "status": c.status, "author": c.author, "updated_at": c.updated_at}
            for c in open_changes(session, kind, key)
        ],
    }


async def procedure(request: Request) -> Response:
    await require(request, *EDITORS)
    code = request.path_params["code"]
    try:
        info = await run_db(request, _record_page, "procedure", code)
    except RecordNotFound:
        return render(
            request, "error.html", status_code=404, message=f"Không có thủ tục mã {code}."
        )
    return render(
        request,
        "procedure.html",
        nav="procedures",
        p=info["data"],
        revision=info["revision"],
        open_changes=info["open"],
        methods=METHODS,
        online_levels=ONLINE_LEVELS,
        fee_text=fee_text,
        time_text=time_text,
    )


# ------------------------------------------------------------------ hotlines, FAQ lists


def _hotline_rows(session: Session) -> list[dict[str, Any]]:
    repo = KnowledgeRepository(session)
    return [to_json(r) | {"key": record_key(r)} for r in repo.iter_records("hotline")]


async def hotlines(request: Request) -> Response:
    await require(request, *EDITORS)
    q = fold(request.query_params.get("q", "").strip()[:200]).lower()
    rows = [
        r
        for r in await run_db(request, _hotline_rows)
        if _matches(q, r["name"], r["area"], " ".join(r["phones"]))
    ]
    return render(
        request,
        "hotlines.html",
        nav="hotlines",
        rows=rows,
        q=request.query_params.get("q", ""),
        scopes=forms.HOTLINE_SCOPES,
    )


def _faq_rows(session: Session) -> list[dict[str, Any]]:
    stmt = select(Faq.source_id, Faq.question, Faq.topic, Faq.status).order_by(Faq.source_id)
    return [
        {"key": k, "question": qn, "topic": t, "status": s} for k, qn, t, s in session.execute(stmt)
    ]


async def faqs(request: Request) -> Response:
    await require(request, *EDITORS)
    q = fold(request.query_params.get("q", "").strip()[:200]).lower()
    rows = [r for r in await run_db(request, _faq_rows) if _matches(q, r["question"], r["topic"])]
    return render(
        request,
        "faqs.html",
        nav="faqs",
        **paged(request, rows),
        q=request.query_params.get("q", ""),
    )


# ------------------------------------------------------------------ editing (all kinds)


@dataclass(frozen=True)
class Editor:
    """How one kind of record is edited."""

    template: str
    nav: str
    values: Callable[[dict[str, Any]], dict[str, str]]
    parse: Callable[..., tuple[dict[str, Any] | None, dict[str, str]]]
    can_create: bool


EDIT: dict[str, Editor] = {
    "procedure": Editor(
        "edit_procedure.html", "procedures", forms.procedure_values, forms.parse_procedure, False
    ),
    "hotline": Editor(
        "edit_hotline.html", "hotlines", forms.hotline_values, forms.parse_hotline, True
    ),
    "faq": Editor("edit_faq.html", "faqs", forms.faq_values, forms.parse_faq, True),
    "plan": Editor(
        "edit_plan.html", "plans", plan_forms.plan_values, plan_forms.parse_plan, True
    ),
}


def _edit_state(
    session: Session, kind: RecordKind, key: str, change_id: int | None, staff: Staff
) -> dict[str, Any]:
    """What the edit form starts from: the author's draft, the record, or nothing."""
    if change_id is not None:
        change = get_change(session, change_id)
        if change.author != staff.username or change.status not in ("draft", "rejected"):
            raise WorkflowError(
                "Chỉ người soạn được sửa đề xuất này khi nó còn là bản nháp hoặc bị trả lại."
            )
        return {
            "data": dict(change.data),
            "key": change.record_key,
            "base": change.base_revision,
            "change": change.id,
            "version": change.version,
            "note": change.note,
            "effective_on": change.effective_on.isoformat() if change.effective_on else "",
            "exists": change.base_revision is not None,
        }
    if key:
        data = to_json(KnowledgeRepository(session).get(kind, key))
        return {
            "data": data,
            "key": key,
            "base": latest_revision(session, kind, key),
            "change": None,
            "version": None,
            "note": "",
            "effective_on": "",
            "exists": True,
        }
    if kind == "faq":
        data = {"source_id": f"staff-{secrets.token_hex(4)}", "question": "", "answer": ""}
        return {
            "data": data,
            "key": "",
            "base": None,
            "change": None,
            "version": None,
            "note": "",
            "effective_on": "",
            "exists": False,
        }
    return {
        "data": {},
        "key": "",
        "base": None,
        "change": None,
        "version": None,
        "note": "",
        "effective_on": "",
        "exists": False,
    }


def _int(value: object) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() else None


async def edit(request: Request) -> Response:
    kind = request.path_params["kind"]
    editor = EDIT.get(kind)
    staff = await require(request, *EDITORS)
    if editor is None:
        return render(request, "error.html", status_code=404, message="Không có loại bản ghi này.")
    # A plan's form has five inputs per section; Starlette's default cap is 1,000 fields.
    form: Any = (
        await request.form(max_fields=50_000) if request.method == "POST" else request.query_params
    )
    key = str(form.get("key", ""))[:255]
    change_id = _int(form.get("change"))
    if not key and change_id is None and not editor.can_create:
        return render(request, "error.html", status_code=404, message="Thiếu mã bản ghi.")
    try:
        state = await run_db(request, _edit_state, kind, key, change_id, staff)
    except RecordNotFound as exc:
        return render(request, "error.html", status_code=404, message=str(exc))
    except WorkflowError as exc:
        raise Forbidden(str(exc)) from exc
    new_id = str(form.get("source_id", ""))
    if kind == "faq" and not state["exists"] and re.fullmatch(r"staff-[0-9a-f]{8}", new_id):
        state["data"]["source_id"] = new_id  # the id the new-entry form was opened with
    ctx = {
        "kind": kind,
        "state": state,
        "nav": editor.nav,
        "methods": METHODS,
        "time_units": TIME_UNITS,
        "online_levels": ONLINE_LEVELS,
        "currencies": forms.CURRENCIES,
        "scopes": forms.HOTLINE_SCOPES,
        "required": forms.REQUIRED,
        "plan_statuses": plan_forms.PLAN_STATUSES,
        "max_level": plan_forms.MAX_LEVEL,
    }
    if request.method == "GET":
        return render(
            request, editor.template, values=editor.values(state["data"]), errors={}, **ctx
        )
    if kind == "hotline":
        data, errors = editor.parse(form, state["data"] if state["exists"] else None)
    else:
        data, errors = editor.parse(form, state["data"])
    when = forms.effective_on(form, errors)
    note = str(form.get("note", "")).strip()[:2000]
    if errors or data is None:
        values = {k: str(v) for k, v in form.items()}
        return render(
            request, editor.template, status_code=400, values=values, errors=errors, **ctx
        )
    actor = Actor(staff.username, staff.role, client(request))
    expected_base = _int(form.get("base")) if form.get("base") else None

    def save(session: Session) -> int:
        change = save_draft(
            session,
            kind=kind,
            data=data,
            actor=actor,
            base_revision=expected_base,
            note=note,
            effective_on=when,
            change_id=state["change"],
            expected_version=_int(form.get("version")),
        )
        if form.get("action") == "submit":
            submit(session, change.id, actor=actor)
        return change.id

    try:
        saved = await run_db(request, save)
    except WorkflowError as exc:
        values = {k: str(v) for k, v in form.items()}
        return render(
            request,
            editor.template,
            status_code=409,
            values=values,
            errors={},
            conflict=str(exc),
            **ctx,
        )
    flash(
        request,
        "Đã gửi đề xuất để duyệt." if form.get("action") == "submit" else "Đã lưu bản nháp.",
    )
    return redirect(request, f"/changes/{saved}")


def routes() -> list[BaseRoute]:
    """Knowledge lists, the procedure page and the edit form."""
    assert set(EDITORS) <= set(EDIT_ROLES)
    return [
        Route("/procedures", procedures, name="admin_procedures"),
        Route("/procedures/{code}", procedure, name="admin_procedure"),
        Route("/hotlines", hotlines, name="admin_hotlines"),
        Route("/faqs", faqs, name="admin_faqs"),
        Route("/edit/{kind}", edit, methods=["GET", "POST"], name="admin_edit"),
    ]
