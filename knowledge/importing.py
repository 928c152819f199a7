"""Importing files into the knowledge base as one all-or-nothing transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from knowledge.codec import Record
from knowledge.db import transaction
from knowledge.importers.reading import read_file
from knowledge.repository import KnowledgeRepository, WriteReport


@dataclass
class ImportResult:
    """Per-file record counts and what the write did."""

    files: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    report: WriteReport = field(default_factory=WriteReport)


def import_files(
    factory: sessionmaker[Session],
    paths: Sequence[Path],
    *,
    fmt: str | None = None,
    author: str = "import",
    on_file: Callable[[Path, int], None] | None = None,
) -> ImportResult:
    """Parse every file first, then write everything in one transaction.

    A malformed file raises :class:`knowledge.errors.ImportFileError` before any write;
    a failure while writing rolls the whole transaction back. Either way the database
    is exactly as it was.
    """
    result = ImportResult()
    parsed: list[tuple[Path, list[Record]]] = []
    for path in paths:
        file = read_file(path, fmt)
        parsed.append((path, file.records))
        result.files[str(path)] = len(file.records)
        result.warnings.extend(file.warnings)
        if on_file is not None:
            on_file(path, len(file.records))
    with transaction(factory) as session:
        repo = KnowledgeRepository(session)
        for path, records in parsed:
            report = repo.upsert(records, author=author, comment=f"import {path.name}")
            for name in ("created", "updated", "unchanged", "skipped"):
                getattr(result.report, name).update(getattr(report, name))
    return result
