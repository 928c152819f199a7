"""What an import would change, shown before anything is written (xem trước khi nhập).

The preview reads the files with the same readers as :func:`knowledge.importing.import_files`
and decides every record with the same rule as the repository's upsert
(:func:`knowledge.repository.change_action`), so applying the same files afterwards
writes exactly the previewed changes (when nobody changed those records meanwhile).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.orm import Session

from knowledge.codec import Record, RecordKind, record_key, record_kind, to_json
from knowledge.errors import ImportFileError
from knowledge.importers.reading import read_file
from knowledge.repository import KnowledgeRepository, change_action, diff_fields

#: ``new``: not in the database yet; ``changed``: some fields differ; ``unchanged``;
#: ``removed``: a changed record that leaves the bot (published → draft or retired);
#: ``skipped``: a procedure from a poorer source than the stored one (not written).
ChangeAction = Literal["new", "changed", "unchanged", "removed", "skipped"]
ACTIONS: tuple[ChangeAction, ...] = ("new", "changed", "removed", "unchanged", "skipped")


@dataclass(frozen=True)
class RecordChange:
    """One record of the file and what importing it does.

    ``diff`` is ``{field: [old, new]}`` (canonical JSON values) for ``changed`` and
    ``removed``; for ``new`` it lists every non-empty field as ``[None, value]``.
    """

    kind: RecordKind
    key: str
    title: str
    action: ChangeAction
    diff: dict[str, list[Any]] = field(default_factory=dict)
    file: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "kind": self.kind,
            "key": self.key,
            "title": self.title,
            "action": self.action,
            "diff": self.diff,
            "file": self.file,
        }


@dataclass
class ImportPreview:
    """Everything an import of these files would do; ``errors`` are
    ``file:line:field: reason`` strings, and an import with errors writes nothing."""

    files: dict[str, int] = field(default_factory=dict)
    changes: list[RecordChange] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No error: the import can be applied."""
        return not self.errors

    def counts(self) -> dict[str, int]:
        """How many records per action (every action present, 0 included)."""
        found = Counter(c.action for c in self.changes)
        return {action: found.get(action, 0) for action in ACTIONS}

    def as_dict(self, *, with_unchanged: bool = False) -> dict[str, Any]:
        """JSON-ready; unchanged records are only counted unless ``with_unchanged``."""
        return {
            "ok": self.ok,
            "files": self.files,
            "counts": self.counts(),
            "changes": [
                c.as_dict() for c in self.changes if with_unchanged or c.action != "unchanged"
            ],
            "errors": self.errors,
            "warnings": self.warnings,
        }


def _title(data: dict[str, Any]) -> str:
    return str(data.get("name") or data.get("title") or data.get("question") or "")


def _classify(session: Session, parsed: Sequence[tuple[str, list[Record]]]) -> list[RecordChange]:
    """Each record's action, in import order (a later file sees an earlier file's result)."""
    repo = KnowledgeRepository(session)
    wanted: dict[RecordKind, set[str]] = {}
    for _, records in parsed:
        for record in records:
            wanted.setdefault(record_kind(record), set()).add(record_key(record))
    state: dict[tuple[RecordKind, str], dict[str, Any]] = {}
    for kind, keys in wanted.items():
        for key, data in repo.current_json(kind, keys).items():
            state[(kind, key)] = data
    changes: list[RecordChange] = []
    for name, records in parsed:
        for record in records:
            kind, key = record_kind(record), record_key(record)
            new = to_json(record)
            old = state.get((kind, key))
            action = change_action(kind, old, new)
            if action in ("created", "updated"):
                state[(kind, key)] = new
            if action == "created":
                diff = {k: [None, v] for k, v in new.items() if v not in (None, "", [], {})}
                changes.append(RecordChange(kind, key, _title(new), "new", diff, name))
                continue
            if action == "updated":
                assert old is not None
                leaves = old.get("status") == "published" and new.get("status") != "published"
                changes.append(
                    RecordChange(
                        kind,
                        key,
                        _title(new),
                        "removed" if leaves else "changed",
                        diff_fields(old, new),
                        name,
                    )
                )
                continue
            title = _title(new)
            changes.append(RecordChange(kind, key, title, action, {}, name))  # type: ignore[arg-type]
    return changes


def preview_files(
    session: Session,
    paths: Sequence[Path],
    fmt: str | None = None,
    *,
    names: Sequence[str] | None = None,
) -> ImportPreview:
    """Preview importing ``paths`` (in this order) without writing anything.

    ``names`` are the file names shown in the report (default: the paths). Every
    malformed row of every file is reported; a file that cannot be read at all is one
    error. Raises nothing for bad input.
    """
    preview = ImportPreview()
    parsed: list[tuple[str, list[Record]]] = []
    for index, path in enumerate(paths):
        name = names[index] if names is not None else str(path)
        errors: list[ImportFileError] = []
        try:
            file = read_file(path, fmt, errors=errors)
        except ImportFileError as exc:
            errors.append(exc)
            file = None
        preview.errors.extend(_where(e, name) for e in errors)
        if file is None:
            continue
        preview.files[name] = len(file.records)
        preview.warnings.extend(w.replace(str(path), name) for w in file.warnings)
        parsed.append((name, file.records))
    preview.changes = _classify(session, parsed)
    return preview


def _where(error: ImportFileError, name: str) -> str:
    line = error.line if error.line is not None else "-"
    return f"{name}:{line}:{error.field}: {error.reason}"


def preview_import(
    session: Session,
    source: Path | bytes,
    fmt: str | None = None,
    *,
    filename: str = "tep-tai-len.xlsx",
) -> ImportPreview:
    """Preview one file, given as a path or as the bytes of an upload.

    ``fmt`` forces a format (see :data:`knowledge.importers.reading.FORMATS`); by
    default it is detected from the name (``filename`` for bytes, whose suffix must be
    the upload's: ``.xlsx``, ``.csv``, ``.jsonl``, ``.jsonl.gz``, ``.txt``, ``.md``,
    ``.docx``, ``.pdf``) and the content.
    """
    if isinstance(source, Path):
        return preview_files(session, [source], fmt)
    with uploaded_file(source, filename) as path:
        return preview_files(session, [path], fmt, names=[path.name])


@contextlib.contextmanager
def uploaded_file(data: bytes, filename: str) -> Iterator[Path]:
    """The bytes of an upload as a file of the same name (a plan's record keeps its file
    name, so the preview and the import must see the same one), removed afterwards."""
    name = Path(filename).name or "tep-tai-len"
    with tempfile.TemporaryDirectory(prefix="tthc-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        yield path


_LABELS: dict[str, str] = {
    "new": "Thêm mới",
    "changed": "Thay đổi",
    "removed": "Gỡ khỏi trợ lý",
    "unchanged": "Không đổi",
    "skipped": "Bỏ qua (nguồn kém chi tiết hơn)",
}


def _short_value(value: Any, limit: int = 120) -> str:
    import json

    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_preview(preview: ImportPreview) -> str:
    """The preview as Vietnamese text for the terminal (unchanged records only counted)."""
    lines: list[str] = []
    for path, count in preview.files.items():
        lines.append(f"{count:6d} bản ghi  {path}")
    for change in preview.changes:
        if change.action == "unchanged":
            continue
        lines.append(f"[{_LABELS[change.action]}] {change.kind} {change.key}  {change.title[:80]}")
        if change.action == "new":
            continue
        for name, (old, new) in change.diff.items():
            lines.append(f"    {name}: {_short_value(old)}  →  {_short_value(new)}")
    counts = preview.counts()
    lines.append("Tổng: " + ", ".join(f"{_LABELS[a].lower()} {counts[a]}" for a in ACTIONS))
    for warning in preview.warnings:
        lines.append(f"Cảnh báo: {warning}")
    for error in preview.errors:
        lines.append(f"Lỗi: {error}")
    lines.append(
        f"Có {len(preview.errors)} lỗi: sửa rồi xem trước lại; chưa có gì được ghi."
        if preview.errors
        else "Xem trước: chưa có gì được ghi. Bỏ --dry-run để nhập."
    )
    return "\n".join(lines)
