"""Right procedure first: the figures of issue 8, printed.

    python bench/ranking.py [--json] [--names N] [--skip-engine]

Uses the current index generation of ``$TTHC_DATA_DIR`` (default ``var/``; build it
with ``make run`` or ``tthc index build``) and the packaged reranker. Prints, for the
strict evaluation set (``eval/strict/*.jsonl``) split once into **train** (what the
ranker and the word lists may look at) and **test** (nothing is tuned on it):

* retrieval Recall@1, Recall@5 and MRR, per failure type, accented vs unaccented,
  first stage alone and with the second stage;
* the answer engine's top-1 (the procedure its reply cites);
* exact-name recall: every official procedure name asked as a question (alone, as
  written), the first hit must carry that name, level words included (any record of
  a group published under that very name counts);
* search + rerank latency p50/p95 over all questions (one process, 2 cores).

Set ``OMP_NUM_THREADS=1`` on a shared machine: the query embedder's threads spin
against other processes' and inflate every latency.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.app import build_assistant  # noqa: E402
from bot.engine.model import Question  # noqa: E402
from indexer.components import make_retriever  # noqa: E402
from indexer.evaluation import EvalItem, evaluate, load_eval_file  # noqa: E402
from indexer.rank_training import split_items  # noqa: E402
from indexer.settings import IndexSettings  # noqa: E402
from indexer.textnorm import syllables  # noqa: E402

STRICT = sorted((REPO / "eval" / "strict").glob("*.jsonl"))


def _slim(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "misses"}


def engine_top1(items: list[EvalItem]) -> dict[str, Any]:
    """Share of questions whose reply cites an expected procedure first."""
    assistant = build_assistant()
    hits = 0
    statuses: dict[str, int] = {}
    for number, item in enumerate(items):
        answer = assistant.engine.answer(
            Question(text=item.question, channel="bench", user_id=f"rank-{number}")
        )
        statuses[answer.status] = statuses.get(answer.status, 0) + 1
        hits += bool(answer.citations) and answer.citations[0].id in item.expected
    return {"n": len(items), "top1": round(hits / max(len(items), 1), 4), "status": statuses}


def _name(title: str) -> list[str]:
    words = syllables(title)
    return words[2:] if words[:2] == ["thu", "tuc"] else words


#: Official names asked inside a question, as citizens do ("lệ phí <tên> là bao nhiêu").
NAME_QUESTIONS = ("{}", "lệ phí {} là bao nhiêu", "hồ sơ {} gồm những gì")


def _asked(template: str, title: str) -> str:
    return template.format(title if template == "{}" else title[:1].lower() + title[1:])


def exact_names(
    limit: int | None, templates: tuple[str, ...] = NAME_QUESTIONS[:1]
) -> dict[str, Any]:
    """Ask every official name (alone, or inside each template); the first hit must carry
    that name (any record of a group published under that very name counts)."""
    retriever = make_retriever(IndexSettings())
    titles = retriever.titles()
    keys = sorted(titles)[:limit] if limit else sorted(titles)
    out: dict[str, Any] = {"n": len(keys)}
    for template in templates:
        right = 0
        wrong: list[dict[str, str]] = []
        latencies = []
        for key in keys:
            started = time.perf_counter()
            hits = retriever.search(_asked(template, titles[key]), k=1)
            latencies.append((time.perf_counter() - started) * 1000)
            ok = bool(hits) and _name(hits[0].title) == _name(titles[key])
            right += ok
            if not ok and len(wrong) < 20:
                wrong.append({"asked": key, "got": hits[0].id if hits else ""})
        figure = {
            "recall": round(right / max(len(keys), 1), 4),
            "latency_p50_ms": round(statistics.median(latencies), 1),
            "examples_wrong": wrong,
        }
        if template == "{}":
            out.update(figure)
        else:
            out.setdefault("in_questions", {})[template] = figure
    return out


def engine_names(limit: int | None) -> dict[str, Any]:
    """The answer engine, asked "lệ phí <tên> là bao nhiêu" in a fresh conversation for
    each official name: does its reply cite a record carrying that name?"""
    assistant = build_assistant()
    titles = make_retriever(IndexSettings()).titles()
    keys = sorted(titles)[:limit] if limit else sorted(titles)
    right = 0
    wrong: list[dict[str, str]] = []
    try:
        for n, key in enumerate(keys):
            question = Question(
                text=_asked(NAME_QUESTIONS[1], titles[key]), channel="bench", user_id=f"name-{n}"
            )
            answer = assistant.engine.answer(question)
            cited = answer.citations[0].title if answer.citations else ""
            ok = bool(cited) and _name(cited) == _name(titles[key])
            right += ok
            if not ok and len(wrong) < 20:
                wrong.append({"asked": key, "status": answer.status, "cited": cited[:80]})
    finally:
        assistant.close()
    return {
        "n": len(keys),
        "cites_that_name": round(right / max(len(keys), 1), 4),
        "examples_wrong": wrong,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--names", type=int, default=0, help="Only the first N names (0: all).")
    parser.add_argument("--skip-engine", action="store_true")
    parser.add_argument(
        "--name-questions",
        action="store_true",
        help="Also ask each name inside questions, and through the answer engine (slow).",
    )
    args = parser.parse_args()

    items = [item for path in STRICT for item in load_eval_file(path)]
    retriever = make_retriever(IndexSettings())
    figures: dict[str, Any] = {"reranker": retriever.reranker.meta if retriever.reranker else None}
    for part in ("train", "test"):
        subset = split_items(items, part)
        figures[part] = {
            "first_stage": _slim(
                evaluate(subset, lambda q: [h.id for h in retriever.first_stage(q, k=10)])
            ),
            "reranked": _slim(evaluate(subset, lambda q: [h.id for h in retriever.search(q)])),
        }
        if not args.skip_engine:
            figures[part]["engine"] = engine_top1(subset)
    templates = NAME_QUESTIONS if args.name_questions else NAME_QUESTIONS[:1]
    figures["exact_names"] = exact_names(args.names or None, templates)
    if args.name_questions:
        figures["engine_names"] = engine_names(args.names or None)

    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
        return
    for part in ("train", "test"):
        block = figures[part]
        first, final = block["first_stage"], block["reranked"]
        print(f"== {part} ({final['n']} questions)")
        print(
            f"  first stage  R@1 {first['recall@1']:.3f}  R@5 {first['recall@5']:.3f}  "
            f"MRR {first['mrr']:.3f}"
        )
        print(
            f"  reranked     R@1 {final['recall@1']:.3f}  R@5 {final['recall@5']:.3f}  "
            f"MRR {final['mrr']:.3f}  latency p50 {final['latency_ms']['p50']:.1f} ms  "
            f"p95 {final['latency_ms']['p95']:.1f} ms"
        )
        for name, t in [*final["by_accent"].items(), *final["by_tag"].items()]:
            print(f"    {name:<16}{t['n']:>5}  R@1 {t['recall@1']:.3f}  R@5 {t['recall@5']:.3f}")
        if "engine" in block:
            print(f"  engine top-1 {block['engine']['top1']:.3f}  {block['engine']['status']}")
    names = figures["exact_names"]
    print(f"== exact names: {names['recall']:.4f} of {names['n']}")
    for template, figure in names.get("in_questions", {}).items():
        print(f"   inside {template!r}: {figure['recall']:.4f}")
    if "engine_names" in figures:
        print(f"   engine cites that name: {figures['engine_names']['cites_that_name']:.4f}")


if __name__ == "__main__":
    main()
