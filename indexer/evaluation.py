"""Retrieval evaluation: Recall@1, Recall@5, MRR, per-tag and unaccented breakdowns."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer.textnorm import has_diacritics


class EvalFileError(ValueError):
    """An evaluation file line is malformed (message names file and line)."""


@dataclass(frozen=True)
class EvalItem:
    """One labelled question: any of ``expected`` is a correct answer."""

    question: str
    expected: tuple[str, ...]
    tags: tuple[str, ...]


def load_eval_file(path: Path) -> list[EvalItem]:
    """Read ``{"question", "expected": [ids], "tags": [...]}`` lines."""
    items: list[EvalItem] = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            question = str(obj["question"]).strip()
            expected = tuple(str(e) for e in obj["expected"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise EvalFileError(f"{path}:{number}: {exc}") from exc
        if not question or not expected:
            raise EvalFileError(f"{path}:{number}: question and expected are required")
        items.append(EvalItem(question, expected, tuple(obj.get("tags") or ())))
    return items


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Tally:
    """Recall@1, Recall@5 and MRR over the ranks of the right answer (None: not found)."""

    n: int = 0
    r1: int = 0
    r5: int = 0
    rr: float = 0.0

    def add(self, rank: int | None) -> None:
        self.n += 1
        if rank is not None:
            self.r1 += rank == 1
            self.r5 += rank <= 5
            self.rr += 1.0 / rank

    def as_dict(self) -> dict[str, float]:
        n = max(self.n, 1)
        return {
            "n": self.n,
            "recall@1": round(self.r1 / n, 4),
            "recall@5": round(self.r5 / n, 4),
            "mrr": round(self.rr / n, 4),
        }


def first_rank(ids: Sequence[str], expected: Collection[str]) -> int | None:
    """1-based rank of the first right id in ``ids``, or None."""
    return next((i + 1 for i, rid in enumerate(ids) if rid in expected), None)


def miss(
    question: str, expected: Collection[str], rank: int | None, ids: Sequence[str]
) -> dict[str, Any]:
    """What a report shows of a question not answered first: its rank and the top three."""
    return {"question": question, "expected": list(expected), "rank": rank, "top": list(ids[:3])}


def evaluate(items: Sequence[EvalItem], search: Callable[[str], list[str]]) -> dict[str, Any]:
    """Run every question through ``search`` (returns ranked ids) and score it."""
    overall = Tally()
    by_tag: dict[str, Tally] = {}
    by_accent = {"accented": Tally(), "unaccented": Tally()}
    latencies: list[float] = []
    misses: list[dict[str, Any]] = []
    for item in items:
        started = time.perf_counter()
        ids = search(item.question)
        latencies.append((time.perf_counter() - started) * 1000)
        rank = first_rank(ids, item.expected)
        overall.add(rank)
        for tag in item.tags:
            by_tag.setdefault(tag, Tally()).add(rank)
        by_accent["accented" if has_diacritics(item.question) else "unaccented"].add(rank)
        if rank != 1:
            misses.append(miss(item.question, item.expected, rank, ids))
    return {
        **overall.as_dict(),
        "by_accent": {k: v.as_dict() for k, v in by_accent.items()},
        "by_tag": {k: v.as_dict() for k, v in sorted(by_tag.items())},
        "latency_ms": {
            "p50": round(_percentile(latencies, 50), 2),
            "p95": round(_percentile(latencies, 95), 2),
            "mean": round(statistics.fmean(latencies), 2) if latencies else 0.0,
        },
        "misses": misses,
    }


def format_report(report: dict[str, Any]) -> str:
    """A plain-text table of an :func:`evaluate` report."""
    lines = [
        f"questions {report['n']}  Recall@1 {report['recall@1']:.3f}  "
        f"Recall@5 {report['recall@5']:.3f}  MRR {report['mrr']:.3f}",
        f"latency p50 {report['latency_ms']['p50']:.1f} ms  "
        f"p95 {report['latency_ms']['p95']:.1f} ms",
        "",
        f"{'slice':<24}{'n':>5}{'R@1':>8}{'R@5':>8}{'MRR':>8}",
    ]
    rows = list(report["by_accent"].items()) + list(report["by_tag"].items())
    for name, t in rows:
        lines.append(
            f"{name:<24}{t['n']:>5}{t['recall@1']:>8.3f}{t['recall@5']:>8.3f}{t['mrr']:>8.3f}"
        )
    return "\n".join(lines)
