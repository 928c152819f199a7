"""Câu hỏi chưa trả lời được: knowledge gaps (:mod:`bot.gaps`) as staff work them.

Routes (relative to ``/admin``):

- ``GET /gaps?days=7|30|90|&channel=<channel>`` (editor, reviewer, admin): unanswered
  and 👎 questions (masked when stored) grouped by similarity, largest first, with
  counts per source and channel, examples and when last seen.
- ``POST /gaps/faq`` (editor, reviewer, admin): the group whose most common wording is
  ``wording`` (found again under the same filters, so the page cannot smuggle in
  another text) becomes an FAQ **draft** change request (``knowledge.workflow``), with
  ``answer`` if typed; the author lands on its edit form, then submits it for review
  like any other draft. An open draft of the same group is reused, not doubled.
- ``POST /gaps/words`` (reviewer, admin): the group's wording becomes citizens' words
  of the procedure ``code`` in the staff glossary file (``TTHC_GLOSSARY_PATH``), and an
  index rebuild is requested. Not a change request: the glossary is a file of the
  indexer's configuration, not a knowledge record with revisions, and it changes no
  fact a citizen reads, only which procedure a question finds; so it is limited to the
  roles that may publish, and audited with the exact line (``gap.citizen_words``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.admin import texts
from bot.admin.web import (
    Staff,
    admin_context,
    audit,
    client,
    flash,
    redirect,
    render,
    require,
    run_db,
)
from bot.gaps import GapGroup, add_citizen_words, faq_draft, knowledge_gaps
from indexer.glossary import GlossaryError
from knowledge.models import ChangeRequest, Procedure
from knowledge.workflow import OPEN_STATUSES, REVIEW_ROLES, Actor, WorkflowError, save_draft

logger = logging.getLogger(__name__)
#: Roles that see the gaps and turn a group into an FAQ draft.
EDITORS = ("editor", "reviewer")
#: Groups shown at most.
LIMIT = 50
#: Longest answer typed on this page (the FAQ form allows the same).
MAX_ANSWER = 20000


def _filters(values: Any) -> tuple[str, str]:
    days = str(values.get("days", "30"))
    channel = str(values.get("channel", ""))
    return (
        days if days in texts.GAP_PERIODS else "30",
        channel if channel in texts.CHANNEL_NAMES else "",
    )


async def _groups(request: Request, days: str, channel: str) -> list[GapGroup]:
    since = admin_context(request).clock() - dt.timedelta(days=int(days)) if days else None
    factory = admin_context(request).factory
    return await asyncio.to_thread(
        knowledge_gaps, factory, since=since, channel=channel or None, limit=LIMIT
    )


def _faq_key(group: GapGroup) -> str:
    return str(faq_draft(group)["source_id"])


def _open_drafts(session: Session, keys: list[str]) -> dict[str, int]:
    """Open FAQ change requests of these record keys → the newest one's id."""
    if not keys:
        return {}
    rows = session.execute(
        select(ChangeRequest.record_key, ChangeRequest.id)
        .where(ChangeRequest.record_kind == "faq", ChangeRequest.record_key.in_(keys))
        .where(ChangeRequest.status.in_(OPEN_STATUSES))
        .order_by(ChangeRequest.id)
    ).all()
    return {str(key): int(change_id) for key, change_id in rows}


def _back(days: str, channel: str) -> str:
    return "/gaps?" + urlencode({"days": days, "channel": channel})


async def gaps(request: Request) -> Response:
    staff = await require(request, *EDITORS)
    days, channel = _filters(request.query_params)
    groups = await _groups(request, days, channel)
    keys = [_faq_key(g) for g in groups]
    drafts = await run_db(request, _open_drafts, keys)
    return render(
        request,
        "gaps.html",
        nav="gaps",
        groups=list(zip(groups, [drafts.get(k) for k in keys], strict=True)),
        days=days,
        channel=channel,
        periods=texts.GAP_PERIODS,
        channels=texts.CHANNEL_NAMES,
        kinds=texts.GAP_KINDS,
        can_add_words=staff.has(*REVIEW_ROLES),
        glossary_ready=admin_context(request).glossary_path is not None,
    )


async def _find(request: Request, form: Any) -> tuple[str, str, GapGroup | None]:
    days, channel = _filters(form)
    wording = str(form.get("wording", "")).strip()
    groups = await _groups(request, days, channel)
    return days, channel, next((g for g in groups if g.wording.strip() == wording), None)


def _note(group: GapGroup) -> str:
    channels = ", ".join(
        f"{texts.CHANNEL_NAMES.get(c, c)} {n}" for c, n in sorted(group.channels.items())
    )
    examples = "; ".join(f"“{e}”" for e in group.examples)
    note = (
        f"Từ nhóm câu hỏi chưa trả lời được: {group.count} lượt ({channels}), "
        f"lần cuối {group.last_seen:%d/%m/%Y}. Ví dụ: {examples}"
    )
    return note[:2000]


def _create_faq(session: Session, group: GapGroup, answer: str, actor: Actor) -> tuple[int, bool]:
    """The open draft of this group's FAQ entry (``False``) or a new one (``True``)."""
    data = faq_draft(group, answer=answer)
    # A change request is the draft; the entry itself goes live only when published.
    data.pop("examples", None)
    data["status"] = "published"
    found = _open_drafts(session, [str(data["source_id"])])
    if found:
        return next(iter(found.values())), False
    change = save_draft(
        session, kind="faq", data=data, actor=actor, base_revision=None, note=_note(group)
    )
    return change.id, True


async def make_faq(request: Request) -> Response:
    staff = await require(request, *EDITORS)
    form = await request.form()
    days, channel, group = await _find(request, form)
    if group is None:
        flash(request, texts.GAP_GONE, "error")
        return redirect(request, _back(days, channel))
    answer = str(form.get("answer", "")).strip()[:MAX_ANSWER]
    actor = Actor(staff.username, staff.role, client(request))
    try:
        change_id, created = await run_db(request, _create_faq, group, answer, actor)
    except WorkflowError as exc:
        flash(request, str(exc), "error")
        return redirect(request, _back(days, channel))
    await audit(
        request,
        staff,
        "gap.faq_draft",
        target_kind="change",
        target_key=str(change_id),
        detail={"questions": group.count, "created": created},
    )
    if not created:
        flash(request, texts.GAP_FAQ_EXISTS, "warn")
        return redirect(request, f"/changes/{change_id}")
    flash(request, texts.GAP_FAQ_CREATED)
    return redirect(request, f"/edit/faq?change={change_id}")


def _procedure_name(session: Session, code: str) -> str | None:
    return session.scalar(select(Procedure.name).where(Procedure.code == code))


async def add_words(request: Request) -> Response:
    staff = await require(request, *EDITORS)
    form = await request.form()
    days, channel = _filters(form)
    if not staff.has(*REVIEW_ROLES):
        flash(request, texts.GAP_WORDS_ROLE, "error")
        return redirect(request, _back(days, channel))
    path = admin_context(request).glossary_path
    if path is None:
        flash(request, texts.GAP_NO_GLOSSARY, "error")
        return redirect(request, _back(days, channel))
    days, channel, group = await _find(request, form)
    if group is None:
        flash(request, texts.GAP_GONE, "error")
        return redirect(request, _back(days, channel))
    code = str(form.get("code", "")).strip()[:32]
    name = await run_db(request, _procedure_name, code) if code else None
    if name is None:
        flash(request, texts.GAP_NO_PROCEDURE.format(code=code), "error")
        return redirect(request, _back(days, channel))
    try:
        line = await asyncio.to_thread(add_citizen_words, path, group.wording, name)
    except (GlossaryError, ValueError) as exc:
        flash(request, str(exc), "error")
        return redirect(request, _back(days, channel))
    await audit(
        request,
        staff,
        "gap.citizen_words",
        target_kind="procedure",
        target_key=code,
        detail={"line": line},
    )
    try:
        await asyncio.to_thread(
            admin_context(request).refresh.request, f"glossary: citizens' words for {code}"
        )
    except Exception:
        logger.exception("index refresh request failed")
    flash(request, texts.GAP_WORDS_ADDED.format(line=line.replace("\t", " → ")))
    return redirect(request, _back(days, channel))


def routes() -> list[BaseRoute]:
    """The knowledge-gaps page and its two actions."""
    return [
        Route("/gaps", gaps, name="admin_gaps"),
        Route("/gaps/faq", make_faq, methods=["POST"], name="admin_gap_faq"),
        Route("/gaps/words", add_words, methods=["POST"], name="admin_gap_words"),
    ]


__all__ = ["Staff", "routes"]
