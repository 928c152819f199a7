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
        """Read an index written by :meth:`save` into memory (~30 MB for the bundled
        knowledge base: slicing postings out of a memory map costs more per query)."""
        model = bm25s.BM25.load(str(folder), mmap=False, show_progress=False)
        return cls(model, size=size)

    def search(
        self, query: str, glossary: Glossary, k: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Top ``k`` chunk positions and their scores (zero-score chunks left out)."""
        return self.search_terms(keyword_terms(glossary.expand(query)), k)

    def search_terms(
        self, terms: list[str], k: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """:meth:`search` for a query already expanded and tokenised (one tokenising
        serves several indexes)."""
        scores = self.scores(terms)
        if scores is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        k = min(k, scores.shape[0])
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[scores[top] > 0]
        return top.astype(np.int64), scores[top]

    def scores(self, terms: list[str]) -> npt.NDArray[np.float32] | None:
        """BM25 score of every chunk for ``terms`` (None when no term is indexed).

        Same sums as ``bm25s``'s ``get_scores``, added with one ``bincount`` over the
        terms' postings instead of ``np.add.at`` (several times faster per query).
        """
        model = self._model
        vocab = model.vocab_dict
        ids = [vocab[t] for t in terms if t in vocab]
        if not terms or not ids:
            return None
        matrix = model.scores
        indptr = matrix["indptr"]
        num_docs = int(matrix["num_docs"])
        starts = indptr[ids]
        ends = indptr[np.asarray(ids) + 1]
        data, indices = matrix["data"], matrix["indices"]
        picked = [slice(int(a), int(b)) for a, b in zip(starts, ends, strict=True) if b > a]
        if not picked:
            out = np.zeros(num_docs, dtype=np.float32)
        else:
            out = np.bincount(
                np.concatenate([indices[p] for p in picked]),
                weights=np.concatenate([data[p] for p in picked]),
                minlength=num_docs,
            ).astype(np.float32)
        if model.nonoccurrence_array is not None:
            out += model.nonoccurrence_array[ids].sum()
        return out
