"""Validate the retrieval evaluation sets against the knowledge base and count their tags.

Usage::

    python eval/validate_dev.py [--db PATH] [--markdown] [FILE ...]

Without FILE it checks ``eval/retrieval_dev.jsonl`` and ``eval/golden_qa.jsonl``. The database
is ``--db``, else ``$TTHC_DATA_DIR/tthc.sqlite3``, else ``var/tthc.sqlite3`` (the embedded
default of ``make run``). Every expected id must be a procedure code, an FAQ source id or a
plan key present in the database. Exit status 1 when any check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_FILES = [HERE / "retrieval_dev.jsonl", HERE / "golden_qa.jsonl"]

TOPICS = {
    "civil_status",
    "residence",
    "identity",
    "passport",
    "driving",
    "judicial_record",
    "land",
    "construction",
    "business",
    "labour",
    "tax",
    "insurance",
    "banking",
    "health_faq",
    "plan",
    "other",
}
STYLES = {"unaccented", "abbreviation", "typo", "colloquial", "golden_third_party"}

# Minimum counts the development set must reach (see eval/README.md).
DEV_MINIMA = {
    "lines": 220,
    "unaccented": 60,
    "abbreviation": 25,
    "typo": 15,
    "health_faq": 25,
    "plan": 12,
}


def default_db() -> Path:
    data_dir = os.environ.get("TTHC_DATA_DIR")
    return Path(data_dir) / "tthc.sqlite3" if data_dir else Path("var") / "tthc.sqlite3"


def is_unaccented(text: str) -> bool:
    """True when the text has no Vietnamese diacritics (plain ASCII)."""
    return all(ord(ch) < 128 for ch in text)


def load_ids(db: Path) -> dict[str, str]:
    """Map every retrievable id to its kind: procedure (full|summary), faq or plan."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        kinds = {
            code: f"procedure:{detail}"
            for code, detail in con.execute("SELECT code, detail FROM procedures")
        }
        kinds.update({sid: "faq" for (sid,) in con.execute("SELECT source_id FROM faqs")})
        kinds.update({key: "plan" for (key,) in con.execute("SELECT key FROM plan_documents")})
    finally:
        con.close()
    return kinds


def check_file(path: Path, kinds: dict[str, str]) -> tuple[list[str], Counter[str], Counter[str]]:
    """Return (errors, tag counts, expected-id kind counts) for one JSONL file."""
    errors: list[str] = []
    tags_count: Counter[str] = Counter()
    id_kinds: Counter[str] = Counter()
    seen: set[str] = set()
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        where = f"{path.name}:{number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"{where}: not JSON ({exc})")
            continue
        if not isinstance(obj, dict) or set(obj) != {"question", "expected", "tags"}:
            errors.append(f"{where}: keys must be exactly question, expected, tags")
            continue
        question, expected, tags = obj["question"], obj["expected"], obj["tags"]
        if not isinstance(question, str) or not question.strip():
            errors.append(f"{where}: empty question")
            continue
        if question in seen:
            errors.append(f"{where}: duplicate question")
        seen.add(question)
        if not isinstance(expected, list) or not expected:
            errors.append(f"{where}: expected must be a non-empty list")
            expected = []
        if len(set(expected)) != len(expected):
            errors.append(f"{where}: duplicate id in expected")
        question_kinds: set[str] = set()
        for record_id in expected:
            kind = kinds.get(record_id)
            if kind is None:
                errors.append(f"{where}: unknown id {record_id!r}")
            else:
                id_kinds[kind] += 1
                question_kinds.add(kind.split(":")[0])
        id_kinds.update(f"questions expecting a {kind}" for kind in question_kinds)
        if len(expected) > 1:
            id_kinds["questions with several acceptable ids"] += 1
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            errors.append(f"{where}: tags must be a list of strings")
            continue
        topics = [t for t in tags if t in TOPICS]
        unknown = [t for t in tags if t not in TOPICS and t not in STYLES]
        if len(topics) != 1:
            errors.append(f"{where}: exactly one topic tag expected, got {topics}")
        if unknown:
            errors.append(f"{where}: unknown tags {unknown}")
        if ("unaccented" in tags) != is_unaccented(question):
            errors.append(f"{where}: 'unaccented' tag does not match the question text")
        tags_count.update(tags)
    tags_count["lines"] = len(lines)
    return errors, tags_count, id_kinds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, default=DEFAULT_FILES)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--markdown", action="store_true", help="print counts as tables")
    args = parser.parse_args(argv)
    db: Path = args.db or default_db()
    if not db.exists():
        print(f"database not found: {db} (run `make run` or pass --db)", file=sys.stderr)
        return 1
    kinds = load_ids(db)
    failed = False
    for path in args.files:
        errors, counts, id_kinds = check_file(path, kinds)
        if path.name == "retrieval_dev.jsonl":
            for key, minimum in DEV_MINIMA.items():
                if counts[key] < minimum:
                    errors.append(f"{path.name}: {key} = {counts[key]} < {minimum}")
        for error in errors:
            print(f"ERROR {error}", file=sys.stderr)
        failed = failed or bool(errors)
        print(f"\n{path.name}: {counts['lines']} questions, {len(errors)} errors")
        rows = sorted(
            ((t, n) for t, n in counts.items() if t != "lines"), key=lambda r: (-r[1], r[0])
        )
        if args.markdown:
            print("\n| tag | questions |\n| --- | ---: |")
            print("\n".join(f"| {tag} | {n} |" for tag, n in rows))
            print("\n| expected ids | count |\n| --- | ---: |")
            print("\n".join(f"| {kind} | {n} |" for kind, n in sorted(id_kinds.items())))
        else:
            print("  tags: " + ", ".join(f"{tag}={n}" for tag, n in rows))
            print("  expected ids: " + ", ".join(f"{k}={n}" for k, n in sorted(id_kinds.items())))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
