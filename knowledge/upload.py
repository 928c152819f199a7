"""An uploaded import file turned into change requests of the review workflow.

:func:`plan_upload` previews one uploaded file (:func:`knowledge.preview.preview_files`,
the same readers and upsert rule as ``tthc import``) and adds what applying needs: the
full new content of every record that changes and a ``digest`` (SHA-256 hex) of the
whole plan, including each record's newest revision id. :func:`apply_upload` plans the
same bytes again inside the caller's transaction and, only when the digest is the one
the staff member saw, writes one change request per changed record (``save_draft`` then
``submit``, author = the uploader): nothing is published without a reviewer.

Errors: :class:`UploadRefused` (``str()`` is Vietnamese for staff) when the file has
errors, nothing would change, or the database changed since the preview; a
:class:`~knowledge.workflow.WorkflowError` from the workflow rolls everything back
with the caller's transaction.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from knowledge.codec import RecordKind, record_key, record_kind, to_json
from knowledge.errors import ImportFileError, KnowledgeError
from knowledge.importers.reading import read_file
from knowledge.preview import ImportPreview, preview_files, uploaded_file
from knowledge.staff import record_audit
from knowledge.workflow import Actor, latest_revision, save_draft, submit

__all__ = ["APPLIED_ACTIONS", "UploadPlan", "UploadRefused", "apply_upload", "plan_upload"]

#: Preview actions that become a change request (unchanged and skipped ones do not).
APPLIED_ACTIONS = ("new", "changed", "removed")


class UploadRefused(KnowledgeError):
    """Applying an upload was refused; ``str()`` says why (Vietnamese)."""


@dataclass
class UploadPlan:
    """A preview plus what applying writes.

    ``records``: ``{(kind, key): canonical JSON}`` of every record in
    :data:`APPLIED_ACTIONS`; ``bases``: their newest revision id now (``None`` = new);
    ``digest``: SHA-256 hex of the changes, contents and bases.
    """

    preview: ImportPreview
    records: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    bases: dict[tuple[str, str], int | None] = field(default_factory=dict)
    digest: str = ""

    @property
    def applicable(self) -> int:
        """How many change requests applying would create."""
        return len(self.records)


def plan_upload(session: Session, data: bytes, filename: str) -> UploadPlan:
    """Preview ``data`` (the bytes of a file named ``filename``) and plan its apply.

    Writes nothing; raises nothing for bad input (errors are in ``plan.preview.errors``
    as ``file:line:field: reason``).
    """
    with uploaded_file(data, filename) as path:
        preview = preview_files(session, [path], names=[path.name])
        plan = UploadPlan(preview)
        if not preview.ok:
            plan.digest = _digest(preview, {}, {})
            return plan
        try:
            parsed = read_file(path)
        except ImportFileError:  # the preview already reported it
            parsed = None
    wanted = {(c.kind, c.key) for c in preview.changes if c.action in APPLIED_ACTIONS}
    for record in parsed.records if parsed is not None else []:
        ident = (record_kind(record), record_key(record))
        if ident in wanted:
            plan.records[ident] = to_json(record)
    for kind, key in plan.records:
        plan.bases[(kind, key)] = latest_revision(session, kind, key)
    plan.digest = _digest(preview, plan.records, plan.bases)
    return plan


def _digest(
    preview: ImportPreview,
    records: dict[tuple[str, str], dict[str, Any]],
    bases: dict[tuple[str, str], int | None],
) -> str:
    body = {
        "preview": preview.as_dict(with_unchanged=True),
        "records": [[k, v, records[(k, v)], bases.get((k, v))] for k, v in sorted(records)],
    }
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def apply_upload(
    session: Session,
    data: bytes,
    filename: str,
    *,
    digest: str,
    actor: Actor,
    note: str = "",
) -> list[int]:
    """Create and submit one change request per record the preview showed changing.

    ``digest`` is :attr:`UploadPlan.digest` of the preview the staff member saw; a
    different one now (another change was published, the file's records moved) is
    :class:`UploadRefused` and nothing is written. Returns the change request ids in
    file order. One ``import.apply`` audit entry besides the workflow's own.
    """
    plan = plan_upload(session, data, filename)
    if not plan.preview.ok:
        raise UploadRefused("Tệp còn lỗi: sửa tệp rồi tải lên lại; chưa có gì được ghi.")
    if plan.digest != digest:
        raise UploadRefused(
            "Dữ liệu đã thay đổi kể từ khi bạn xem trước (có thay đổi khác vừa được xuất "
            "bản). Chưa có gì được ghi: hãy xem trước lại rồi mới áp dụng."
        )
    if not plan.records:
        raise UploadRefused("Tệp không có thay đổi nào so với dữ liệu hiện hành.")
    why = note.strip() or f"Nhập từ tệp {filename}"
    ids: list[int] = []
    for (kind, key), content in plan.records.items():
        change = save_draft(
            session,
            kind=_kind(kind),
            data=content,
            actor=actor,
            base_revision=plan.bases[(kind, key)],
            note=why[:1000],
        )
        submit(session, change.id, actor=actor)
        ids.append(change.id)
    record_audit(
        session,
        actor.username,
        "import.apply",
        target_kind="file",
        target_key=filename[:255],
        detail={"changes": ids, "digest": digest[:16], "counts": plan.preview.counts()},
        client=actor.client,
    )
    return ids


def _kind(kind: str) -> RecordKind:
    return kind  # type: ignore[return-value]
