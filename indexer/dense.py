"""The dense side of retrieval: FAISS inner product over L2-normalised vectors.

Ids are stable 63-bit hashes of chunk ids, never row positions, so a generation's
vectors can be matched to its chunk store whatever order they were added in.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import faiss
import numpy as np
import numpy.typing as npt

from indexer.embedding import Vectors


def stable_id(chunk_id: str) -> int:
    """A positive int64 derived from the chunk id."""
    return int.from_bytes(hashlib.sha1(chunk_id.encode()).digest()[:8], "big") & (2**63 - 1)


class DenseIndex:
    """An ``IndexIDMap2`` over ``IndexFlatIP``: exact search, ~1 ms for tens of thousands."""

    def __init__(self, index: faiss.Index) -> None:
        self._index = index

    @property
    def size(self) -> int:
        """Number of vectors."""
        return int(self._index.ntotal)

    @classmethod
    def build(cls, vectors: Vectors, ids: npt.NDArray[np.int64]) -> DenseIndex:
        """Index ``vectors`` under ``ids`` (one id per row)."""
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(vectors.shape[1]))
        if len(ids):
            index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        return cls(index)

    def save(self, path: Path) -> None:
        """Write the FAISS file."""
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> DenseIndex:
        """Read a FAISS file written by :meth:`save`, for serving.

        Serving searches one query vector at a time, which one thread does in well under
        a millisecond over the bundled ~6,400 vectors. FAISS's OpenMP team is its own, not
        the query embedder's: on 2 cores the two teams' spinning threads took turns, and
        one thread for FAISS cut search + rerank from p50/p95 31.0/45.5 to 23.4/37.4 ms
        over the 815 strict evaluation questions (same index, two runs each, results
        identical). This sets FAISS's thread count for the whole process.
        """
        faiss.omp_set_num_threads(1)
        return cls(faiss.read_index(str(path)))

    def search(
        self, vector: Vectors, k: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Top ``k`` ids and cosine scores for one query vector."""
        if self.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores, ids = self._index.search(vector.reshape(1, -1), min(k, self.size))
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep].astype(np.float32)
