"""Hybrid retrieval over the current generation: dense (FAISS) + keyword (BM25), fused.

Reciprocal rank fusion works on *record* ranks: each list's chunks are collapsed to
their record first, so a long procedure with many chunks counts once per list.
A new ``current`` generation is picked up on the next search, without a restart.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from indexer import integrity
from indexer.accents import AccentRestorer
from indexer.ages import other_ages_last
from indexer.dense import DenseIndex
from indexer.embedding import Embedder
from indexer.examples import ExampleMemory
from indexer.families import Profiles
from indexer.glossary import Glossary
from indexer.keyword import KeywordIndex
from indexer.rerank import (
    FEATURES,
    LightGBMReranker,
    QueryView,
    candidate_features,
    collapse_same_name,
    family_order,
)
from indexer.situations import says_abroad, situations_last
from indexer.store import (
    ACCENTS,
    CURRENT,
    DENSE,
    DENSE_FOLDED,
    GLOSSARY,
    KEYWORD,
    KEYWORD_TITLES,
    PROFILES,
    STORE,
    TITLE_POSITIONS,
    ChunkStore,
    GenerationError,
    GenerationStore,
    Manifest,
)
from indexer.textnorm import QueryFillers, has_diacritics, keyword_terms

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchHit:
    """One record found for a query, best first.

    ``field`` is the record's best-matching chunk field (e.g. "documents"), ``sources``
    the rank (1-based) the record had in each list that found it.
    """

    kind: str
    id: str
    title: str
    score: float
    field: str = ""
    sources: dict[str, int] = dataclasses.field(default_factory=dict)
    #: The record's best raw score per list (cosine for dense, BM25 for keyword lists):
    #: what the answer engine calibrates its confidence on.
    raw: dict[str, float] = dataclasses.field(default_factory=dict)
    #: Other records published under the same name (other levels, ministries,
    #: provinces): ranked as one, this hit stands for them.
    same_name: tuple[str, ...] = ()
    #: The second stage's score (0 when no learned model ranked the hits).
    rerank: float = 0.0
    #: For a variant ("… lưu động"), the keys of the base procedures it varies.
    variant_of: tuple[str, ...] = ()


@dataclass(frozen=True)
class Serving:
    """Which generation answers (what ``/readyz`` reports).

    ``fallback`` is true when ``current`` points at another generation that was refused;
    ``verified`` is false for a generation built before checksums existed.
    """

    generation: str
    current: str | None
    fallback: bool
    verified: bool
    refused: dict[str, str]
    manifest: Manifest


def _reason(error: GenerationError) -> str:
    """A short reason for ``/readyz``: the damaged file, never a filesystem path."""
    if isinstance(error, integrity.GenerationDamaged):
        return f"{error.file} {error.problem}"
    return "cannot be used here (other model, format or incomplete; see the log)"


def _with_rerank(hit: SearchHit, score: float) -> SearchHit:
    """``hit`` with its second-stage score (a field copy: ``dataclasses.replace`` costs
    more than the rest of the reordering)."""
    copied = copy.copy(hit)
    object.__setattr__(copied, "rerank", score)
    return copied


class Retriever(Protocol):
    """Finds the records that answer a question."""

    def search(
        self, query: str, *, k: int = 10, kinds: Sequence[str] | None = None
    ) -> list[SearchHit]: ...


class _Generation:
    """One loaded generation (immutable; swapped whole on reload)."""

    def __init__(self, folder: Path, embedder: Embedder) -> None:
        self.folder = folder
        self.manifest = Manifest.read(folder)
        if self.manifest.model_id != embedder.model_id:
            raise GenerationError(
                f"{folder.name} was built with {self.manifest.model_id!r}, but this process "
                f"embeds queries with {embedder.model_id!r}; rebuild: tthc index build --full"
            )
        if self.manifest.dimension != embedder.dimension:
            raise GenerationError(
                f"{folder.name}: dimension {self.manifest.dimension} != {embedder.dimension}"
            )
        # Verified before anything is opened: FAISS and SQLite read damaged bytes silently.
        started = time.perf_counter()
        self.fingerprints = integrity.verify(folder, self.manifest.files)
        self.verified = bool(self.manifest.files)
        if self.verified:
            logger.info(
                "index generation %s verified: %d files, %.1f MB in %.2f s",
                folder.name,
                len(self.manifest.files),
                integrity.total_size(self.manifest.files) / 1e6,
                time.perf_counter() - started,
            )
        else:
            logger.warning(
                "index generation %s has no checksums (built before they existed): "
                "served unverified; `tthc index build` writes a verified one",
                folder.name,
            )
        try:
            self._load(folder)
        except GenerationError:
            raise
        except Exception as exc:  # FAISS, SQLite, bm25s or numpy on a file they cannot read
            raise GenerationError(f"{folder.name} cannot be loaded: {exc!r}") from exc

    def _load(self, folder: Path) -> None:
        self.store = ChunkStore(folder / STORE)
        table = self.store.chunk_table()
        self.kinds = np.array([row[3] for row in table], dtype=object)
        self.record_ids = [row[4] for row in table]
        self.titles = [row[5] for row in table]
        self.fields = [row[6] for row in table]
        self.pos_of_sid = {int(row[2]): int(row[0]) for row in table}
        # One boolean mask per kind, computed once: filtering must cost nothing per query.
        self._kind_masks = {str(k): self.kinds == k for k in set(self.kinds.tolist())}
        self.dense = DenseIndex.load(folder / DENSE)
        self.dense_folded = (
            DenseIndex.load(folder / DENSE_FOLDED) if self.manifest.folded_dense else None
        )
        self.keyword = KeywordIndex.load(folder / KEYWORD, size=len(table))
        self.title_positions = np.load(folder / TITLE_POSITIONS)
        self.keyword_titles = KeywordIndex.load(
            folder / KEYWORD_TITLES, size=len(self.title_positions)
        )
        self.accents = AccentRestorer.load(folder / ACCENTS)
        self.profiles = Profiles.load(folder / PROFILES)
        #: The citizens' words the chunks were built with (``None`` for a generation
        #: written before generations kept them: the process's own glossary serves).
        glossary = folder / GLOSSARY
        self.glossary = Glossary.load(glossary) if glossary.is_file() else None
        #: (kind, record id) of every chunk position, for fusion.
        self.keys = [(str(k), r) for k, r in zip(self.kinds.tolist(), self.record_ids, strict=True)]
        self.first_position: dict[tuple[str, str], int] = {}
        for pos, (kind, rid) in enumerate(zip(self.kinds.tolist(), self.record_ids, strict=True)):
            self.first_position.setdefault((str(kind), rid), pos)
        #: A record published under one name with others (levels, ministries, provinces)
        #: → the group's first key: fusion ranks the group as one record, so dozens of
        #: provincial copies of one land procedure cannot fill the candidate pool.
        self.name_group: dict[tuple[str, str], tuple[str, str]] = {}
        for kind, rid in self.first_position:
            profile = self.profiles.get(kind, rid)
            if profile is not None and profile.same_name:
                self.name_group[(kind, rid)] = (kind, min(rid, *profile.same_name))

    @property
    def name(self) -> str:
        """The generation's folder name (``gen-<UTC time>-<random>``)."""
        return self.folder.name

    def recheck(self) -> None:
        """Hash again the files changed on disk since they were verified (cheap if none)."""
        self.fingerprints = integrity.recheck(self.folder, self.manifest.files, self.fingerprints)

    def kind_mask(self, kinds: Sequence[str]) -> npt.NDArray[np.bool_]:
        """Which chunks belong to one of ``kinds``."""
        mask = np.zeros(len(self.kinds), dtype=bool)
        for kind in kinds:
            if kind in self._kind_masks:
                mask |= self._kind_masks[kind]
        return mask


@dataclass(frozen=True)
class Explained:
    """Why a hit ranks where it does: its first-stage place and its features."""

    hit: SearchHit
    first_stage_rank: int
    features: dict[str, float]


class HybridRetriever:
    """Dense + keyword retrieval fused by reciprocal rank (k=60), then reranked.

    The second stage (:mod:`indexer.rerank`) reorders the first ``candidates`` fused
    records with ``reranker`` when one is given, then applies the family and
    same-name rules.
    """

    def __init__(
        self,
        *,
        store: GenerationStore,
        embedder: Embedder,
        glossary: Glossary,
        fillers: QueryFillers,
        rrf_k: int = 60,
        depth: int = 60,
        modes: Sequence[str] = ("dense", "keyword"),
        reranker: LightGBMReranker | None = None,
        candidates: int = 30,
        recheck_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._glossary = glossary
        self._fillers = fillers
        self._rrf_k = rrf_k
        self._depth = depth
        self.modes = tuple(modes)
        self.reranker = reranker
        self._candidates = candidates
        self._lock = threading.Lock()
        self._generation: _Generation | None = None
        #: What ``current`` pointed at when last looked at (maybe not what serves).
        self._current_name: str | None = None
        #: Generations this process will not load again: name → why.
        self._refused: dict[str, str] = {}
        self._recheck_seconds = recheck_seconds
        self._clock = clock
        self._checked_at = clock()
        self._warned_examples: set[str] = set()

    # ------------------------------------------------------------------ loading

    def _current_target(self) -> str | None:
        try:
            return os.readlink(self._store.index_dir / CURRENT)
        except OSError:
            return None

    def generation(self) -> _Generation:
        """The generation that serves: ``current``, or the newest intact one before it.

        A new ``current`` is loaded on the first call after the switch. A generation
        that fails to load (damaged, incomplete, other model) is refused once, with one
        ERROR log line, and the newest intact generation serves instead (the one already
        loaded when it is that one). Every ``recheck_seconds`` the files of the served
        generation are stat-ed; a file changed on disk is hashed again.
        """
        target = self._current_target()
        if target is None:
            raise GenerationError(
                f"no index in {self._store.index_dir}: run `tthc index build` first"
            )
        name = Path(target).name
        gen = self._generation
        if gen is not None and name == self._current_name and not self._recheck_due():
            return gen
        with self._lock:
            if self._generation is None or name != self._current_name:
                self._current_name = name
                self._checked_at = self._clock()
                self._generation = self._load_current(name)
            elif self._recheck_due():
                self._checked_at = self._clock()
                self._recheck()
            assert self._generation is not None
            return self._generation

    def _recheck_due(self) -> bool:
        return self._clock() - self._checked_at >= self._recheck_seconds

    def _load_current(self, name: str) -> _Generation:
        if name in self._refused:
            return self._fall_back(name, None)
        try:
            return _Generation(self._store.index_dir / name, self._embedder)
        except GenerationError as exc:
            return self._fall_back(name, exc)

    def _recheck(self) -> None:
        gen = self._generation
        assert gen is not None
        try:
            gen.recheck()
        except GenerationError as exc:
            self._generation = None  # damaged: nothing of it may serve any more
            self._generation = self._fall_back(gen.name, exc)

    def _fall_back(self, refused: str, error: GenerationError | None) -> _Generation:
        """What serves instead of ``refused``: the newest intact generation older than it.

        Every process picks the same one (generation names sort by build time); the one
        already loaded is reused when it is that one, or when no older one is intact.
        """
        if error is not None:
            self._refused[refused] = _reason(error)
        served = self._generation
        if served is not None and served.name in self._refused:
            served = None
        chosen: _Generation | None = None
        for folder in reversed(self._store.generations()):
            if folder.name >= refused or folder.name in self._refused:
                continue
            if served is not None and folder.name == served.name:
                chosen = served
                break
            try:
                chosen = _Generation(folder, self._embedder)
                break
            except GenerationError as exc:
                self._refused[folder.name] = _reason(exc)
                logger.error("index generation refused: %s", exc)
        chosen = chosen or served
        if chosen is None:
            if error is not None:
                logger.error(
                    "index generation refused: %s; no intact generation is left to serve", error
                )
                raise error
            raise GenerationError(
                f"no intact index generation in {self._store.index_dir} "
                f"(refused: {', '.join(sorted(self._refused))}); run `tthc index build`"
            )
        if error is not None:
            logger.error("index generation refused: %s; serving %s instead", error, chosen.name)
        return chosen

    def serving(self) -> Serving:
        """Which generation answers, whether it is a fallback, what was refused (/readyz)."""
        gen = self.generation()
        return Serving(
            generation=gen.name,
            current=self._current_name,
            fallback=gen.name != self._current_name,
            verified=gen.verified,
            refused=dict(self._refused),
            manifest=gen.manifest,
        )

    def _glossary_of(self, gen: _Generation) -> Glossary:
        """The glossary of the serving generation, so queries are expanded with the
        words its chunks were built with (citizens' words added by staff reach the
        query side with the rebuild, no restart); the process's own one for older
        generations."""
        return gen.glossary if gen.glossary is not None else self._glossary

    @property
    def candidates(self) -> int:
        """How many first-stage records the second stage reorders."""
        return self._candidates

    @property
    def glossary(self) -> Glossary:
        """The citizens' words this retriever expands queries with."""
        return self._glossary_of(self.generation())

    @property
    def embedder(self) -> Embedder:
        """The model that embeds queries (and the example questions they are compared with)."""
        return self._embedder

    @property
    def fillers(self) -> QueryFillers:
        """The filler phrases removed from queries."""
        return self._fillers

    def titles(self, kind: str = "procedure") -> dict[str, str]:
        """Every indexed record's title of one kind, by key."""
        gen = self.generation()
        return {rid: gen.titles[pos] for (k, rid), pos in gen.first_position.items() if k == kind}

    @property
    def manifest(self) -> Manifest:
        """The manifest of the generation in use."""
        return self.generation().manifest

    def record(self, kind: str, record_id: str) -> dict[str, object] | None:
        """A record's full JSON from the generation's store."""
        return self.generation().store.record(kind, record_id)

    # ------------------------------------------------------------------ search

    def search(
        self, query: str, *, k: int = 10, kinds: Sequence[str] | None = None
    ) -> list[SearchHit]:
        """The ``k`` best records for ``query``, optionally only of some ``kinds``."""
        first, vector = self._first_stage(query, self._candidates, kinds)
        ranked = self.second_stage(query, first, k=k, kinds=kinds, explain=False, vector=vector)
        return [e.hit for e in ranked]

    def explain(
        self, query: str, *, k: int = 10, kinds: Sequence[str] | None = None
    ) -> list[Explained]:
        """:meth:`search` with each hit's first-stage rank and second-stage features."""
        first, vector = self._first_stage(query, self._candidates, kinds)
        return self.second_stage(query, first, k=k, kinds=kinds, vector=vector)

    def second_stage(
        self,
        query: str,
        first: list[SearchHit],
        *,
        k: int = 10,
        kinds: Sequence[str] | None = None,
        reranker: LightGBMReranker | Literal["default"] | None = "default",
        explain: bool = True,
        vector: npt.NDArray[np.float32] | None = None,
    ) -> list[Explained]:
        """Rerank first-stage hits, then apply the family and same-name rules.

        ``reranker`` overrides the retriever's model (``None``: first-stage order),
        e.g. for cross-validation over cached first-stage hits; ``explain=False``
        leaves each hit's features out (what a search needs). ``vector`` is the
        question's query embedding when the caller has it (else it is computed when
        the model consults example questions).
        """
        gen = self.generation()
        model = self.reranker if reranker == "default" else reranker
        view = QueryView.of(query, self._glossary_of(gen), self._fillers)
        memory = self._examples_of(model)
        if len(memory) and vector is None and first:
            vector = self.query_vector(query)
        rows = candidate_features(
            view, first, gen.profiles, memory.features(vector, [h.id for h in first])
        )
        place = {(h.kind, h.id): i for i, h in enumerate(first, start=1)}
        features = (
            {
                (h.kind, h.id): dict(zip(FEATURES, map(float, row), strict=True))
                for h, row in zip(first, rows, strict=True)
            }
            if explain
            else {}
        )
        hits = first
        if model is not None and first:
            scores = model.scores(rows).tolist()
            order = sorted(range(len(first)), key=lambda i: (-scores[i], i))
            hits = [_with_rerank(first[i], round(scores[i], 4)) for i in order]
        # An age the question states rules out names limited to other ages
        # ("15 tuổi" → not "… cho người dưới 14 tuổi").
        hits = other_ages_last(query, hits, lambda h: h.title if h.kind == "procedure" else None)
        # So do a mission abroad for a question that says nothing of abroad (its
        # same-name record at home stands in for it first), and a renewal for one that
        # says "lần đầu" ("làm căn cước lần đầu" → not "Cấp đổi thẻ căn cước").
        home = not says_abroad(query)
        if home:
            hits = [self._home_copy(gen, h, place) for h in hits]
        hits = situations_last(
            query,
            hits,
            lambda h: h.title if h.kind == "procedure" else None,
            lambda h: bool((p := gen.profiles.get(h.kind, h.id)) and p.abroad),
            lambda h: bool((p := gen.profiles.get(h.kind, h.id)) and view.contains_name(p.words)),
            home=home,
        )
        hits, missing = family_order(view, hits, gen.profiles, abroad_bases=not home)
        allowed = not kinds or "procedure" in kinds
        for offset, (at, key) in enumerate(missing if allowed else []):
            base = self._base_hit(gen, key, hits[min(at + offset, len(hits) - 1)])
            if base is not None:
                hits.insert(at + offset, base)
                place.setdefault((base.kind, base.id), 0)

        def title_of(key: str) -> str:
            pos = gen.first_position.get(("procedure", key))
            return gen.titles[pos] if pos is not None else ""

        hits = [
            dataclasses.replace(h, variant_of=tuple(b.key for b in p.bases))
            if (p := gen.profiles.get(h.kind, h.id)) is not None and p.bases
            else h
            for h in collapse_same_name(hits, gen.profiles, view, title_of)[:k]
        ]
        return [
            Explained(h, place.get((h.kind, h.id), 0), features.get((h.kind, h.id), {}))
            for h in hits
        ]

    def _examples_of(self, model: LightGBMReranker | None) -> ExampleMemory:
        """The model's example questions, when this process embeds queries with the
        model that embedded them (else none: their features keep "no example" values)."""
        if model is None or "dense" not in self.modes or not len(model.examples):
            return ExampleMemory.none()
        if model.examples.model_id != self._embedder.model_id:
            if model.examples.model_id not in self._warned_examples:
                self._warned_examples.add(model.examples.model_id)
                logger.warning(
                    "the reranker's example questions were embedded with %s, but this process "
                    "embeds queries with %s: they are not consulted (retrain: tthc rank train)",
                    model.examples.model_id,
                    self._embedder.model_id,
                )
            return ExampleMemory.none()
        return model.examples

    @staticmethod
    def _home_copy(
        gen: _Generation, hit: SearchHit, place: dict[tuple[str, str], int]
    ) -> SearchHit:
        """``hit``, or, when only a mission abroad carries it out, the first record of
        its same-name group done at home ("Thủ tục đăng ký lại kết hôn" at the commune
        for the embassy's); ``place`` learns the copy's first-stage place."""
        profile = gen.profiles.get(hit.kind, hit.id)
        if hit.kind != "procedure" or profile is None or not profile.abroad:
            return hit
        for key in profile.same_name:
            other = gen.profiles.get("procedure", key)
            pos = gen.first_position.get(("procedure", key))
            if other is not None and not other.abroad and pos is not None:
                place.setdefault(("procedure", key), place.get((hit.kind, hit.id), 0))
                return dataclasses.replace(
                    hit, id=key, title=gen.titles[pos], field=gen.fields[pos]
                )
        return hit

    @staticmethod
    def _base_hit(gen: _Generation, key: str, variant: SearchHit) -> SearchHit | None:
        """A family base the first stage missed, placed where its variant stood."""
        pos = gen.first_position.get(("procedure", key))
        if pos is None:
            return None
        return SearchHit(
            kind="procedure",
            id=key,
            title=gen.titles[pos],
            score=variant.score,
            field=gen.fields[pos],
            sources={"family": 1},
            raw=dict(variant.raw),
            rerank=variant.rerank,
        )

    def first_stage(
        self, query: str, *, k: int = 30, kinds: Sequence[str] | None = None
    ) -> list[SearchHit]:
        """The fused dense + keyword ranking alone (what the second stage reorders)."""
        return self._first_stage(query, k, kinds)[0]

    def query_vector(self, query: str) -> npt.NDArray[np.float32]:
        """The question's dense query embedding, as the first stage computes it: fillers
        removed, diacritics restored on an unaccented question, glossary-expanded."""
        gen = self.generation()
        return self._query_vector(gen, self._glossary_of(gen), query)

    def _query_vector(
        self, gen: _Generation, glossary: Glossary, query: str
    ) -> npt.NDArray[np.float32]:
        # The model reads accented Vietnamese far better than folded text: put the
        # marks back on an unaccented query from the index's own vocabulary.
        typed = self._fillers.remove_from(query)
        restored = typed if has_diacritics(query) else gen.accents.restore(typed)
        vectors = self._embedder.embed_queries([glossary.expand(restored)])
        return np.asarray(vectors[0], dtype=np.float32)

    def _first_stage(
        self, query: str, k: int, kinds: Sequence[str] | None
    ) -> tuple[list[SearchHit], npt.NDArray[np.float32] | None]:
        """The first stage's hits and the dense query vector (``None`` without dense)."""
        gen = self.generation()
        glossary = self._glossary_of(gen)
        allowed = None if not kinds else gen.kind_mask(kinds)
        lists: dict[str, list[tuple[int, float]]] = {}
        accented = has_diacritics(query)
        vector: npt.NDArray[np.float32] | None = None
        if "dense" in self.modes:
            vector = self._query_vector(gen, glossary, query)
            lists["dense"] = self._filtered(
                self._dense_positions(gen, gen.dense, vector, allowed is not None), allowed
            )
            if not accented and gen.dense_folded is not None:
                typed = self._fillers.remove_from(query)
                folded_vector = self._embedder.embed_queries([glossary.expand(typed)])[0]
                lists["dense_folded"] = self._filtered(
                    self._dense_positions(
                        gen, gen.dense_folded, folded_vector, allowed is not None
                    ),
                    allowed,
                )
        if "keyword" in self.modes:
            # Expanded and tokenised once for both keyword indexes.
            terms = keyword_terms(glossary.expand(query))
            top, scores = gen.keyword.search_terms(terms, self._depth * 4)
            lists["keyword"] = self._filtered(
                list(zip(top.tolist(), scores.tolist(), strict=True)), allowed
            )
            top, scores = gen.keyword_titles.search_terms(terms, self._depth * 4)
            lists["keyword_titles"] = self._filtered(
                list(zip(gen.title_positions[top].tolist(), scores.tolist(), strict=True)),
                allowed,
            )
        return self._fuse(gen, lists, k), vector

    def _dense_positions(
        self,
        gen: _Generation,
        index: DenseIndex,
        vector: npt.NDArray[np.float32],
        filtered: bool = False,
    ) -> list[tuple[int, float]]:
        # Dense chunks are nearly one per record: 1.5 × depth of them already give the
        # first ``depth`` records (checked on the train questions); a kind filter
        # thins the list out, so it reads deeper.
        wanted = self._depth * 4 if filtered else self._depth * 3 // 2
        sids, scores = index.search(vector, wanted)
        pos_of = gen.pos_of_sid
        return [
            (pos_of[s], v)
            for s, v in zip(sids.tolist(), scores.tolist(), strict=True)
            if s in pos_of
        ]

    @staticmethod
    def _filtered(
        positions: list[tuple[int, float]], allowed: npt.NDArray[np.bool_] | None
    ) -> list[tuple[int, float]]:
        if allowed is None:
            return positions
        return [p for p in positions if allowed[p[0]]]

    def _fuse(
        self, gen: _Generation, lists: dict[str, list[tuple[int, float]]], k: int
    ) -> list[SearchHit]:
        # Keys here are same-name groups (a record alone is its own group); the hit
        # shown for a group is the member that ranked best in any list.
        scores: dict[tuple[str, str], float] = {}
        best: dict[tuple[str, str], tuple[float, int]] = {}
        sources: dict[tuple[str, str], dict[str, int]] = {}
        raw: dict[tuple[str, str], dict[str, float]] = {}
        keys = gen.keys
        group_of = gen.name_group
        for name, positions in lists.items():
            rank = 0
            seen: set[tuple[str, str]] = set()
            for pos, value in positions:
                key = keys[pos]
                key = group_of.get(key, key)
                if key in seen:
                    continue
                seen.add(key)
                rank += 1
                if rank > self._depth:
                    break
                contribution = 1.0 / (self._rrf_k + rank)
                scores[key] = scores.get(key, 0.0) + contribution
                sources.setdefault(key, {})[name] = rank
                raw.setdefault(key, {})[name] = round(value, 4)
                if key not in best or contribution > best[key][0]:
                    best[key] = (contribution, pos)
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]
        return [
            SearchHit(
                kind=kind,
                id=keys[best[group][1]][1],
                title=gen.titles[best[group][1]],
                score=round(score, 6),
                field=gen.fields[best[group][1]],
                sources=sources[group],
                raw=raw[group],
            )
            for group, score in ranked
            for kind in (group[0],)
        ]
