"""Citizens' words added on the gaps page reach the running retriever with the rebuild.

The words go through the admin (``/admin/gaps/words``: the staff glossary file), the
index is rebuilt the way the refresh child builds it (:func:`load_glossary` from the
settings, read again), and the retriever that was serving before, built with the old
glossary, now expands the citizen's words into the procedure's wording: no restart.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette

from indexer.build import build_index
from indexer.components import DEFAULT_FILLERS, load_glossary
from indexer.retriever import HybridRetriever
from indexer.settings import IndexSettings
from indexer.store import GenerationStore
from indexer.textnorm import QueryFillers
from knowledge.db import transaction
from knowledge.models import UnansweredQuestion
from knowledge.records import ProcedureData
from knowledge.repository import KnowledgeRepository
from tests.bot.admin.conftest import Login, csrf_of, make_web
from tests.fakes import FakeEmbedder, FakeIndexRefresh

CODE = "1.000001"
WORDS = "bằng khoán"  # an old name of the land certificate, in no record and no glossary


@pytest.fixture
def web(
    factory: sessionmaker[Session],
    refresh: FakeIndexRefresh,
    users: dict[str, str],
    tmp_path: Path,
) -> Starlette:
    now = dt.datetime.now(dt.UTC)
    with transaction(factory) as session:
        for days in (1, 2):
            session.add(
                UnansweredQuestion(
                    created_at=now - dt.timedelta(days=days),
                    channel="telegram",
                    status="no_answer",
                    question=WORDS,
                )
            )
        KnowledgeRepository(session).upsert(
            [
                ProcedureData(code=CODE, name="Cấp lại Giấy chứng nhận quyền sử dụng đất"),
                ProcedureData(code="1.004222", name="Đăng ký thường trú"),
                ProcedureData(code="1.001193", name="Đăng ký khai sinh"),
                ProcedureData(code="2.000123", name="Cấp bản sao trích lục hộ tịch"),
                ProcedureData(code="1.000894", name="Đăng ký kết hôn"),
            ],
            author="import",
        )
    return make_web(factory, refresh, glossary_path=tmp_path / "glossary.tsv")


def test_words_from_the_gaps_page_work_after_the_rebuild_without_restart(
    login: Login, factory: sessionmaker[Session], refresh: FakeIndexRefresh, tmp_path: Path
) -> None:
    settings = IndexSettings(index_dir=tmp_path / "index", glossary_path=tmp_path / "glossary.tsv")
    store = GenerationStore(tmp_path / "index")

    def rebuild() -> None:
        # What the refresh child does: the glossary read again from the settings.
        glossary, digest = load_glossary(settings)
        build_index(
            factory=factory,
            store=store,
            embedder=FakeEmbedder(),
            glossary=glossary,
            glossary_sha256=digest,
        )

    rebuild()
    started_with, _ = load_glossary(settings)
    # Dense only: the record's passage holds its name, not the citizen's words, so only
    # the query's expansion can bring them together.
    retriever = HybridRetriever(
        store=store,
        embedder=FakeEmbedder(),
        glossary=started_with,
        fillers=QueryFillers.load(DEFAULT_FILLERS),
        modes=("dense",),
    )
    before = retriever.first_stage(WORDS, k=5)
    assert before[0].id != CODE
    assert retriever.glossary.expand(WORDS) == WORDS

    reviewer = login("minh")
    page = reviewer.get("/admin/gaps?days=30").text
    added = reviewer.post(
        "/admin/gaps/words",
        data={"csrftoken": csrf_of(page), "wording": WORDS, "days": "30", "code": CODE},
    )
    assert added.status_code == 303
    assert "Đã thêm" in reviewer.get("/admin/gaps").text
    assert any(CODE in r for r in refresh.requests)  # a rebuild was asked for

    rebuild()
    # The same retriever object, never told about the file: the new generation brings it.
    assert "cấp lại giấy chứng nhận quyền sử dụng đất" in retriever.glossary.expand(WORDS)
    after = retriever.first_stage(WORDS, k=5)
    assert after[0].id == CODE and "dense" in after[0].sources
    assert retriever.search(WORDS, k=1)[0].id == CODE
