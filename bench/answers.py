"""Answer-quality benchmark over eval/answers_dev.jsonl; prints its figures.

    python bench/answers.py [--json] [--show-misses]

Needs a built index (make run). Each question is asked in a fresh conversation.
Figures: status accuracy, top-1 (the cited record is acceptable) and top-5 (an acceptable
record among the first five candidates) on questions that expect an answer, fact
exact-match (every labelled fee/time/document/legal-basis/online fact appears verbatim in
the reply, formatted as the engine formats it), out-of-scope precision and recall, latency.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.app import build_assistant  # noqa: E402
from bot.engine import texts  # noqa: E402
from bot.engine.composer import money  # noqa: E402
from bot.engine.model import Question  # noqa: E402

DEFAULT_FILE = REPO / "eval" / "answers_dev.jsonl"


def fact_text(fact: dict[str, Any]) -> str:
    """How a labelled fact must appear in the reply."""
    if fact["kind"] == "fee":
        return money(int(fact["amount_vnd"]))
    if fact["kind"] == "time":
        value = fact["value"]
        number = int(value) if float(value).is_integer() else value
        return f"{number} {texts.UNIT[fact['unit']]}"
    if fact["kind"] == "document":
        return " ".join(str(fact["name"]).split())[:120]
    if fact["kind"] == "legal_basis":
        return str(fact["number"])
    return (
        texts.ONLINE_FULL
        if fact["value"] == "toan_trinh"
        else (texts.ONLINE_PARTIAL if fact["value"] == "mot_phan" else texts.ONLINE_NONE)
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def run(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    items = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    assistant = build_assistant()
    rows = []
    for number, item in enumerate(items):
        answer = assistant.engine.answer(
            Question(text=item["question"], channel="bench", user_id=f"q{number}")
        )
        data = answer.as_dict()
        expected = set(item["expected"])
        cited = [c["id"] for c in data["citations"]]
        top5 = [c["id"] for c in data["candidates"][:5]]
        reply = " ".join(data["text"].split())
        labelled = item.get("facts") or []
        facts = [f for f in labelled if f.get("code") in cited]
        rows.append(
            {
                "question": item["question"],
                "expected_status": item["expected_status"],
                "status": data["status"],
                "top1": bool(expected & set(cited)),
                "top5": bool(expected & set(top5 + cited)),
                "labelled_facts": len(labelled),
                "facts": len(facts),
                "facts_ok": sum(fact_text(f) in reply for f in facts),
                "latency_ms": data["latency_ms"],
                "expected": sorted(expected)[:3],
                "cited": cited,
                "top": top5[:3],
            }
        )
    assistant.close()
    answerable = [r for r in rows if r["expected_status"] == "answered" and r["expected"]]
    said_oos = [r for r in rows if r["status"] == "out_of_scope"]
    truly_oos = [r for r in rows if r["expected_status"] == "out_of_scope"]
    with_facts = [r for r in rows if r["facts"]]
    labelled_rows = [r for r in rows if r["labelled_facts"]]
    latencies = [r["latency_ms"] for r in rows]
    figures = {
        "questions": len(rows),
        "status_accuracy": round(
            sum(r["status"] == r["expected_status"] for r in rows) / len(rows), 3
        ),
        "answerable": len(answerable),
        "top1": round(sum(r["top1"] for r in answerable) / len(answerable), 3),
        "top5": round(sum(r["top5"] for r in answerable) / len(answerable), 3),
        "fact_questions": len(with_facts),
        # Of answers citing a record that carries labelled facts: all facts verbatim.
        "fact_exact_match": round(
            sum(r["facts_ok"] == r["facts"] for r in with_facts) / max(1, len(with_facts)), 3
        ),
        # Of every question with labelled facts: citing another record counts as a miss.
        "fact_questions_all": len(labelled_rows),
        "fact_exact_match_all": round(
            sum(r["facts"] > 0 and r["facts_ok"] == r["facts"] for r in labelled_rows)
            / max(1, len(labelled_rows)),
            3,
        ),
        "out_of_scope_precision": round(
            sum(r["expected_status"] == "out_of_scope" for r in said_oos) / max(1, len(said_oos)), 3
        ),
        "out_of_scope_recall": round(
            sum(r["status"] == "out_of_scope" for r in truly_oos) / max(1, len(truly_oos)), 3
        ),
        "latency_ms_p50": round(percentile(latencies, 50), 1),
        "latency_ms_p95": round(percentile(latencies, 95), 1),
        "latency_ms_mean": round(statistics.fmean(latencies), 1),
    }
    return figures, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    figures, rows = run(args.file)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:<24}{value}")
    if args.show_misses:
        for r in rows:
            if (
                r["status"] != r["expected_status"]
                or (r["expected"] and not r["top1"])
                or (r["facts_ok"] != r["facts"])
            ):
                print(json.dumps(r, ensure_ascii=False))


if __name__ == "__main__":
    main()
