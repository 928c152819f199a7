"""Publish → index refresh: debounced, one build at a time, status every process reads."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from indexer.build import build_index
from indexer.build_state import BuildLock, BuildStatusFile
from indexer.glossary import Glossary
from indexer.refresh import BackgroundIndexRefresh, read_status, run_build
from indexer.store import GenerationStore, Manifest
from knowledge.codec import from_json, to_json
from knowledge.db import transaction
from knowledge.repository import KnowledgeRepository
from tests.fakes import FakeEmbedder


def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def change_fee(factory: sessionmaker[Session], amount: int) -> str:
    """Set the first fee of the first procedure with a fee to ``amount``; its code."""
    with transaction(factory) as session:
        repo = KnowledgeRepository(session)
        for record in repo.iter_records("procedure"):
            data = to_json(record)
            for channel in data["channels"]:
                if channel["fees"]:
                    channel["fees"][0].update(amount_vnd=amount, meaning="amount")
                    repo.upsert([from_json("procedure", data)], author="bien.tap.vien")
                    return str(data["code"])
    raise AssertionError("no procedure with a fee")


def test_requests_in_a_burst_make_one_build(tmp_path: Path) -> None:
    runs: list[float] = []
    refresh = BackgroundIndexRefresh(
        index_dir=tmp_path / "index",
        factory=None,
        debounce_seconds=0.3,
        runner=lambda: runs.append(time.monotonic()),
    )
    first = time.monotonic()
    for n in range(5):
        refresh.request(f"publish {n}")
    assert refresh.status()["state"] == "queued"
    assert refresh.status()["reason"] == "publish 4"
    _until(lambda: len(runs) == 1)
    assert runs[0] - first >= 0.3
    with refresh._cond:
        assert refresh._due is None  # nothing left pending: no second build will run
    refresh.close()
    assert len(runs) == 1


def test_a_request_during_a_build_runs_one_more(tmp_path: Path) -> None:
    release = threading.Event()
    started: list[int] = []

    def runner() -> None:
        started.append(1)
        if len(started) == 1:
            release.wait(10)

    refresh = BackgroundIndexRefresh(
        index_dir=tmp_path / "index", factory=None, debounce_seconds=0.05, runner=runner
    )
    refresh.request("first")
    _until(lambda: len(started) == 1)
    refresh.request("during the build")
    release.set()
    _until(lambda: len(started) == 2)
    refresh.close()


def test_the_burst_is_built_by_the_max_delay(tmp_path: Path) -> None:
    runs: list[int] = []
    refresh = BackgroundIndexRefresh(
        index_dir=tmp_path / "index",
        factory=None,
        debounce_seconds=0.5,
        max_delay_seconds=0.8,
        runner=lambda: runs.append(1),
    )
    started = time.monotonic()
    while not runs:  # a request every 0.1 s would postpone a pure debounce for ever
        refresh.request("keeps publishing")
        time.sleep(0.1)
        assert time.monotonic() - started < 5
    assert 0.8 <= time.monotonic() - started < 3
    refresh.close()


def test_build_status_outdated_and_failure(
    kb_factory: sessionmaker[Session], gen_store: GenerationStore, glossary: Glossary
) -> None:
    def run(**kwargs: object) -> object:
        return run_build(
            factory=kb_factory,
            store=gen_store,
            embedder=kwargs.pop("embedder", FakeEmbedder()),  # type: ignore[arg-type]
            glossary=glossary,
            glossary_sha256="test",
            **kwargs,  # type: ignore[arg-type]
        )

    stages: list[str] = []
    report = run()
    assert report is not None
    status = read_status(gen_store.index_dir, kb_factory)
    serving = status["serving"]
    assert isinstance(serving, dict)
    assert serving["generation"] == report.generation.name  # type: ignore[attr-defined]
    assert serving["knowledge_revision"] == status["knowledge_revision"]
    assert status["outdated"] is False and status["state"] == "idle"
    assert status["last_generation"] == serving["generation"]
    assert isinstance(status["last_duration_seconds"], float)
    assert run(only_if_outdated=True) is None  # nothing new: no build

    change_fee(kb_factory, 3_456_000)
    status = read_status(gen_store.index_dir, kb_factory)
    assert status["outdated"] is True

    class Broken(FakeEmbedder):
        def embed_passages(self, texts: list[str]) -> np.ndarray:  # type: ignore[override]
            stages.append("embedding")
            raise RuntimeError("mô hình hỏng")

    with pytest.raises(RuntimeError):
        run(embedder=Broken(model_id="fake-broken"))  # another model: re-embeds, fails
    status = read_status(gen_store.index_dir, kb_factory)
    assert stages == ["embedding"]
    assert status["state"] == "failed" and "mô hình hỏng" in str(status["error"])
    assert status["serving"] == serving and status["outdated"] is True  # untouched

    report = run(only_if_outdated=True)
    assert report is not None and report.records_read == 1  # only the changed record
    status = read_status(gen_store.index_dir, kb_factory)
    assert status["state"] == "idle" and status["error"] is None
    assert status["outdated"] is False


def test_progress_is_visible_while_building(
    kb_factory: sessionmaker[Session], gen_store: GenerationStore, glossary: Glossary
) -> None:
    seen: list[dict[str, object]] = []

    class Watching(FakeEmbedder):
        def embed_passages(self, texts: list[str]) -> np.ndarray:  # type: ignore[override]
            seen.append(read_status(gen_store.index_dir, None))
            return super().embed_passages(texts)

    run_build(
        factory=kb_factory,
        store=gen_store,
        embedder=Watching(),
        glossary=glossary,
        glossary_sha256="test",
    )
    assert seen and seen[0]["state"] == "building" and seen[0]["stage"] == "embedding"
    progress = seen[0]["progress"]
    assert isinstance(progress, dict) and progress["total"] > 1000  # type: ignore[operator]


def test_the_lock_is_seen_by_other_processes(tmp_path: Path) -> None:
    lock = BuildLock(tmp_path)
    probe = (
        "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
        "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB); print('free')\n"
        "except BlockingIOError:\n    print('busy')"
    )

    def other() -> str:
        return subprocess.run(
            [sys.executable, "-c", probe, str(lock.path)], capture_output=True, text=True
        ).stdout.strip()

    with lock.hold() as got:
        assert got and other() == "busy" and lock.busy()
    assert other() == "free" and not lock.busy()


def test_a_build_killed_midway_is_reported_failed(tmp_path: Path) -> None:
    BuildStatusFile(tmp_path).update(building=True, pid=2**22 + 12345, stage="embedding")
    status = read_status(tmp_path, None)
    assert status["state"] == "failed" and status["error"]


def test_incremental_build_equals_full_build(
    kb_factory: sessionmaker[Session], tmp_path: Path, glossary: Glossary
) -> None:
    embedder = FakeEmbedder()
    incremental = GenerationStore(tmp_path / "inc")
    full = GenerationStore(tmp_path / "full")
    kwargs = {"factory": kb_factory, "embedder": embedder, "glossary": glossary}
    build_index(store=incremental, glossary_sha256="t", **kwargs)  # type: ignore[arg-type]
    change_fee(kb_factory, 4_321_000)
    report = build_index(store=incremental, glossary_sha256="t", **kwargs)  # type: ignore[arg-type]
    assert report.records_read < 5 and report.records_reused > 900
    build_index(store=full, glossary_sha256="t", full=True, **kwargs)  # type: ignore[arg-type]
    a, b = incremental.current(), full.current()
    assert a is not None and b is not None
    ma, mb = Manifest.read(a), Manifest.read(b)
    assert ma.counts == mb.counts and ma.knowledge_revision == mb.knowledge_revision
    assert {k: v["sha256"] for k, v in ma.files.items()} == {
        k: v["sha256"] for k, v in mb.files.items()
    }


def test_status_and_build_on_both_databases(
    factory: sessionmaker[Session], tmp_path: Path, glossary: Glossary
) -> None:
    store = GenerationStore(tmp_path / "index")
    status = read_status(store.index_dir, factory)
    assert status["serving"] is None and status["knowledge_revision"] == 0
    with transaction(factory) as session:
        KnowledgeRepository(session).upsert(
            [
                from_json(
                    "hotline",
                    {"scope": "province", "name": "Tổng đài 1022", "phones": ["1022"]},
                )
            ],
            author="quan.tri",
        )
    assert read_status(store.index_dir, factory)["outdated"] is True
    report = run_build(
        factory=factory,
        store=store,
        embedder=FakeEmbedder(),
        glossary=glossary,
        glossary_sha256="t",
        only_if_outdated=True,
    )
    assert report is not None and report.records == 1
    status = read_status(store.index_dir, factory)
    assert status["outdated"] is False and status["state"] == "idle"
    assert status["knowledge_revision"] == 1


def test_cli_build_if_outdated_and_status(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from click.testing import CliRunner

    from bot.cli import main
    from tests.conftest import DATA_DIR

    monkeypatch.setenv("TTHC_DATA_DIR", str(tmp_path / "var"))
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    run("kb", "import", str(DATA_DIR / "hotlines" / "hotlines.csv"))
    assert json.loads(run("index", "build", "--json"))["built"] is True
    assert json.loads(run("index", "build", "--if-outdated", "--json")) == {"built": False}
    status = json.loads(run("index", "status"))
    assert status["state"] == "idle" and status["outdated"] is False
    assert status["serving"]["knowledge_revision"] == status["knowledge_revision"] == 3
    assert set(status) == {
        "serving",
        "knowledge_revision",
        "outdated",
        "state",
        "stage",
        "progress",
        "error",
        "reason",
        "requested_at",
        "started_at",
        "finished_at",
        "last_duration_seconds",
        "last_generation",
    }
