"""Plan-passage benchmark over eval/plans_strict.jsonl; prints its figures per split.

    python bench/plans.py [--json] [--show-misses] [--split train|test|all]

Needs a built index in ``$TTHC_DATA_DIR`` (seeds only: ``tthc kb import data/seeds/*.txt``
then ``tthc index build``; or the whole bundled data). Each question is asked in a fresh
conversation. Figures, for the ``train`` and ``test`` splits of the file (the split rule
is :func:`split_of`, the same as the other evaluation sets):

* ``R@1`` / ``R@5``: the plan named in ``expected`` is the first / among the first five
  records the hybrid retriever returns (every kind competes);
* ``cited``: the engine answers (status ``answered``) and cites that plan;
* ``passage``: the engine's reply contains the item's ``passage``, an exact substring of
  the plan text that holds the answer (whitespace-normalised on both sides).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.app import build_assistant  # noqa: E402
from bot.engine.model import Question  # noqa: E402

DEFAULT_FILE = REPO / "eval" / "plans_strict.jsonl"


def split_of(question: str) -> str:
    """``test`` for about two in five questions, fixed by the question's SHA-1."""
    digest = hashlib.sha1(question.strip().encode("utf-8")).hexdigest()
    return "test" if int(digest[:8], 16) % 5 < 2 else "train"


def _squash(text: str) -> str:
    return " ".join(text.split())


def run(path: Path) -> list[dict[str, Any]]:
    """Ask every question once (search, then the engine); one result row per question."""
    items = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    assistant = build_assistant()
    rows = []
    for number, item in enumerate(items):
        expected = set(item["expected"])
        hits = assistant.retriever.search(item["question"], k=5)
        answer = assistant.engine.answer(
            Question(text=item["question"], channel="bench", user_id=f"plan{number}")
        )
        cited = [c.id for c in answer.citations]
        rows.append(
            {
                "question": item["question"],
                "split": split_of(item["question"]),
                "unaccented": "unaccented" in item["tags"],
                "r1": bool(hits) and hits[0].id in expected,
                "r5": any(h.id in expected for h in hits[:5]),
                "cited": answer.status == "answered" and bool(expected & set(cited)),
                "passage": _squash(item["passage"]) in _squash(answer.text),
                "status": answer.status,
                "top": [f"{h.kind}:{h.id}" for h in hits[:3]],
                "field": hits[0].field if hits else "",
                "want": item["passage"],
                "answer": answer.text,
                "latency_ms": answer.latency_ms,
            }
        )
    return rows


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Rates of each figure, overall and for accented / unaccented questions."""

    def rate(subset: list[dict[str, Any]], key: str) -> float:
        return round(sum(r[key] for r in subset) / len(subset), 3) if subset else 0.0

    figures: dict[str, Any] = {"n": len(rows)}
    for key in ("r1", "r5", "cited", "passage"):
        figures[key] = rate(rows, key)
    figures["passage_unaccented"] = rate([r for r in rows if r["unaccented"]], "passage")
    figures["passage_accented"] = rate([r for r in rows if not r["unaccented"]], "passage")
    figures["latency_p50_ms"] = (
        round(statistics.median(r["latency_ms"] for r in rows), 1) if rows else 0.0
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, default=[DEFAULT_FILE])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("--split", choices=("train", "test", "all"), default="all")
    args = parser.parse_args()
    rows = [row for path in args.files for row in run(path)]
    if args.split != "all":
        rows = [r for r in rows if r["split"] == args.split]
    report = {
        split: summarise([r for r in rows if r["split"] == split])
        for split in ("train", "test")
        if any(r["split"] == split for r in rows)
    }
    report["all"] = summarise(rows)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print("| split | n | R@1 | R@5 | cited | passage | passage accented / unaccented |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for split, f in report.items():
            print(
                f"| {split} | {f['n']} | {f['r1']:.3f} | {f['r5']:.3f} | {f['cited']:.3f} | "
                f"{f['passage']:.3f} | {f['passage_accented']:.3f} / "
                f"{f['passage_unaccented']:.3f} |"
            )
    if args.show_misses:
        for row in rows:
            if not (row["r1"] and row["passage"]):
                print(
                    f"\n[{row['split']}] {row['question']}\n  status={row['status']} "
                    f"r1={row['r1']} top={row['top']} field={row['field']!r}\n"
                    f"  want: {row['want']}\n  got: " + row["answer"].replace("\n", "\n       ")
                )


if __name__ == "__main__":
    main()
