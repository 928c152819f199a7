"""The keyword side of retrieval: BM25 (``bm25s``) over folded syllables and bigrams."""

from __future__ import annotations

from pathlib import Path

import bm25s
import numpy as np
import numpy.typing as npt

from indexer.glossary import Glossary
from indexer.textnorm import keyword_terms


class KeywordIndex:
    """BM25 over chunk texts; queries are glossary-expanded before tokenising."""

    def __init__(self, model: bm25s.BM25, *, size: int) -> None:
        self._model = model
        self.size = size

    @classmethod
    def build(cls, texts: list[str]) -> KeywordIndex:
        """Index one text per chunk (positions are chunk positions)."""
        return cls.build_from_terms([keyword_terms(t) for t in texts])

    @classmethod
    def build_from_terms(cls, terms: list[list[str]]) -> KeywordIndex:
        """Index already tokenised chunks (one build tokenises once for several indexes)."""
        model = bm25s.BM25(k1=1.2, b=0.75)
        model.index([t or ["_"] for t in terms], show_progress=False)
        return cls(model, size=len(terms))

    def save(self, folder: Path) -> None:
        """Write the index files into ``folder``."""
        self._model.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, *, size: int) -> KeywordIndex:
        """Read an index written by :meth:`save` (memory-mapped)."""
        model = bm25s.BM25.load(str(folder), mmap=True, show_progress=False)
        return cls(model, size=size)

    def search(
        self, query: str, glossary: Glossary, k: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Top ``k`` chunk positions and their scores (zero-score chunks left out)."""
        terms = keyword_terms(glossary.expand(query))
        if not terms:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores = np.asarray(self._model.get_scores(terms), dtype=np.float32)
        k = min(k, scores.shape[0])
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[scores[top] > 0]
        return top.astype(np.int64), scores[top]
