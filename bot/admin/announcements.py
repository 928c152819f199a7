"""Thông báo tuyên truyền: staff write, preview, schedule and follow announcements.

Routes (relative to ``/admin``):

- ``GET /announcements`` (editor, reviewer, admin): the write form and the recent
  announcements, each with its delivery report per channel (sent, outside the window,
  unsubscribed, failed, waiting).
- ``POST /announcements`` (same roles) with ``action``:

  - ``preview``: the page again with the text as citizens read it and, per channel,
    the subscribers and how many are outside the platform's window (skipped);
  - ``draft``: saved, not sent (editors may only do this);
  - ``send`` (now) / ``schedule`` (at ``at``, Vietnam time): reviewer and admin only.

- ``POST /announcements/{id}/send`` (reviewer, admin): a draft goes out now.
- ``POST /announcements/{id}/cancel`` (reviewer, admin): a draft or scheduled one.

Decision on roles: sending reaches citizens directly (no review step after it), so it
takes the roles that may publish knowledge (reviewer, admin); an editor prepares a
draft a reviewer sends. Every action is audited (``announcement.*``). The send itself
is the queue's ``tthc.announce`` job (``bot.channels.announcements``), which picks a due
announcement up within 15 s.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.admin import texts
from bot.admin.web import admin_context, audit, flash, redirect, render, require
from bot.channels.announcements import (
    ANNOUNCE_CHANNELS,
    FOOTER,
    MAX_TEXT,
    AnnouncementError,
    AnnouncementStore,
    ChannelPreview,
    clean_text,
    parse_channels,
    rendered_text,
)

#: Roles that write drafts; those that send.
WRITERS = ("editor", "reviewer")
SENDERS = ("reviewer",)
VIETNAM = dt.timezone(dt.timedelta(hours=7))


def _store(request: Request) -> AnnouncementStore:
    ctx = admin_context(request)
    return AnnouncementStore(factory=ctx.factory, now=ctx.clock)


def _parse_at(value: str) -> dt.datetime | None:
    """``datetime-local`` input (Vietnam time) → aware datetime; "" → None."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise AnnouncementError(texts.ANNOUNCE_BAD_TIME) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=VIETNAM)


async def _page(
    request: Request,
    *,
    form: dict[str, Any] | None = None,
    preview: list[ChannelPreview] | None = None,
    shown: str = "",
    error: str = "",
    status_code: int = 200,
) -> Response:
    staff = await require(request, *WRITERS)
    views = await asyncio.to_thread(_store(request).recent)
    return render(
        request,
        "announcements.html",
        status_code=status_code,
        nav="announcements",
        views=views,
        form=form or {"text": "", "channels": list(ANNOUNCE_CHANNELS), "at": ""},
        preview=preview,
        shown=shown,
        error=error,
        channels=ANNOUNCE_CHANNELS,
        channel_names=texts.CHANNEL_NAMES,
        states=texts.ANNOUNCE_STATES,
        delivery_states=texts.ANNOUNCE_DELIVERY_STATES,
        can_send=staff.has(*SENDERS),
        max_text=MAX_TEXT - len(FOOTER),
        vietnam=VIETNAM,
    )


async def announcements(request: Request) -> Response:
    return await _page(request)


async def submit(request: Request) -> Response:
    staff = await require(request, *WRITERS)
    data = await request.form()
    action = str(data.get("action", "preview"))
    picked = [str(c) for c in data.getlist("channels")]
    typed, at_text = str(data.get("text", "")), str(data.get("at", ""))
    form: dict[str, Any] = {"text": typed, "channels": picked, "at": at_text}
    store = _store(request)
    try:
        text = clean_text(typed)
        names = parse_channels(picked)
        at = _parse_at(at_text)
        if action == "preview":
            preview = await asyncio.to_thread(store.preview, names)
            return await _page(request, form=form, preview=preview, shown=rendered_text(text))
        if action in ("send", "schedule") and not staff.has(*SENDERS):
            return await _page(request, form=form, error=texts.ANNOUNCE_SEND_ROLE, status_code=403)
        if action not in ("draft", "send", "schedule"):
            raise AnnouncementError(texts.ANNOUNCE_BAD_ACTION)
        if action == "schedule" and at is None:
            raise AnnouncementError(texts.ANNOUNCE_NO_TIME)
        announcement_id = await asyncio.to_thread(
            lambda: store.create(
                text=text,
                channels=names,
                author=staff.username,
                at=at if action == "schedule" else None,
                draft=action == "draft",
            )
        )
    except AnnouncementError as exc:
        return await _page(request, form=form, error=str(exc), status_code=400)
    await audit(
        request,
        staff,
        f"announcement.{action}",
        target_kind="announcement",
        target_key=str(announcement_id),
        detail={"channels": names, "at": at.isoformat() if at else None, "chars": len(text)},
    )
    flash(request, texts.ANNOUNCE_DONE[action].format(id=announcement_id))
    return redirect(request, "/announcements")


async def send_draft(request: Request) -> Response:
    staff = await require(request, *SENDERS)
    announcement_id = int(request.path_params["announcement_id"])
    if await asyncio.to_thread(_store(request).schedule, announcement_id, None):
        await audit(
            request,
            staff,
            "announcement.send",
            target_kind="announcement",
            target_key=str(announcement_id),
        )
        flash(request, texts.ANNOUNCE_DONE["send"].format(id=announcement_id))
    else:
        flash(request, texts.ANNOUNCE_NOT_DRAFT, "error")
    return redirect(request, "/announcements")


async def cancel(request: Request) -> Response:
    staff = await require(request, *SENDERS)
    announcement_id = int(request.path_params["announcement_id"])
    if await asyncio.to_thread(_store(request).cancel, announcement_id):
        await audit(
            request,
            staff,
            "announcement.cancel",
            target_kind="announcement",
            target_key=str(announcement_id),
        )
        flash(request, texts.ANNOUNCE_CANCELLED.format(id=announcement_id))
    else:
        flash(request, texts.ANNOUNCE_NOT_DRAFT, "error")
    return redirect(request, "/announcements")


def routes() -> list[BaseRoute]:
    """The announcements page and its actions."""
    return [
        Route("/announcements", announcements, name="admin_announcements"),
        Route("/announcements", submit, methods=["POST"], name="admin_announcement_submit"),
        Route(
            "/announcements/{announcement_id:int}/send",
            send_draft,
            methods=["POST"],
            name="admin_announcement_send",
        ),
        Route(
            "/announcements/{announcement_id:int}/cancel",
            cancel,
            methods=["POST"],
            name="admin_announcement_cancel",
        ),
    ]
