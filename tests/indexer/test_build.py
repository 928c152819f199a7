"""Generations: complete, atomic, incremental, cached; failures leave `current` alone."""

from __future__ import annotations

import json
import os
import sqlite3

import faiss
import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from indexer.dense import DenseIndex, stable_id
from indexer.glossary import Glossary
from indexer.store import (
    CURRENT,
    DENSE,
    FORMAT_VERSION,
    MANIFEST,
    GenerationError,
    GenerationStore,
    Manifest,
)
from indexer.vector_cache import VectorCache, content_key
from knowledge.db import transaction
from knowledge.records import FaqData
from knowledge.repository import KnowledgeRepository
from tests.fakes import FakeEmbedder
from tests.indexer.conftest import Builder, make_retriever


def test_build_writes_a_complete_generation(build: Builder, gen_store: GenerationStore) -> None:
    report = build()
    current = gen_store.current()
    assert current == report.generation and current is not None
    manifest = Manifest.read(current)
    assert manifest.format_version == FORMAT_VERSION
    assert manifest.model_id == "fake-hash-64" and manifest.dimension == 64
    assert manifest.counts["records_by_kind"] == {
        "procedure": 502,
        "faq": 477,
        "plan": 2,
        "hotline": 3,
    }
    assert manifest.knowledge_revision == report.knowledge_revision > 0
    assert (
        report.chunks > report.records and report.dense_vectors == manifest.counts["dense_vectors"]
    )
    db = sqlite3.connect(current / "store.sqlite3")
    kinds = {row[0] for row in db.execute("SELECT DISTINCT kind FROM chunks")}
    assert kinds == {"procedure", "faq", "plan", "hotline"}
    # Every chunk knows its record, field and revision.
    row = db.execute(
        "SELECT record_id, field, revision FROM chunks WHERE chunk_id = ?",
        ("procedure:1.004222#channels",),
    ).fetchone()
    assert row[0] == "1.004222" and row[1] == "channels" and row[2] > 0
    assert (gen_store.index_dir / CURRENT).is_symlink()


def test_second_build_embeds_nothing_and_reuses_records(
    build: Builder, gen_store: GenerationStore
) -> None:
    first_embedder = FakeEmbedder()
    first = build(first_embedder)
    db = sqlite3.connect(first.generation / "store.sqlite3")
    (distinct,) = db.execute(
        "SELECT COUNT(DISTINCT dense_text) FROM chunks WHERE dense_text != ''"
    ).fetchone()
    db.close()
    # Each distinct passage text is embedded once, however many records share it.
    assert first.embedded == first_embedder.texts_embedded == distinct <= first.dense_vectors
    embedder = FakeEmbedder()
    second = build(embedder)
    assert second.embedded == 0 and embedder.texts_embedded == 0
    assert second.records_read == 0 and second.records_reused == second.records
    assert second.generation != first.generation


def test_one_changed_record_re_embeds_only_its_chunk(
    build: Builder, kb_factory: sessionmaker[Session], gen_store: GenerationStore
) -> None:
    build()
    with transaction(kb_factory) as session:
        repo = KnowledgeRepository(session)
        faq = repo.get("faq", "moh-faq-0017")
        assert isinstance(faq, FaqData)
        faq.question = faq.question + " (đã sửa)"
        repo.upsert([faq], author="staff")
    embedder = FakeEmbedder()
    report = build(embedder)
    assert report.records_read == 1
    assert report.embedded == 1 and embedder.texts_embedded == 1
    current = gen_store.current()
    assert current is not None
    store = sqlite3.connect(current / "store.sqlite3")
    (data,) = store.execute("SELECT data FROM records WHERE id = 'moh-faq-0017'").fetchone()
    assert json.loads(data)["question"].endswith("(đã sửa)")


def test_retired_record_leaves_the_index(
    build: Builder,
    kb_factory: sessionmaker[Session],
    gen_store: GenerationStore,
    glossary: Glossary,
) -> None:
    build()
    with transaction(kb_factory) as session:
        KnowledgeRepository(session).set_status("procedure", "1.004222", "retired", author="s")
    report = build()
    assert report.records == 502 + 477 + 2 + 3 - 1
    retriever = make_retriever(gen_store, FakeEmbedder(), glossary)
    assert "1.004222" not in [h.id for h in retriever.search("đăng ký thường trú", k=20)]


def test_failed_build_leaves_current_untouched(build: Builder, gen_store: GenerationStore) -> None:
    good = build().generation

    class Exploding(FakeEmbedder):
        def embed_passages(self, texts: list[str]) -> np.ndarray:  # type: ignore[type-arg]
            raise RuntimeError("model crashed")

    with pytest.raises(RuntimeError, match="model crashed"):
        build(Exploding(model_id="other-model"))
    assert gen_store.current() == good
    assert not list(gen_store.index_dir.glob("gen-*.tmp"))


def test_interrupted_generation_is_never_current(gen_store: GenerationStore) -> None:
    with pytest.raises(KeyboardInterrupt), gen_store.new_generation() as folder:
        (folder / "half-written").write_text("x")
        raise KeyboardInterrupt
    assert gen_store.current() is None
    # A folder without a manifest is refused even if someone switches to it by hand.
    with pytest.raises(GenerationError), gen_store.new_generation():
        pass
    assert gen_store.current() is None


def test_old_generations_are_pruned(build: Builder, gen_store: GenerationStore) -> None:
    for _ in range(5):
        build()
    assert len(gen_store.generations()) == 3
    assert gen_store.current() == gen_store.generations()[-1]


def test_vector_cache_keys_cover_model_role_and_text(tmp_path: object) -> None:
    assert content_key("m", "passage", "a") != content_key("m2", "passage", "a")
    assert content_key("m", "passage", "a") != content_key("m", "query", "a")
    assert stable_id("procedure:1#header") == stable_id("procedure:1#header") > 0


def test_vector_cache_round_trip(tmp_path: os.PathLike[str]) -> None:
    from pathlib import Path

    cache = VectorCache(Path(tmp_path) / "c.sqlite3")
    embedder = FakeEmbedder()
    first, new = cache.embed(
        ["a b", "c d"], model_id="m", dimension=64, role="passage", compute=embedder.embed_passages
    )
    again, new_again = cache.embed(
        ["c d", "a b", "e"],
        model_id="m",
        dimension=64,
        role="passage",
        compute=embedder.embed_passages,
    )
    cache.close()
    assert (new, new_again) == (2, 1)
    assert np.array_equal(again[0], first[1]) and np.array_equal(again[1], first[0])


def test_vector_cache_embeds_a_repeated_text_once(tmp_path: os.PathLike[str]) -> None:
    from pathlib import Path

    cache = VectorCache(Path(tmp_path) / "c.sqlite3")
    embedder = FakeEmbedder()
    progress: list[int] = []
    texts = ["cấp hộ chiếu", "đăng ký khai sinh", "cấp hộ chiếu", "cấp hộ chiếu", "x"]
    vectors, new = cache.embed(
        texts,
        model_id="m",
        dimension=64,
        role="passage",
        compute=embedder.embed_passages,
        batch_size=2,
        on_progress=progress.append,
    )
    assert new == embedder.texts_embedded == 3
    assert sum(progress) == len(texts)
    alone = embedder.embed_passages(["cấp hộ chiếu"])[0]
    for position in (0, 2, 3):
        assert np.array_equal(vectors[position], alone)
    assert not np.array_equal(vectors[1], alone) and np.any(vectors[4])
    # Cached now: the same list again embeds nothing and gives the same vectors.
    again, new_again = cache.embed(
        texts, model_id="m", dimension=64, role="passage", compute=embedder.embed_passages
    )
    cache.close()
    assert new_again == 0 and np.array_equal(again, vectors)


def test_manifest_of_another_format_is_refused(build: Builder, gen_store: GenerationStore) -> None:
    current = build().generation
    data = json.loads((current / MANIFEST).read_text("utf-8"))
    data["format_version"] = 999
    (current / MANIFEST).write_text(json.dumps(data), "utf-8")
    with pytest.raises(GenerationError, match="format 999"):
        Manifest.read(current)


def test_a_served_dense_index_searches_on_one_thread(build: Builder) -> None:
    # The query embedder's OpenMP team has the cores; FAISS's own team would contend.
    report = build()
    faiss.omp_set_num_threads(2)
    index = DenseIndex.load(report.generation / DENSE)
    assert faiss.omp_get_max_threads() == 1
    ids, scores = index.search(np.ones(64, dtype=np.float32) / 8.0, 5)
    assert len(ids) == 5 and scores[0] >= scores[-1]
