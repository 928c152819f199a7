"""THE Vietnamese text normaliser, used identically when building and when searching.

Citizens type with or without diacritics, in either tone-mark placement ("hoà"/"hòa"),
with abbreviations ("cccd", "gplx"). Every representation the index stores is derived
from one of the functions here, so build and query can never drift apart.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

# Tone marks move between the two vowels of a final "oa/oe/uy" ("hoà" vs "hòa",
# "thuý" vs "thúy"); we always put them on the first vowel. "quý" is left alone: there
# "qu" is the consonant and "y" the only vowel.
_TONED = {
    "a": "àáảãạ",
    "e": "èéẻẽẹ",
    "y": "ỳýỷỹỵ",
}
_FIRST = {"a": ("o", "òóỏõọ"), "e": ("o", "òóỏõọ"), "y": ("u", "ùúủũụ")}
_TONE_MOVE = {}
for _second, _marked in _TONED.items():
    _first, _first_marked = _FIRST[_second]
    for _i, _char in enumerate(_marked):
        _TONE_MOVE[_first + _char] = _first_marked[_i] + _second
_TONE_TAIL = re.compile("(" + "|".join(_TONE_MOVE) + r")(?!\w)")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[0-9a-z]+")


def nfc(text: str) -> str:
    """NFC form: the e5 tokenizer corrupts decomposed Vietnamese ("chết" → "ch ê t")."""
    return unicodedata.normalize("NFC", text)


def _move_tone(match: re.Match[str]) -> str:
    start = match.start()
    text = match.string
    if start > 0 and text[start - 1] == "q":
        return match.group(0)
    return _TONE_MOVE[match.group(0)]


def normalize(text: str) -> str:
    """NFC, lower case, one tone-mark placement, single spaces."""
    lowered = nfc(text).lower()
    unified = _TONE_TAIL.sub(_move_tone, lowered)
    return _SPACE.sub(" ", unified).strip()


def _fold_table() -> dict[int, str]:
    # Precomposed Latin letters → their base letter; built from Unicode data, not a file.
    table: dict[int, str] = {ord("đ"): "d", ord("Đ"): "d"}
    for code in [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]:
        char = chr(code)
        base = "".join(
            c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c)
        )
        if base != char and base.isascii():
            table[code] = base.lower()
    return table


_FOLD = _fold_table()


def fold(text: str) -> str:
    """The diacritic-free form: marks stripped, "đ" → "d" (what unaccented typing gives).

    A translation table instead of NFD + filtering: the indexer folds millions of
    characters per build.
    """
    folded = nfc(text).lower().translate(_FOLD)
    if not folded.isascii():
        # Rare leftovers (combining marks NFC could not compose): strip them the slow way.
        decomposed = unicodedata.normalize("NFD", folded)
        folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACE.sub(" ", folded).strip()


def has_diacritics(text: str) -> bool:
    """Does the text carry any Vietnamese mark (so the citizen typed with accents)?"""
    return fold(text) != normalize(text)


def syllables(text: str) -> list[str]:
    """Folded syllables (Vietnamese words are space-separated syllables)."""
    return _WORD.findall(fold(text))


def has_phrase(words: Sequence[str], phrase: Sequence[str]) -> bool:
    """Do the syllables ``words`` hold ``phrase`` (a run of syllables) contiguously?

    ``has_phrase(["o", "nuoc", "ngoai"], ("nuoc", "ngoai"))`` → ``True``; an empty
    ``phrase`` → ``True``.
    """
    n = len(phrase)
    target = tuple(phrase)
    return any(tuple(words[i : i + n]) == target for i in range(len(words) - n + 1))


def keyword_terms(text: str) -> list[str]:
    """Folded syllables plus adjacent syllable bigrams (``"khai_sinh"``).

    Bigrams stand in for word segmentation: they beat pyvi/underthesea on the probe in
    ``docs/retrieval.md`` and need no model.
    """
    words = syllables(text)
    return words + [f"{a}_{b}" for a, b in itertools.pairwise(words)]


class QueryFillers:
    """Phrases that wrap a question without naming a procedure ("cho mình hỏi", "ở đâu").

    Kept in ``data/query_fillers.txt``; they are dropped from the text handed to the
    embedder so question-shaped passages (FAQ) do not win on phrasing alone.
    """

    def __init__(self, phrases: list[tuple[str, ...]]) -> None:
        self._phrases = sorted({p for p in phrases if p}, key=len, reverse=True)
        # Longest first, looked up by first syllable: each word is compared with the
        # few phrases that can start there.
        self._by_first: dict[str, list[tuple[str, ...]]] = {}
        for phrase in self._phrases:
            self._by_first.setdefault(phrase[0], []).append(phrase)

    @classmethod
    def load(cls, path: Path) -> QueryFillers:
        """Read one phrase per line (``#`` comments)."""
        lines = path.read_text("utf-8").splitlines()
        return cls([tuple(syllables(x)) for x in lines if x.strip() and not x.startswith("#")])

    def remove_from(self, text: str) -> str:
        """The text without filler phrases (the text itself if nothing would remain)."""
        words = normalize(text).split()
        folded = [" ".join(syllables(w)) for w in words]
        keep = [True] * len(words)
        i = 0
        while i < len(words):
            for phrase in self._by_first.get(folded[i], ()):
                n = len(phrase)
                if tuple(folded[i : i + n]) == phrase:
                    keep[i : i + n] = [False] * n
                    i += n - 1
                    break
            i += 1
        kept = " ".join(w for w, k in zip(words, keep, strict=True) if k)
        return kept or text
