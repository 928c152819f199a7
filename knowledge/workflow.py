"""Draft → submit → review → publish of knowledge edits, and rollback (quy trình duyệt).

Every function works inside the caller's session (one transaction), writes one audit
entry and raises :class:`WorkflowError` (``str()`` is a Vietnamese sentence for staff)
when the step is not allowed. None calls the index: the caller calls
:meth:`knowledge.refresh.IndexRefresh.request` for each ``(kind, key)`` a publish
returns, after the transaction has committed.

Life of a :class:`~knowledge.models.ChangeRequest`::

    draft ──submit──▶ submitted ──approve──▶ approved ──publish──▶ published
      ▲                   │                     (now, or on effective_on)
      └──save── rejected ◀┘reject
    draft/submitted/rejected ──withdraw──▶ withdrawn

Rules: only the author edits, submits or withdraws; a reviewer (role ``reviewer`` or
``admin``) who is not the author approves or rejects (a rejection needs a comment);
publishing writes the record through :class:`~knowledge.repository.KnowledgeRepository`
(one :class:`~knowledge.models.Revision`) and is refused when the record has a newer
revision than the one the draft started from (:class:`StaleRecord`): nothing is
overwritten, the author starts again from the current record.

Rollback (:func:`rollback`) restores a revision's snapshot at once, for reviewers and
admins only: the snapshot was itself published (reviewed) before, and a wrong fee that
is live must be withdrawable in one step; it is audited and leaves its own revision.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge.codec import RecordKind, from_json, record_key, to_json
from knowledge.errors import KnowledgeError, RecordNotFound
from knowledge.models import ChangeRequest, Revision
from knowledge.repository import KnowledgeRepository
from knowledge.staff import record_audit

__all__ = [
    "OPEN_STATUSES",
    "REVIEW_ROLES",
    "STATUS_NAMES",
    "Actor",
    "StaleRecord",
    "WorkflowError",
    "approve",
    "change_counts",
    "get_change",
    "latest_revision",
    "list_changes",
    "open_changes",
    "publish",
    "publish_due",
    "reject",
    "rollback",
    "save_draft",
    "submit",
    "withdraw",
]

#: Roles that may approve, reject, publish and roll back.
REVIEW_ROLES = ("reviewer", "admin")
#: Roles that may write drafts.
EDIT_ROLES = ("editor", "reviewer", "admin")
OPEN_STATUSES = ("draft", "submitted", "approved", "rejected")
STATUS_NAMES = {
    "draft": "bản nháp",
    "submitted": "chờ duyệt",
    "approved": "đã duyệt, chờ hiệu lực",
    "rejected": "bị trả lại",
    "published": "đã xuất bản",
    "withdrawn": "đã huỷ",
}


class WorkflowError(KnowledgeError):
    """A workflow step was refused; ``str()`` tells staff why (Vietnamese)."""


class StaleRecord(WorkflowError):
    """The record changed (another change was published) since the draft was started."""


@dataclass(frozen=True)
class Actor:
    """Who acts: user name, role and network address (for the audit log)."""

    username: str
    role: str
    client: str = ""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def latest_revision(session: Session, kind: str, key: str) -> int | None:
    """The newest revision id of a record, ``None`` when it has none (new record)."""
    value = session.scalar(
        select(func.max(Revision.id)).where(
            Revision.record_kind == kind, Revision.record_key == key
        )
    )
    return int(value) if value is not None else None


def _audit(
    session: Session, actor: Actor, action: str, change: ChangeRequest, **detail: Any
) -> None:
    record_audit(
        session,
        actor.username,
        action,
        target_kind=change.record_kind,
        target_key=change.record_key,
        detail={"change": change.id, **detail},
        client=actor.client,
    )


def get_change(session: Session, change_id: int) -> ChangeRequest:
    """One change request, or :class:`RecordNotFound`."""
    change = session.get(ChangeRequest, change_id)
    if change is None:
        raise RecordNotFound(f"không có đề xuất số {change_id}")
    return change


def _check_fresh(session: Session, change: ChangeRequest) -> None:
    current = latest_revision(session, change.record_kind, change.record_key)
    if change.base_revision is None and current is not None and change.action == "create":
        raise StaleRecord(
            f"Đã có bản ghi “{change.record_key}” trong cơ sở tri thức: hãy mở bản ghi đó "
            "để sửa thay vì thêm mới."
        )
    if current != change.base_revision:
        raise StaleRecord(
            "Bản ghi đã được thay đổi và xuất bản sau khi đề xuất này được lập "
            f"(phiên bản {change.base_revision or 'mới'} → {current}). Không ghi đè: hãy huỷ "
            "đề xuất này và sửa lại từ nội dung hiện hành."
        )


def _canonical(kind: RecordKind, data: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Data through the record codec (so it is a valid record) and its natural key."""
    try:
        record = from_json(kind, data)
    except (TypeError, KeyError, ValueError) as exc:
        raise WorkflowError(f"Nội dung đề xuất không hợp lệ: {exc}") from exc
    return to_json(record), record_key(record)


def save_draft(
    session: Session,
    *,
    kind: RecordKind,
    data: dict[str, Any],
    actor: Actor,
    base_revision: int | None,
    note: str = "",
    effective_on: dt.date | None = None,
    change_id: int | None = None,
    expected_version: int | None = None,
) -> ChangeRequest:
    """Create a draft (``change_id`` None) or update the actor's own draft.

    ``base_revision`` is the record's newest revision id shown in the form the actor
    edited (``None`` for a new record); a different current one is :class:`StaleRecord`.
    Updating needs ``expected_version`` equal to the draft's ``version`` (a form opened
    before another save is refused). A rejected change edited again becomes a draft.
    """
    if actor.role not in EDIT_ROLES:
        raise WorkflowError("Chỉ biên tập viên, người duyệt hoặc quản trị được soạn thay đổi.")
    canonical, key = _canonical(kind, data)
    if change_id is None:
        change = ChangeRequest(
            record_kind=kind,
            record_key=key,
            action="edit" if base_revision is not None else "create",
            data=canonical,
            base_revision=base_revision,
            status="draft",
            version=1,
            author=actor.username,
            note=note,
            effective_on=effective_on,
            reviewer="",
            review_comment="",
        )
        _check_fresh(session, change)
        session.add(change)
        session.flush()
        _audit(session, actor, "change.draft", change)
        return change
    change = get_change(session, change_id)
    if change.author != actor.username:
        raise WorkflowError("Chỉ người soạn mới được sửa đề xuất này.")
    if change.status not in ("draft", "rejected"):
        raise WorkflowError(
            f"Đề xuất đang ở trạng thái “{STATUS_NAMES[change.status]}”, không sửa được nữa."
        )
    if expected_version is not None and expected_version != change.version:
        raise WorkflowError(
            "Đề xuất đã được lưu từ một cửa sổ khác sau khi bạn mở biểu mẫu này. "
            "Hãy tải lại trang để xem bản mới nhất."
        )
    if key != change.record_key:
        raise WorkflowError("Không được đổi khoá của bản ghi trong một đề xuất sửa.")
    _check_fresh(session, change)
    change.data = canonical
    change.note = note
    change.effective_on = effective_on
    change.status = "draft"
    change.version += 1
    _audit(session, actor, "change.save", change, version=change.version)
    return change


def submit(session: Session, change_id: int, *, actor: Actor) -> ChangeRequest:
    """Send the actor's draft for review."""
    change = get_change(session, change_id)
    if change.author != actor.username:
        raise WorkflowError("Chỉ người soạn mới được gửi duyệt đề xuất này.")
    if change.status != "draft":
        raise WorkflowError(
            f"Chỉ gửi duyệt được bản nháp (đề xuất đang “{STATUS_NAMES[change.status]}”)."
        )
    if change.record_kind == "faq" and not str(change.data.get("answer", "")).strip():
        # An FAQ draft made from a group of unanswered questions starts without one.
        raise WorkflowError("Mục hỏi đáp chưa có câu trả lời: hãy viết câu trả lời rồi gửi duyệt.")
    _check_fresh(session, change)
    change.status = "submitted"
    change.submitted_at = _now()
    _audit(session, actor, "change.submit", change)
    return change


def _reviewable(session: Session, change_id: int, actor: Actor) -> ChangeRequest:
    if actor.role not in REVIEW_ROLES:
        raise WorkflowError("Chỉ người duyệt hoặc quản trị được duyệt đề xuất.")
    change = get_change(session, change_id)
    if change.author == actor.username:
        raise WorkflowError("Bạn không thể tự duyệt đề xuất do chính mình soạn.")
    if change.status != "submitted":
        raise WorkflowError(
            f"Đề xuất đang “{STATUS_NAMES[change.status]}”, không ở trạng thái chờ duyệt."
        )
    return change


def approve(
    session: Session, change_id: int, *, actor: Actor, comment: str = "", today: dt.date
) -> list[tuple[str, str]]:
    """Approve a submitted change; publish it now unless its effective date is later.

    Returns the ``(kind, key)`` published (empty when it waits for its date).
    """
    change = _reviewable(session, change_id, actor)
    _check_fresh(session, change)
    change.status = "approved"
    change.reviewer = actor.username
    change.review_comment = comment
    change.reviewed_at = _now()
    _audit(session, actor, "change.approve", change)
    if change.effective_on is not None and change.effective_on > today:
        return []
    return publish(session, change_id, actor=actor)


def reject(session: Session, change_id: int, *, actor: Actor, comment: str) -> ChangeRequest:
    """Send a submitted change back to its author with a (required) comment."""
    if not comment.strip():
        raise WorkflowError("Khi trả lại đề xuất, hãy ghi rõ lý do để người soạn sửa.")
    change = _reviewable(session, change_id, actor)
    change.status = "rejected"
    change.reviewer = actor.username
    change.review_comment = comment.strip()
    change.reviewed_at = _now()
    _audit(session, actor, "change.reject", change, comment=comment.strip()[:500])
    return change


def withdraw(session: Session, change_id: int, *, actor: Actor) -> ChangeRequest:
    """The author (or an admin) cancels an unpublished change."""
    change = get_change(session, change_id)
    if change.author != actor.username and actor.role != "admin":
        raise WorkflowError("Chỉ người soạn hoặc quản trị được huỷ đề xuất này.")
    if change.status not in ("draft", "submitted", "rejected", "approved"):
        raise WorkflowError(f"Đề xuất đang “{STATUS_NAMES[change.status]}”, không huỷ được.")
    change.status = "withdrawn"
    _audit(session, actor, "change.withdraw", change)
    return change


def publish(session: Session, change_id: int, *, actor: Actor) -> list[tuple[str, str]]:
    """Write an approved change to the knowledge base (one revision).

    Refused for a role other than reviewer/admin, a change not approved, or a record
    changed since the draft (:class:`StaleRecord`). Returns ``[(kind, key)]``.
    """
    if actor.role not in REVIEW_ROLES:
        raise WorkflowError("Chỉ người duyệt hoặc quản trị được xuất bản.")
    change = get_change(session, change_id)
    if change.status != "approved":
        raise WorkflowError(
            f"Chỉ xuất bản được đề xuất đã duyệt (đang “{STATUS_NAMES[change.status]}”)."
        )
    _check_fresh(session, change)
    kind: RecordKind = change.record_kind  # type: ignore[assignment]
    repo = KnowledgeRepository(session)
    record = from_json(kind, change.data)
    comment = f"đề xuất #{change.id} của {change.author}, duyệt: {change.reviewer}"
    if change.note:
        comment += f" — {change.note}"
    repo.upsert([record], author=change.author, comment=comment[:1000])
    change.status = "published"
    change.published_at = _now()
    change.published_revision = latest_revision(session, change.record_kind, change.record_key)
    _audit(session, actor, "change.publish", change, revision=change.published_revision)
    return [(change.record_kind, change.record_key)]


def publish_due(session: Session, *, today: dt.date, actor: Actor) -> list[tuple[str, str]]:
    """Publish every approved change whose effective date has come.

    A stale one is left approved (its audit entry says why) so staff see it.

    Safe with several processes: the due rows are taken with ``SELECT … FOR UPDATE SKIP
    LOCKED`` (PostgreSQL), so a change another transaction is publishing right now is
    skipped (not waited for and never published twice); once that transaction commits
    the change is no longer ``approved``. SQLite ignores the clause (one writer at a time).
    """
    due = session.scalars(
        select(ChangeRequest)
        .where(ChangeRequest.status == "approved")
        .where(ChangeRequest.effective_on <= today)
        .order_by(ChangeRequest.id)
        .with_for_update(skip_locked=True)
    ).all()
    published: list[tuple[str, str]] = []
    for change in due:
        try:
            with session.begin_nested():
                published += publish(session, change.id, actor=actor)
        except StaleRecord as exc:
            _audit(session, actor, "change.stale", change, reason=str(exc)[:300])
    return published


def rollback(
    session: Session,
    kind: RecordKind,
    key: str,
    revision_id: int,
    *,
    actor: Actor,
    expected_latest: int | None,
) -> list[tuple[str, str]]:
    """Restore a record as it was right after ``revision_id`` (reviewers and admins).

    ``expected_latest`` is the newest revision the history page showed; a newer one is
    :class:`StaleRecord` (someone published meanwhile). Returns ``[(kind, key)]``.
    """
    if actor.role not in REVIEW_ROLES:
        raise WorkflowError("Chỉ người duyệt hoặc quản trị được khôi phục phiên bản cũ.")
    current = latest_revision(session, kind, key)
    if current != expected_latest:
        raise StaleRecord(
            "Bản ghi vừa có thay đổi mới sau khi bạn mở trang lịch sử. Hãy tải lại trang "
            "và xem lại trước khi khôi phục."
        )
    if revision_id == current:
        raise WorkflowError("Phiên bản này đang là nội dung hiện hành.")
    KnowledgeRepository(session).rollback(kind, key, revision_id, author=actor.username)
    record_audit(
        session,
        actor.username,
        "record.rollback",
        target_kind=kind,
        target_key=key,
        detail={"to_revision": revision_id, "revision": latest_revision(session, kind, key)},
        client=actor.client,
    )
    return [(kind, key)]


def list_changes(
    session: Session,
    *,
    status: str = "",
    kind: str = "",
    key: str = "",
    author: str = "",
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[ChangeRequest], int]:
    """Change requests newest first, filtered; with the total count."""
    stmt: Any = select(ChangeRequest)
    if status:
        stmt = stmt.where(ChangeRequest.status == status)
    if kind:
        stmt = stmt.where(ChangeRequest.record_kind == kind)
    if key:
        stmt = stmt.where(ChangeRequest.record_key == key)
    if author:
        stmt = stmt.where(ChangeRequest.author == author)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.scalars(stmt.order_by(ChangeRequest.id.desc()).limit(limit).offset(offset)).all()
    return rows, total


def open_changes(session: Session, kind: str, key: str) -> Sequence[ChangeRequest]:
    """Unpublished changes of one record."""
    return session.scalars(
        select(ChangeRequest)
        .where(ChangeRequest.record_kind == kind, ChangeRequest.record_key == key)
        .where(ChangeRequest.status.in_(OPEN_STATUSES))
        .order_by(ChangeRequest.id)
    ).all()


def change_counts(session: Session) -> dict[str, int]:
    """How many changes are in each status."""
    rows = session.execute(
        select(ChangeRequest.status, func.count()).group_by(ChangeRequest.status)
    ).all()
    return {str(status): int(n) for status, n in rows}
