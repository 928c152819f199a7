"""Putting diacritics back on unaccented queries, from the index's own vocabulary.

A citizen who types "lam lai can cuoc" means "làm lại căn cước". The multilingual
model understands accented Vietnamese far better than folded text, so the query is
restored using the most frequent accented form of each folded syllable pair (then
single syllable) seen in the indexed passages. Unknown words are left as typed.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from indexer.textnorm import fold, normalize

_TOKEN = re.compile(r"\w+", re.UNICODE)


class AccentRestorer:
    """Maps folded syllables and syllable pairs to their most frequent accented form."""

    def __init__(self, unigrams: dict[str, str], bigrams: dict[str, str]) -> None:
        self._unigrams = unigrams
        self._bigrams = bigrams

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> AccentRestorer:
        """Learn the mapping from accented passages."""
        uni: dict[str, Counter[str]] = {}
        bi: dict[str, Counter[str]] = {}
        for text in texts:
            words = _TOKEN.findall(normalize(text))
            # Folding maps letter to letter, so the folded text splits into the same words.
            folded = _TOKEN.findall(fold(" ".join(words)))
            if len(folded) != len(words):
                folded = [fold(w) for w in words]
            # ``get`` before creating: ``setdefault(key, Counter())`` built a million
            # throw-away Counters per build on the full knowledge base.
            for word, key in zip(words, folded, strict=True):
                counts = uni.get(key)
                if counts is None:
                    counts = uni[key] = Counter()
                counts[word] += 1
            for i in range(len(words) - 1):
                key = f"{folded[i]} {folded[i + 1]}"
                counts = bi.get(key)
                if counts is None:
                    counts = bi[key] = Counter()
                counts[f"{words[i]} {words[i + 1]}"] += 1
        return cls(
            {k: c.most_common(1)[0][0] for k, c in uni.items()},
            {k: c.most_common(1)[0][0] for k, c in bi.items() if sum(c.values()) > 1},
        )

    def restore(self, query: str) -> str:
        """The query with diacritics restored where the vocabulary knows the words."""
        words = _TOKEN.findall(normalize(query))
        out = list(words)
        folded = [fold(w) for w in words]  # short: a query has a few dozen words
        covered = [False] * len(words)
        for i in range(len(words) - 1):
            pair = self._bigrams.get(f"{folded[i]} {folded[i + 1]}")
            if pair and words[i] == folded[i] and words[i + 1] == folded[i + 1]:
                first, second = pair.split(" ")
                if not covered[i]:
                    out[i] = first
                out[i + 1] = second
                covered[i] = covered[i + 1] = True
        for i, word in enumerate(words):
            if not covered[i] and word == folded[i]:
                out[i] = self._unigrams.get(folded[i], word)
        return " ".join(out)

    def save(self, path: Path) -> None:
        """Write the tables as JSON."""
        path.write_text(
            json.dumps({"unigrams": self._unigrams, "bigrams": self._bigrams}, ensure_ascii=False),
            "utf-8",
        )

    @classmethod
    def load(cls, path: Path) -> AccentRestorer:
        """Read tables written by :meth:`save`."""
        data = json.loads(path.read_text("utf-8"))
        return cls(data["unigrams"], data["bigrams"])
