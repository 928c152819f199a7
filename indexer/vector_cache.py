"""Vectors cached by content hash, so unchanged text is never embedded twice.

The key covers the model id, the role (query/passage) and the exact text: a model
change or an edited passage simply misses the cache. The cache lives beside the
generations and is shared by all of them.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from indexer.embedding import Vectors


def content_key(model_id: str, role: str, text: str) -> str:
    """The cache key of one text."""
    return hashlib.sha256(f"{model_id}\0{role}\0{text}".encode()).hexdigest()


class VectorCache:
    """A small SQLite table of ``key → float32 bytes``."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB)")

    def close(self) -> None:
        """Release the database file."""
        self._db.close()

    def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        """The cached vectors among ``keys``."""
        found: dict[str, bytes] = {}
        for start in range(0, len(keys), 500):
            batch = list(keys[start : start + 500])
            marks = ",".join("?" * len(batch))
            rows = self._db.execute(
                f"SELECT key, vec FROM vectors WHERE key IN ({marks})", batch
            ).fetchall()
            found.update((k, v) for k, v in rows)
        return found

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        """Store vectors (committed at once so an interrupted build keeps its work)."""
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", items)

    def embed(
        self,
        texts: Sequence[str],
        *,
        model_id: str,
        dimension: int,
        role: str,
        compute: Callable[[list[str]], Vectors],
        batch_size: int = 32,
        on_progress: Callable[[int], None] | None = None,
    ) -> tuple[Vectors, int]:
        """Vectors for ``texts``, shape ``(len(texts), dimension)`` float32, and how many
        distinct texts had to be embedded.

        Cached vectors are reused, and a text that occurs several times is embedded once
        (the portal publishes one name under several codes, so about 6 % of the bundled
        passages repeat another's text word for word).
        """
        keys = [content_key(model_id, role, t) for t in texts]
        cached = self.get_many(keys)
        out = np.zeros((len(texts), dimension), dtype=np.float32)
        #: key → every position of a text to embed (the first one is embedded).
        missing: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            blob = cached.get(key)
            if blob is None:
                missing.setdefault(key, []).append(i)
            else:
                out[i] = np.frombuffer(blob, dtype=np.float32)
        if on_progress is not None and len(texts) > sum(map(len, missing.values())):
            on_progress(len(texts) - sum(map(len, missing.values())))
        # Similar lengths in one batch waste less work on padding.
        todo = sorted(missing, key=lambda key: len(texts[missing[key][0]]))
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            vectors = compute([texts[missing[key][0]] for key in batch])
            for j, key in enumerate(batch):
                out[missing[key]] = vectors[j]
            self.put_many([(key, vectors[j].tobytes()) for j, key in enumerate(batch)])
            if on_progress is not None:
                on_progress(sum(len(missing[key]) for key in batch))
        return out, len(todo)
