"""Second-stage ranking: features of the fused candidates, a learned model, family rules.

The first stage (dense + BM25, fused by reciprocal rank) finds the right record among
its first thirty for nearly every question, but often not first: a variant
("… có yếu tố nước ngoài") or a same-name copy outranks the procedure the citizen
needs. Here every candidate gets a feature vector (:data:`FEATURES`): each list's raw
score and rank, how much of the question the name covers and the other way round,
IDF-weighted unmatched name words, whether a variant's qualifier is named, family and
same-name flags, level, target group, record kind and detail, and how close the
question is to labelled example questions naming the candidate (:mod:`indexer.examples`).
LightGBM LambdaRank
models (``indexer/data/reranker*.txt``, one per seed, averaged; trained by
``tthc rank train``) order them;
then two rules the model cannot break:

* a variant never outranks its base unless the question names the variant's
  qualifier (the base is brought in from the index when the first stage missed it);
* records with the same name count as one: the best-ranked stands for the group and
  carries the others' keys (``SearchHit.same_name``) for the answer to offer.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from indexer.examples import EXAMPLE_FEATURES, ExampleError, ExampleMemory
from indexer.families import (
    FUNCTION_WORDS,
    Base,
    NameView,
    Profile,
    Profiles,
    accented_words,
    aspect_mask,
)
from indexer.glossary import Glossary
from indexer.textnorm import QueryFillers, has_diacritics, syllables

if TYPE_CHECKING:
    from indexer.retriever import SearchHit

DEFAULT_MODEL = Path(__file__).resolve().parent / "data" / "reranker.txt"
#: A single qualifier word counts as "named" only when it is this rare among names
#: (IDF over distinct record names); commoner ones must come with a neighbour.
RARE_IDF = 4.5

FEATURES: tuple[str, ...] = (
    "rrf",
    "fused_rank",
    "dense",
    "dense_rank_inv",
    "dense_gap",
    "keyword",
    "keyword_rank_inv",
    "keyword_rel",
    "titles",
    "titles_rank_inv",
    "titles_rel",
    "query_covered",
    "name_covered",
    "name_unmatched_idf",
    "query_unmatched_idf",
    "bigrams_name_covered",
    "bigrams_query_covered",
    "exact_name",
    "name_contained",
    "name_contained_longest",
    "is_variant",
    "is_base",
    "variants_log",
    "qualifier_named",
    "variant_unnamed",
    "base_in_candidates",
    "same_name",
    "kind_procedure",
    "kind_faq",
    "kind_plan",
    "kind_hotline",
    "full_detail",
    "level_xa",
    "level_tinh",
    "level_bo",
    "level_named_match",
    "level_named_mismatch",
    "foreign_record",
    "foreign_asked",
    "business_record",
    "business_asked",
    "header_field",
    "name_length",
    "query_length",
    "name_covered_gap",
    "query_covered_gap",
    "own_words_matched",
    "own_words_unmatched",
    "sibling_words_matched",
    *EXAMPLE_FEATURES,
)

_LEVEL_WORDS = {
    "xa": ("cap xa", "o xa", "ubnd xa", "phuong", "thi tran"),
    "huyen": ("cap huyen", "quan huyen", "ubnd huyen"),
    "tinh": ("cap tinh", "so ", "ubnd tinh", "thanh pho truc thuoc"),
    "bo": ("cap bo", "trung uong", "bo cong an", "cuc "),
}
_FOREIGN_WORDS = (
    "nuoc ngoai",
    "viet kieu",
    "quoc tich",
    "dai su quan",
    "lanh su",
    "tay",
    "dinh cu",
)
_BUSINESS_WORDS = ("doanh nghiep", "cong ty", "cty", "to chuc", "hop tac xa", "tnhh", "co phan")


def _bigrams(words: Sequence[str]) -> set[str]:
    return {f"{a} {b}" for a, b in itertools.pairwise(words)}


@dataclass(frozen=True)
class QueryView:
    """A question prepared once for all its candidates.

    ``content`` are its folded syllables without fillers, function and aspect words;
    ``expanded`` adds the glossary's record wordings; ``written`` holds the syllables
    as typed (with diacritics) when the question carries any.
    """

    text: str
    words: tuple[str, ...]
    content: tuple[str, ...]
    expanded: frozenset[str]
    bigrams: frozenset[str]
    written: frozenset[str]
    written_bigrams: frozenset[str]
    padded: str
    #: Qualifier decisions already taken for this question (features and family rule
    #: ask the same ones): (variant name, base key) → named.
    named_memo: dict[tuple[tuple[str, ...], str], bool] = dataclasses.field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(cls, text: str, glossary: Glossary, fillers: QueryFillers) -> QueryView:
        """Prepare ``text`` (any accents, any filler phrases)."""
        typed = fillers.remove_from(text)
        words = tuple(syllables(typed))
        aspect = aspect_mask(words)
        content = tuple(
            w for w, a in zip(words, aspect, strict=True) if not a and w not in FUNCTION_WORDS
        )
        wordings = glossary.expansions(typed)
        expansions = [syllables(e) for e in wordings]
        expanded_words = set(words).union(*expansions)
        bigrams = _bigrams(words).union(*(_bigrams(e) for e in expansions))
        written: tuple[str, ...] = accented_words(typed) if has_diacritics(typed) else ()
        written_bigrams = _bigrams(written)
        if written:
            # The glossary's record wordings are written with diacritics: a life event
            # ("làm mất" → "cấp lại") names the qualifier "lại" as surely as typing it.
            for expansion in wordings:
                words_of = accented_words(expansion)
                written += words_of
                written_bigrams |= _bigrams(words_of)
        return cls(
            text=text,
            words=words,
            content=content,
            expanded=frozenset(expanded_words),
            bigrams=frozenset(bigrams),
            written=frozenset(written),
            written_bigrams=frozenset(written_bigrams),
            padded=f" {' '.join(syllables(text))} ",
        )

    def says(self, phrase: str) -> bool:
        """Does the question contain this folded phrase (whole syllables)?"""
        return f" {phrase.strip()} " in self.padded

    def contains_name(self, words: Sequence[str]) -> bool:
        """Does the question hold a record's whole name (folded syllables, in order)?

        One or two syllables are too little to count ("cấp giấy").
        """
        return len(words) > 2 and f" {' '.join(words)} " in self.padded


def qualifier_named(view: QueryView, profile: Profile, profiles: Profiles) -> float:
    """Share of a variant's bases whose qualifier the question names (0 for a base).

    A qualifier is named when the question holds one of its words next to a neighbour
    from the variant's name ("lưu động", "ký lại"), or a single rare word of it
    ("biên giới"). Words are compared as written when the question has diacritics
    ("lại" is not "lái"), folded otherwise.
    """
    if not profile.bases:
        return 0.0
    named = 0
    for base in profile.bases:
        if _base_named(view, profile, base, profiles):
            named += 1
    return named / len(profile.bases)


def _base_named(view: QueryView, profile: Profile, base: Base, profiles: Profiles) -> bool:
    """:func:`_names_qualifier` for one base of a variant, remembered per question."""
    key = (profile.words, base.key)
    named = view.named_memo.get(key)
    if named is None:
        named = _names_qualifier(view, profile, base.qualifier, base.accented, profiles, base.key)
        view.named_memo[key] = named
    return named


#: Words of a qualifier that a question holds for other reasons ("cho em hỏi").
_PRONOUNS = frozenset(("em", "anh", "chi", "toi", "minh", "ban", "ong", "ba", "co", "chu"))


def _names_qualifier(
    view: QueryView,
    profile: Profile,
    qualifier: tuple[str, ...],
    accented: tuple[str, ...],
    profiles: Profiles,
    base_key: str = "",
) -> bool:
    base = profiles.get("procedure", base_key) if base_key else None
    shared = set(base.words) if base is not None else set()
    # Compared as written where both names are: "cấp lại giấy phép lái xe" differs from
    # "cấp giấy phép lái xe" by "lại", which folds to the "lái" they share.
    shared_written = set(base.written) if base is not None and base.written else set()
    by_writing = bool(shared_written) and len(accented) == len(qualifier)
    aspect = aspect_mask(qualifier)
    useful = [
        i
        for i, w in enumerate(qualifier)
        if not aspect[i]
        and (accented[i] not in shared_written if by_writing else w not in shared)
        and w not in _PRONOUNS
    ]
    if not useful:
        return False
    written = bool(view.written) and len(accented) == len(qualifier)
    for i in useful:
        word = accented[i] if written else qualifier[i]
        if profiles.weight(qualifier[i]) >= RARE_IDF and (
            word in view.written if written else word in view.expanded
        ):
            return True
    # Neighbours within the variant's own name: "đăng ký lại khai sinh" → "ký lại".
    wanted = {qualifier[i] for i in useful}
    name = profile.words
    as_written = profile.written if written and len(profile.written) == len(name) else ()
    wanted_written = {accented[i] for i in useful} if as_written else set()
    for i, (a, b) in enumerate(itertools.pairwise(name)):
        if not (a in wanted or b in wanted) or f"{a} {b}" not in view.bigrams:
            continue
        if not as_written:
            return True
        # As written, the pair must hold the qualifier itself ("lại", not "lái").
        pair = (as_written[i], as_written[i + 1])
        if wanted_written.intersection(pair) and f"{pair[0]} {pair[1]}" in view.written_bigrams:
            return True
    return False


def _levels_named(view: QueryView) -> set[str]:
    return {level for level, phrases in _LEVEL_WORDS.items() if any(view.says(p) for p in phrases)}


def candidate_features(
    view: QueryView,
    hits: Sequence[SearchHit],
    profiles: Profiles,
    examples: npt.NDArray[np.float32] | None = None,
) -> npt.NDArray[np.float32]:
    """One row of :data:`FEATURES` per hit (same order).

    ``examples`` holds the hits' :data:`~indexer.examples.EXAMPLE_FEATURES` columns
    (:meth:`ExampleMemory.features`); ``None`` gives their "no example" values.
    """
    if not hits:
        return np.zeros((0, len(FEATURES)), dtype=np.float32)
    if examples is None:
        examples = ExampleMemory.none().features(None, [h.id for h in hits])
    keys = {(h.kind, h.id) for h in hits}
    found = [profiles.get(h.kind, h.id) or Profile(kind=h.kind, words=()) for h in hits]
    best_dense = max(h.raw.get("dense", 0.0) for h in hits)
    best_keyword = max(h.raw.get("keyword", 0.0) for h in hits) or 1.0
    best_titles = max(h.raw.get("keyword_titles", 0.0) for h in hits) or 1.0
    levels_named = _levels_named(view)
    foreign_asked = float(any(view.says(p) for p in _FOREIGN_WORDS))
    business_asked = float(any(view.says(p) for p in _BUSINESS_WORDS))
    query_weights = {w: profiles.weight(w) for w in set(view.content)}
    query_total = sum(query_weights.values())
    query_idf = query_total or 1.0
    content_bigrams = _bigrams(view.content)
    contained = [view.contains_name(p.words) for p in found]
    longest = max((len(p.words) for p, c in zip(found, contained, strict=True) if c), default=0)
    query_length = float(len(view.content))
    names = [profiles.derived(p) for p in found]
    # IDF of each name's words the question holds (glossary wordings included), and of the
    # question's words each name holds: the coverage features and their gaps to the best.
    matched = [sum(n.weights[w] for w in n.content_set & view.expanded) for n in names]
    covered = [m / (n.content_idf or 1.0) for m, n in zip(matched, names, strict=True)]
    reach = [sum(v for w, v in query_weights.items() if w in n.word_set) for n in names]
    contrast = _sibling_contrast(names, view.expanded)
    rows: list[list[float]] = []
    for rank, (hit, profile, inside) in enumerate(zip(hits, found, contained, strict=True), 1):
        name = names[rank - 1]
        matched_idf = matched[rank - 1]
        query_covered = reach[rank - 1]
        name_bigrams = name.bigrams
        named = qualifier_named(view, profile, profiles)
        raw, sources = hit.raw, hit.sources
        dense = raw.get("dense", 0.0)
        keyword = raw.get("keyword", 0.0)
        titles = raw.get("keyword_titles", 0.0)
        levels = profile.levels
        level_match = bool(levels_named.intersection(levels))
        # In the order of FEATURES (checked below).
        rows.append(
            [
                hit.score * 100,  # rrf
                rank,  # fused_rank
                dense,  # dense
                1 / sources["dense"] if "dense" in sources else 0.0,  # dense_rank_inv
                (best_dense - dense) if dense else 1.0,  # dense_gap
                keyword,  # keyword
                1 / sources["keyword"] if "keyword" in sources else 0.0,  # keyword_rank_inv
                keyword / best_keyword,  # keyword_rel
                titles,  # titles
                1 / sources["keyword_titles"] if "keyword_titles" in sources else 0.0,
                titles / best_titles,  # titles_rel
                query_covered / query_idf,  # query_covered
                covered[rank - 1],  # name_covered
                name.content_idf - matched_idf,  # name_unmatched_idf
                query_total - query_covered,  # query_unmatched_idf
                len(name_bigrams & view.bigrams) / len(name_bigrams) if name_bigrams else 0.0,
                len(content_bigrams & name_bigrams) / len(content_bigrams)
                if content_bigrams
                else 0.0,  # bigrams_query_covered
                float(bool(name.content) and view.content == name.content),  # exact_name
                float(inside),  # name_contained
                float(inside and len(profile.words) == longest),  # name_contained_longest
                float(bool(profile.bases)),  # is_variant
                float(profile.variants > 0),  # is_base
                math.log1p(profile.variants),  # variants_log
                named,  # qualifier_named
                float(bool(profile.bases) and named == 0.0),  # variant_unnamed
                float(any(("procedure", b.key) in keys for b in profile.bases)),
                math.log1p(len(profile.same_name)),  # same_name
                float(hit.kind == "procedure"),  # kind_procedure
                float(hit.kind == "faq"),  # kind_faq
                float(hit.kind == "plan"),  # kind_plan
                float(hit.kind == "hotline"),  # kind_hotline
                float(profile.full),  # full_detail
                float("xa" in levels),  # level_xa
                float("tinh" in levels),  # level_tinh
                float("bo" in levels),  # level_bo
                float(level_match),  # level_named_match
                float(bool(levels_named and levels) and not level_match),
                float(profile.foreign),  # foreign_record
                foreign_asked,  # foreign_asked
                float(profile.business),  # business_record
                business_asked,  # business_asked
                float(hit.field == "header"),  # header_field
                len(profile.words),  # name_length
                query_length,  # query_length
                max(covered) - covered[rank - 1],  # name_covered_gap
                (max(reach) - reach[rank - 1]) / query_idf,  # query_covered_gap
                *contrast[rank - 1],  # own_words_matched/_unmatched, sibling_words_matched
                *examples[rank - 1].tolist(),  # EXAMPLE_FEATURES
            ]
        )
    return np.asarray(rows, dtype=np.float32)


#: Candidates compared with each other for the contrast features (the first stage's
#: best; the right record is among its first ten for 97 % of train questions).
_CONTRAST_DEPTH = 10


def _sibling_contrast(
    names: Sequence[NameView], asked: frozenset[str]
) -> list[tuple[float, float, float]]:
    """Per candidate, against its nearest sibling among the first candidates.

    Near-identical names ("Đăng ký thuế lần đầu … là cá nhân" / "… là tổ chức") differ
    by a few words, and the question decides between them by naming one side. The
    nearest sibling is the other candidate whose content words overlap most (Jaccard).
    Returns IDF sums: the candidate's own words (not in the sibling) the question holds,
    its own words it does not hold, and the sibling's own words the question holds.
    """
    top = names[:_CONTRAST_DEPTH]
    out: list[tuple[float, float, float]] = []
    for i, name in enumerate(names):
        words = name.content_set
        best: NameView | None = None
        best_overlap = 0.0
        for j, other in enumerate(top):
            if j == i or not other.content_set or not words:
                continue
            overlap = len(words & other.content_set) / len(words | other.content_set)
            if overlap > best_overlap:
                best, best_overlap = other, overlap
        if best is None:
            out.append((0.0, 0.0, 0.0))
            continue
        own = words - best.content_set
        theirs = best.content_set - words
        out.append(
            (
                sum(name.weights[w] for w in own if w in asked),
                sum(name.weights[w] for w in own if w not in asked),
                sum(best.weights[w] for w in theirs if w in asked),
            )
        )
    return out


class RerankerError(RuntimeError):
    """The model file is missing, damaged or was trained on other features."""


class LightGBMReranker:
    """Scores candidate rows with LightGBM models (higher is better).

    ``path`` is LightGBM's text format; its sidecar ``<file>.json`` records the feature
    names, the SHA-256 of the training data and ``members``: the model files, beside
    ``path``, whose scores are averaged (the same examples learnt with different
    random seeds; averaging them is steadier on questions none of them has seen).
    A sidecar without ``members`` means ``path`` alone.
    """

    def __init__(self, path: Path = DEFAULT_MODEL) -> None:
        import lightgbm  # heavy import, only when a model is really used

        meta_path = path.with_suffix(".json")
        try:
            meta = json.loads(meta_path.read_text("utf-8"))
            names = meta.get("members") or [path.name]
            self._boosters = [
                lightgbm.Booster(model_file=str(path.with_name(str(name)))) for name in names
            ]
        except (OSError, ValueError, TypeError, lightgbm.basic.LightGBMError) as exc:
            raise RerankerError(f"cannot load the reranker {path}: {exc}") from exc
        if tuple(meta.get("features", ())) != FEATURES:
            raise RerankerError(f"{path} was trained on other features; retrain: tthc rank train")
        self.meta: dict[str, Any] = meta
        #: The labelled example questions the model was trained to consult.
        self.examples = ExampleMemory.none()
        if meta.get("example_questions"):
            try:
                self.examples = ExampleMemory.load(path.parent, meta["example_questions"])
            except ExampleError as exc:
                raise RerankerError(f"cannot load the reranker {path}: {exc}") from exc

    @classmethod
    def from_boosters(
        cls,
        boosters: Sequence[Any],
        meta: dict[str, Any] | None = None,
        examples: ExampleMemory | None = None,
    ) -> LightGBMReranker:
        """A reranker over models trained in this process (cross-validation)."""
        self = cls.__new__(cls)
        self._boosters = list(boosters)
        self.meta = meta or {"features": list(FEATURES)}
        self.examples = examples or ExampleMemory.none()
        return self

    def scores(self, rows: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        """One score per row: the members' mean (single-threaded: a query has ~30 rows)."""
        if rows.shape[0] == 0:
            return np.zeros(0)
        total = np.zeros(rows.shape[0], dtype=np.float64)
        for booster in self._boosters:
            total += np.asarray(booster.predict(rows, num_threads=1), dtype=np.float64)
        return total / len(self._boosters)


def family_order(
    view: QueryView, hits: list[SearchHit], profiles: Profiles, *, abroad_bases: bool = True
) -> tuple[list[SearchHit], list[tuple[int, str]]]:
    """Move every variant whose qualifier the question does not name below its base.

    Returns the reordered hits and the bases that must be brought in from the index
    because the first stage did not find them: ``(position, key)``, the base to be
    placed at ``position`` (before the variant that called for it). With
    ``abroad_bases=False`` (a question that says nothing of abroad) a base that only a
    mission abroad carries out, and whose whole name the question does not hold, is no
    base: "Thủ tục Chứng thực chữ ký trong các giấy tờ, văn bản" at an embassy does not
    go before the commune's "… (áp dụng cho cả …)".
    """
    order = list(hits)
    present = {h.id for h in hits if h.kind == "procedure"}
    missing: list[tuple[int, str]] = []
    moved = True
    guard = 0
    while moved and guard < 50:
        moved = False
        guard += 1
        for i, hit in enumerate(order):
            profile = profiles.get(hit.kind, hit.id)
            if profile is None or not profile.bases or view.contains_name(profile.words):
                # A question that holds the variant's whole name names its qualifier.
                continue
            for base in profile.bases:
                if _base_named(view, profile, base, profiles):
                    continue
                head = profiles.get("procedure", base.key)
                if (
                    not abroad_bases
                    and head is not None
                    and head.abroad
                    and not view.contains_name(head.words)
                ):
                    continue
                base_ids = {base.key, *_same_name(profiles, base.key)}
                at = next(
                    (j for j, h in enumerate(order) if h.kind == "procedure" and h.id in base_ids),
                    None,
                )
                if at is None:
                    if base.key not in present and all(k != base.key for _, k in missing):
                        missing.append((i, base.key))
                    continue
                if at > i:
                    order.insert(i, order.pop(at))
                    moved = True
                    break
            if moved:
                break
    return order, missing


def _same_name(profiles: Profiles, key: str) -> tuple[str, ...]:
    profile = profiles.get("procedure", key)
    return profile.same_name if profile is not None else ()


def collapse_same_name(
    hits: list[SearchHit],
    profiles: Profiles,
    view: QueryView | None = None,
    title_of: Callable[[str], str] | None = None,
) -> list[SearchHit]:
    """Keep the best-ranked record of each same-name group; it lists the others.

    With ``view`` and ``title_of`` (a procedure key → its full title), the group is
    answered by the member whose whole title, level words included, the question holds
    (the longest such title): asked "… (cấp tỉnh)", the provincial record stands for
    the group.
    """
    out: list[SearchHit] = []
    seen: set[str] = set()
    for hit in hits:
        if hit.kind != "procedure":
            out.append(hit)
            continue
        if hit.id in seen:
            continue
        profile = profiles.get("procedure", hit.id)
        group = profile.same_name if profile is not None else ()
        seen.add(hit.id)
        seen.update(group)
        if group and view is not None and title_of is not None:
            members = {hit.id, *group}
            hit = _named_member(hit, group, view, title_of)
            group = tuple(sorted(members - {hit.id}))
        out.append(dataclasses.replace(hit, same_name=group) if group else hit)
    return out


def _named_member(
    hit: SearchHit, group: tuple[str, ...], view: QueryView, title_of: Callable[[str], str]
) -> SearchHit:
    """The group member whose whole title the question holds, longest first."""
    best, best_len, own_len = hit.id, 0, 0
    for key in (hit.id, *group):
        words = title_words(title_of(key))
        if len(words) > best_len and view.contains_name(words):
            best, best_len = key, len(words)
            if key == hit.id:
                own_len = len(words)
    if best == hit.id or best_len <= own_len:
        return hit
    return dataclasses.replace(hit, id=best, title=title_of(best))


@functools.lru_cache(maxsize=16384)
def title_words(title: str) -> tuple[str, ...]:
    """A title's folded syllables without a leading "Thủ tục" (level words kept)."""
    words = syllables(title)
    return tuple(words[2:] if words[:2] == ["thu", "tuc"] else words)


def training_digest(lines: Sequence[str]) -> str:
    """SHA-256 over the training examples as they were fed to the model."""
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
