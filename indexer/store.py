"""Index generations on disk: write a complete folder, then switch ``current`` atomically.

Layout of ``INDEX_DIR``::

    vector-cache.sqlite3         vectors by content hash, shared by all generations
    gen-20261122T010203Z-ab12/   one immutable generation
        manifest.json            written last: a folder without it is not a generation;
                                 lists the size and sha256 of every other file
        store.sqlite3            records (full JSON) and chunks
        dense.faiss              vectors of the chunks' passages as written
        dense-folded.faiss       (optional) vectors of the same passages without diacritics
        keyword/                 bm25s over every chunk
        keyword-titles/          bm25s over title chunks only (+ their positions .npy)
        accents.json             folded → accented vocabulary for unaccented queries
        profiles.json            procedure families, same-name groups, name IDF (reranker)
        glossary.tsv             the citizens' words the chunks were built with; queries
                                 are expanded with the same ones (see indexer.glossary)
    current -> gen-...           symlink, replaced with one rename(2)
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
STORE = "store.sqlite3"
DENSE = "dense.faiss"
DENSE_FOLDED = "dense-folded.faiss"
KEYWORD = "keyword"
KEYWORD_TITLES = "keyword-titles"
TITLE_POSITIONS = "keyword-titles.npy"
ACCENTS = "accents.json"
PROFILES = "profiles.json"
GLOSSARY = "glossary.tsv"
CURRENT = "current"
VECTOR_CACHE = "vector-cache.sqlite3"


class GenerationError(RuntimeError):
    """A generation is missing, incomplete or incompatible."""


@dataclass
class Manifest:
    """What a generation is: enough to refuse using it with the wrong model."""

    format_version: int
    model_id: str
    dimension: int
    prompts: dict[str, str]
    created_at: str
    knowledge_revision: int
    counts: dict[str, Any] = field(default_factory=dict)
    folded_dense: bool = False
    glossary_sha256: str = ""
    #: ``{relative path: {"size", "sha256"}}`` of every other file of the generation
    #: (see :mod:`indexer.integrity`); empty in generations built before checksums.
    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        """Load and check a generation's manifest."""
        path = folder / MANIFEST
        if not path.is_file():
            raise GenerationError(f"{folder} has no {MANIFEST}: not a complete generation")
        try:
            data = json.loads(path.read_text("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise GenerationError(f"{folder.name}: {MANIFEST} is damaged ({exc})") from exc
        if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
            found = data.get("format_version") if isinstance(data, dict) else None
            raise GenerationError(
                f"{folder}: index format {found} "
                f"(this version reads {FORMAT_VERSION}); rebuild with `tthc index build --full`"
            )
        try:
            return cls(**data)
        except TypeError as exc:
            raise GenerationError(f"{folder.name}: {MANIFEST} is damaged ({exc})") from exc

    def write(self, folder: Path) -> None:
        """Write the manifest (the last file of a generation)."""
        tmp = folder / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=2), "utf-8")
        _fsync(tmp)
        os.replace(tmp, folder / MANIFEST)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def utc_now() -> str:
    """ISO 8601 UTC timestamp."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class GenerationStore:
    """The ``INDEX_DIR`` folder: finds, creates, switches and prunes generations."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir

    @property
    def vector_cache_path(self) -> Path:
        """Where the shared vector cache lives."""
        return self.index_dir / VECTOR_CACHE

    def current(self) -> Path | None:
        """The folder ``current`` points at, or ``None`` before the first build."""
        link = self.index_dir / CURRENT
        if not link.is_symlink() and not link.exists():
            return None
        target = link.resolve()
        return target if target.is_dir() else None

    @contextmanager
    def new_generation(self) -> Iterator[Path]:
        """A fresh folder to fill; published only if the block finishes without error.

        The folder is built under a ``.tmp`` name; an exception (or a killed process)
        leaves ``current`` untouched and the half-built folder is removed (or ignored and
        cleaned by the next build).
        """
        self.index_dir.mkdir(parents=True, exist_ok=True)
        self._remove_stale_tmp()
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"gen-{stamp}-{secrets.token_hex(2)}"
        tmp = self.index_dir / f"{name}.tmp"
        tmp.mkdir()
        try:
            yield tmp
            if not (tmp / MANIFEST).is_file():
                raise GenerationError("a generation must end by writing its manifest")
            final = self.index_dir / name
            os.replace(tmp, final)
            self._switch(final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def _switch(self, folder: Path) -> None:
        link = self.index_dir / CURRENT
        tmp_link = self.index_dir / f".{CURRENT}.{secrets.token_hex(4)}"
        os.symlink(folder.name, tmp_link)
        os.replace(tmp_link, link)  # atomic: readers see the old or the new target

    def _remove_stale_tmp(self) -> None:
        for leftover in self.index_dir.glob("gen-*.tmp"):
            shutil.rmtree(leftover, ignore_errors=True)

    def generations(self) -> list[Path]:
        """Complete generations, oldest first."""
        return sorted(
            p for p in self.index_dir.glob("gen-*") if p.is_dir() and (p / MANIFEST).is_file()
        )

    def prune(self, keep: int = 3) -> list[Path]:
        """Delete all but the newest ``keep`` generations (never the current one)."""
        current = self.current()
        old = [p for p in self.generations()[:-keep] if p != current]
        for folder in old:
            shutil.rmtree(folder, ignore_errors=True)
        return old


class ChunkStore:
    """The generation's SQLite file of records and chunks (read-only once written)."""

    SCHEMA = """
    CREATE TABLE records (kind TEXT, id TEXT, title TEXT, revision INTEGER, data TEXT,
                          PRIMARY KEY (kind, id));
    CREATE TABLE chunks (pos INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE, sid INTEGER,
                         kind TEXT, record_id TEXT, title TEXT, field TEXT, revision INTEGER,
                         text TEXT, dense_text TEXT);
    """

    def __init__(self, path: Path, *, readonly: bool = True) -> None:
        uri = f"file:{path}?mode=ro" if readonly else f"file:{path}?mode=rwc"
        self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)

    @classmethod
    def create(cls, path: Path) -> ChunkStore:
        """A new, empty store."""
        store = cls(path, readonly=False)
        store._db.executescript(cls.SCHEMA)
        return store

    def close(self) -> None:
        """Release the file."""
        self._db.close()

    def add_records(self, rows: Iterable[tuple[str, str, str, int, dict[str, Any]]]) -> None:
        """Insert ``(kind, id, title, revision, data)`` rows."""
        with self._db:
            self._db.executemany(
                "INSERT INTO records VALUES (?, ?, ?, ?, ?)",
                ((k, i, t, r, json.dumps(d, ensure_ascii=False)) for k, i, t, r, d in rows),
            )

    def add_chunks(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Insert chunk rows in the column order of the schema."""
        with self._db:
            self._db.executemany("INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?)", rows)

    def record(self, kind: str, record_id: str) -> dict[str, Any] | None:
        """One record's full JSON."""
        row = self._db.execute(
            "SELECT data FROM records WHERE kind = ? AND id = ?", (kind, record_id)
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def revisions(self) -> dict[tuple[str, str], int]:
        """``(kind, id) → revision`` of every record (what incremental builds compare)."""
        rows = self._db.execute("SELECT kind, id, revision FROM records").fetchall()
        return {(k, i): int(r) for k, i, r in rows}

    def records_data(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Any]:
        """Full JSON of several records (reused by an incremental build)."""
        wanted = set(keys)
        out: dict[tuple[str, str], Any] = {}
        for kind, rid, data in self._db.execute("SELECT kind, id, data FROM records"):
            if (kind, rid) in wanted:
                out[(kind, rid)] = json.loads(data)
        return out

    def chunks_by_record(
        self, keys: set[tuple[str, str]]
    ) -> dict[tuple[str, str], list[tuple[str, str, str, str, str, str, str, int]]]:
        """``(kind, record_id) → [(chunk_id, kind, record_id, title, field, text,
        dense_text, revision)]`` in position order, for the records in ``keys`` (an
        incremental build reuses the chunks of the records it did not read again)."""
        out: dict[tuple[str, str], list[tuple[str, str, str, str, str, str, str, int]]] = {}
        rows = self._db.execute(
            "SELECT chunk_id, kind, record_id, title, field, text, dense_text, revision "
            "FROM chunks ORDER BY pos"
        )
        for row in rows:
            key = (row[1], row[2])
            if key in keys:
                out.setdefault(key, []).append(row)
        return out

    def chunk_table(self) -> list[tuple[int, str, int, str, str, str, str]]:
        """``(pos, chunk_id, sid, kind, record_id, title, field)`` ordered by position."""
        return self._db.execute(
            "SELECT pos, chunk_id, sid, kind, record_id, title, field FROM chunks ORDER BY pos"
        ).fetchall()

    def chunk_text(self, pos: int) -> str:
        """The keyword text of one chunk."""
        row = self._db.execute("SELECT text FROM chunks WHERE pos = ?", (pos,)).fetchone()
        return "" if row is None else str(row[0])
