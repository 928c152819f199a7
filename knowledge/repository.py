"""Reading and writing knowledge records; every write leaves a Revision.

The repository works inside a caller's session so that an import of thousands of rows
is one transaction: either all of it lands or none of it does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from knowledge.codec import (
    KINDS,
    Record,
    RecordKind,
    Row,
    fill_row,
    from_json,
    hotline_key,
    new_row,
    record_key,
    record_kind,
    row_to_record,
    to_json,
)
from knowledge.errors import RecordNotFound
from knowledge.models import (
    Faq,
    Hotline,
    PlanDocument,
    Procedure,
    ProcedureChannel,
    Revision,
)

#: When two sources describe the same procedure code, the richer one wins: typed API
#: details over the flattened-table crawl over catalogue rows over list exports.
DATASET_PRIORITY: dict[str, int] = {
    "staff": 50,
    "dvcqg_opengov_details": 40,
    "dvcqg_bo_nganh_tthc": 30,
    "dvcqg_opengov_catalog": 20,
    "dvcqg_raw_lists": 10,
}
_DEFAULT_PRIORITY = 30

_MODEL: dict[RecordKind, type[Row]] = {
    "procedure": Procedure,
    "hotline": Hotline,
    "plan": PlanDocument,
    "faq": Faq,
}


@dataclass
class WriteReport:
    """What one batch of writes did, per kind."""

    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, dict[str, int]]:
        """JSON-ready counts."""
        return {
            "created": dict(self.created),
            "updated": dict(self.updated),
            "unchanged": dict(self.unchanged),
            "skipped": dict(self.skipped),
        }

    @property
    def changed(self) -> int:
        """How many records were created or updated."""
        return sum(self.created.values()) + sum(self.updated.values())


def diff_fields(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """Field-level difference: ``{field: [old, new]}`` for each field that changed."""
    return {k: [old.get(k), new.get(k)] for k in new if old.get(k) != new.get(k)}


def change_action(kind: RecordKind, old: dict[str, Any] | None, new: dict[str, Any]) -> str:
    """What :meth:`KnowledgeRepository.upsert` does with ``new`` over ``old`` (both
    canonical JSON; ``old`` is ``None`` for a record not stored yet): ``"created"``,
    ``"updated"``, ``"unchanged"`` or ``"skipped"`` (a procedure from a poorer source
    never replaces one from a richer source, see :data:`DATASET_PRIORITY`)."""
    if old is None:
        return "created"
    if old == new:
        return "unchanged"
    if kind == "procedure" and _priority(new) < _priority(old):
        return "skipped"
    return "updated"


def _key_of_row(kind: RecordKind, row: Row) -> str:
    if isinstance(row, Procedure):
        return row.code
    if isinstance(row, Faq):
        return row.source_id
    if isinstance(row, PlanDocument):
        return row.key
    assert isinstance(row, Hotline)
    return hotline_key(row.scope, row.area, row.name)


class KnowledgeRepository:
    """Typed access to the knowledge tables for one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # ------------------------------------------------------------------ reads

    def _rows(self, kind: RecordKind, keys: Iterable[str] | None = None) -> dict[str, Row]:
        model = _MODEL[kind]
        stmt: Any = select(model)
        if kind == "procedure":
            stmt = stmt.options(
                selectinload(Procedure.channels).selectinload(ProcedureChannel.fees),
                selectinload(Procedure.documents),
                selectinload(Procedure.legal_bases),
            )
        wanted = None if keys is None else set(keys)
        if wanted is not None and kind in ("procedure", "faq", "plan") and len(wanted) < 500:
            column = {"procedure": Procedure.code, "faq": Faq.source_id, "plan": PlanDocument.key}[
                kind
            ]
            stmt = stmt.where(column.in_(wanted))
        rows: dict[str, Row] = {}
        for row in self.session.scalars(stmt):
            key = _key_of_row(kind, row)
            if wanted is None or key in wanted:
                rows[key] = row
        return rows

    def get(self, kind: RecordKind, key: str) -> Record:
        """One record by kind and natural key, or :class:`RecordNotFound`."""
        row = self._rows(kind, [key]).get(key)
        if row is None:
            raise RecordNotFound(f"{kind} {key!r} không có trong cơ sở tri thức")
        return row_to_record(row)

    def current_json(self, kind: RecordKind, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Canonical JSON of the stored records among ``keys`` (absent keys left out)."""
        return {key: to_json(row_to_record(row)) for key, row in self._rows(kind, keys).items()}

    def iter_records(self, kind: RecordKind) -> Iterator[Record]:
        """Every record of a kind, ordered by key."""
        rows = self._rows(kind)
        for key in sorted(rows):
            yield row_to_record(rows[key])

    def updated_at(self, kind: RecordKind, key: str) -> str | None:
        """When the record was last written (ISO timestamp)."""
        row = self._rows(kind, [key]).get(key)
        stamp = getattr(row, "updated_at", None)
        return stamp.isoformat() if stamp is not None else None

    def revisions(self, kind: RecordKind, key: str) -> Sequence[Revision]:
        """The history of one record, oldest first."""
        stmt = (
            select(Revision)
            .where(Revision.record_kind == kind, Revision.record_key == key)
            .order_by(Revision.id)
        )
        return self.session.scalars(stmt).all()

    def latest_revisions(self, kind: RecordKind) -> dict[str, int]:
        """The newest revision id of every record of a kind (what an index was built from)."""
        stmt = (
            select(Revision.record_key, func.max(Revision.id))
            .where(Revision.record_kind == kind)
            .group_by(Revision.record_key)
        )
        return {str(k): int(v) for k, v in self.session.execute(stmt).all()}

    def max_revision(self) -> int:
        """The newest revision id in the whole knowledge base (0 when empty)."""
        return int(self.session.scalar(select(func.max(Revision.id))) or 0)

    def stats(self) -> dict[str, Any]:
        """Counts by kind, source, status, online level and detail level."""
        s = self.session
        procedures: dict[str, Any] = {
            "total": s.scalar(select(func.count()).select_from(Procedure)) or 0,
        }
        for name, column in (
            ("by_detail", Procedure.detail),
            ("by_dataset", Procedure.dataset),
            ("by_status", Procedure.status),
            ("by_online_level", Procedure.online_level),
        ):
            rows = s.execute(select(column, func.count()).group_by(column)).all()
            procedures[name] = {str(k): int(v) for k, v in sorted(rows, key=lambda r: str(r[0]))}
        counts: dict[str, Any] = {"procedures": procedures}
        for kind, model in (("faqs", Faq), ("plans", PlanDocument), ("hotlines", Hotline)):
            rows = s.execute(select(model.status, func.count()).group_by(model.status)).all()
            counts[kind] = {
                "total": sum(int(v) for _, v in rows),
                "by_status": {str(k): int(v) for k, v in rows},
            }
        counts["revisions"] = s.scalar(select(func.count()).select_from(Revision)) or 0
        return counts

    # ----------------------------------------------------------------- writes

    def upsert(self, records: Sequence[Record], *, author: str, comment: str = "") -> WriteReport:
        """Create or update records by natural key, writing one Revision per change.

        Unchanged records are left alone (no revision), so re-importing a file is a
        no-op. A procedure from a lower-priority dataset never replaces one from a
        richer source (see :data:`DATASET_PRIORITY`).
        """
        report = WriteReport()
        by_kind: dict[RecordKind, list[Record]] = {k: [] for k in KINDS}
        for record in records:
            by_kind[record_kind(record)].append(record)
        for kind, batch in by_kind.items():
            if not batch:
                continue
            existing = self._rows(kind, [record_key(r) for r in batch])
            for record in batch:
                key = record_key(record)
                row = existing.get(key)
                new = to_json(record)
                if row is None:
                    row = new_row(record)
                    fill_row(row, record)
                    self.session.add(row)
                    existing[key] = row
                    self._revise(kind, key, "create", author, comment, {}, new)
                    report.created[kind] += 1
                    continue
                old = to_json(row_to_record(row))
                action = change_action(kind, old, new)
                if action != "updated":
                    getattr(report, action)[kind] += 1
                    continue
                fill_row(row, record)
                self._revise(kind, key, "update", author, comment, diff_fields(old, new), new)
                report.updated[kind] += 1
        self.session.flush()
        return report

    def set_status(
        self, kind: RecordKind, key: str, status: str, *, author: str, comment: str = ""
    ) -> None:
        """Publish, retire or send back to draft one record (a revision is written)."""
        record = self.get(kind, key)
        data = to_json(record)
        if data.get("status") == status:
            return
        self.upsert(
            [from_json(kind, {**data, "status": status})],
            author=author,
            comment=comment or f"status → {status}",
        )

    def rollback(self, kind: RecordKind, key: str, revision_id: int, *, author: str) -> None:
        """Restore the record as it was right after ``revision_id`` (a new revision)."""
        revision = self.session.get(Revision, revision_id)
        if revision is None or (revision.record_kind, revision.record_key) != (kind, key):
            raise RecordNotFound(f"không có phiên bản {revision_id} của {kind} {key!r}")
        if revision.snapshot is None:
            raise RecordNotFound(f"phiên bản {revision_id} không lưu nội dung để khôi phục")
        self.upsert(
            [from_json(kind, revision.snapshot)],
            author=author,
            comment=f"rollback to revision {revision_id}",
        )

    def _revise(
        self,
        kind: RecordKind,
        key: str,
        action: str,
        author: str,
        comment: str,
        diff: dict[str, Any],
        snapshot: dict[str, Any],
    ) -> None:
        self.session.add(
            Revision(
                record_kind=kind,
                record_key=key,
                action=action,
                author=author,
                comment=comment,
                diff=diff,
                snapshot=snapshot,
            )
        )


def _priority(data: dict[str, Any]) -> int:
    return DATASET_PRIORITY.get(str(data.get("dataset", "")), _DEFAULT_PRIORITY)
