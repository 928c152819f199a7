"""Fakes held to the same contract tests as the real classes."""

from __future__ import annotations

import hashlib

import numpy as np

from indexer.embedding import Vectors
from indexer.textnorm import keyword_terms


class FakeEmbedder:
    """Deterministic bag-of-terms hashing embedder: fast, offline, meaning-free.

    Texts sharing folded syllables get similar vectors, which is enough to exercise
    indexing, caching, fusion and generation handling without the real model.
    """

    def __init__(self, *, dimension: int = 64, model_id: str = "fake-hash-64") -> None:
        self._dimension = dimension
        self._model_id = model_id
        self.calls = 0
        self.texts_embedded = 0

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def prompts(self) -> dict[str, str]:
        return {"query": "", "passage": ""}

    def _embed(self, texts: list[str]) -> Vectors:
        self.calls += 1
        self.texts_embedded += len(texts)
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in keyword_terms(text):
                digest = hashlib.md5(term.encode()).digest()
                out[row, digest[0] % self._dimension] += 1.0 if digest[1] % 2 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms

    def embed_queries(self, texts: list[str]) -> Vectors:
        return self._embed(texts)

    def embed_passages(self, texts: list[str]) -> Vectors:
        return self._embed(texts)
