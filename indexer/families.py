"""Procedure families and same-name groups, found at build time from the names alone.

The national portal publishes a base procedure ("Đăng ký khai sinh") next to its
variants ("… lưu động", "… có yếu tố nước ngoài", "… kết hợp đăng ký nhận cha, mẹ,
con", "Đăng ký lại khai sinh"), and one name under several codes (one per level,
ministry or province). A citizen who names no qualifier needs the base; a variant is
right only when the question names its qualifier. This module finds, for every
procedure, its closest base (the longest other name that the procedure's name
contains, allowing one gap of up to two syllables: "đăng ký *lại* khai sinh") and the
qualifier words that make the difference, and groups identical names.

Everything is computed on folded syllables (:func:`indexer.textnorm.syllables`), so it
matches however the citizen typed. The result is written into each generation as
``profiles.json`` and read by the reranker.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from indexer.situations import works_abroad
from indexer.textnorm import fold, has_phrase, normalize, syllables

#: Words that carry no qualifier meaning of their own (folded). A variant whose only
#: extra words are these ("thủ tục", "việc", "các") is treated as the same procedure.
FUNCTION_WORDS = frozenset(
    (
        "thu",
        "tuc",
        "hanh",
        "chinh",
        "ve",
        "viec",
        "cac",
        "nhung",
        "cua",
        "cho",
        "va",
        "voi",
        "tai",
        "o",
        "doi",
        "trong",
        "theo",
        "tu",
        "la",
        "duoc",
        "da",
        "co",
        "khi",
        "nay",
        "hoac",
        "thuc",
        "hien",
    )
)

#: Phrases citizens use to ask about an aspect ("giấy tờ", "lệ phí"), folded: naming them
#: does not name a variant, even when a variant's qualifier contains them ("… cho người
#: đã có hồ sơ, giấy tờ cá nhân"). Phrases, not words: folded "ho" is also "hộ" (hộ
#: chiếu), "can" also "căn" (căn cước).
ASPECT_PHRASES = (
    ("giay", "to"),
    ("ho", "so"),
    ("le", "phi"),
    ("bao", "nhieu"),
    ("bao", "lau"),
    ("thoi", "gian"),
    ("mau", "don"),
    ("to", "khai"),
    ("can", "gi"),
    ("o", "dau"),
    ("nop", "o"),
    ("tien",),
    ("phi",),
)


@functools.lru_cache(maxsize=65536)
def aspect_mask(words: tuple[str, ...]) -> tuple[bool, ...]:
    """For each word, whether it belongs to an aspect phrase of :data:`ASPECT_PHRASES`."""
    mask = [False] * len(words)
    for phrase in ASPECT_PHRASES:
        n = len(phrase)
        for i in range(len(words) - n + 1):
            if tuple(words[i : i + n]) == phrase:
                mask[i : i + n] = [True] * n
    return tuple(mask)


#: A base shorter than this is too generic to be a family head ("cấp giấy").
MIN_BASE_SYLLABLES = 3
#: At most this many syllables may be inserted into a base inside a variant's name.
MAX_GAP = 2

LEVELS = {"cap xa": "xa", "cap huyen": "huyen", "cap tinh": "tinh", "cap bo": "bo"}


_LEVEL_TAIL = re.compile(r"(?: thuc hien)?(?: tai| o)? cap (?:xa|huyen|tinh|trung uong|bo)$")


def name_words(name: str) -> tuple[str, ...]:
    """A procedure name as folded syllables without the leading "Thủ tục" and without
    a trailing level ("(thực hiện tại cấp tỉnh)", "(Cấp tỉnh)"): one procedure
    published at several levels is one name."""
    words = syllables(name)
    if words[:2] == ["thu", "tuc"]:
        words = words[2:]
    joined = _LEVEL_TAIL.sub("", " ".join(words))
    return tuple(joined.split()) if joined else tuple(words)


@dataclass(frozen=True)
class Base:
    """One family head of a variant and the words that set the variant apart from it.

    ``qualifier`` holds folded syllables, ``accented`` the same words as written
    (lower case, NFC), used when the question carries diacritics ("lại" ≠ "lái").
    """

    key: str
    qualifier: tuple[str, ...]
    accented: tuple[str, ...]


@dataclass(frozen=True)
class Profile:
    """What the reranker knows about one record besides its text.

    ``bases`` are the family heads this record is a variant of (the closest first);
    ``variants`` how many records name this one as a base; ``same_name`` the keys
    of the other records with the same name; ``levels`` the short level codes
    ("xa", "huyen", "tinh", "bo", "khac"); ``foreign`` whether the record is for
    foreigners or abroad; ``business`` whether it is for enterprises; ``abroad``
    whether only a Vietnamese mission abroad carries it out
    (:func:`indexer.situations.works_abroad`).
    """

    kind: str
    words: tuple[str, ...]
    #: ``words`` as written (diacritics kept), or ``()`` when they could not be aligned.
    written: tuple[str, ...] = ()
    bases: tuple[Base, ...] = ()
    variants: int = 0
    same_name: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    full: bool = True
    foreign: bool = False
    business: bool = False
    abroad: bool = False


@dataclass(frozen=True)
class NameView:
    """What the reranker derives from one profile's name, computed once per process.

    ``content`` are the name's words without :data:`FUNCTION_WORDS`; ``weights`` the
    IDF of each of them; ``bigrams`` the name's adjacent word pairs.
    """

    content: tuple[str, ...]
    content_set: frozenset[str]
    word_set: frozenset[str]
    weights: dict[str, float]
    content_idf: float
    bigrams: frozenset[str]


def _profile_json(profile: Profile) -> dict[str, Any]:
    """``dataclasses.asdict(profile)`` without its deep copies (a tenth of an
    incremental build on the full knowledge base); the same JSON."""
    data: dict[str, Any] = {f.name: getattr(profile, f.name) for f in fields(Profile)}
    data["bases"] = [
        {"key": b.key, "qualifier": b.qualifier, "accented": b.accented} for b in profile.bases
    ]
    return data


@dataclass
class Profiles:
    """Profiles by ``"kind:key"`` plus the syllable IDF over record names."""

    by_record: dict[str, Profile] = field(default_factory=dict)
    idf: dict[str, float] = field(default_factory=dict)
    default_idf: float = 1.0
    _derived: dict[tuple[str, ...], NameView] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def get(self, kind: str, key: str) -> Profile | None:
        """The profile of one record, if it was indexed."""
        return self.by_record.get(f"{kind}:{key}")

    def weight(self, word: str) -> float:
        """IDF of a folded syllable over record names (rare words weigh more)."""
        return self.idf.get(word, self.default_idf)

    def derived(self, profile: Profile) -> NameView:
        """The profile's name prepared for feature computation (cached by name)."""
        view = self._derived.get(profile.words)
        if view is None:
            content = tuple(w for w in profile.words if w not in FUNCTION_WORDS)
            weights = {w: self.weight(w) for w in set(content)}
            view = NameView(
                content=content,
                content_set=frozenset(content),
                word_set=frozenset(profile.words),
                weights=weights,
                content_idf=sum(weights.values()),
                bigrams=frozenset(f"{a} {b}" for a, b in itertools.pairwise(profile.words)),
            )
            self._derived[profile.words] = view
        return view

    def save(self, path: Path) -> None:
        """Write the profiles as JSON."""
        data = {
            "idf": self.idf,
            "default_idf": self.default_idf,
            "records": {k: _profile_json(p) for k, p in self.by_record.items()},
        }
        path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, path: Path) -> Profiles:
        """Read what :meth:`save` wrote."""
        data = json.loads(path.read_text("utf-8"))
        records = {
            key: Profile(
                kind=v["kind"],
                words=tuple(v["words"]),
                written=tuple(v["written"]),
                bases=tuple(
                    Base(b["key"], tuple(b["qualifier"]), tuple(b["accented"])) for b in v["bases"]
                ),
                variants=int(v["variants"]),
                same_name=tuple(v["same_name"]),
                levels=tuple(v["levels"]),
                full=bool(v["full"]),
                foreign=bool(v["foreign"]),
                business=bool(v["business"]),
                abroad=bool(v.get("abroad", False)),
            )
            for key, v in data["records"].items()
        }
        return cls(records, dict(data["idf"]), float(data["default_idf"]))


def _outside(name: tuple[str, ...], base: tuple[str, ...]) -> list[int] | None:
    """Positions of ``name`` outside ``base`` when ``name`` contains it, else None.

    ``base`` must appear contiguously, or split once by at most :data:`MAX_GAP`
    inserted syllables ("đăng ký lại khai sinh" contains "đăng ký khai sinh").
    """
    n, b = len(name), len(base)
    for start in range(n - b + 1):
        if name[start : start + b] == base:
            return [*range(start), *range(start + b, n)]
    for cut in range(1, b):
        head, tail = base[:cut], base[cut:]
        for start in range(n - b):
            if name[start : start + cut] != head:
                continue
            for gap in range(1, MAX_GAP + 1):
                at = start + cut + gap
                if name[at : at + len(tail)] == tail:
                    return [*range(start), *range(start + cut, at), *range(at + len(tail), n)]
    return None


def accented_words(text: str) -> tuple[str, ...]:
    """Syllables as written (lower case, one tone placement), aligned with
    :func:`indexer.textnorm.syllables` when the text is ordinary Vietnamese."""
    return tuple(w for w in _TOKEN.findall(normalize(text)) if fold(w).isalnum())


_TOKEN = re.compile(r"[^\W_]+")


def _levels(values: Iterable[str]) -> tuple[str, ...]:
    found = []
    for value in values:
        folded = " ".join(syllables(value))
        found.append(LEVELS.get(folded, "khac"))
    return tuple(sorted(set(found)))


_FOREIGN = ("nuoc ngoai", "nguoi nuoc ngoai", "co quan dai dien", "dinh cu o nuoc ngoai")
_BUSINESS = ("doanh nghiep", "cong ty", "to chuc kinh te", "hop tac xa")


def _mentions(words: tuple[str, ...], phrases: Iterable[str]) -> bool:
    return any(has_phrase(words, p.split()) for p in phrases)


def _find_bases(
    words: tuple[str, ...],
    by_pair: Mapping[tuple[str, str], list[tuple[str, ...]]],
) -> list[tuple[tuple[str, ...], list[int]]]:
    """The maximal names contained in ``words`` (none contained in another) with the
    positions outside each, longest first."""
    vocabulary = set(words)
    candidates = {
        base
        for pair in itertools.pairwise(words)
        for base in by_pair.get(pair, ())
        if len(base) < len(words) and vocabulary.issuperset(base)
    }
    found: list[tuple[tuple[str, ...], list[int]]] = []
    for base in sorted(candidates, key=lambda b: (-len(b), b)):
        rest = _outside(words, base)
        if rest is None or not [w for i in rest if (w := words[i]) not in FUNCTION_WORDS]:
            continue
        if any(_outside(bigger, base) is not None for bigger, _ in found):
            continue
        found.append((base, rest))
    return found


def build_profiles(records: Mapping[tuple[str, str], Mapping[str, Any]]) -> Profiles:
    """Profiles for every record of a build (``(kind, key) → record JSON``)."""
    words_of: dict[tuple[str, str], tuple[str, ...]] = {}
    titles: dict[tuple[str, str], str] = {}
    for (kind, key), data in records.items():
        title = str(data.get("name") or data.get("title") or data.get("question") or "")
        titles[(kind, key)] = title
        words_of[(kind, key)] = name_words(title)

    by_name: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for (kind, key), words in words_of.items():
        if kind == "procedure" and words:
            by_name[words].append(key)
    # Candidate bases are looked up by their first and last syllable pairs (one of the
    # two survives a single inserted gap), so each name is compared with the few names
    # that could fit inside it, not with all of them.
    by_pair: dict[tuple[str, str], list[tuple[str, ...]]] = defaultdict(list)
    for words in by_name:
        if len(words) >= MIN_BASE_SYLLABLES:
            by_pair[(words[0], words[1])].append(words)
            if words[-2:] != words[:2]:
                by_pair[(words[-2], words[-1])].append(words)
    bases_of = {words: _find_bases(words, by_pair) for words in by_name}

    variants: dict[tuple[str, ...], int] = defaultdict(int)
    for found in bases_of.values():
        for base, _rest in found:
            variants[base] += 1

    # IDF over distinct record names: how rare a word is among the things one can ask for.
    df: dict[str, int] = defaultdict(int)
    names = set(words_of.values())
    for words in names:
        for word in set(words):
            df[word] += 1
    total = max(len(names), 1)
    idf = {w: round(math.log((total + 1) / (c + 0.5)), 4) for w, c in df.items()}

    profiles: dict[str, Profile] = {}
    for (kind, key), words in words_of.items():
        data = records[(kind, key)]
        if kind != "procedure":
            profiles[f"{kind}:{key}"] = Profile(kind=kind, words=words)
            continue
        written = accented_words(titles[(kind, key)])
        if written[:2] == ("thủ", "tục"):
            written = written[2:]
        # The level tail name_words() drops stands at the end: the rest lines up.
        written = written[: len(words)]
        aligned = len(written) == len(words) and all(
            fold(a) == b for a, b in zip(written, words, strict=True)
        )
        bases = tuple(
            Base(
                key=_head_key(by_name[base], records),
                qualifier=tuple(words[i] for i in rest if words[i] not in FUNCTION_WORDS),
                accented=tuple(
                    written[i] if aligned else words[i]
                    for i in rest
                    if words[i] not in FUNCTION_WORDS
                ),
            )
            for base, rest in bases_of.get(words, [])
        )
        targets = tuple(syllables(" ".join(str(t) for t in data.get("target_groups") or [])))
        profiles[f"{kind}:{key}"] = Profile(
            kind=kind,
            words=words,
            written=written if aligned else (),
            bases=bases,
            variants=variants.get(words, 0),
            same_name=tuple(sorted(k for k in by_name[words] if k != key)),
            levels=_levels(data.get("levels") or []),
            full=data.get("detail", "full") == "full",
            foreign=_mentions(words, _FOREIGN),
            business=_mentions(words, _BUSINESS) or _mentions(targets, _BUSINESS),
            abroad=works_abroad(str(data.get("implementing_agencies") or "")),
        )
    return Profiles(profiles, idf, round(math.log(total + 1), 4))


def _head_key(keys: list[str], records: Mapping[tuple[str, str], Mapping[str, Any]]) -> str:
    """The record that stands for a same-name group: full detail first, then by code."""
    return sorted(
        keys, key=lambda k: (records[("procedure", k)].get("detail", "full") != "full", k)
    )[0]
