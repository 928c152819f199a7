"""Staff accounts (tài khoản cán bộ) and the audit log (nhật ký thao tác).

Use-cases for the web admin and ``tthc admin``; each works inside a caller's session
(one transaction per request or command) and none commits. Passwords are hashed with
argon2id (argon2-cffi's defaults); a hash made with older parameters is replaced on the
next successful login.

Shapes:

- :func:`create_user` ``(session, username, password, role, *, actor, client="")``
  → :class:`StaffUser`; :class:`StaffError` for a bad name, role, short password or a
  taken name.
- :func:`authenticate` ``(session, username, password)`` → the active user or ``None``
  (same work for an unknown name, so timing does not tell names apart).
- :func:`record_audit` ``(session, actor, action, *, target_kind="", target_key="",
  detail=None, client="")`` writes one :class:`AuditEntry`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
from collections.abc import Sequence
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge.errors import KnowledgeError
from knowledge.models import AuditEntry, StaffUser

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "ROLE_NAMES",
    "Role",
    "StaffError",
    "audit_entries",
    "authenticate",
    "bump_session_epoch",
    "create_user",
    "disable_user",
    "enable_user",
    "get_user",
    "list_users",
    "record_audit",
    "set_password",
    "set_role",
]

Role = Literal["editor", "reviewer", "officer", "admin"]
ROLES: tuple[Role, ...] = ("editor", "reviewer", "officer", "admin")
#: What staff call each role.
ROLE_NAMES: dict[str, str] = {
    "editor": "biên tập viên",
    "reviewer": "người duyệt",
    "officer": "cán bộ trả lời",
    "admin": "quản trị",
}
MIN_PASSWORD_LENGTH = 10
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
#: argon2id with argon2-cffi's default (RFC 9106 low-memory) parameters; the tests
#: swap in ``argon2.profiles.CHEAPEST`` for speed.
HASHER = PasswordHasher()


@functools.cache
def _dummy_hash(parameters: str) -> str:
    """Verified against for unknown names, so a wrong name costs what a wrong password
    does (made on first use: hashing at import would slow every ``import knowledge``)."""
    return HASHER.hash("không có tài khoản này")


class StaffError(KnowledgeError):
    """A staff account operation was refused; ``str()`` is the Vietnamese reason."""


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"mật khẩu phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự")
    if password != password.strip():
        raise StaffError("mật khẩu không được bắt đầu hay kết thúc bằng khoảng trắng")


def get_user(session: Session, username: str) -> StaffUser | None:
    """The account named ``username`` (any state), or ``None``."""
    return session.scalar(select(StaffUser).where(StaffUser.username == username.lower()))


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    *,
    actor: str,
    display_name: str = "",
    client: str = "",
) -> StaffUser:
    """A new active account; audited as ``user.create`` by ``actor``."""
    name = username.strip().lower()
    if not _USERNAME.match(name):
        raise StaffError(
            "tên đăng nhập chỉ gồm chữ thường không dấu, số, dấu chấm, gạch ngang hoặc "
            "gạch dưới (2-64 ký tự)"
        )
    if role not in ROLES:
        raise StaffError(f"vai trò phải là một trong: {', '.join(ROLES)}")
    _check_password(password)
    if get_user(session, name) is not None:
        raise StaffError(f"tên đăng nhập {name!r} đã có")
    user = StaffUser(
        username=name,
        display_name=display_name.strip(),
        password_hash=HASHER.hash(password),
        role=role,
        active=True,
        session_epoch=0,
    )
    session.add(user)
    session.flush()
    record_audit(
        session,
        actor,
        "user.create",
        target_kind="user",
        target_key=name,
        detail={"role": role},
        client=client,
    )
    return user


def set_password(
    session: Session, username: str, password: str, *, actor: str, client: str = ""
) -> None:
    """Replace the password; every open session of the account ends."""
    user = _existing(session, username)
    _check_password(password)
    user.password_hash = HASHER.hash(password)
    user.session_epoch += 1
    record_audit(
        session,
        actor,
        "user.password",
        target_kind="user",
        target_key=user.username,
        client=client,
    )


def disable_user(session: Session, username: str, *, actor: str, client: str = "") -> None:
    """Lock the account out (it stays in the audit log); its sessions end."""
    user = _existing(session, username)
    user.active = False
    user.session_epoch += 1
    record_audit(
        session,
        actor,
        "user.disable",
        target_kind="user",
        target_key=user.username,
        client=client,
    )


def set_role(session: Session, username: str, role: str, *, actor: str, client: str = "") -> None:
    """Give the account another role; its sessions end (the new role applies at the next
    login). Audited as ``user.role`` with the old and new role."""
    if role not in ROLES:
        raise StaffError(f"vai trò phải là một trong: {', '.join(ROLES)}")
    user = _existing(session, username)
    old = user.role
    if old == role:
        return
    user.role = role
    user.session_epoch += 1
    record_audit(
        session,
        actor,
        "user.role",
        target_kind="user",
        target_key=user.username,
        detail={"from": old, "to": role},
        client=client,
    )


def enable_user(session: Session, username: str, *, actor: str, client: str = "") -> None:
    """Let a disabled account log in again; audited as ``user.enable``."""
    user = _existing(session, username)
    if user.active:
        return
    user.active = True
    record_audit(
        session, actor, "user.enable", target_kind="user", target_key=user.username, client=client
    )


def bump_session_epoch(session: Session, user_id: int) -> None:
    """End every session of the account (logout)."""
    user = session.get(StaffUser, user_id)
    if user is not None:
        user.session_epoch += 1


def _existing(session: Session, username: str) -> StaffUser:
    user = get_user(session, username)
    if user is None:
        raise StaffError(f"không có tài khoản {username!r}")
    return user


def list_users(session: Session) -> Sequence[StaffUser]:
    """Every account, by name."""
    return session.scalars(select(StaffUser).order_by(StaffUser.username)).all()


def authenticate(session: Session, username: str, password: str) -> StaffUser | None:
    """The active account whose password this is, else ``None``.

    A successful login records ``last_login_at`` and upgrades an outdated hash.
    """
    user = get_user(session, username.strip())
    if user is None or not user.active:
        with contextlib.suppress(VerificationError):
            HASHER.verify(_dummy_hash(f"{HASHER.time_cost}:{HASHER.memory_cost}"), password)
        return None
    try:
        HASHER.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = HASHER.hash(password)
    user.last_login_at = _utcnow()
    return user


def record_audit(
    session: Session,
    actor: str,
    action: str,
    *,
    target_kind: str = "",
    target_key: str = "",
    detail: dict[str, Any] | None = None,
    client: str = "",
) -> AuditEntry:
    """Write one audit entry (``action`` like ``login.ok``, ``change.approve``)."""
    entry = AuditEntry(
        actor=actor[:64],
        action=action[:32],
        target_kind=target_kind[:16],
        target_key=target_key[:255],
        detail=detail or {},
        client=client[:64],
        at=_utcnow(),
    )
    session.add(entry)
    return entry


def audit_entries(
    session: Session,
    *,
    actor: str = "",
    action_prefix: str = "",
    target_kind: str = "",
    target_key: str = "",
    limit: int = 100,
    offset: int = 0,
) -> tuple[Sequence[AuditEntry], int]:
    """Audit entries newest first, filtered; with the total count of the filter."""
    stmt: Any = select(AuditEntry)
    if actor:
        stmt = stmt.where(AuditEntry.actor == actor)
    if action_prefix:
        stmt = stmt.where(AuditEntry.action.startswith(action_prefix))
    if target_kind:
        stmt = stmt.where(AuditEntry.target_kind == target_kind)
    if target_key:
        stmt = stmt.where(AuditEntry.target_key == target_key)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit).offset(offset)).all()
    return rows, total
