"""The admin ASGI app (mounted at ``/admin`` by :func:`bot.app.build_web_app`).

Layers, outermost first: a body-size guard (413 past ``max_body_bytes``; a malformed
form becomes 400, never 500), the signed session cookie (Starlette's
``SessionMiddleware``, path ``/admin``, HttpOnly, SameSite=Lax, Secure unless
``TTHC_ADMIN_SECURE_COOKIES=false``, expiring after ``TTHC_ADMIN_IDLE_MINUTES`` without
a request), CSRF (``asgi-csrf``: a signed double-submit token in the ``csrftoken``
cookie and form field, checked on every non-GET request, cookies or not; 403 with a
Vietnamese page), then the routes. Handlers are written with :mod:`bot.admin.web`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from asgi_csrf import asgi_csrf
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.admin import auth, home, texts
from bot.admin.web import (
    PREFIX,
    TEMPLATES_DIR,
    AdminContext,
    CsrfFailed,
    Forbidden,
    LoginRequired,
    render,
)
from bot.handoff import HandoffService
from knowledge.refresh import IndexRefresh

#: Largest admin request body (uploads of import files included).
DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024


class _Everywhere:
    """``asgi-csrf``'s ``always_protect`` as "every path": a form POST without cookies
    (a forged login, say) is checked too."""

    def __contains__(self, _path: object) -> bool:
        return True


class _Guard:
    """Refuses bodies past a size (413) and turns a body the CSRF layer cannot parse
    (bad UTF-8, a multipart header without boundary) into 400 instead of a 500."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app, self.max_body_bytes = app, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        received = 0
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await _plain(send, 413, texts.TOO_LARGE)
            return

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _plain(send, 413, texts.TOO_LARGE)
        except TypeError:
            # asgi-csrf compares a non-ASCII (forged) token with compare_digest.
            if started:
                raise
            await _plain(send, 403, texts.CSRF_FAILED)
        except (UnicodeDecodeError, IndexError, AssertionError, ValueError):
            if started:
                raise
            await _plain(send, 400, texts.BAD_REQUEST)


class _TooLarge(Exception):
    pass


async def _plain(send: Send, status: int, text: str) -> None:
    body = _page(text).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/html; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _page(text: str) -> str:
    return (
        '<!doctype html><html lang="vi"><meta charset="utf-8">'
        f"<title>{texts.TITLE}</title>"
        f'<link rel="stylesheet" href="{PREFIX}/static/admin.css">'
        f'<main class="narrow"><h1>{texts.TITLE}</h1><p class="error">{text}</p>'
        f'<p><a href="{PREFIX}/">Về trang chủ quản trị</a></p></main></html>'
    )


#: Paths (inside the admin) whose multipart POST checks its CSRF field in the handler
#: (:func:`bot.admin.web.check_multipart_csrf`): asgi-csrf 0.11 cannot parse multipart
#: bodies with python-multipart 0.0.34 (``FormParser(FileClass=...)`` was removed).
MULTIPART_PATHS = frozenset({"/import"})


def _handler_checks_csrf(scope: Scope) -> bool:
    headers = dict(scope.get("headers") or [])
    content_type = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
    path = str(scope.get("path", ""))
    root = str(scope.get("root_path", ""))
    inner = path[len(root) :] if root and path.startswith(root) else path
    return content_type == b"multipart/form-data" and inner in MULTIPART_PATHS


async def _csrf_failed(scope: Scope, send: Send, _error: object) -> None:
    await _plain(send, 403, texts.CSRF_FAILED)


def _css(_: Request) -> Response:
    css = resources.files("bot.admin").joinpath("static/admin.css").read_text("utf-8")
    return Response(
        css, media_type="text/css; charset=utf-8", headers={"Cache-Control": "max-age=300"}
    )


def build_admin(
    *,
    factory: sessionmaker[Session],
    refresh: IndexRefresh,
    secret_key: str,
    secure_cookies: bool = True,
    idle_minutes: int = 30,
    login_attempts: int = 5,
    login_window_minutes: int = 15,
    limiter_storage: str = "memory://",
    trusted_proxies: frozenset[str] = frozenset(),
    pages: Sequence[Callable[[], list[BaseRoute]]] = (),
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    clock: Callable[[], dt.datetime] | None = None,
    handoffs: HandoffService | None = None,
    glossary_path: Path | None = None,
) -> ASGIApp:
    """The admin app, to mount at ``/admin``.

    ``pages``: extra route factories (each returns routes relative to ``/admin``),
    how features add their pages. ``secret_key`` (32+ characters) signs the session and
    CSRF cookies. ``clock`` (UTC) is for tests of the idle expiry. ``handoffs``: the
    live-handoff service the officer inbox works through (the one bound to this
    process's channels); ``glossary_path``: the staff glossary file
    (``TTHC_GLOSSARY_PATH``) the knowledge-gaps page adds citizens' words to.
    """
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    templates.env.globals["texts"] = texts
    from bot.admin import filters

    filters.install(templates.env)
    context = AdminContext(
        factory=factory,
        refresh=refresh,
        templates=templates,
        idle_seconds=idle_minutes * 60,
        trusted_proxies=trusted_proxies,
        handoffs=handoffs,
        glossary_path=glossary_path,
    )
    if clock is not None:
        context.clock = clock
    routes: list[BaseRoute] = [
        Route("/static/admin.css", _css, name="admin_css"),
        *auth.routes(),
        *home.routes(),
    ]
    for factory_of_routes in pages:
        routes.extend(factory_of_routes())

    async def login_required(request: Request, _exc: Exception) -> Response:
        return RedirectResponse(auth.login_url(request), status_code=303)

    async def forbidden(request: Request, exc: Exception) -> Response:
        message = exc.message if isinstance(exc, Forbidden) else texts.FORBIDDEN
        return render(request, "error.html", status_code=403, message=message)

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 400
        message = texts.NOT_FOUND if status == 404 else texts.BAD_REQUEST
        if status == 405:
            message = texts.BAD_REQUEST
        return render(request, "error.html", status_code=status, message=message)

    async def csrf_failed(_request: Request, _exc: Exception) -> Response:
        return HTMLResponse(_page(texts.CSRF_FAILED), status_code=403)

    handlers: dict[Any, Any] = {
        CsrfFailed: csrf_failed,
        LoginRequired: login_required,
        Forbidden: forbidden,
        HTTPException: http_error,
    }
    app = Starlette(
        routes=routes,
        exception_handlers=handlers,
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=secret_key,
                session_cookie="tthc_admin",
                max_age=idle_minutes * 60,
                path=PREFIX,
                same_site="lax",
                https_only=secure_cookies,
            ),
        ],
    )
    app.state.admin = context
    app.state.login_throttle = auth.LoginThrottle(
        attempts=login_attempts,
        window_minutes=login_window_minutes,
        storage_uri=limiter_storage,
    )
    # CSRF inside the session layer would also work; outside keeps the check before any
    # handler or session work, and the token cookie is its own (path /admin).
    protected = asgi_csrf(
        app,
        signing_secret=secret_key,
        cookie_path=PREFIX,
        cookie_secure=secure_cookies,
        cookie_samesite="Lax",
        always_protect=_Everywhere(),
        send_csrf_failed=_csrf_failed,
        skip_if_scope=_handler_checks_csrf,
    )
    return _Guard(protected, max_body_bytes)
