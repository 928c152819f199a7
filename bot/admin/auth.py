"""Log in and out of the admin; failed logins are throttled per user name and address."""

from __future__ import annotations

from urllib.parse import quote

from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.admin import texts
from bot.admin.web import (
    PREFIX,
    Staff,
    admin_context,
    audit,
    client,
    current_staff,
    flash,
    redirect,
    render,
    run_db,
)
from knowledge.staff import authenticate, bump_session_epoch


class LoginThrottle:
    """At most ``attempts`` wrong passwords per user name and address per window.

    A wider limit (10 × ``attempts``) per address alone slows guessing across names.
    ``storage_uri`` is a ``limits`` storage (``memory://`` or the shared Redis URL, so
    every process counts the same attempts).
    """

    def __init__(self, *, attempts: int, window_minutes: int, storage_uri: str) -> None:
        self._strategy = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self.window_minutes = window_minutes
        self._per_name = RateLimitItemPerMinute(attempts, window_minutes, namespace="tthc-login")
        self._per_address = RateLimitItemPerMinute(
            attempts * 10, window_minutes, namespace="tthc-login-addr"
        )

    def allowed(self, username: str, address: str) -> bool:
        """Whether another attempt may be checked now (records nothing)."""
        return bool(
            self._strategy.test(self._per_name, username, address)
            and self._strategy.test(self._per_address, address)
        )

    def failed(self, username: str, address: str) -> None:
        """Count one wrong password."""
        self._strategy.hit(self._per_name, username, address)
        self._strategy.hit(self._per_address, address)

    def succeeded(self, username: str, address: str) -> None:
        """Forget the wrong passwords of this name at this address."""
        self._strategy.clear(self._per_name, username, address)


def safe_next(value: str | None) -> str:
    """Where to go after logging in: an admin path only (no open redirect)."""
    if value and value.startswith(PREFIX) and not value.startswith("//") and "\\" not in value:
        return value
    return PREFIX + "/"


def login_url(request: Request) -> str:
    """``/admin/login?next=<this page>`` for an anonymous visitor."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{PREFIX}/login?next={quote(target, safe='')}"


async def login_page(request: Request) -> Response:
    if await current_staff(request) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return render(request, "login.html", next=safe_next(request.query_params.get("next")))


def _login(session: Session, username: str, password: str) -> Staff | None:
    user = authenticate(session, username, password)
    if user is None:
        return None
    return Staff(user.id, user.username, user.role, user.display_name)


async def login_submit(request: Request) -> Response:
    form = await request.form()
    username = str(form.get("username", "")).strip().lower()[:64]
    password = str(form.get("password", ""))[:1024]
    target = safe_next(str(form.get("next", "")))
    ctx = admin_context(request)
    throttle: LoginThrottle = request.app.state.login_throttle
    address = client(request)
    if not throttle.allowed(username, address):
        await audit(request, None, "login.throttled", target_kind="user", target_key=username)
        message = texts.LOGIN_THROTTLED.format(minutes=throttle.window_minutes)
        return render(
            request, "login.html", status_code=429, error=message, next=target, username=username
        )
    staff = await run_db(request, _login, username, password) if username and password else None
    if staff is None:
        throttle.failed(username, address)
        await audit(request, None, "login.fail", target_kind="user", target_key=username)
        return render(
            request,
            "login.html",
            status_code=401,
            error=texts.LOGIN_FAILED,
            next=target,
            username=username,
        )
    throttle.succeeded(username, address)
    epoch = await run_db(request, _epoch, staff.id)
    request.session.clear()
    request.session.update({"uid": staff.id, "epoch": epoch, "seen": int(ctx.clock().timestamp())})
    await audit(request, staff, "login.ok", target_kind="user", target_key=staff.username)
    return RedirectResponse(target, status_code=303)


def _epoch(session: Session, user_id: int) -> int:
    from knowledge.models import StaffUser

    user = session.get(StaffUser, user_id)
    return user.session_epoch if user is not None else -1


async def logout(request: Request) -> Response:
    staff = await current_staff(request)
    if staff is not None:
        await run_db(request, bump_session_epoch, staff.id)
        await audit(request, staff, "logout", target_kind="user", target_key=staff.username)
    request.session.clear()
    flash(request, texts.LOGGED_OUT)
    return redirect(request, "/login")


def routes() -> list[Route]:
    """Login and logout routes."""
    return [
        Route("/login", login_page, methods=["GET"], name="admin_login"),
        Route("/login", login_submit, methods=["POST"], name="admin_login_submit"),
        Route("/logout", logout, methods=["POST"], name="admin_logout"),
    ]
