"""What every admin page handler uses: the logged-in staff member, rendering, audit.

Interfaces (small on purpose; pages of other features build on them):

- ``await require(request, *roles) -> Staff``: the logged-in, active staff member whose
  role is one of ``roles`` (``admin`` passes every check; no roles = any logged-in
  member). Anonymous or expired → :class:`LoginRequired` (the app answers 303 to
  ``/admin/login?next=<path>``); wrong role → :class:`Forbidden` (a Vietnamese 403 page).
- ``render(request, "page.html", status_code=200, **ctx) -> HTMLResponse``: renders a
  template from ``bot/admin/templates`` (extend ``base.html``, fill ``{% block title %}``
  and ``{% block content %}``); injects ``staff`` (or ``None``), ``csrf_input`` (the
  hidden field every POST form must hold: ``{{ csrf_input }}``), ``csrf_token``,
  ``flashes`` (list of ``(category, text)``), ``role_names`` and ``nav`` (the active
  section, from ``ctx["nav"]`` if given).
- ``flash(request, text, category="ok"|"error")``: a message shown on the next page.
- ``await audit(request, staff, action, *, target_kind="", target_key="", detail=None)``:
  one audit row with the client's address.
- ``await run_db(request, fn, *args, **kwargs)``: ``fn(session, *args, **kwargs)`` in a
  worker thread inside one transaction (commit on success); returns its result.
- ``admin_context(request) -> AdminContext``: the shared objects (session factory,
  :class:`~knowledge.refresh.IndexRefresh`, settings, clock, the
  :class:`~bot.handoff.HandoffService` and the staff glossary path when configured).
- ``redirect(request, path) -> RedirectResponse``: 303 to ``/admin`` + ``path``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from markupsafe import Markup
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.templating import Jinja2Templates

from bot.admin import texts
from bot.handoff import HandoffService
from bot.web import client_address
from knowledge.db import transaction
from knowledge.models import StaffUser
from knowledge.refresh import IndexRefresh
from knowledge.staff import ROLE_NAMES, record_audit

T = TypeVar("T")
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
#: Where the admin is mounted in the one ASGI app.
PREFIX = "/admin"


class LoginRequired(Exception):
    """No valid session: the app redirects to the login page."""


class Forbidden(Exception):
    """Logged in, but the role may not do this: the app answers a 403 page."""

    def __init__(self, message: str = texts.FORBIDDEN) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Staff:
    """The logged-in staff member as handlers see it (no ORM state, no password hash)."""

    id: int
    username: str
    role: str
    display_name: str = ""

    @property
    def role_name(self) -> str:
        """The Vietnamese name of the role (biên tập viên, người duyệt, ...)."""
        return ROLE_NAMES.get(self.role, self.role)

    def has(self, *roles: str) -> bool:
        """Whether this member may act as one of ``roles`` (``admin`` may act as any)."""
        return self.role == "admin" or not roles or self.role in roles


@dataclass
class AdminContext:
    """Objects the admin pages share, built once by :func:`bot.admin.app.build_admin`."""

    factory: sessionmaker[Session]
    refresh: IndexRefresh
    templates: Jinja2Templates
    idle_seconds: int
    trusted_proxies: frozenset[str] = frozenset()
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    #: Live handoff (the officer inbox); ``None`` where no channel serves this process.
    handoffs: HandoffService | None = None
    #: The staff glossary file (``TTHC_GLOSSARY_PATH``) citizens' words are added to.
    glossary_path: Path | None = None


def admin_context(request: Request) -> AdminContext:
    """The shared objects of the admin app serving ``request``."""
    ctx: AdminContext = request.app.state.admin
    return ctx


def client(request: Request) -> str:
    """The staff member's address (the last untrusted X-Forwarded-For hop behind proxies)."""
    return client_address(request, admin_context(request).trusted_proxies)


async def run_db(request: Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(session, *args, **kwargs)`` in a thread, in one committed transaction."""
    factory = admin_context(request).factory

    def work() -> T:
        with transaction(factory) as session:
            return fn(session, *args, **kwargs)

    return await asyncio.to_thread(work)


def _session_staff(session: Session, user_id: int, epoch: int) -> Staff | None:
    user = session.get(StaffUser, user_id)
    if user is None or not user.active or user.session_epoch != epoch:
        return None
    return Staff(user.id, user.username, user.role, user.display_name)


async def current_staff(request: Request) -> Staff | None:
    """The logged-in member, or ``None``; refreshes the idle timer of a valid session."""
    if request.scope.get("admin_staff") is not None:
        staff: Staff = request.scope["admin_staff"]
        return staff
    data = request.session
    ctx = admin_context(request)
    uid, epoch, seen = data.get("uid"), data.get("epoch"), data.get("seen")
    if not isinstance(uid, int) or not isinstance(epoch, int) or not isinstance(seen, int | float):
        return None
    now = ctx.clock().timestamp()
    if now - float(seen) > ctx.idle_seconds:
        data.clear()
        return None
    found = await run_db(request, _session_staff, uid, epoch)
    if found is None:
        data.clear()
        return None
    if now - float(seen) > 30:  # re-sign the cookie at most every 30 s
        data["seen"] = int(now)
    request.scope["admin_staff"] = found
    return found


async def require(request: Request, *roles: str) -> Staff:
    """The logged-in member allowed one of ``roles``; see the module docstring."""
    staff = await current_staff(request)
    if staff is None:
        raise LoginRequired
    if not staff.has(*roles):
        raise Forbidden
    return staff


def flash(request: Request, text: str, category: str = "ok") -> None:
    """Queue a message for the next rendered page of this session."""
    queued = list(request.session.get("flash", []))
    queued.append([category, text])
    request.session["flash"] = queued[-5:]


def csrf_token(request: Request) -> str:
    """The CSRF token of this browser (sets its cookie when new)."""
    getter = request.scope.get("csrftoken")
    return str(getter()) if callable(getter) else ""


def check_multipart_csrf(request: Request, submitted: object) -> None:
    """For a multipart form (uploads): :class:`CsrfFailed` unless ``submitted`` (the
    form's ``csrftoken`` field) equals this browser's validly signed CSRF cookie — the
    check asgi-csrf makes for other forms."""
    cookie = request.cookies.get("csrftoken", "")
    if not isinstance(submitted, str) or not cookie or csrf_token(request) != cookie:
        raise CsrfFailed
    if not secrets.compare_digest(submitted.encode(), cookie.encode()):
        raise CsrfFailed


class CsrfFailed(Exception):
    """A form's CSRF field is missing or wrong: the app answers 403."""


def render(request: Request, template: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    """Render an admin page; see the module docstring for the injected names."""
    token = csrf_token(request)
    flashes = (
        [tuple(f) for f in request.session.pop("flash", [])] if "session" in request.scope else []
    )
    values = {
        "staff": request.scope.get("admin_staff"),
        "csrf_token": token,
        "csrf_input": Markup('<input type="hidden" name="csrftoken" value="{}">').format(token),
        "flashes": flashes,
        "role_names": ROLE_NAMES,
        "prefix": PREFIX,
        "nav": ctx.pop("nav", ""),
        **ctx,
    }
    templates = admin_context(request).templates
    response = templates.TemplateResponse(request, template, values, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(request: Request, path: str) -> RedirectResponse:
    """303 See Other to an admin path (``"/changes/3"`` → ``/admin/changes/3``)."""
    return RedirectResponse(PREFIX + path, status_code=303)


async def audit(
    request: Request,
    staff: Staff | None,
    action: str,
    *,
    target_kind: str = "",
    target_key: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one audit entry for ``staff`` (or an anonymous actor) from this request."""
    address = client(request)
    actor = staff.username if staff is not None else ""
    await run_db(
        request,
        record_audit,
        actor,
        action,
        target_kind=target_kind,
        target_key=target_key,
        detail=detail,
        client=address,
    )
