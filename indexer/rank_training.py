"""Training the second-stage ranker (``tthc rank train``).

Examples come from three places, and never from a test split:

* the **train** part of the strict evaluation sets (``eval/strict/*.jsonl``; a line is
  in the train part when :func:`split_of` says so — the rule is a hash of the
  question, fixed once, so nobody picks which questions are held out);
* questions written for training only (:data:`CURATED`, ``indexer/data/train_questions/``):
  labelled like the strict set, never evaluated, and written without reading the strict
  set; a line that repeats a strict question (case- and space-insensitively) is skipped,
  so a test question can never be learnt;
* pairs generated from the records themselves: each procedure's official name (as
  written and without diacritics, alone and with an aspect phrase), and for every
  variant its base's name with an aspect phrase, labelled with the base (a citizen
  who names no qualifier needs the base).

The train and curated questions are also written beside the model as its example questions
(:mod:`indexer.examples`), which the second stage consults for every new question. In
training, each train question is compared only with the examples of the other
:data:`MEMORY_FOLDS` parts (never with itself), and a name-made question with all.

For each example the first stage gives up to 30 candidates; a candidate is relevant
when its key is in ``expected``. The model is LightGBM's LambdaRank, learnt once per
seed of :data:`SEEDS` on the same examples (their scores are averaged); the files are
written with a JSON sidecar holding the feature names, the parameters, the member files
and the SHA-256 of the examples, so a model can be traced to exactly what it learnt from.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from indexer.evaluation import EvalItem, Tally, first_rank, load_eval_file, miss
from indexer.examples import EXAMPLE_FEATURES, ExampleMemory
from indexer.families import Profiles
from indexer.rerank import (
    FEATURES,
    LightGBMReranker,
    QueryView,
    candidate_features,
    training_digest,
)
from indexer.retriever import HybridRetriever, SearchHit
from indexer.textnorm import fold

#: Aspect phrases appended to generated questions (how citizens ask about one thing).
ASPECTS = ("", "lệ phí bao nhiêu", "cần giấy tờ gì", "mất bao lâu", "nộp ở đâu", "thủ tục")

PARAMS: dict[str, Any] = {
    "objective": "lambdarank",
    "n_estimators": 300,
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_child_samples": 10,
    "subsample": 0.9,
    "subsample_freq": 1,
    "colsample_bytree": 0.9,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}


#: One model per seed, their scores averaged. Five-fold cross-validation on the train
#: split: single seeds 0.825 / 0.825 / 0.828 / 0.825 (seeds 7, 8, 9, 10), averages of
#: three 0.832 (7, 8, 9) and 0.836 (10, 11, 12).
SEEDS: tuple[int, ...] = (7, 8, 9)

#: Parts of the train split for the example features of train questions
#: (see :func:`example_memories`).
MEMORY_FOLDS = 5

Vector = np.ndarray[Any, Any]


def split_of(question: str) -> str:
    """``"test"`` for about 40 % of questions, by a hash of the text; else ``"train"``.

    The same rule is written in ``eval/strict/validate_strict.py``; a test keeps the
    two in step.
    """
    value = int(hashlib.sha1(question.strip().encode("utf-8")).hexdigest()[:8], 16)
    return "test" if value % 5 < 2 else "train"


def split_items(items: Iterable[EvalItem], part: str) -> list[EvalItem]:
    """The items of one split part (``"train"`` or ``"test"``)."""
    return [item for item in items if split_of(item.question) == part]


@dataclass(frozen=True)
class Example:
    """One training question and the keys that count as right for it."""

    question: str
    expected: tuple[str, ...]
    source: str


def strict_train_examples(paths: Sequence[Path]) -> list[Example]:
    """The train part of the strict evaluation files."""
    items = [item for path in paths for item in load_eval_file(path)]
    return [Example(i.question, i.expected, "eval-train") for i in split_items(items, "train")]


#: Folder of the training-only question files (``*.jsonl``, the strict set's format).
CURATED = Path(__file__).resolve().parent / "data" / "train_questions"


def question_key(question: str) -> str:
    """What two questions must share to count as one: the text case-folded, its runs of
    spaces made one. The same rule is written in ``eval/strict/validate_strict.py``; a
    test keeps the two in step."""
    return " ".join(question.casefold().split())


def curated_examples(paths: Sequence[Path], strict: Sequence[Path]) -> list[Example]:
    """The training-only questions of ``paths``, less any that repeats a question of
    the ``strict`` evaluation files (either split) or an earlier curated line.

    Raises :class:`indexer.evaluation.EvalFileError` (``file:line: reason``) on a
    broken line.
    """
    seen = {question_key(i.question) for path in strict for i in load_eval_file(path)}
    out: list[Example] = []
    for path in paths:
        for item in load_eval_file(path):
            text = question_key(item.question)
            if text not in seen:
                seen.add(text)
                out.append(Example(item.question, item.expected, "curated"))
    return out


def generated_examples(
    profiles: Profiles, titles: dict[str, str], *, per_kind: int = 1800, seed: int = 11
) -> list[Example]:
    """Questions made from the records' names (see the module docstring)."""
    rng = random.Random(seed)
    keys = sorted(k for k, p in profiles.by_record.items() if p.kind == "procedure")
    rng.shuffle(keys)
    examples: list[Example] = []
    for record in keys[:per_kind]:
        key = record.split(":", 1)[1]
        profile = profiles.by_record[record]
        name = titles.get(key, "")
        if not name:
            continue
        group = (key, *profile.same_name)
        aspect = rng.choice(ASPECTS)
        asked = f"{name} {aspect}".strip()
        examples.append(Example(asked, group, "name"))
        folded = fold(f"{name} {rng.choice(ASPECTS)}".strip())
        examples.append(Example(folded, group, "name-folded"))
    variants = sorted(k for k, p in profiles.by_record.items() if p.bases)
    rng.shuffle(variants)
    for record in variants[: per_kind // 3]:
        for base in profiles.by_record[record].bases[:1]:
            base_profile = profiles.get("procedure", base.key)
            name = titles.get(base.key, "")
            if base_profile is None or not name:
                continue
            aspect = rng.choice(ASPECTS[1:])
            text = f"{name} {aspect}"
            if rng.random() < 0.3:
                text = fold(text)
            examples.append(Example(text, (base.key, *base_profile.same_name), "base"))
    return examples


def first_stages(
    retriever: HybridRetriever,
    questions: Iterable[str],
    *,
    on_progress: Callable[[int], object] | None = None,
) -> dict[str, list[SearchHit]]:
    """The first stage's candidates for each distinct question (computed once)."""
    out: dict[str, list[SearchHit]] = {}
    for question in questions:
        if question not in out:
            out[question] = retriever.first_stage(question, k=retriever.candidates)
        if on_progress is not None:
            on_progress(1)
    return out


def query_vectors(
    retriever: HybridRetriever,
    questions: Iterable[str],
    *,
    on_progress: Callable[[int], object] | None = None,
) -> dict[str, Vector]:
    """Each distinct question's query embedding (:meth:`HybridRetriever.query_vector`)."""
    out: dict[str, Vector] = {}
    for question in questions:
        if question not in out:
            out[question] = retriever.query_vector(question)
        if on_progress is not None:
            on_progress(1)
    return out


def memory_fold(question: str) -> int:
    """The part (of :data:`MEMORY_FOLDS`) a train question's example features are
    computed without: its own part is left out of the memory it is compared with."""
    return fold_of("memory:" + question, MEMORY_FOLDS)


def example_memories(
    examples: Sequence[Example], vectors: dict[str, Vector], model_id: str
) -> tuple[ExampleMemory, dict[int, ExampleMemory]]:
    """The memory of all ``examples`` (what serves, and what the name-made questions
    are compared with) and, per :func:`memory_fold` part, the memory without that part.

    A train question compared with a memory holding itself would find its own label at
    cosine 1; the model would learn to trust the memory far more than a new question
    can. So each train question is featurised against the memory without its part.
    """
    items = [(e.question, e.expected) for e in examples]
    full = ExampleMemory.of(items, vectors, model_id)
    parts = {
        part: ExampleMemory.of(
            [(e.question, e.expected) for e in examples if memory_fold(e.question) != part],
            vectors,
            model_id,
        )
        for part in range(MEMORY_FOLDS)
    }
    return full, parts


@dataclass(frozen=True)
class _Rows:
    """One example's candidate rows (example columns not filled in yet)."""

    example: Example
    rows: np.ndarray[Any, Any]
    labels: np.ndarray[Any, Any]
    keys: list[str]


def _rows(
    retriever: HybridRetriever, example: Example, hits: dict[str, list[SearchHit]] | None
) -> _Rows | None:
    gen = retriever.generation()
    found = hits.get(example.question) if hits is not None else None
    if found is None:
        found = retriever.first_stage(example.question, k=retriever.candidates)
    wanted = set(example.expected)
    relevant = np.array([float(h.id in wanted) for h in found], dtype=np.float32)
    if not found or relevant.sum() == 0:
        return None  # a group without a relevant candidate teaches a ranking model nothing
    view = QueryView.of(example.question, retriever.glossary, retriever.fillers)
    rows = candidate_features(view, found, gen.profiles)
    return _Rows(example, rows, relevant, [h.id for h in found])


def _assemble(
    parts: Sequence[tuple[_Rows, ExampleMemory]], vectors: dict[str, Vector]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], list[int], list[str]]:
    """Stack rows, filling each one's example columns from its memory."""
    width = len(EXAMPLE_FEATURES)
    blocks, labels, groups, lines = [], [], [], []
    for part, memory in parts:
        rows = part.rows.copy()
        rows[:, -width:] = memory.features(vectors.get(part.example.question), part.keys)
        blocks.append(rows)
        labels.append(part.labels)
        groups.append(len(part.keys))
        lines.append(
            json.dumps([part.example.question, sorted(part.example.expected)], ensure_ascii=False)
        )
    if not blocks:
        return np.zeros((0, len(FEATURES)), dtype=np.float32), np.zeros(0), [], []
    return np.vstack(blocks), np.concatenate(labels), groups, lines


def featurise(
    retriever: HybridRetriever,
    examples: Sequence[Example],
    *,
    hits: dict[str, list[SearchHit]] | None = None,
    memory: Callable[[Example], ExampleMemory] | None = None,
    vectors: dict[str, Vector] | None = None,
    on_progress: Callable[[int], object] | None = None,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], list[int], list[str]]:
    """Feature rows, labels, group sizes and one training line per kept example.

    Groups without a relevant candidate are left out. ``hits`` holds first-stage
    candidates already computed (see :func:`first_stages`); ``memory`` gives the
    example questions each example is compared with (with its query embedding from
    ``vectors``; without them the example columns keep their "no example" values).
    """
    kept: list[tuple[_Rows, ExampleMemory]] = []
    none = ExampleMemory.none()
    for example in examples:
        part = _rows(retriever, example, hits)
        if on_progress is not None:
            on_progress(1)
        if part is not None:
            kept.append((part, memory(example) if memory is not None else none))
    return _assemble(kept, vectors or {})


def fit(matrix: np.ndarray[Any, Any], labels: np.ndarray[Any, Any], groups: list[int]) -> list[Any]:
    """LambdaRank models (LightGBM boosters, one per seed of :data:`SEEDS`) over
    featurised examples."""
    import lightgbm

    boosters = []
    for seed in SEEDS:
        ranker = lightgbm.LGBMRanker(**PARAMS, random_state=seed)
        ranker.fit(matrix, labels, group=groups)
        boosters.append(ranker.booster_)
    return boosters


def fold_of(question: str, folds: int) -> int:
    """The cross-validation fold of a train question (a hash, fixed like the split)."""
    return int(hashlib.sha1(question.strip().encode("utf-8")).hexdigest()[8:16], 16) % folds


def _held(example: Example, folds: int, part: int) -> bool:
    """Whether ``example`` is held out in fold ``part`` (only strict train questions are)."""
    return example.source == "eval-train" and fold_of(example.question, folds) == part


def cross_validate(
    retriever: HybridRetriever,
    examples: Sequence[Example],
    made: Sequence[Example],
    *,
    folds: int = 5,
    hits: dict[str, list[SearchHit]] | None = None,
    vectors: dict[str, Vector] | None = None,
    repeat: int = 1,
) -> dict[str, Any]:
    """``folds``-fold cross-validation on train questions: each fold of the strict
    train split is answered by a model trained on the other folds, the curated
    questions (always in training, never held out) and the name-made questions,
    through the whole second stage (family and same-name rules included), consulting
    as example questions only the other folds and the curated ones. ``repeat`` counts
    each train question that many times in training (the name-made ones once).
    ``vectors`` holds query embeddings already computed (see :func:`query_vectors`)."""
    hits = dict(hits or {})
    hits.update(first_stages(retriever, [e.question for e in examples if e.question not in hits]))
    vectors = dict(vectors or {})
    asked = [e.question for e in [*examples, *made] if e.question not in vectors]
    vectors.update(query_vectors(retriever, asked))
    model_id = retriever.embedder.model_id
    # Each question featurised once; the folds only regroup the rows and refill the
    # example columns.
    own = {e.question: r for e in examples if (r := _rows(retriever, e, hits)) is not None}
    made_rows = [r for e in made if (r := _rows(retriever, e, hits)) is not None]
    tally = Tally()
    misses: list[dict[str, Any]] = []
    for part_no in range(folds):
        held = [e for e in examples if _held(e, folds, part_no)]
        training = [e for e in examples if not _held(e, folds, part_no)]
        full, parts = example_memories(training, vectors, model_id)
        chosen = [
            (own[e.question], parts[memory_fold(e.question)]) for e in training if e.question in own
        ] * repeat
        matrix, labels, groups, _ = _assemble([*chosen, *((r, full) for r in made_rows)], vectors)
        model = LightGBMReranker.from_boosters(fit(matrix, labels, groups), examples=full)
        for example in held:
            ranked = retriever.second_stage(
                example.question,
                hits[example.question],
                reranker=model,
                explain=False,
                vector=vectors[example.question],
            )
            ids = [e.hit.id for e in ranked]
            rank = first_rank(ids, example.expected)
            tally.add(rank)
            if rank != 1:
                misses.append(miss(example.question, example.expected, rank, ids))
    return {**tally.as_dict(), "folds": folds, "misses": misses}


def train_model(
    matrix: np.ndarray[Any, Any],
    labels: np.ndarray[Any, Any],
    groups: list[int],
    lines: list[str],
    out: Path,
    *,
    sources: dict[str, int],
    examples: ExampleMemory | None = None,
) -> dict[str, Any]:
    """Fit LambdaRank and write ``out`` (the first seed's model), one
    ``<stem>.<n><suffix>`` file per further seed, ``out.with_suffix('.json')`` and,
    when ``examples`` holds any, the example question files beside them."""
    import lightgbm

    boosters = fit(matrix, labels, groups)
    out.parent.mkdir(parents=True, exist_ok=True)
    files = [out] + [out.with_name(f"{out.stem}.{n}{out.suffix}") for n in range(1, len(boosters))]
    for booster, file in zip(boosters[1:], files[1:], strict=True):
        tmp_member = file.with_name(file.name + ".tmp")
        booster.save_model(str(tmp_member))
        tmp_member.replace(file)
    tmp = out.with_suffix(".tmp")
    boosters[0].save_model(str(tmp))
    meta = {
        "features": list(FEATURES),
        "params": PARAMS,
        "seeds": list(SEEDS),
        "members": [file.name for file in files],
        "lightgbm": lightgbm.__version__,
        "training_sha256": training_digest(lines),
        "examples": len(groups),
        "rows": int(matrix.shape[0]),
        "sources": sources,
        "trained_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if examples is not None and len(examples):
        meta["example_questions"] = examples.write(out.parent)
    out.with_suffix(".json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n")
    tmp.replace(out)
    return meta
