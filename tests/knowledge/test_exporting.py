"""Export in every format, import the export back: nothing changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from knowledge.codec import KINDS, to_json
from knowledge.db import transaction
from knowledge.exporting import export
from knowledge.importing import import_files
from knowledge.repository import KnowledgeRepository
from tests.conftest import DATA_DIR

SOURCES = [
    DATA_DIR / "dvcqg_opengov_crawl" / "details.jsonl.gz",
    DATA_DIR / "moh_dvc_faq" / "faq_pairs.jsonl.gz",
    DATA_DIR / "hotlines" / "hotlines.csv",
    DATA_DIR / "seeds" / "000_18ac861e3429d323.txt",
    DATA_DIR / "seeds" / "002_ea4846b3744c1f6a.txt",
]


def _snapshot(factory: sessionmaker[Session]) -> dict[str, list[dict[str, object]]]:
    with transaction(factory) as session:
        repo = KnowledgeRepository(session)
        return {kind: [to_json(r) for r in repo.iter_records(kind)] for kind in KINDS}


@pytest.mark.parametrize(
    "fmt,name", [("jsonl", "kb.jsonl.gz"), ("csv", "kb-csv"), ("xlsx", "kb.xlsx")]
)
def test_round_trip_changes_nothing(
    factory: sessionmaker[Session], tmp_path: Path, fmt: str, name: str
) -> None:
    import_files(factory, SOURCES)
    before = _snapshot(factory)
    out = tmp_path / name
    with transaction(factory) as session:
        counts = export(session, KINDS, fmt, out)
    assert counts == {"procedure": 502, "hotline": 3, "plan": 2, "faq": 477}

    files = sorted(out.iterdir()) if out.is_dir() else [out]
    result = import_files(factory, files)
    assert result.report.changed == 0, result.report.as_dict()
    assert sum(result.report.unchanged.values()) == 502 + 3 + 2 + 477
    assert _snapshot(factory) == before


def test_export_into_empty_database_recreates_everything(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    import_files(factory, SOURCES[:3])
    before = _snapshot(factory)
    out = tmp_path / "kb.jsonl"
    with transaction(factory) as session:
        export(session, KINDS, "jsonl", out)
    # Import into a second, empty database on the same server kind.
    from knowledge import migrate
    from knowledge.db import make_engine, make_session_factory

    other = make_engine(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    migrate.upgrade(other)
    other_factory = make_session_factory(other)
    import_files(other_factory, [out])
    assert _snapshot(other_factory) == before
    other.dispose()
