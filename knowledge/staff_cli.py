"""``tthc admin ...``: staff accounts of the web admin, for the operator.

A password is never a command-line argument (it would sit in the shell history and in
``ps``): it comes from standard input (``--password-stdin``) or ``TTHC_ADMIN_PASSWORD``.
Every command is written to the audit log with the actor ``cli``.
"""

from __future__ import annotations

import json
import os
import sys

import click
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from knowledge import migrate
from knowledge.db import make_engine, make_session_factory, transaction
from knowledge.settings import KnowledgeSettings
from knowledge.staff import ROLE_NAMES, ROLES, StaffError, create_user, disable_user, list_users
from knowledge.staff import set_password as set_user_password

_ACTOR = "cli"


def _password(from_stdin: bool) -> str:
    if from_stdin:
        text = sys.stdin.readline().rstrip("\r\n")
    else:
        text = os.environ.get("TTHC_ADMIN_PASSWORD", "")
    if not text:
        raise click.ClickException(
            "Chưa có mật khẩu: dùng --password-stdin (đọc một dòng) hoặc đặt TTHC_ADMIN_PASSWORD"
        )
    return text


def _factory() -> tuple[Engine, sessionmaker[Session]]:
    engine = make_engine(KnowledgeSettings().resolved_database_url())
    migrate.upgrade(engine)
    return engine, make_session_factory(engine)


@click.group(name="admin")
def admin() -> None:
    """Staff accounts of the web admin (/admin): biên tập viên, người duyệt, cán bộ, quản trị.

    \b
    Examples:
      printf '%s\\n' "$PASS" | tthc admin create-user lan --role editor --password-stdin
      TTHC_ADMIN_PASSWORD=... tthc admin create-user minh --role reviewer
      tthc admin list-users --json
      tthc admin set-password lan --password-stdin
      tthc admin disable lan
    """


@admin.command(name="create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True, help="Vai trò của tài khoản.")
@click.option("--name", "display_name", default="", help="Họ tên hiển thị.")
@click.option("--password-stdin", is_flag=True, help="Read the password from one stdin line.")
def create_user_cmd(username: str, role: str, display_name: str, password_stdin: bool) -> None:
    """Create an account (password from stdin or $TTHC_ADMIN_PASSWORD, 10+ characters)."""
    password = _password(password_stdin)
    engine, factory = _factory()
    try:
        with transaction(factory) as session:
            user = create_user(
                session, username, password, role, actor=_ACTOR, display_name=display_name
            )
            name = user.username
    except StaffError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo(f"Đã tạo tài khoản {name} ({ROLE_NAMES[role]}).")


@admin.command(name="list-users")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_users_cmd(as_json: bool) -> None:
    """Every account with its role and state."""
    engine, factory = _factory()
    try:
        with transaction(factory) as session:
            rows = [
                {
                    "username": u.username,
                    "role": u.role,
                    "active": u.active,
                    "created_at": u.created_at.isoformat(),
                    "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
                }
                for u in list_users(session)
            ]
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        state = "đang dùng" if row["active"] else "đã khoá"
        click.echo(f"{row['username']:<24} {ROLE_NAMES[str(row['role'])]:<16} {state}")


@admin.command(name="set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from one stdin line.")
def set_password_cmd(username: str, password_stdin: bool) -> None:
    """Replace an account's password (its open sessions end)."""
    password = _password(password_stdin)
    engine, factory = _factory()
    try:
        with transaction(factory) as session:
            set_user_password(session, username, password, actor=_ACTOR)
    except StaffError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo(f"Đã đổi mật khẩu của {username}.")


@admin.command(name="disable")
@click.argument("username")
def disable_cmd(username: str) -> None:
    """Lock an account out (kept for the audit log; its sessions end)."""
    engine, factory = _factory()
    try:
        with transaction(factory) as session:
            disable_user(session, username, actor=_ACTOR)
    except StaffError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo(f"Đã khoá tài khoản {username}.")
