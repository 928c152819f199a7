"""Index integrity: checksums written at build, a damaged generation refused, the previous
intact one serving (at start-up, on a switch and when a served file changes on disk)."""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from indexer import integrity
from indexer.glossary import Glossary
from indexer.integrity import GenerationDamaged
from indexer.retriever import HybridRetriever
from indexer.store import (
    CURRENT,
    DENSE,
    KEYWORD,
    MANIFEST,
    PROFILES,
    STORE,
    GenerationError,
    GenerationStore,
    Manifest,
)
from tests.fakes import FakeEmbedder
from tests.indexer.conftest import Builder, make_retriever


def flip_byte(path: Path, offset: int | None = None) -> None:
    """Invert one byte in place (the middle one by default): same size, other content."""
    data = bytearray(path.read_bytes())
    at = len(data) // 2 if offset is None else offset
    data[at] ^= 0xFF
    with path.open("r+b") as handle:
        handle.seek(at)
        handle.write(bytes([data[at]]))


def truncate(path: Path) -> None:
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


def keyword_file(folder: Path) -> Path:
    return sorted((folder / KEYWORD).iterdir())[0]


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def two_generations(build: Builder) -> tuple[Path, Path]:
    older = build().generation
    newer = build().generation
    assert older != newer
    return older, newer


def test_build_lists_size_and_sha256_of_every_file(
    build: Builder, gen_store: GenerationStore
) -> None:
    folder = build().generation
    files = Manifest.read(folder).files
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    on_disk.discard(MANIFEST)
    assert set(files) == on_disk and {STORE, DENSE, PROFILES} <= on_disk
    assert any(name.startswith(KEYWORD + "/") for name in files)
    for name, entry in files.items():
        assert entry["size"] == (folder / name).stat().st_size
        assert entry["sha256"] == integrity.file_sha256(folder / name)
    assert integrity.verify(folder, files).keys() == files.keys()


def test_every_file_is_covered(build: Builder) -> None:
    """A flipped byte in any one file of a generation is found, and named."""
    folder = build().generation
    files = Manifest.read(folder).files
    for name in files:
        copy = folder.parent / "copy"
        shutil.copytree(folder, copy)
        flip_byte(copy / name)
        with pytest.raises(GenerationDamaged) as caught:
            integrity.verify(copy, files)
        assert caught.value.file == name and "sha256" in caught.value.problem
        shutil.rmtree(copy)


def flip_dense(folder: Path) -> str:
    flip_byte(folder / DENSE)
    return DENSE


def truncate_store(folder: Path) -> str:
    truncate(folder / STORE)
    return STORE


def delete_keyword_file(folder: Path) -> str:
    path = keyword_file(folder)
    path.unlink()
    return path.relative_to(folder).as_posix()


@pytest.mark.parametrize(
    ("damage", "problem"),
    [(flip_dense, "sha256"), (truncate_store, "bytes"), (delete_keyword_file, "missing")],
    ids=["flipped-byte", "truncated", "missing"],
)
def test_damaged_current_at_start_up_serves_the_previous_generation(
    build: Builder,
    gen_store: GenerationStore,
    glossary: Glossary,
    caplog: pytest.LogCaptureFixture,
    damage: Callable[[Path], str],
    problem: str,
) -> None:
    older, newer = two_generations(build)
    damaged_file = damage(newer)
    caplog.set_level(logging.INFO, logger="indexer.retriever")
    retriever = make_retriever(gen_store, FakeEmbedder(), glossary)

    hits = retriever.search("đăng ký thường trú lệ phí", k=3)

    assert hits and retriever.generation().folder == older
    serving = retriever.serving()
    assert (serving.generation, serving.current) == (older.name, newer.name)
    assert serving.fallback and serving.verified
    assert list(serving.refused) == [newer.name]
    assert serving.refused[newer.name].startswith(damaged_file)
    assert problem in serving.refused[newer.name]
    [line] = errors(caplog)  # one clear line: which generation, which file, what serves
    assert newer.name in line and damaged_file in line and problem in line
    assert line.endswith(f"serving {older.name} instead")


def test_damaged_new_generation_leaves_the_loaded_one_serving(
    build: Builder,
    gen_store: GenerationStore,
    glossary: Glossary,
    caplog: pytest.LogCaptureFixture,
) -> None:
    build()
    retriever = make_retriever(gen_store, FakeEmbedder(), glossary)
    serving_before = retriever.generation()
    damaged = build().generation
    flip_byte(damaged / STORE)

    assert retriever.generation() is serving_before  # not reloaded, still answering
    assert retriever.search("khai sinh", k=1)
    assert retriever.serving().fallback and damaged.name in retriever.serving().refused
    [line] = errors(caplog)
    assert damaged.name in line and STORE in line
    retriever.generation()
    assert len(errors(caplog)) == 1  # refused once, not re-hashed on every search

    repaired = build().generation  # the next good build is picked up as usual
    assert retriever.generation().folder == repaired and not retriever.serving().fallback


def test_file_damaged_while_serving_is_noticed(
    build: Builder,
    gen_store: GenerationStore,
    glossary: Glossary,
    caplog: pytest.LogCaptureFixture,
) -> None:
    older, newer = two_generations(build)
    retriever = HybridRetriever(
        store=gen_store,
        embedder=FakeEmbedder(),
        glossary=glossary,
        fillers=make_retriever(gen_store, FakeEmbedder(), glossary).fillers,
        recheck_seconds=0.0,
    )
    assert retriever.generation().folder == newer
    keyword = keyword_file(newer)
    keyword.touch()  # a new mtime with the same bytes is accepted again
    assert retriever.generation().folder == newer and not errors(caplog)
    time.sleep(0.05)  # file times come from a coarse kernel clock: let the next write differ

    flip_byte(keyword)  # the keyword index is memory-mapped: this would change answers

    assert retriever.generation().folder == older
    assert retriever.serving().fallback
    [line] = errors(caplog)
    assert newer.name in line and keyword.name in line and older.name in line


def test_only_generation_damaged_is_not_served(
    build: Builder,
    gen_store: GenerationStore,
    glossary: Glossary,
    caplog: pytest.LogCaptureFixture,
) -> None:
    only = build().generation
    flip_byte(only / DENSE)
    retriever = make_retriever(gen_store, FakeEmbedder(), glossary)
    with pytest.raises(GenerationError, match=DENSE):
        retriever.search("khai sinh")
    with pytest.raises(GenerationError, match="no intact"):
        retriever.generation()  # refused once; then a clear "nothing left"
    [line] = errors(caplog)
    assert only.name in line and "no intact generation" in line


def test_current_switched_back_to_a_refused_generation(
    build: Builder, gen_store: GenerationStore, glossary: Glossary
) -> None:
    older, newer = two_generations(build)
    flip_byte(newer / DENSE)
    retriever = make_retriever(gen_store, FakeEmbedder(), glossary)
    assert retriever.generation().folder == older
    link = gen_store.index_dir / CURRENT
    link.unlink()
    link.symlink_to(older.name)
    assert retriever.generation().folder == older and not retriever.serving().fallback
    link.unlink()
    link.symlink_to(newer.name)
    assert retriever.generation().folder == older and retriever.serving().fallback


def test_generation_without_checksums_serves_with_a_warning(
    build: Builder,
    gen_store: GenerationStore,
    glossary: Glossary,
    caplog: pytest.LogCaptureFixture,
) -> None:
    folder = build().generation
    data = json.loads((folder / MANIFEST).read_text("utf-8"))
    del data["files"]  # as written before checksums existed
    (folder / MANIFEST).write_text(json.dumps(data), "utf-8")
    caplog.set_level(logging.WARNING)

    retriever = make_retriever(gen_store, FakeEmbedder(), glossary)

    assert retriever.search("khai sinh", k=1)
    assert not retriever.serving().verified and not retriever.serving().fallback
    assert any(
        "no checksums" in r.getMessage() and folder.name in r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING
    )


def test_build_does_not_reuse_a_damaged_previous_generation(build: Builder) -> None:
    first = build()
    flip_byte(first.generation / STORE)
    second = build()
    assert second.records_reused == 0 and second.records_read == second.records
    files = Manifest.read(second.generation).files
    integrity.verify(second.generation, files)
    third = build()  # an intact previous generation is reused again
    assert third.records_reused == third.records
