"""The reranker's model files: seed members written, loaded back and averaged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import lightgbm
import numpy as np
import pytest

from indexer.evaluation import EvalFileError
from indexer.rank_training import SEEDS, Example, _held, curated_examples, train_model
from indexer.rerank import DEFAULT_MODEL, FEATURES, LightGBMReranker, RerankerError


def _examples(seed: int = 3) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """60 questions of 10 candidates; the relevant one has the largest first column."""
    rng = np.random.default_rng(seed)
    rows = rng.random((600, len(FEATURES))).astype(np.float32)
    labels = np.zeros(600, dtype=np.float32)
    for start in range(0, 600, 10):
        labels[start + int(np.argmax(rows[start : start + 10, 0]))] = 1.0
    return rows, labels, [10] * 60


def test_training_writes_one_file_per_seed_and_scores_average_them(tmp_path: Path) -> None:
    rows, labels, groups = _examples()
    out = tmp_path / "model.txt"
    meta = train_model(rows, labels, groups, ["x"] * len(groups), out, sources={"test": 60})
    assert meta["seeds"] == list(SEEDS) and len(SEEDS) > 1
    assert meta["members"] == ["model.txt"] + [f"model.{n}.txt" for n in range(1, len(SEEDS))]
    assert all((tmp_path / name).is_file() for name in meta["members"])
    assert not list(tmp_path.glob("*.tmp"))

    reranker = LightGBMReranker(out)
    probe = _examples(seed=4)[0][:10]
    each = [
        lightgbm.Booster(model_file=str(tmp_path / name)).predict(probe) for name in meta["members"]
    ]
    assert not np.allclose(each[0], each[1])  # the seeds really differ
    assert np.allclose(reranker.scores(probe), np.mean(each, axis=0))
    # What it learnt: the largest first column ranks first.
    assert int(np.argmax(reranker.scores(probe))) == int(np.argmax(probe[:, 0]))


def test_a_missing_member_is_refused(tmp_path: Path) -> None:
    for file in [*DEFAULT_MODEL.parent.glob("reranker*"), *DEFAULT_MODEL.parent.glob("example_*")]:
        shutil.copy(file, tmp_path / file.name)
    meta = json.loads((tmp_path / "reranker.json").read_text("utf-8"))
    assert len(meta["members"]) == len(SEEDS)
    LightGBMReranker(tmp_path / "reranker.txt")  # loads as shipped
    (tmp_path / meta["members"][-1]).unlink()
    with pytest.raises(RerankerError, match="cannot load the reranker"):
        LightGBMReranker(tmp_path / "reranker.txt")


def test_a_sidecar_without_members_means_the_file_alone(tmp_path: Path) -> None:
    rows, labels, groups = _examples()
    out = tmp_path / "model.txt"
    train_model(rows, labels, groups, ["x"] * len(groups), out, sources={"test": 60})
    meta = json.loads(out.with_suffix(".json").read_text("utf-8"))
    del meta["members"]
    out.with_suffix(".json").write_text(json.dumps(meta), "utf-8")
    probe = rows[:10]
    alone = lightgbm.Booster(model_file=str(out)).predict(probe)
    assert np.allclose(LightGBMReranker(out).scores(probe), alone)


def test_curated_questions_skip_any_strict_question_and_repeats(tmp_path: Path) -> None:
    strict = tmp_path / "part_a.jsonl"
    strict.write_text(
        json.dumps({"question": "Làm lại CCCD bị mất", "expected": ["1.014064"], "tags": []})
        + "\n",
        encoding="utf-8",
    )
    curated = tmp_path / "extra.jsonl"
    lines = [
        {"question": "làm lại  cccd bị mất", "expected": ["1.014064"]},  # a strict question
        {"question": "đổi bằng lái hết hạn", "expected": ["3.000347"]},
        {"question": "Đổi bằng lái hết hạn", "expected": ["3.000347"]},  # a repeat
    ]
    curated.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    examples = curated_examples([curated], [strict])
    assert [(e.question, e.expected, e.source) for e in examples] == [
        ("đổi bằng lái hết hạn", ("3.000347",), "curated")
    ]
    curated.write_text('{"question": "x"}\n', encoding="utf-8")
    with pytest.raises(EvalFileError, match=r"extra\.jsonl:1:"):
        curated_examples([curated], [strict])


def test_cross_validation_holds_out_only_strict_train_questions() -> None:
    strict = [Example(f"câu {i}", ("1",), "eval-train") for i in range(40)]
    curated = [Example(f"thêm {i}", ("1",), "curated") for i in range(40)]
    for part in range(5):
        held = [e for e in [*strict, *curated] if _held(e, 5, part)]
        assert held and all(e.source == "eval-train" for e in held)
    assert sum(_held(e, 5, p) for e in strict for p in range(5)) == len(strict)
