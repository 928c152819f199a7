"""Validate the answer-quality set against the knowledge base and count its labels.

Usage::

    python eval/validate_answers.py [--db PATH] [--markdown] [FILE]

Without FILE it checks ``eval/answers_dev.jsonl``. The database is ``--db``, else
``$TTHC_DATA_DIR/tthc.sqlite3``, else ``var/tthc.sqlite3``. Every expected id must be a
procedure code, an FAQ source id, a plan key or a hotline key (``scope|area|name``) present in
the database, and every fact must match the record it names (see eval/ANSWERS.md). Exit status
1 when any check fails, including a composition minimum that is not reached.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sqlite3
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_FILE = HERE / "answers_dev.jsonl"

STATUSES = {"answered", "clarify", "out_of_scope", "smalltalk", "handoff", "no_answer"}
EMPTY_STATUSES = {"out_of_scope", "smalltalk", "handoff", "no_answer"}
ASPECTS = {
    "documents",
    "fee",
    "time",
    "where",
    "steps",
    "legal_basis",
    "conditions",
    "result",
    "online",
    "hotline",
    "plan",
}
# Aspects about one procedure record (the others are about hotlines and plans).
PROCEDURE_ASPECTS = ASPECTS - {"hotline", "plan"}
# Aspect -> the fact kind that proves the answer states the asked-for value.
ASPECT_FACT = {
    "fee": "fee",
    "time": "time",
    "documents": "document",
    "legal_basis": "legal_basis",
    "online": "online_level",
}
METHODS = {"truc_tiep", "truc_tuyen", "buu_chinh"}
TIME_UNITS = {"working_day", "day", "hour", "month"}
ONLINE_LEVELS = {"none", "mot_phan", "toan_trinh"}
FACT_KEYS = {
    "fee": {"kind", "code", "method", "amount_vnd"},
    "time": {"kind", "code", "method", "value", "unit"},
    "document": {"kind", "code", "name"},
    "legal_basis": {"kind", "code", "number"},
    "online_level": {"kind", "code", "value"},
}
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
    "hotline",
    "dossier_status",
    "other",
    "out_of_scope",
    "smalltalk",
    "handoff",
}
STYLES = {"unaccented", "abbreviation", "typo", "colloquial"}
LINE_KEYS = {"question", "expected_status", "expected", "aspect", "facts", "tags"}

# Composition minima (see eval/ANSWERS.md).
MINIMA = {
    "lines": 170,
    "fact-checked aspect questions": 60,
    "fact-checked fee": 5,
    "fact-checked time": 5,
    "fact-checked documents": 5,
    "fact-checked legal_basis": 5,
    "fact-checked online": 5,
    "aspect where": 5,
    "general procedure questions": 30,
    "health FAQ questions": 15,
    "plan questions": 6,
    "hotline questions": 5,
    "status out_of_scope": 25,
    "status smalltalk": 8,
    "status handoff": 4,
    "status clarify": 6,
    "status no_answer": 5,
    "tag unaccented": 50,
    "tag abbreviation": 20,
    "tag typo": 15,
}

# Lines that must be present verbatim (question -> expected JSON fields).
REQUIRED_LINES: dict[str, dict[str, object]] = {
    "Đăng ký thường trú nộp online thì lệ phí bao nhiêu?": {
        "expected_status": "answered",
        "expected": ["1.004222"],
        "aspect": "fee",
        "facts": [{"kind": "fee", "code": "1.004222", "method": "truc_tuyen", "amount_vnd": 10000}],
    },
    "hôm nay thời tiết thế nào": {
        "expected_status": "out_of_scope",
        "expected": [],
        "aspect": None,
        "facts": [],
    },
}


@dataclass
class Procedure:
    detail: str
    online_level: str
    # (method, time_value, time_unit) per channel
    times: set[tuple[str, float | None, str | None]] = field(default_factory=set)
    # (method, amount_vnd) per fee
    fees: set[tuple[str, int]] = field(default_factory=set)
    documents: set[str] = field(default_factory=set)
    legal_numbers: set[str] = field(default_factory=set)


@dataclass
class KnowledgeBase:
    procedures: dict[str, Procedure]
    faqs: set[str]
    plans: set[str]
    hotlines: set[str]

    def kind_of(self, record_id: str) -> str | None:
        if record_id in self.procedures:
            return f"procedure:{self.procedures[record_id].detail}"
        if record_id in self.faqs:
            return "faq"
        if record_id in self.plans:
            return "plan"
        if record_id in self.hotlines:
            return "hotline"
        return None


def default_db() -> Path:
    data_dir = os.environ.get("TTHC_DATA_DIR")
    return Path(data_dir) / "tthc.sqlite3" if data_dir else Path("var") / "tthc.sqlite3"


def is_unaccented(text: str) -> bool:
    """True when the text has no Vietnamese diacritics (plain ASCII)."""
    return all(ord(ch) < 128 for ch in text)


def load_kb(db: Path) -> KnowledgeBase:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        procs: dict[int, Procedure] = {}
        by_code: dict[str, Procedure] = {}
        for pid, code, detail, level in con.execute(
            "SELECT id, code, detail, online_level FROM procedures"
        ):
            procs[pid] = by_code[code] = Procedure(detail=detail, online_level=level)
        channel_method: dict[int, str] = {}
        for cid, pid, method, value, unit in con.execute(
            "SELECT id, procedure_id, method, time_value, time_unit FROM procedure_channels"
        ):
            channel_method[cid] = method
            procs[pid].times.add((method, value, unit))
        for cid, pid, amount in con.execute(
            "SELECT f.channel_id, c.procedure_id, f.amount_vnd FROM channel_fees f "
            "JOIN procedure_channels c ON c.id = f.channel_id WHERE f.amount_vnd IS NOT NULL"
        ):
            procs[pid].fees.add((channel_method[cid], int(amount)))
        for pid, name in con.execute("SELECT procedure_id, name FROM procedure_documents"):
            procs[pid].documents.add(name)
        for pid, number in con.execute("SELECT procedure_id, number FROM legal_bases"):
            procs[pid].legal_numbers.add(number)
        faqs = {sid for (sid,) in con.execute("SELECT source_id FROM faqs")}
        plans = {key for (key,) in con.execute("SELECT key FROM plan_documents")}
        hotlines = {
            f"{scope}|{area}|{name}"
            for scope, area, name in con.execute("SELECT scope, area, name FROM hotlines")
        }
    finally:
        con.close()
    return KnowledgeBase(procedures=by_code, faqs=faqs, plans=plans, hotlines=hotlines)


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_fact(fact: object, expected: list[str], kb: KnowledgeBase) -> list[str]:
    """Return the problems of one fact (empty when it matches the knowledge base)."""
    if not isinstance(fact, dict):
        return ["fact is not an object"]
    kind = fact.get("kind")
    if kind not in FACT_KEYS:
        return [f"unknown fact kind {kind!r}"]
    if set(fact) != FACT_KEYS[kind]:
        return [f"{kind} fact keys must be {sorted(FACT_KEYS[kind])}, got {sorted(fact)}"]
    code = fact["code"]
    proc = kb.procedures.get(code)
    if proc is None:
        return [f"{kind} fact: unknown procedure {code!r}"]
    problems: list[str] = []
    if code not in expected:
        problems.append(f"{kind} fact: code {code} is not in expected")
    if proc.detail != "full":
        problems.append(f"{kind} fact: procedure {code} is not detail='full'")
    if kind == "fee":
        method, amount = fact["method"], fact["amount_vnd"]
        if method not in METHODS:
            problems.append(f"fee fact: unknown method {method!r}")
        elif not isinstance(amount, int) or isinstance(amount, bool):
            problems.append(f"fee fact: amount_vnd must be an integer, got {amount!r}")
        elif (method, amount) not in proc.fees:
            have = sorted(a for m, a in proc.fees if m == method)
            problems.append(f"fee fact: {code} {method} has no fee {amount} (has {have})")
    elif kind == "time":
        method, value, unit = fact["method"], fact["value"], fact["unit"]
        if method not in METHODS or unit not in TIME_UNITS or not is_number(value):
            problems.append(f"time fact: bad method/unit/value {method!r} {unit!r} {value!r}")
        elif not any(
            m == method and v is not None and math.isclose(v, value) and u == unit
            for m, v, u in proc.times
        ):
            times = sorted(f"{v:g} {u}" for m, v, u in proc.times if m == method and v is not None)
            problems.append(f"time fact: {code} {method} has no {value} {unit} (has {times})")
    elif kind == "document":
        if fact["name"] not in proc.documents:
            problems.append(f"document fact: {code} has no document named {fact['name']!r}")
    elif kind == "legal_basis":
        if fact["number"] not in proc.legal_numbers:
            problems.append(f"legal_basis fact: {code} has no legal basis {fact['number']!r}")
    elif kind == "online_level":
        if fact["value"] not in ONLINE_LEVELS:
            problems.append(f"online_level fact: unknown value {fact['value']!r}")
        elif fact["value"] != proc.online_level:
            problems.append(
                f"online_level fact: {code} is {proc.online_level!r}, not {fact['value']!r}"
            )
    return problems


def check_line(obj: object, kb: KnowledgeBase) -> tuple[list[str], list[str]]:
    """Return (problems, count keys) for one parsed line."""
    if not isinstance(obj, dict) or set(obj) != LINE_KEYS:
        return [f"keys must be exactly {sorted(LINE_KEYS)}"], []
    problems: list[str] = []
    counts: list[str] = []
    question = obj["question"]
    status, expected = obj["expected_status"], obj["expected"]
    aspect, facts, tags = obj["aspect"], obj["facts"], obj["tags"]
    if not isinstance(question, str) or not question.strip():
        return ["empty question"], []
    if status not in STATUSES:
        return [f"unknown expected_status {status!r}"], []
    if aspect is not None and aspect not in ASPECTS:
        problems.append(f"unknown aspect {aspect!r}")
    if not isinstance(expected, list) or not all(isinstance(i, str) for i in expected):
        return ["expected must be a list of strings"], []
    if not isinstance(facts, list):
        return ["facts must be a list"], []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return ["tags must be a list of strings"], []

    # expected ids
    if len(set(expected)) != len(expected):
        problems.append("duplicate id in expected")
    kinds = []
    for record_id in expected:
        kind = kb.kind_of(record_id)
        if kind is None:
            problems.append(f"unknown id {record_id!r}")
        else:
            kinds.append(kind)
    if status in EMPTY_STATUSES and expected:
        problems.append(f"{status} lines must have expected = []")
    if status == "answered" and not expected:
        problems.append("answered lines need at least one expected id")
    if status == "clarify" and len(expected) < 2:
        problems.append("clarify lines need at least two close candidates")
    if status != "answered" and facts:
        problems.append("only answered lines carry facts")

    # facts
    for fact in facts:
        problems.extend(check_fact(fact, expected, kb))
    fact_kinds = {f.get("kind") for f in facts if isinstance(f, dict)}

    # aspect consistency
    if aspect in PROCEDURE_ASPECTS and status == "answered":
        if not kinds or not all(k == "procedure:full" for k in kinds if k.startswith("proc")):
            problems.append(f"aspect {aspect!r} lines must expect detail='full' procedures")
        if not any(k == "procedure:full" for k in kinds):
            problems.append(f"aspect {aspect!r} lines must expect a procedure")
        wanted = ASPECT_FACT.get(aspect)
        if wanted is not None and wanted not in fact_kinds:
            problems.append(f"aspect {aspect!r} needs at least one {wanted!r} fact")
    if aspect == "hotline" and status == "answered" and "hotline" not in kinds:
        problems.append("answered hotline lines must expect a hotline key")
    if aspect == "hotline" and status not in {"answered", "no_answer"}:
        problems.append("hotline lines are answered or no_answer")
    if aspect == "plan" and (status != "answered" or "plan" not in kinds):
        problems.append("plan lines must be answered and expect a plan key")
    if aspect is None and status == "answered" and fact_kinds - {"online_level"}:
        problems.append("general questions (aspect null) may only carry online_level facts")

    # tags
    topics = [t for t in tags if t in TOPICS]
    unknown = [t for t in tags if t not in TOPICS and t not in STYLES]
    if len(topics) != 1:
        problems.append(f"exactly one topic tag expected, got {topics}")
    if unknown:
        problems.append(f"unknown tags {unknown}")
    if len(set(tags)) != len(tags):
        problems.append("duplicate tag")
    if ("unaccented" in tags) != is_unaccented(question):
        problems.append("'unaccented' tag does not match the question text")
    if status == "out_of_scope" and "out_of_scope" not in tags:
        problems.append("out_of_scope lines carry the out_of_scope topic tag")
    if "health_faq" in tags and status == "answered" and "faq" not in kinds:
        problems.append("health_faq lines must expect an FAQ id")

    # counts
    counts.append(f"status {status}")
    counts.append(f"aspect {aspect}")
    counts.extend(f"tag {t}" for t in tags)
    counts.extend(f"expected kind {k}" for k in set(kinds))
    counts.extend(f"fact {k}" for k in (f.get("kind") for f in facts if isinstance(f, dict)))
    if status == "answered":
        if aspect in ASPECT_FACT and ASPECT_FACT[aspect] in fact_kinds:
            counts.append("fact-checked aspect questions")
            counts.append(f"fact-checked {aspect}")
        if aspect is None and any(k.startswith("procedure") for k in kinds):
            counts.append("general procedure questions")
        if "health_faq" in tags and "faq" in kinds:
            counts.append("health FAQ questions")
        if aspect == "plan":
            counts.append("plan questions")
    if aspect == "hotline":
        counts.append("hotline questions")
    return problems, counts


def check_file(path: Path, kb: KnowledgeBase) -> tuple[list[str], Counter[str]]:
    errors: list[str] = []
    counts: Counter[str] = Counter()
    seen: dict[str, dict[str, object]] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        where = f"{path.name}:{number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"{where}: not JSON ({exc})")
            continue
        problems, keys = check_line(obj, kb)
        errors.extend(f"{where}: {p}" for p in problems)
        counts.update(keys)
        if isinstance(obj, dict) and isinstance(obj.get("question"), str):
            if obj["question"] in seen:
                errors.append(f"{where}: duplicate question")
            seen[obj["question"]] = obj
    counts["lines"] = len(lines)
    for question, fields in REQUIRED_LINES.items():
        found = seen.get(question)
        if found is None:
            errors.append(f"{path.name}: required question missing: {question!r}")
            continue
        for key, value in fields.items():
            if found.get(key) != value:
                errors.append(f"{path.name}: required question {question!r}: {key} != {value!r}")
    for key, minimum in MINIMA.items():
        if counts[key] < minimum:
            errors.append(f"{path.name}: {key} = {counts[key]} < {minimum}")
    return errors, counts


def print_counts(counts: Counter[str], markdown: bool) -> None:
    groups = [
        ("status", "status "),
        ("aspect", "aspect "),
        ("tag", "tag "),
        ("expected kind", "expected kind "),
        ("fact", "fact "),
    ]
    shown: set[str] = set()
    for title, prefix in groups:
        rows = sorted(
            ((k[len(prefix) :], n) for k, n in counts.items() if k.startswith(prefix)),
            key=lambda r: (-r[1], r[0]),
        )
        shown.update(prefix + k for k, _ in rows)
        if markdown:
            print(f"\n| {title} | lines |\n| --- | ---: |")
            print("\n".join(f"| {k} | {n} |" for k, n in rows))
        else:
            print(f"  {title}: " + ", ".join(f"{k}={n}" for k, n in rows))
    rows = [(k, counts[k]) for k in MINIMA if k not in shown and k != "lines"]
    if markdown:
        print("\n| composition | lines | minimum |\n| --- | ---: | ---: |")
        print("\n".join(f"| {k} | {n} | {MINIMA[k]} |" for k, n in rows))
    else:
        print("  composition: " + ", ".join(f"{k}={n} (min {MINIMA[k]})" for k, n in rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--markdown", action="store_true", help="print counts as tables")
    args = parser.parse_args(argv)
    db: Path = args.db or default_db()
    if not db.exists():
        print(f"database not found: {db} (run `make run` or pass --db)", file=sys.stderr)
        return 1
    kb = load_kb(db)
    errors, counts = check_file(args.file, kb)
    for error in errors:
        print(f"ERROR {error}", file=sys.stderr)
    print(f"\n{args.file.name}: {counts['lines']} questions, {len(errors)} errors")
    print_counts(counts, args.markdown)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
