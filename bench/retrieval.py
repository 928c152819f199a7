"""Retrieval benchmark on the whole bundled knowledge base; prints its figures.

    python bench/retrieval.py [--data-dir DIR] [--json]

Steps: import the bundled data into a fresh SQLite database, build the index cold
(empty vector cache), evaluate keyword-only, dense-only and hybrid retrieval on the
development and third-party sets, time one changed record's re-index, and measure
the resident memory of a search process answering every question.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EVAL_FILES = [REPO / "eval" / "retrieval_dev.jsonl", REPO / "eval" / "golden_qa.jsonl"]


def tthc(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return result.stdout


def timed(env: dict[str, str], *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    out = tthc(env, *args)
    return time.perf_counter() - started, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="tthc-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TTHC_")}
    env["TTHC_DATA_DIR"] = str(data_dir)
    figures: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}}

    seconds, _ = timed(env, "kb", "import", "--bundled", "--json")
    figures["kb_import_s"] = round(seconds, 1)
    cache = data_dir / "index" / "vector-cache.sqlite3"
    if cache.exists():
        cache.unlink()
    seconds, out = timed(env, "index", "build", "--full", "--json")
    build = json.loads(out)
    figures["build_cold_s"] = round(seconds, 1)
    figures["index"] = {k: build[k] for k in ("records", "chunks", "dense_vectors", "embedded")}
    seconds, _ = timed(env, "index", "build", "--full", "--json")
    figures["build_full_warm_cache_s"] = round(seconds, 1)

    # One changed record: edit a FAQ answer through the staff path, then re-index.
    export = data_dir / "faq.jsonl"
    tthc(env, "kb", "export", "--format", "jsonl", "--kind", "faq", "--out", str(export))
    lines = export.read_text("utf-8").splitlines()
    first = json.loads(lines[0])
    first["question"] += " (bench)"
    lines[0] = json.dumps(first, ensure_ascii=False)
    export.write_text("\n".join(lines) + "\n", "utf-8")
    tthc(env, "kb", "import", str(export), "--json")
    seconds, out = timed(env, "index", "build", "--json")
    one = json.loads(out)
    figures["build_one_changed_record_s"] = round(seconds, 1)
    figures["build_one_changed_record_inner_s"] = round(one["seconds"], 2)
    figures["one_changed_embedded"] = one["embedded"]

    quality: dict[str, Any] = {}
    for mode in ("keyword", "dense", "hybrid"):
        report = json.loads(tthc(env, "eval", *map(str, EVAL_FILES), "--mode", mode, "--json"))
        quality[mode] = {
            "recall@1": report["recall@1"],
            "recall@5": report["recall@5"],
            "mrr": report["mrr"],
            "accented_r@1": report["by_accent"]["accented"]["recall@1"],
            "unaccented_r@1": report["by_accent"]["unaccented"]["recall@1"],
            "accented_r@5": report["by_accent"]["accented"]["recall@5"],
            "unaccented_r@5": report["by_accent"]["unaccented"]["recall@5"],
            "latency_p50_ms": report["latency_ms"]["p50"],
            "latency_p95_ms": report["latency_ms"]["p95"],
            "n": report["n"],
        }
    figures["quality"] = quality

    questions = [
        json.loads(line)["question"]
        for path in EVAL_FILES
        for line in path.read_text("utf-8").splitlines()
        if line.strip()
    ]
    # A fresh parent whose only child is the search process: its ru_maxrss is that
    # process's peak resident memory, not the (larger) build's.
    probe = (
        "import resource, subprocess, sys;"
        "subprocess.run([sys.executable, '-m', 'bot.cli', 'search', '--json', '-'],"
        " stdin=sys.stdin, stdout=subprocess.DEVNULL, check=True);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    rss_kb = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        cwd=REPO,
        text=True,
        input="\n".join(questions) + "\n",
        capture_output=True,
        check=True,
    ).stdout
    figures["search_process_peak_rss_mb"] = round(int(rss_kb.strip()) / 1024, 1)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
        return
    print(f"knowledge import {figures['kb_import_s']} s; index: {figures['index']}")
    print(
        f"build cold {figures['build_cold_s']} s | full, warm cache "
        f"{figures['build_full_warm_cache_s']} s | one changed record "
        f"{figures['build_one_changed_record_s']} s "
        f"(inside build {figures['build_one_changed_record_inner_s']} s, "
        f"{figures['one_changed_embedded']} vector embedded)"
    )
    print(f"search process peak RSS {figures['search_process_peak_rss_mb']} MB")
    print()
    print(
        f"{'mode':<9}{'n':>5}{'R@1':>7}{'R@5':>7}{'MRR':>7}{'R@1 acc':>9}{'R@1 unacc':>11}"
        f"{'R@5 acc':>9}{'R@5 unacc':>11}{'p50 ms':>8}{'p95 ms':>8}"
    )
    for mode, q in quality.items():
        print(
            f"{mode:<9}{q['n']:>5}{q['recall@1']:>7.3f}{q['recall@5']:>7.3f}{q['mrr']:>7.3f}"
            f"{q['accented_r@1']:>9.3f}{q['unaccented_r@1']:>11.3f}{q['accented_r@5']:>9.3f}"
            f"{q['unaccented_r@5']:>11.3f}{q['latency_p50_ms']:>8.1f}{q['latency_p95_ms']:>8.1f}"
        )


if __name__ == "__main__":
    main()
