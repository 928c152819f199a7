"""Tài khoản cán bộ: the staff accounts page (admin role only).

Routes (relative to ``/admin``): ``GET /users`` (list and the create form), ``POST
/users`` (create: ``username``, ``display_name``, ``role``, ``password`` of at least
:data:`knowledge.staff.MIN_PASSWORD_LENGTH` characters), ``POST /users/{name}/role``
(``role``), ``/users/{name}/password`` (``password``: every session of the account
ends), ``/users/{name}/disable`` and ``/users/{name}/enable``. Every change is audited
(``user.*``) by :mod:`knowledge.staff`; an admin cannot disable or demote themself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.admin.web import client, flash, redirect, render, require, run_db
from knowledge.staff import (
    MIN_PASSWORD_LENGTH,
    ROLES,
    StaffError,
    create_user,
    disable_user,
    enable_user,
    list_users,
    set_password,
    set_role,
)


def _rows(session: Session) -> list[dict[str, Any]]:
    return [
        {
            "username": u.username,
            "display_name": u.display_name,
            "role": u.role,
            "active": u.active,
            "last_login_at": u.last_login_at,
        }
        for u in list_users(session)
    ]


async def users_page(request: Request, status_code: int = 200, **ctx: Any) -> Response:
    await require(request, "admin")
    rows = await run_db(request, _rows)
    return render(
        request,
        "users.html",
        status_code=status_code,
        nav="users",
        rows=rows,
        roles=ROLES,
        min_length=MIN_PASSWORD_LENGTH,
        values=ctx.pop("values", {}),
        **ctx,
    )


async def create(request: Request) -> Response:
    staff = await require(request, "admin")
    form = await request.form(max_files=0, max_fields=10)
    values = {k: str(form.get(k, ""))[:200] for k in ("username", "display_name", "role")}
    try:
        await run_db(
            request,
            create_user,
            values["username"],
            str(form.get("password", ""))[:500],
            values["role"],
            actor=staff.username,
            display_name=values["display_name"],
            client=client(request),
        )
    except StaffError as exc:
        return await users_page(
            request, status_code=400, problem=f"Không tạo được tài khoản: {exc}.", values=values
        )
    flash(request, f"Đã tạo tài khoản {values['username'].strip().lower()}.")
    return redirect(request, "/users")


async def _act(
    request: Request, done: str, call: Callable[[Session, str, Any], None], *, self_ok: bool
) -> Response:
    staff = await require(request, "admin")
    form = await request.form(max_files=0, max_fields=10)
    name = str(request.path_params["name"])
    if not self_ok and name == staff.username:
        flash(request, "Bạn không thể tự khoá hay đổi vai trò của chính mình.", "error")
        return redirect(request, "/users")
    try:
        await run_db(request, call, name, form)
    except StaffError as exc:
        return await users_page(request, status_code=400, problem=f"Không thực hiện được: {exc}.")
    flash(request, done.format(name=name))
    return redirect(request, "/users")


async def change_role(request: Request) -> Response:
    staff = await require(request, "admin")
    where = client(request)

    def call(session: Session, name: str, form: Any) -> None:
        set_role(session, name, str(form.get("role", "")), actor=staff.username, client=where)

    return await _act(request, "Đã đổi vai trò của {name}.", call, self_ok=False)


async def reset_password(request: Request) -> Response:
    staff = await require(request, "admin")
    where = client(request)

    def call(session: Session, name: str, form: Any) -> None:
        password = str(form.get("password", ""))[:500]
        set_password(session, name, password, actor=staff.username, client=where)

    return await _act(request, "Đã đặt lại mật khẩu của {name}.", call, self_ok=True)


async def disable(request: Request) -> Response:
    staff = await require(request, "admin")
    where = client(request)

    def call(session: Session, name: str, _form: Any) -> None:
        disable_user(session, name, actor=staff.username, client=where)

    return await _act(request, "Đã khoá tài khoản {name}.", call, self_ok=False)


async def enable(request: Request) -> Response:
    staff = await require(request, "admin")
    where = client(request)

    def call(session: Session, name: str, _form: Any) -> None:
        enable_user(session, name, actor=staff.username, client=where)

    return await _act(request, "Đã mở khoá tài khoản {name}.", call, self_ok=True)


def routes() -> list[BaseRoute]:
    """The accounts page."""
    return [
        Route("/users", users_page, name="admin_users"),
        Route("/users", create, methods=["POST"], name="admin_users_create"),
        Route("/users/{name}/role", change_role, methods=["POST"], name="admin_user_role"),
        Route("/users/{name}/password", reset_password, methods=["POST"], name="admin_user_pw"),
        Route("/users/{name}/disable", disable, methods=["POST"], name="admin_user_disable"),
        Route("/users/{name}/enable", enable, methods=["POST"], name="admin_user_enable"),
    ]
