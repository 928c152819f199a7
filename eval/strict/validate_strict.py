"""Validate the strictly-labelled retrieval evaluation set and count it per split.

Usage::

    python eval/strict/validate_strict.py [--db PATH] [--json] [FILE ...]
    python eval/strict/validate_strict.py --emit test > /tmp/strict-test.jsonl   # one split

Without FILE it checks every ``eval/strict/*.jsonl``. The database is ``--db``, else
``var/tthc.sqlite3`` of this checkout (the shared knowledge base built from the bundled
data); it is opened read-only. Every line is
``{"question": str, "expected": [codes], "tags": [str, ...], "note": str (optional)}``.

Exit status 1 when any check fails: a line that is not such an object, a duplicate question
(also across files, compared case- and space-insensitively), an empty ``expected``, a code
that is not a procedure in the database, a missing or second topic tag, an unknown tag, no
failure-type tag, an ``unaccented`` tag that is false or missing, ``qualifier`` without
``variant``, ``same_name`` that does not match the expected codes, or totals under
:data:`MINIMA` once both part files exist (only a warning while ``part_b.jsonl`` is missing).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sqlite3
import sys
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_DB = REPO / "var" / "tthc.sqlite3"
#: Both halves must exist before the totals below are enforced.
PART_FILES = ("part_a.jsonl", "part_b.jsonl")

TOPICS = frozenset(
    {
        "civil_status",
        "residence",
        "identity",
        "passport",
        "judicial_record",
        "authentication",
        "driving",
        "vehicle",
        "land",
        "business",
        "insurance",
        "unemployment",
        "labour",
        "construction",
        "tax",
        "social",
        "other",
    }
)
FAILURE_TYPES = frozenset(
    {
        "variant",
        "same_name",
        "citizen_word",
        "life_event",
        "aspect_only",
        "typo",
        "unaccented",
        "abbreviation",
    }
)
#: Marks a question that names a variant's qualifier on purpose (always with ``variant``).
QUALIFIER = "qualifier"
KNOWN_TAGS = TOPICS | FAILURE_TYPES | {QUALIFIER}
KEYS_REQUIRED = frozenset({"question", "expected", "tags"})
KEYS_ALLOWED = KEYS_REQUIRED | {"note"}

#: Totals over all part files (issue 8: at least 600 questions over 150 procedures).
MINIMA = {"questions": 600, "procedures": 150}

#: Name fragments (folded) that mark a variant: a question expecting such a record should
#: name the qualifier. Only warned about, since a few bases carry such words in their name.
VARIANT_MARKERS = (
    "co yeu to nuoc ngoai",
    "luu dong",
    "ket hop",
    "lien thong",
    "khu vuc bien gioi",
    "cho nguoi da co ho so",
    "cong an nhan dan",
    "quan su",
    "cua nguoi nuoc ngoai",
    "co quan dai dien",
)

Split = Literal["train", "test"]


def split_of(question: str) -> Split:
    """The split a question belongs to, fixed by a hash of its text (about 40 % ``test``).

    ``test`` when the first 8 hex digits of SHA-1 of the stripped UTF-8 question, read as an
    integer, are 0 or 1 modulo 5; otherwise ``train``. Nothing may be tuned on ``test``.
    """
    digest = hashlib.sha1(question.strip().encode("utf-8")).hexdigest()  # not for security
    return "test" if int(digest[:8], 16) % 5 < 2 else "train"


def question_key(question: str) -> str:
    """Case-folded, runs of spaces made one: two questions with one key are duplicates."""
    return " ".join(question.casefold().split())


def has_diacritics(text: str) -> bool:
    """True when the text carries any Vietnamese diacritic (tone or vowel mark, or đ/Đ)."""
    decomposed = unicodedata.normalize("NFD", text)
    return any(unicodedata.combining(ch) for ch in decomposed) or "đ" in text.lower()


def fold(text: str) -> str:
    """Lower-case, strip diacritics (đ → d) and collapse everything but letters and digits."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", " ", plain).strip()


def name_key(name: str) -> str:
    """Key under which two official names count as the same name.

    Folded (so "huỷ"/"hủy" and letter case do not matter) and without a leading "Thủ tục".
    """
    return re.sub(r"^thu tuc ", "", fold(name))


def load_names(db: Path) -> dict[str, str]:
    """Map every procedure code in the knowledge base to its official name (read-only)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {code: name for code, name in con.execute("SELECT code, name FROM procedures")}
    finally:
        con.close()


@dataclass(frozen=True)
class Item:
    """One valid line: where it came from and what it asks for."""

    file: str
    line: int
    question: str
    expected: tuple[str, ...]
    tags: tuple[str, ...]

    @property
    def split(self) -> Split:
        return split_of(self.question)

    @property
    def topic(self) -> str:
        return next(t for t in self.tags if t in TOPICS)


@dataclass
class Report:
    """Outcome of a validation run: ``errors`` make the run fail, ``warnings`` do not."""

    items: list[Item] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _same_name_codes(expected: Sequence[str], names: Mapping[str, str]) -> bool:
    keys = Counter(name_key(names[code]) for code in expected if code in names)
    return any(count > 1 for count in keys.values())


def check_line(
    obj: object, where: str, names: Mapping[str, str] | None, report: Report
) -> Item | None:
    """Check one parsed line; append its errors/warnings and return it when usable.

    With ``names`` None (no knowledge base at hand) the checks that need the official names
    (codes exist, ``same_name``, variant names) are skipped; everything else is checked.
    """
    if not isinstance(obj, dict):
        report.errors.append(f"{where}: not a JSON object")
        return None
    keys = set(obj)
    if not keys >= KEYS_REQUIRED or not keys <= KEYS_ALLOWED:
        report.errors.append(f"{where}: keys must be question, expected, tags (+ optional note)")
        return None
    question, expected, tags = obj["question"], obj["expected"], obj["tags"]
    ok = True
    if not isinstance(question, str) or not question.strip():
        report.errors.append(f"{where}: question must be a non-empty string")
        return None
    if "note" in obj and not isinstance(obj["note"], str):
        report.errors.append(f"{where}: note must be a string")
        ok = False
    if not isinstance(expected, list) or not expected:
        report.errors.append(f"{where}: expected must be a non-empty list of codes")
        return None
    if not all(isinstance(code, str) for code in expected):
        report.errors.append(f"{where}: expected must hold strings")
        return None
    if len(set(expected)) != len(expected):
        report.errors.append(f"{where}: duplicate code in expected")
        ok = False
    for code in expected:
        if names is not None and code not in names:
            report.errors.append(f"{where}: unknown procedure code {code!r}")
            ok = False
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        report.errors.append(f"{where}: tags must be a list of strings")
        return None
    if len(set(tags)) != len(tags):
        report.errors.append(f"{where}: duplicate tag")
        ok = False
    topics = [t for t in tags if t in TOPICS]
    if len(topics) != 1:
        report.errors.append(f"{where}: exactly one topic tag expected, got {topics}")
        ok = False
    unknown = [t for t in tags if t not in KNOWN_TAGS]
    if unknown:
        report.errors.append(f"{where}: unknown tags {unknown}")
        ok = False
    if not any(t in FAILURE_TYPES for t in tags):
        report.errors.append(f"{where}: at least one failure-type tag expected")
        ok = False
    unaccented = not has_diacritics(question)
    if unaccented and "unaccented" not in tags:
        report.errors.append(f"{where}: question has no diacritics but lacks 'unaccented'")
        ok = False
    if not unaccented and "unaccented" in tags:
        report.errors.append(f"{where}: 'unaccented' tag on a question with diacritics")
        ok = False
    if QUALIFIER in tags and "variant" not in tags:
        report.errors.append(f"{where}: 'qualifier' needs 'variant' as well")
        ok = False
    shared = names is not None and _same_name_codes(expected, names)
    if shared and "same_name" not in tags:
        report.errors.append(f"{where}: expected codes share an official name but no 'same_name'")
        ok = False
    if names is not None and "same_name" in tags and not shared:
        report.errors.append(f"{where}: 'same_name' but no two expected codes share a name")
        ok = False
    if names is not None and QUALIFIER not in tags:
        for code in expected:
            folded = fold(names.get(code, ""))
            marker = next((m for m in VARIANT_MARKERS if m in folded), None)
            if marker:
                report.warnings.append(
                    f"{where}: expects {code} (name has {marker!r}) without 'qualifier'"
                )
    if not ok:
        return None
    return Item(
        where.rsplit(":", 1)[0],
        int(where.rsplit(":", 1)[1]),
        question,
        tuple(expected),
        tuple(tags),
    )


def validate(paths: Iterable[Path], names: Mapping[str, str] | None) -> Report:
    """Check every file; questions must be unique over all of them.

    ``names`` maps procedure codes to official names (:func:`load_names`); None skips the
    checks that need the knowledge base.
    """
    report = Report()
    seen: dict[str, str] = {}
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            where = f"{path.name}:{number}"
            if not line.strip():
                report.errors.append(f"{where}: empty line")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                report.errors.append(f"{where}: not JSON ({exc.msg})")
                continue
            if isinstance(obj, dict) and isinstance(obj.get("question"), str):
                key = question_key(obj["question"])
                if key in seen:
                    report.errors.append(f"{where}: duplicate question (first at {seen[key]})")
                    continue
                seen[key] = where
            item = check_line(obj, where, names, report)
            if item is not None:
                report.items.append(item)
    return report


def check_totals(report: Report, paths: Sequence[Path]) -> None:
    """Enforce :data:`MINIMA` over all files, or only warn while a part file is missing."""
    present = {p.name for p in paths}
    complete = all(name in present for name in PART_FILES)
    figures = {
        "questions": len(report.items),
        "procedures": len({code for item in report.items for code in item.expected}),
    }
    for name, minimum in MINIMA.items():
        if figures[name] < minimum:
            message = f"total {name} {figures[name]} < {minimum}"
            if complete:
                report.errors.append(message)
            else:
                missing = [n for n in PART_FILES if n not in present]
                report.warnings.append(f"{message} (not enforced: {', '.join(missing)} missing)")


def counts(items: Sequence[Item]) -> dict[str, dict[str, int]]:
    """Per split (and ``all``): questions, topics, tags, accent and distinct procedures."""
    groups: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        groups["all"].append(item)
        groups[item.split].append(item)
    out: dict[str, dict[str, int]] = {}
    for split in ("train", "test", "all"):
        group = groups.get(split, [])
        row: Counter[str] = Counter()
        row["questions"] = len(group)
        row["procedures"] = len({code for item in group for code in item.expected})
        for item in group:
            row[f"topic:{item.topic}"] += 1
            for tag in item.tags:
                if tag not in TOPICS:
                    row[f"type:{tag}"] += 1
            row["accented"] += has_diacritics(item.question)
        out[split] = dict(sorted(row.items()))
    return out


def _print_table(table: dict[str, dict[str, int]]) -> None:
    keys = sorted({k for row in table.values() for k in row}, key=lambda k: (":" in k, k))
    print(f"{'':28} {'train':>6} {'test':>6} {'all':>6}")
    for key in keys:
        print(
            f"{key:28} " + " ".join(f"{table[s].get(key, 0):>6}" for s in ("train", "test", "all"))
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="default: eval/strict/*.jsonl")
    parser.add_argument("--db", type=Path, default=DEFAULT_DB, help="knowledge base (SQLite)")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    parser.add_argument(
        "--emit",
        choices=("train", "test"),
        help="print the valid lines of one split as JSONL (for `tthc eval`) instead of counts",
    )
    args = parser.parse_args(argv)
    paths: list[Path] = args.files or sorted(HERE.glob("*.jsonl"))
    if not args.db.is_file():
        print(f"database not found: {args.db} (pass --db)", file=sys.stderr)
        return 1
    report = validate(paths, load_names(args.db))
    check_totals(report, paths)
    table = counts(report.items)
    if args.emit:
        for item in report.items:
            if item.split == args.emit:
                line = {"question": item.question, "expected": list(item.expected)}
                print(json.dumps({**line, "tags": list(item.tags)}, ensure_ascii=False))
    elif args.json:
        print(
            json.dumps(
                {"counts": table, "errors": report.errors, "warnings": report.warnings},
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        print("files: " + ", ".join(str(p) for p in paths))
        _print_table(table)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for error in report.errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
