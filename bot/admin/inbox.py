"""Hộp thư cán bộ: the officer inbox over :class:`bot.handoff.HandoffService`.

Routes (relative to ``/admin``; role ``officer``, ``admin`` passes every check):

- ``GET /inbox``: open handoffs (waiting first, then held; who holds each, channel,
  since when, the last message, whether the platform still lets us reply) and whether
  the office is open now. ``GET /inbox/rows`` is the same table alone, fetched again
  every few seconds by ``/static/refresh.js`` (the page works without it).
- ``GET /inbox/{id}``: one conversation: what the bot said before, the thread (masked
  when stored), claim / reply / release. ``GET /inbox/{id}/thread`` is the thread alone.
- ``POST /inbox/{id}/claim|reply|release`` (CSRF-checked by the app): each one audited
  (``handoff.claim``, ``handoff.reply``, ``handoff.release``; refusals with
  ``refused`` in the detail). A reply goes out on the citizen's own channel through the
  service (a reply job, exactly once); a refusal (another officer holds it, closed, the
  platform's reply window is over) is shown in Vietnamese, the typed text kept.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.admin import texts
from bot.admin.web import (
    Forbidden,
    Staff,
    admin_context,
    audit,
    flash,
    redirect,
    render,
    require,
    run_db,
)
from bot.engine import texts as citizen_texts
from bot.handoff import (
    HUMAN_AGENT,
    OFFICER,
    WAITING,
    HandoffConflict,
    HandoffError,
    HandoffNotFound,
    HandoffService,
    HandoffView,
    ReplyWindowClosed,
    reply_tag,
)
from bot.handoff.service import OA_CONSOLE, PAGE_INBOX
from knowledge.models import HandoffMessage

#: Roles that work the inbox (``admin`` passes every check).
OFFICERS = ("officer",)
#: Longest reply an officer may send in one go (channels split it to their limits).
MAX_REPLY = 4000
#: Seconds between refreshes of the list and the thread (the script; 0 turns it off).
REFRESH_SECONDS = 10
_PLATFORM = (PAGE_INBOX, OA_CONSOLE)


@dataclass(frozen=True)
class Window:
    """Whether the platform lets an officer reply now: ``ok``, and what to tell them."""

    ok: bool
    note: str


@dataclass(frozen=True)
class Row:
    """One line of the inbox: the handoff, its last message and its reply window."""

    view: HandoffView
    last_text: str
    last_direction: str
    last_at: dt.datetime | None
    window: Window


def _service(request: Request) -> HandoffService:
    service = admin_context(request).handoffs
    if service is None:
        raise Forbidden(texts.INBOX_OFF)
    return service


def window(view: HandoffView, now: dt.datetime) -> Window:
    """The reply window of ``view`` at ``now`` (the rule of :func:`bot.handoff.reply_tag`)."""
    try:
        tag = reply_tag(view.channel, view.last_citizen_at, now)
    except ReplyWindowClosed as exc:
        return Window(False, str(exc))
    return Window(True, texts.WINDOW_TAGGED if tag == HUMAN_AGENT else texts.WINDOW_OK)


def _last_messages(session: Session, ids: list[int]) -> dict[int, HandoffMessage]:
    if not ids:
        return {}
    newest = (
        select(func.max(HandoffMessage.id))
        .where(HandoffMessage.handoff_id.in_(ids))
        .group_by(HandoffMessage.handoff_id)
    )
    rows = session.execute(select(HandoffMessage).where(HandoffMessage.id.in_(newest))).scalars()
    found = {row.handoff_id: row for row in rows}
    for row in found.values():
        session.expunge(row)
    return found


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


async def _rows(request: Request, service: HandoffService) -> list[Row]:
    views = await asyncio.to_thread(service.list_open)
    last = await run_db(request, _last_messages, [v.id for v in views])
    now = admin_context(request).clock()
    rows = []
    for view in views:
        message = last.get(view.id)
        rows.append(
            Row(
                view=view,
                last_text=message.text if message else "",
                last_direction=message.direction if message else "",
                last_at=_aware(message.at) if message else None,
                window=window(view, now),
            )
        )
    return rows


def _hours(service: HandoffService, now: dt.datetime) -> tuple[bool, str]:
    hours = service.hours
    if hours.is_open(now):
        return True, texts.HOURS_OPEN.format(hours=hours.describe())
    upcoming = hours.describe_moment(hours.next_open(now))
    return False, texts.HOURS_CLOSED.format(hours=hours.describe(), next=upcoming)


def _common(request: Request, staff: Staff) -> dict[str, Any]:
    return {
        "nav": "inbox",
        "me": staff.username,
        "channels": texts.CHANNEL_NAMES,
        "states": texts.HANDOFF_STATES,
        "reasons": texts.HANDOFF_REASONS,
        "close_reasons": texts.CLOSE_REASONS,
        "platform_people": texts.PLATFORM_PEOPLE,
        "directions": texts.DIRECTIONS,
        "refresh_seconds": REFRESH_SECONDS,
        "max_reply": MAX_REPLY,
    }


async def inbox(request: Request) -> Response:
    staff = await require(request, *OFFICERS)
    service = _service(request)
    rows = await _rows(request, service)
    is_open, hours = _hours(service, admin_context(request).clock())
    return render(
        request,
        "inbox.html",
        rows=rows,
        hours_open=is_open,
        hours=hours,
        **_common(request, staff),
    )


async def inbox_rows(request: Request) -> Response:
    staff = await require(request, *OFFICERS)
    rows = await _rows(request, _service(request))
    return render(request, "_inbox_rows.html", rows=rows, **_common(request, staff))


def _can(view: HandoffView, me: str) -> dict[str, bool]:
    """What ``me`` may do on ``view`` (the service enforces the same rules)."""
    is_open = view.state in (WAITING, OFFICER)
    free = view.state == WAITING or view.officer in ("", me, *_PLATFORM)
    return {
        "claim": is_open and (view.state == WAITING or view.officer in ("", *_PLATFORM)),
        "reply": is_open and free,
        "release": is_open and free,
        "mine": is_open and view.state == OFFICER and view.officer == me,
    }


async def _conversation(
    request: Request, staff: Staff, handoff_id: int, *, status_code: int = 200, **extra: Any
) -> Response:
    service = _service(request)
    try:
        history = await asyncio.to_thread(service.history, handoff_id)
    except HandoffNotFound as exc:
        return render(request, "error.html", status_code=404, message=str(exc))
    view = history.handoff
    now = admin_context(request).clock()
    return render(
        request,
        "conversation.html",
        status_code=status_code,
        view=view,
        history=history,
        window=window(view, now),
        can=_can(view, staff.username),
        draft=extra.pop("draft", ""),
        error=extra.pop("error", ""),
        **_common(request, staff),
    )


async def conversation(request: Request) -> Response:
    staff = await require(request, *OFFICERS)
    return await _conversation(request, staff, int(request.path_params["id"]))


async def thread(request: Request) -> Response:
    staff = await require(request, *OFFICERS)
    service = _service(request)
    try:
        history = await asyncio.to_thread(service.history, int(request.path_params["id"]))
    except HandoffNotFound as exc:
        return render(request, "error.html", status_code=404, message=str(exc))
    return render(request, "_thread.html", history=history, **_common(request, staff))


async def _audit(
    request: Request, staff: Staff, action: str, handoff_id: int, detail: dict[str, Any]
) -> None:
    """One audit line for an action on a handoff (``detail["refused"]`` when refused)."""
    await audit(
        request, staff, action, target_kind="handoff", target_key=str(handoff_id), detail=detail
    )


async def _refused(
    request: Request, staff: Staff, action: str, handoff_id: int, exc: HandoffError
) -> Response:
    """A claim or release the service refused: audited, said, back to the conversation."""
    await _audit(request, staff, action, handoff_id, {"refused": str(exc)})
    flash(request, str(exc), "error")
    return redirect(request, f"/inbox/{handoff_id}")


async def claim(request: Request) -> Response:
    staff = await require(request, *OFFICERS)
    handoff_id = int(request.path_params["id"])
    service = _service(request)
    try:
        view = await asyncio.to_thread(service.claim, handoff_id, staff.username)
    except HandoffError as exc:
        return await _refused(request, staff, "handoff.claim", handoff_id, exc)
    await _audit(request, staff, "handoff.claim", handoff_id, {"channel": view.channel})
    flash(request, texts.CLAIMED)
    return redirect(request, f"/inbox/{handoff_id}")


async def reply(request: Request) -> Response:
    staff = await require(request, *OFFICERS)
    handoff_id = int(request.path_params["id"])
    service = _service(request)
    form = await request.form()
    text = str(form.get("text", "")).strip()
    if len(text) > MAX_REPLY:
        return await _conversation(
            request,
            staff,
            handoff_id,
            status_code=400,
            draft=text,
            error=texts.REPLY_TOO_LONG.format(limit=MAX_REPLY),
        )
    try:
        receipt = await service.reply(handoff_id, staff.username, text)
    except (HandoffError, ValueError) as exc:
        status = 409 if isinstance(exc, HandoffConflict | ReplyWindowClosed) else 400
        if isinstance(exc, HandoffNotFound):
            status = 409
        await _audit(request, staff, "handoff.reply", handoff_id, {"refused": str(exc)})
        return await _conversation(
            request, staff, handoff_id, status_code=status, draft=text, error=str(exc)
        )
    view = await asyncio.to_thread(service.get, handoff_id)
    await _audit(
        request,
        staff,
        "handoff.reply",
        handoff_id,
        {
            "channel": view.channel,
            "queue_id": receipt.inbox_id,
            "tag": receipt.tag,
            "chars": len(text),
        },
    )
    channel = texts.CHANNEL_NAMES.get(view.channel, view.channel)
    template = texts.REPLY_QUEUED_TAGGED if receipt.tag else texts.REPLY_QUEUED
    flash(request, template.format(channel=channel))
    return redirect(request, f"/inbox/{handoff_id}")


async def release(request: Request) -> Response:
    staff = await require(request, *OFFICERS)
    handoff_id = int(request.path_params["id"])
    service = _service(request)
    form = await request.form()
    notify = form.get("notify") == "1"
    told, why_not = False, ""
    if notify:
        # Said before closing: the citizen learns the bot answers again. A closed
        # reply window only skips the notice; the release itself still happens.
        try:
            await service.reply(handoff_id, staff.username, citizen_texts.HANDOFF_RELEASED)
            told = True
        except ReplyWindowClosed as exc:
            why_not = str(exc)
        except HandoffError:
            pass  # the release below says what is wrong
    try:
        view = await asyncio.to_thread(service.release, handoff_id, staff.username)
    except HandoffError as exc:
        return await _refused(request, staff, "handoff.release", handoff_id, exc)
    await _audit(
        request, staff, "handoff.release", handoff_id, {"channel": view.channel, "notified": told}
    )
    if why_not:
        flash(request, texts.RELEASED_NOT_NOTIFIED.format(reason=why_not), "warn")
    else:
        flash(request, texts.RELEASED_NOTIFIED if told else texts.RELEASED)
    return redirect(request, "/inbox")


def _script(_: Request) -> Response:
    code = resources.files("bot.admin").joinpath("static/refresh.js").read_text("utf-8")
    return Response(
        code,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "max-age=300"},
    )


def routes() -> list[BaseRoute]:
    """The officer inbox and its refresh script."""
    return [
        Route("/static/refresh.js", _script, name="admin_refresh_js"),
        Route("/inbox", inbox, name="admin_inbox"),
        Route("/inbox/rows", inbox_rows, name="admin_inbox_rows"),
        Route("/inbox/{id:int}", conversation, name="admin_conversation"),
        Route("/inbox/{id:int}/thread", thread, name="admin_thread"),
        Route("/inbox/{id:int}/claim", claim, methods=["POST"], name="admin_claim"),
        Route("/inbox/{id:int}/reply", reply, methods=["POST"], name="admin_reply"),
        Route("/inbox/{id:int}/release", release, methods=["POST"], name="admin_release"),
    ]
