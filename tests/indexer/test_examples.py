"""Example questions as the second stage's memory: features, files, training folds, search."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import lightgbm
import numpy as np
import pytest

from indexer.evaluation import load_eval_file
from indexer.examples import EXAMPLE_FEATURES, TOP, ExampleError, ExampleMemory
from indexer.glossary import Glossary
from indexer.rank_training import (
    MEMORY_FOLDS,
    Example,
    example_memories,
    memory_fold,
    split_items,
)
from indexer.rerank import DEFAULT_MODEL, FEATURES, LightGBMReranker, RerankerError
from indexer.store import GenerationStore
from tests.fakes import FakeEmbedder
from tests.indexer.conftest import Builder, make_retriever

STRICT = Path(__file__).resolve().parents[2] / "eval" / "strict"


def _unit(*values: float) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def _memory() -> ExampleMemory:
    vectors = {
        "làm lại căn cước bị mất": _unit(1, 0, 0),
        "đánh rơi CC": _unit(0.9, 0.1, 0),
        "đổi bằng lái hết hạn": _unit(0, 1, 0),
    }
    labels = {
        "làm lại căn cước bị mất": ("1.014064",),
        "đánh rơi CC": ("1.014064", "1.000757"),
        "đổi bằng lái hết hạn": ("3.000347",),
    }
    return ExampleMemory.of(labels.items(), vectors, "m")


def test_features_of_labelled_and_unlabelled_candidates() -> None:
    memory = _memory()
    question = _unit(1, 0.05, 0)
    rows = memory.features(question, ["3.000347", "1.014064", "1.000757", "9.999999"])
    column = {name: rows[:, i] for i, name in enumerate(EXAMPLE_FEATURES)}
    sims = memory.vectors @ question
    best = float(sims.max())
    # The closest example ("làm lại căn cước bị mất") names 1.014064.
    assert column["example_sim"][1] == pytest.approx(best)
    assert column["example_gap"][1] == pytest.approx(0.0)
    assert column["example_first"].tolist() == [0.0, 1.0, 0.0, 0.0]
    assert column["example_votes"][1] == pytest.approx(float(sims[0] + sims[1]))
    # 1.000757 only through the second example; 3.000347 through a far one.
    assert column["example_sim"][2] == pytest.approx(float(sims[1]))
    assert column["example_gap"][2] == pytest.approx(float(sims[1]) - best)
    assert column["example_sim"][0] == pytest.approx(float(sims[2]))
    assert column["example_gap"][0] < column["example_gap"][2] < 0
    # No example names it: the "no example" values.
    assert rows[3].tolist() == [0.0, -1.0, 0.0, 0.0]
    # Without a vector or examples, every candidate gets them.
    assert memory.features(None, ["1.014064"]).tolist() == [[0.0, -1.0, 0.0, 0.0]]
    assert ExampleMemory.none().features(question, ["1.014064"]).tolist() == [[0.0, -1.0, 0.0, 0.0]]


def test_only_the_closest_examples_vote() -> None:
    vectors = {f"q{i}": _unit(1, i / 10, 0) for i in range(TOP + 3)}
    memory = ExampleMemory.of([(q, ("1.000001",)) for q in vectors], vectors, "m")
    question = _unit(1, 0, 0)
    sims = np.sort(memory.vectors @ question)[::-1]
    votes = memory.features(question, ["1.000001"])[0, EXAMPLE_FEATURES.index("example_votes")]
    assert votes == pytest.approx(float(sims[:TOP].sum()))


def test_files_round_trip_and_a_changed_file_is_refused(tmp_path: Path) -> None:
    memory = _memory()
    meta = memory.write(tmp_path)
    assert meta["count"] == 3 and meta["model_id"] == "m"
    assert not list(tmp_path.glob("*.tmp"))
    again = ExampleMemory.load(tmp_path, meta)
    assert again.questions == memory.questions and again.expected == memory.expected
    assert np.array_equal(again.vectors, memory.vectors)
    lines = (tmp_path / meta["questions"]).read_text("utf-8").splitlines()
    assert json.loads(lines[1]) == {"question": "đánh rơi CC", "expected": ["1.014064", "1.000757"]}
    (tmp_path / meta["questions"]).write_text("\n".join(lines[:2]) + "\n", "utf-8")
    with pytest.raises(ExampleError, match="SHA-256"):
        ExampleMemory.load(tmp_path, meta)
    (tmp_path / meta["questions"]).unlink()
    with pytest.raises(ExampleError, match="cannot load"):
        ExampleMemory.load(tmp_path, meta)


def test_rows_labels_and_vectors_must_match() -> None:
    with pytest.raises(ExampleError, match="must match"):
        ExampleMemory(("a", "b"), (("1",),), np.zeros((2, 3), dtype=np.float32), "m")


def test_a_train_question_is_never_in_the_memory_it_is_compared_with() -> None:
    examples = [Example(f"câu hỏi số {i}", (f"1.{i:06d}",), "eval-train") for i in range(60)]
    vectors = {e.question: _unit(1, i, 0) for i, e in enumerate(examples)}
    full, parts = example_memories(examples, vectors, "m")
    assert len(full) == 60 and sorted(parts) == list(range(MEMORY_FOLDS))
    assert sum(len(m) for m in parts.values()) == 60 * (MEMORY_FOLDS - 1)
    for example in examples:
        own = parts[memory_fold(example.question)]
        assert example.question not in own.questions
        assert example.question in full.questions


def test_the_shipped_examples_are_train_and_training_only_questions_never_test() -> None:
    meta = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text("utf-8"))
    entry = meta["example_questions"]
    memory = LightGBMReranker(DEFAULT_MODEL).examples
    sources = meta["sources"]
    assert len(memory) == entry["count"] == sources["eval-train"] + sources.get("curated", 0)
    strict = [i for path in sorted(STRICT.glob("*.jsonl")) for i in load_eval_file(path)]
    test_part = {" ".join(i.question.casefold().split()) for i in split_items(strict, "test")}
    train_part = {i.question for i in split_items(strict, "train")}
    assert not {" ".join(q.casefold().split()) for q in memory.questions} & test_part
    assert sum(q in train_part for q in memory.questions) == sources["eval-train"]
    assert memory.vectors.shape == (len(memory), 384)
    assert np.allclose(np.linalg.norm(memory.vectors, axis=1), 1.0, atol=1e-3)
    assert tuple(meta["features"]) == FEATURES and FEATURES[-4:] == EXAMPLE_FEATURES


def test_a_model_with_damaged_examples_is_refused(tmp_path: Path) -> None:
    for file in DEFAULT_MODEL.parent.glob("reranker*"):
        shutil.copy(file, tmp_path / file.name)
    meta = json.loads((tmp_path / "reranker.json").read_text("utf-8"))
    with pytest.raises(RerankerError, match="example questions"):
        LightGBMReranker(tmp_path / "reranker.txt")  # the example files are missing
    for name in (meta["example_questions"]["questions"], meta["example_questions"]["vectors"]):
        shutil.copy(DEFAULT_MODEL.parent / name, tmp_path / name)
    loaded = LightGBMReranker(tmp_path / "reranker.txt").examples
    assert len(loaded) == meta["example_questions"]["count"] > 0


def _example_trusting_model() -> list[lightgbm.Booster]:
    """A model that ranks candidates by ``example_sim`` alone (learnt, not written)."""
    rng = np.random.default_rng(5)
    rows = rng.random((800, len(FEATURES))).astype(np.float32)
    column = FEATURES.index("example_sim")
    labels = np.zeros(800, dtype=np.float32)
    for start in range(0, 800, 10):
        labels[start + int(np.argmax(rows[start : start + 10, column]))] = 1.0
    ranker = lightgbm.LGBMRanker(objective="lambdarank", n_estimators=40, verbose=-1)
    ranker.fit(rows, labels, group=[10] * 80)
    return [ranker.booster_]


def test_search_finds_the_procedure_of_a_question_worded_like_an_example(
    build: Builder,
    gen_store: GenerationStore,
    glossary: Glossary,
    caplog: pytest.LogCaptureFixture,
) -> None:
    build()
    embedder = FakeEmbedder()
    retriever = make_retriever(gen_store, embedder, glossary)
    question = "đăng ký thường trú lệ phí"
    gen = retriever.generation()
    first = retriever.first_stage(question, k=30)
    # A candidate well down the first stage that no family or same-name rule moves.
    target = next(
        h.id
        for h in first[4:]
        if h.kind == "procedure"
        and (p := gen.profiles.get(h.kind, h.id)) is not None
        and not p.bases
        and not p.variants
        and not p.same_name
    )
    vector = retriever.query_vector(question)
    memory = ExampleMemory.of([(question, (target,))], {question: vector}, embedder.model_id)
    retriever.reranker = LightGBMReranker.from_boosters(_example_trusting_model(), examples=memory)
    assert retriever.search(question, k=5)[0].id == target
    explained = retriever.explain(question, k=5)
    assert explained[0].features["example_first"] == 1.0
    assert explained[0].features["example_sim"] == pytest.approx(1.0, abs=1e-5)

    # Embedded by another model: not consulted, and said once in the log.
    other = ExampleMemory.of([(question, (target,))], {question: vector}, "another-model")
    retriever.reranker = LightGBMReranker.from_boosters(_example_trusting_model(), examples=other)
    with caplog.at_level(logging.WARNING, logger="indexer.retriever"):
        hits = retriever.search(question, k=5)
        retriever.search(question, k=5)
    assert hits[0].id != target
    warned = [r for r in caplog.records if "another-model" in r.getMessage()]
    assert len(warned) == 1


def test_the_memory_is_read_on_one_blas_thread() -> None:
    # A BLAS team left spinning after the product slowed the next query's embedding
    # (search p95 42 -> 131 ms with 1,722 examples on 2 cores).
    from threadpoolctl import threadpool_info

    from indexer.examples import _one_blas_thread

    def blas_threads() -> list[int]:
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    assert before  # numpy's BLAS is loaded
    with _one_blas_thread():
        assert blas_threads() == [1] * len(before)
        rows = _memory().features(_unit(1, 0.1, 0), ["1.014064", "3.000347"])
    assert blas_threads() == before
    assert rows[0, 0] > rows[1, 0]
