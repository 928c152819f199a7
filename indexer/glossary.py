"""The glossary of citizens' words (a data file staff extend, not code)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from indexer.textnorm import normalize, syllables

DEFAULT_GLOSSARY = Path(__file__).resolve().parent / "data" / "glossary.tsv"


class GlossaryError(ValueError):
    """A glossary line is malformed (the message names file and line)."""


@dataclass(frozen=True)
class GlossaryEntry:
    """One citizen term and the record wordings it stands for."""

    term: tuple[str, ...]
    expansions: tuple[str, ...]


class Glossary:
    """Matches citizens' terms on folded syllables and expands them.

    ``expand`` adds the record wording to a query ("cccd" → "căn cước công dân");
    ``aliases`` goes the other way for a record ("Cấp lại thẻ căn cước" → "cccd") so the
    citizen's word is also indexed with the record.
    """

    def __init__(self, entries: Iterable[GlossaryEntry]) -> None:
        self.entries = tuple(entries)
        self._expansion_syllables = [
            [tuple(syllables(e)) for e in entry.expansions] for entry in self.entries
        ]
        # Entries by their first syllable: a query is matched against the few entries
        # that can start in it, not against every line of the file.
        self._by_first: dict[str, list[int]] = {}
        for number, entry in enumerate(self.entries):
            self._by_first.setdefault(entry.term[0], []).append(number)
        # The same for ``aliases``, which goes the other way: entries by the first
        # syllable of each of their expansions, each expansion padded for a substring test.
        self._padded_expansions = [
            [f" {' '.join(e)} " for e in expansions if e]
            for expansions in self._expansion_syllables
        ]
        self._by_expansion_first: dict[str, set[int]] = {}
        for number, expansions in enumerate(self._expansion_syllables):
            for e in expansions:
                if e:
                    self._by_expansion_first.setdefault(e[0], set()).add(number)

    @classmethod
    def load(cls, *paths: Path) -> Glossary:
        """Read one or more TSV files (later files add entries)."""
        entries: list[GlossaryEntry] = []
        for path in paths:
            for number, raw in enumerate(path.read_text("utf-8").splitlines(), start=1):
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                term, sep, rest = line.partition("\t")
                expansions = tuple(normalize(e) for e in rest.split(";") if e.strip())
                if not sep or not syllables(term) or not expansions:
                    raise GlossaryError(f"{path}:{number}: cần dạng 'TỪ<TAB>NGHĨA; NGHĨA'")
                entries.append(GlossaryEntry(tuple(syllables(term)), expansions))
        return cls(entries)

    def to_tsv(self) -> str:
        """The entries in the format :meth:`load` reads (terms folded, wordings normalised).

        ``Glossary.load`` of the text gives the same entries: a generation keeps the
        glossary it was built with in this form (``glossary.tsv``).
        """
        lines = [
            f"{' '.join(entry.term)}\t{'; '.join(entry.expansions)}\n" for entry in self.entries
        ]
        return "".join(lines)

    def expansions(self, text: str) -> list[str]:
        """The record wordings of the terms in ``text``, longest match first.

        A term inside a longer matched term is not applied: "sang tên xe" expands as a
        vehicle transfer, not also as the "sang tên" of land. A term whose expansion is
        "-" only consumes its words ("mất bao lâu" is about time, not a loss).
        """
        return self._wordings(self._matches(syllables(text)))

    def expand(self, text: str) -> str:
        """The text followed by the expansions of every term it contains.

        The words of a term whose expansion is "-" are left out of the text: the "mất"
        of "mất bao lâu" must not match records about a loss ("... bị mất").
        """
        chosen = self._matches(syllables(text))
        dropped = {
            i
            for number, start, end in chosen
            if "-" in self.entries[number].expansions
            for i in range(start, end)
        }
        if dropped:
            kept: list[str] = []
            position = 0
            for token in text.split():
                count = len(syllables(token))
                if not count or not dropped.issuperset(range(position, position + count)):
                    kept.append(token)
                position += count
            # Never down to nothing: a question that is only "mất bao lâu" stays as typed.
            text = " ".join(kept) if syllables(" ".join(kept)) else text
        extra = self._wordings(chosen)
        return " ".join([text, *extra]) if extra else text

    def _wordings(self, chosen: list[tuple[int, int, int]]) -> list[str]:
        """The expansions of the applied entries, each once, "-" left out."""
        extra = [
            expansion
            for number, _, _ in chosen
            for expansion in self.entries[number].expansions
            if expansion != "-"
        ]
        return list(dict.fromkeys(extra))

    def _matches(self, words: list[str]) -> list[tuple[int, int, int]]:
        """The entries applied to ``words`` as (entry number, start, end), longest first."""
        spans: list[tuple[int, int, int]] = []
        for number in sorted({n for w in set(words) for n in self._by_first.get(w, ())}):
            entry = self.entries[number]
            n = len(entry.term)
            for start in _occurrences(words, entry.term):
                spans.append((start, start + n, number))
        spans.sort(key=lambda s: (-(s[1] - s[0]), s[0], s[2]))
        taken = [False] * len(words)
        chosen: list[tuple[int, int, int]] = []
        for start, end, number in spans:
            if any(taken[start:end]):
                # The same term found again elsewhere, or a shorter term inside a
                # longer one: only a term of equal length at the same place may join.
                continue
            chosen.append((number, start, end))
            for i in range(start, end):
                taken[i] = True
        return chosen

    def aliases(self, text: str) -> list[str]:
        """Citizens' terms whose expansion appears in ``text`` (a record's wording)."""
        words = syllables(text)
        padded = f" {' '.join(words)} "  # whole-syllable match as a substring test
        candidates = sorted({n for w in set(words) for n in self._by_expansion_first.get(w, ())})
        found = [
            " ".join(self.entries[n].term)
            for n in candidates
            if any(e in padded for e in self._padded_expansions[n])
        ]
        return list(dict.fromkeys(found))


def _occurrences(words: list[str], term: tuple[str, ...]) -> list[int]:
    n = len(term)
    first = term[0]
    return [i for i, w in enumerate(words) if w == first and tuple(words[i : i + n]) == term]
