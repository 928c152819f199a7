"""The strictly-labelled evaluation set (eval/strict/*.jsonl) and its validator.

Format, tags, accents and the split of the committed files are checked without a knowledge
base (fast). The checks that need official names (every code exists, ``same_name``) run
against the bundled data imported into a temporary SQLite file: about 25 s of CPU, more on a
loaded machine, so those tests are marked ``slow``. The validator's own checks are driven
with small broken files.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from knowledge import migrate
from knowledge.bundled import bundled_paths
from knowledge.db import make_engine, make_session_factory
from knowledge.importing import import_files

REPO = Path(__file__).resolve().parents[2]
STRICT = REPO / "eval" / "strict"
PART_FILES = sorted(STRICT.glob("*.jsonl"))
#: Training-only questions (never evaluated): same format, same checks.
CURATED_FILES = sorted((REPO / "indexer" / "data" / "train_questions").glob("*.jsonl"))


def _load_validator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("validate_strict", STRICT / "validate_strict.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["validate_strict"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


vs = _load_validator()


@pytest.fixture(scope="module")
def kb_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bundled data imported once into a private SQLite knowledge base."""
    path = tmp_path_factory.mktemp("strict-kb") / "kb.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    import_files(make_session_factory(engine), bundled_paths())
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    yield path


@pytest.fixture(scope="module")
def names(kb_path: Path) -> dict[str, str]:
    return dict(vs.load_names(kb_path))


def _line(question: str, expected: list[str], tags: list[str], **extra: str) -> str:
    return json.dumps({"question": question, "expected": expected, "tags": tags, **extra})


def _errors(tmp_path: Path, names: dict[str, str] | None, *lines: str) -> list[str]:
    path = tmp_path / "part_x.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return list(vs.validate([path], names).errors)


# --- the committed files -------------------------------------------------------------------


def test_both_part_files_are_committed() -> None:
    assert [p.name for p in PART_FILES] == ["part_a.jsonl", "part_b.jsonl"]


def test_committed_files_pass_the_checks_without_a_database() -> None:
    report = vs.validate(PART_FILES, None)
    vs.check_totals(report, PART_FILES)
    assert report.errors == []
    assert len(report.items) >= vs.MINIMA["questions"]


@pytest.mark.slow
def test_committed_files_pass_every_check(names: dict[str, str]) -> None:
    report = vs.validate(PART_FILES, names)
    vs.check_totals(report, PART_FILES)
    assert report.errors == []
    assert len(report.items) >= vs.MINIMA["questions"]
    assert len({c for item in report.items for c in item.expected}) >= vs.MINIMA["procedures"]


def test_training_only_questions_never_repeat_a_strict_question() -> None:
    assert len(CURATED_FILES) == 4
    # One validation over both sets: a duplicate (case- and space-insensitive) fails.
    report = vs.validate([*PART_FILES, *CURATED_FILES], None)
    assert report.errors == []
    assert len(report.items) == len(vs.validate(PART_FILES, None).items) + sum(
        len(path.read_text("utf-8").splitlines()) for path in CURATED_FILES
    )


@pytest.mark.slow
def test_training_only_questions_pass_every_check(names: dict[str, str]) -> None:
    report = vs.validate(CURATED_FILES, names)
    assert report.errors == []
    assert len(report.items) >= 500


def test_part_a_covers_its_topics() -> None:
    report = vs.validate([STRICT / "part_a.jsonl"], None)
    assert report.errors == []
    topics = {item.topic for item in report.items}
    assert topics == {
        "civil_status",
        "residence",
        "identity",
        "passport",
        "judicial_record",
        "authentication",
        "driving",
    }
    assert len(report.items) >= 330
    assert len({c for item in report.items for c in item.expected}) >= 80


def test_both_splits_are_reported_with_every_topic() -> None:
    report = vs.validate(PART_FILES, None)
    table = vs.counts(report.items)
    assert table["train"]["questions"] + table["test"]["questions"] == table["all"]["questions"]
    share = table["test"]["questions"] / table["all"]["questions"]
    assert 0.3 < share < 0.5
    topics = {key for key in table["all"] if key.startswith("topic:")}
    assert {key for key in table["test"] if key.startswith("topic:")} == topics


def test_generic_birth_question_expects_only_the_base() -> None:
    # The example of a wrong variant counted as right: a question expecting the base
    # birth registration accepts nothing else.
    report = vs.validate([STRICT / "part_a.jsonl"], None)
    for item in report.items:
        if "1.001193" in item.expected:
            assert item.expected == ("1.001193",), item.question


# --- the split -----------------------------------------------------------------------------


def test_split_is_the_documented_hash() -> None:
    for question in ("thủ tục khai sinh cho em bé", "  lam ho chieu o dau  ", "x"):
        value = int(hashlib.sha1(question.strip().encode("utf-8")).hexdigest()[:8], 16)
        assert vs.split_of(question) == ("test" if value % 5 < 2 else "train")
    assert vs.split_of(" abc ") == vs.split_of("abc")


def test_the_ranker_uses_the_same_split() -> None:
    """``tthc rank train`` may only read the train part the validator reports."""
    from indexer.rank_training import split_of

    questions = [
        json.loads(line)["question"]
        for path in PART_FILES
        for line in path.read_text("utf-8").splitlines()
        if line.strip()
    ]
    assert len(questions) >= 600
    assert all(split_of(q) == vs.split_of(q) for q in questions)


# --- the validator's checks ------------------------------------------------------------------


def test_a_valid_line_passes(tmp_path: Path) -> None:
    line = _line("làm giấy khai sinh cho con", ["1.001193"], ["civil_status", "variant"])
    assert _errors(tmp_path, None, line) == []


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (_line("khai sinh cho bé", [], ["civil_status", "variant"]), "non-empty list"),
        (_line("khai sinh cho bé", ["1.001193"], ["variant"]), "exactly one topic"),
        (_line("khai sinh cho bé", ["1.001193"], ["civil_status", "land", "variant"]), "one topic"),
        (_line("khai sinh cho bé", ["1.001193"], ["birth", "variant"]), "unknown tags"),
        (_line("khai sinh cho bé", ["1.001193"], ["civil_status"]), "failure-type"),
        (_line("khai sinh cho be", ["1.001193"], ["civil_status", "variant"]), "lacks"),
        (_line("khai sinh cho bé", ["1.001193"], ["civil_status", "unaccented"]), "diacritics"),
        (_line("khai sinh lưu động", ["1.003583"], ["civil_status", "qualifier"]), "needs"),
        (_line("khai sinh", ["1.001193"], ["civil_status", "variant"], why="x"), "keys"),
        ("{not json", "not JSON"),
    ],
)
def test_a_broken_line_fails(tmp_path: Path, line: str, reason: str) -> None:
    errors = _errors(tmp_path, None, line)
    assert len(errors) >= 1
    assert reason in " ".join(errors)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (_line("khai sinh cho bé", ["9.999999"], ["civil_status", "variant"]), "unknown"),
        (_line("khai sinh cho bé", ["1.001193"], ["civil_status", "same_name"]), "share a name"),
        (
            _line("đăng ký lại kết hôn", ["1.004746", "2.000507"], ["civil_status", "variant"]),
            "but no 'same_name'",
        ),
    ],
)
def test_a_line_against_the_names_fails(
    tmp_path: Path, names: dict[str, str], line: str, reason: str
) -> None:
    errors = _errors(tmp_path, names, line)
    assert len(errors) == 1
    assert reason in errors[0]


def test_the_ranker_compares_questions_as_the_validator_does() -> None:
    from indexer.rank_training import question_key

    for text in ("Khai sinh cho bé", "  khai  sinh\tcho BÉ ", "ĐỔI GPLX", "đổi gplx"):
        assert question_key(text) == vs.question_key(text)
    assert question_key("khai  sinh cho BÉ") == question_key("Khai sinh cho bé")
    assert question_key("khai sinh") != question_key("khai sinh con")


def test_a_duplicate_question_fails_across_files(tmp_path: Path) -> None:
    first, second = tmp_path / "part_a.jsonl", tmp_path / "part_b.jsonl"
    first.write_text(_line("Khai sinh cho bé", ["1.001193"], ["civil_status", "variant"]) + "\n")
    second.write_text(_line("khai  sinh cho bé", ["1.001193"], ["civil_status", "variant"]))
    errors = vs.validate([first, second], None).errors
    assert len(errors) == 1
    assert "duplicate question" in errors[0]


def test_totals_warn_with_one_part_and_fail_with_both(tmp_path: Path) -> None:
    first, second = tmp_path / "part_a.jsonl", tmp_path / "part_b.jsonl"
    first.write_text(_line("khai sinh cho bé", ["1.001193"], ["civil_status", "variant"]) + "\n")
    second.write_text(_line("khai tử cho ông", ["1.000656"], ["civil_status", "variant"]) + "\n")
    alone = vs.validate([first], None)
    vs.check_totals(alone, [first])
    assert alone.errors == []
    assert any("part_b.jsonl missing" in w for w in alone.warnings)
    both = vs.validate([first, second], None)
    vs.check_totals(both, [first, second])
    assert any(e.startswith("total questions 2 < 600") for e in both.errors)
    assert any(e.startswith("total procedures 2 < 150") for e in both.errors)


@pytest.mark.slow
def test_exit_status(tmp_path: Path, kb_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert vs.main(["--db", str(kb_path)]) == 0
    out = capsys.readouterr().out
    assert "questions" in out
    assert "type:qualifier" in out
    broken = tmp_path / "part_a.jsonl"
    broken.write_text(_line("khai sinh cho bé", ["9.999999"], ["civil_status", "variant"]))
    assert vs.main(["--db", str(kb_path), str(broken)]) == 1
    assert "unknown procedure code" in capsys.readouterr().err
    assert vs.main(["--db", str(tmp_path / "missing.sqlite3")]) == 1
