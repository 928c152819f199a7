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
from indexer.build import build_index
from indexer.glossary import DEFAULT_GLOSSARY, Glossary
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
from knowledge.db import make_engine, make_session_factory
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


@pytest.fixture(scope="module")
def built_index(tmp_path_factory: pytest.TempPathFactory, small_kb_file: Path) -> Path:
    """Two real generations of the small knowledge base, built once for this module."""
    root = tmp_path_factory.mktemp("integrity")
    shutil.copy(small_kb_file, root / "kb.sqlite3")
    factory = make_session_factory(make_engine(f"sqlite:///{root / 'kb.sqlite3'}"))
    store = GenerationStore(root / "index")
    for _ in range(2):
        build_index(
            factory=factory,
            store=store,
            embedder=FakeEmbedder(),
            glossary=Glossary.load(DEFAULT_GLOSSARY),
            glossary_sha256="test",
        )
    return store.index_dir


@pytest.fixture
def two_generations(built_index: Path, gen_store: GenerationStore) -> tuple[Path, Path]:
    """A private copy of the two generations (older, newer); ``current`` is the newer."""
    shutil.copytree(built_index, gen_store.index_dir, symlinks=True)
    older, newer = gen_store.generations()
    assert gen_store.current() == newer
    return older, newer


def switch(store: GenerationStore, folder: Path) -> None:
    """Point ``current`` at ``folder`` the way a build does (one rename)."""
    tmp = store.index_dir / ".current.tmp"
    tmp.symlink_to(folder.name)
    tmp.replace(store.index_dir / CURRENT)


def publish_copy(store: GenerationStore, source: Path) -> Path:
    """A new generation with ``source``'s files (as a rebuild of unchanged data gives)."""
    folder = store.index_dir / ("gen-99999999T999999999999Z-" + source.name[-4:])
    shutil.copytree(source, folder)
    switch(store, folder)
    return folder


def test_build_lists_size_and_sha256_of_every_file(two_generations: tuple[Path, Path]) -> None:
    folder = two_generations[1]
    files = Manifest.read(folder).files
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    on_disk.discard(MANIFEST)
    assert set(files) == on_disk and {STORE, DENSE, PROFILES} <= on_disk
    assert any(name.startswith(KEYWORD + "/") for name in files)
    for name, entry in files.items():
        assert entry["size"] == (folder / name).stat().st_size
        assert entry["sha256"] == integrity.file_sha256(folder / name)
    assert integrity.verify(folder, files).keys() == files.keys()


def test_every_file_is_covered(two_generations: tuple[Path, Path]) -> None:
    """A flipped byte in any one file of a generation is found, and named."""
    folder = two_generations[1]
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
    two_generations: tuple[Path, Path],
    gen_store: GenerationStore,
    glossary: Glossary,
    caplog: pytest.LogCaptureFixture,
    damage: Callable[[Path], str],
    problem: str,
) -> None:
    older, newer = two_generations
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
    two_generations: tuple[Path, Path],
    gen_store: GenerationStore,
    glossary: Glossary,
    caplog: pytest.LogCaptureFixture,
) -> None:
    serving_before, damaged = two_generations
    switch(gen_store, serving_before)
    retriever = make_retriever(gen_store, FakeEmbedder(), glossary)
    loaded = retriever.generation()
    flip_byte(damaged / STORE)
    switch(gen_store, damaged)  # a new build is published, damaged on disk

    assert retriever.generation() is loaded  # not reloaded, still answering
    assert retriever.search("khai sinh", k=1)
    assert retriever.serving().fallback and damaged.name in retriever.serving().refused
    [line] = errors(caplog)
    assert damaged.name in line and STORE in line
    retriever.generation()
    assert len(errors(caplog)) == 1  # refused once, not re-hashed on every search

    repaired = publish_copy(gen_store, serving_before)  # the next good build
    assert retriever.generation().folder == repaired and not retriever.serving().fallback


def test_file_damaged_while_serving_is_noticed(
    two_generations: tuple[Path, Path],
    gen_store: GenerationStore,
    glossary: Glossary,
    caplog: pytest.LogCaptureFixture,
) -> None:
    older, newer = two_generations
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
    two_generations: tuple[Path, Path],
    gen_store: GenerationStore,
    glossary: Glossary,
    caplog: pytest.LogCaptureFixture,
) -> None:
    older, only = two_generations
    shutil.rmtree(older)
    flip_byte(only / DENSE)
    retriever = make_retriever(gen_store, FakeEmbedder(), glossary)
    with pytest.raises(GenerationError, match=DENSE):
        retriever.search("khai sinh")
    with pytest.raises(GenerationError, match="no intact"):
        retriever.generation()  # refused once; then a clear "nothing left"
    [line] = errors(caplog)
    assert only.name in line and "no intact generation" in line


def test_current_switched_back_to_a_refused_generation(
    two_generations: tuple[Path, Path], gen_store: GenerationStore, glossary: Glossary
) -> None:
    older, newer = two_generations
    flip_byte(newer / DENSE)
    retriever = make_retriever(gen_store, FakeEmbedder(), glossary)
    assert retriever.generation().folder == older
    switch(gen_store, older)
    assert retriever.generation().folder == older and not retriever.serving().fallback
    switch(gen_store, newer)
    assert retriever.generation().folder == older and retriever.serving().fallback


def test_generation_without_checksums_serves_with_a_warning(
    two_generations: tuple[Path, Path],
    gen_store: GenerationStore,
    glossary: Glossary,
    caplog: pytest.LogCaptureFixture,
) -> None:
    folder = two_generations[1]
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


def test_build_does_not_reuse_a_damaged_previous_generation(
    two_generations: tuple[Path, Path], build: Builder
) -> None:
    flip_byte(two_generations[1] / STORE)
    second = build()
    assert second.records_reused == 0 and second.records_read == second.records
    files = Manifest.read(second.generation).files
    integrity.verify(second.generation, files)
    third = build()  # an intact previous generation is reused again
    assert third.records_reused == third.records


def test_verify_command(
    two_generations: tuple[Path, Path], gen_store: GenerationStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from indexer.cli import index

    older, newer = two_generations
    monkeypatch.setenv("TTHC_INDEX_DIR", str(gen_store.index_dir))

    def verify() -> tuple[int, dict[str, dict[str, object]]]:
        result = CliRunner().invoke(index, ["verify", "--json"])
        rows = [json.loads(line) for line in result.output.splitlines()]
        return result.exit_code, {str(row["generation"]): row for row in rows}

    code, rows = verify()
    assert code == 0 and {r["status"] for r in rows.values()} == {"ok"}
    assert rows[newer.name]["current"] and not rows[older.name]["current"]
    flip_byte(older / DENSE)
    code, rows = verify()
    assert code == 0  # the current generation is intact
    assert rows[older.name]["status"] == "damaged" and DENSE in str(rows[older.name]["problem"])
    truncate(newer / STORE)
    code, rows = verify()
    assert code == 1 and rows[newer.name]["status"] == "damaged"
    info = CliRunner().invoke(index, ["info"])
    assert info.exit_code == 0 and "sha256 trong manifest" in info.output


def test_damaged_manifest_is_refused(
    two_generations: tuple[Path, Path],
    gen_store: GenerationStore,
    glossary: Glossary,
    caplog: pytest.LogCaptureFixture,
) -> None:
    older, newer = two_generations
    (newer / MANIFEST).write_bytes(b"\x00garbage{")
    retriever = make_retriever(gen_store, FakeEmbedder(), glossary)
    assert retriever.generation().folder == older and retriever.serving().fallback
    [line] = errors(caplog)
    assert newer.name in line and MANIFEST in line


def test_unloadable_generation_without_checksums_is_refused(
    two_generations: tuple[Path, Path],
    gen_store: GenerationStore,
    glossary: Glossary,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Without checksums nothing is verified, but a file FAISS cannot read still falls back."""
    older, newer = two_generations
    data = json.loads((newer / MANIFEST).read_text("utf-8"))
    del data["files"]
    (newer / MANIFEST).write_text(json.dumps(data), "utf-8")
    truncate(newer / DENSE)
    retriever = make_retriever(gen_store, FakeEmbedder(), glossary)
    assert retriever.generation().folder == older and retriever.serving().fallback
    [line] = errors(caplog)
    assert newer.name in line and "cannot be loaded" in line
