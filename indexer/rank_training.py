"""Training the second-stage ranker (``tthc rank train``).

Examples come from two places, and never from a test split:

* the **train** part of the strict evaluation sets (``eval/strict/*.jsonl``; a line is
  in the train part when :func:`split_of` says so — the rule is a hash of the
  question, fixed once, so nobody picks which questions are held out);
* pairs generated from the records themselves: each procedure's official name (as
  written and without diacritics, alone and with an aspect phrase), and for every
  variant its base's name with an aspect phrase, labelled with the base (a citizen
  who names no qualifier needs the base).

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


def featurise(
    retriever: HybridRetriever,
    examples: Sequence[Example],
    *,
    hits: dict[str, list[SearchHit]] | None = None,
    on_progress: Callable[[int], object] | None = None,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], list[int], list[str]]:
    """Feature rows, labels and group sizes; groups without a relevant candidate are
    left out (they teach a ranking model nothing). ``hits`` holds first-stage
    candidates already computed (see :func:`first_stages`)."""
    gen = retriever.generation()
    rows: list[np.ndarray[Any, Any]] = []
    labels: list[np.ndarray[Any, Any]] = []
    groups: list[int] = []
    lines: list[str] = []
    for example in examples:
        found = hits.get(example.question) if hits is not None else None
        if found is None:
            found = retriever.first_stage(example.question, k=retriever.candidates)
        if on_progress is not None:
            on_progress(1)
        wanted = set(example.expected)
        relevant = np.array([float(h.id in wanted) for h in found], dtype=np.float32)
        if not found or relevant.sum() == 0:
            continue
        view = QueryView.of(example.question, retriever.glossary, retriever.fillers)
        rows.append(candidate_features(view, found, gen.profiles))
        labels.append(relevant)
        groups.append(len(found))
        lines.append(json.dumps([example.question, sorted(wanted)], ensure_ascii=False))
    matrix = np.vstack(rows) if rows else np.zeros((0, len(FEATURES)), dtype=np.float32)
    target = np.concatenate(labels) if labels else np.zeros(0, dtype=np.float32)
    return matrix, target, groups, lines


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


def cross_validate(
    retriever: HybridRetriever,
    examples: Sequence[Example],
    made: Sequence[Example],
    *,
    folds: int = 5,
    hits: dict[str, list[SearchHit]] | None = None,
    repeat: int = 1,
) -> dict[str, Any]:
    """``folds``-fold cross-validation on train questions: each fold is answered by a
    model trained on the other folds plus the name-made questions, through the whole
    second stage (family and same-name rules included). ``repeat`` counts each train
    question that many times in training (the name-made ones once)."""
    hits = dict(hits or {})
    hits.update(first_stages(retriever, [e.question for e in examples if e.question not in hits]))
    made_part = featurise(retriever, made, hits=hits)
    # Each train question featurised once; the folds only regroup them.
    own = [featurise(retriever, [e], hits=hits) for e in examples]
    tally = Tally()
    misses: list[dict[str, Any]] = []
    for part_no in range(folds):
        held = [e for e in examples if fold_of(e.question, folds) == part_no]
        kept = [
            rows
            for e, rows in zip(examples, own, strict=True)
            if fold_of(e.question, folds) != part_no
        ] * repeat
        matrix = np.vstack([*(k[0] for k in kept), made_part[0]])
        labels = np.concatenate([*(k[1] for k in kept), made_part[1]])
        groups = [g for k in kept for g in k[2]] + made_part[2]
        model = LightGBMReranker.from_boosters(fit(matrix, labels, groups))
        for example in held:
            ranked = retriever.second_stage(
                example.question, hits[example.question], reranker=model, explain=False
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
) -> dict[str, Any]:
    """Fit LambdaRank and write ``out`` (the first seed's model), one
    ``<stem>.<n><suffix>`` file per further seed, and ``out.with_suffix('.json')``."""
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
    out.with_suffix(".json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n")
    tmp.replace(out)
    return meta
