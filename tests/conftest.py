"""Shared fixtures: a clean environment, real SQLite and (when reachable) real PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from knowledge import migrate
from knowledge.db import make_engine, make_session_factory

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT / "data"
POSTGRES_URL = os.environ.get(
    "TTHC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
#: CI sets this so a missing PostgreSQL fails the run instead of skipping.
POSTGRES_REQUIRED = os.environ.get("TTHC_TEST_POSTGRES_REQUIRED") == "1"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's settings or writes outside its tmp folder."""
    for name in list(os.environ):
        if name.startswith(("TTHC_", "TELEGRAM_", "ZALO_", "FACEBOOK_")) and not name.startswith(
            "TTHC_TEST_"
        ):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TTHC_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)


def _postgres_admin() -> Engine:
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:
        engine.dispose()
        reason = f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.__class__.__name__}"
        if POSTGRES_REQUIRED:
            pytest.fail(reason)
        pytest.skip(reason)
    return engine


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A throw-away database on the real PostgreSQL server, dropped afterwards."""
    admin = _postgres_admin()
    name = f"tthc_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database: SQLite in tmp, or the PostgreSQL test database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    url: str = request.getfixturevalue("postgres_server_url")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated engine on the parametrised database."""
    eng = make_engine(db_url)
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    """Session factory on the migrated database."""
    return make_session_factory(engine)


#: Real files for a small knowledge base: the typed details (502 procedures), the FAQ,
#: hotlines and two plans.
SMALL_KB = [
    DATA_DIR / "dvcqg_opengov_crawl" / "details.jsonl.gz",
    DATA_DIR / "moh_dvc_faq" / "faq_pairs.jsonl.gz",
    DATA_DIR / "hotlines" / "hotlines.csv",
    DATA_DIR / "seeds" / "000_18ac861e3429d323.txt",
    DATA_DIR / "seeds" / "002_ea4846b3744c1f6a.txt",
]


def run_tthc(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    """Run the real console entry point in a subprocess; fail the test on a non-zero exit."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="session")
def small_real_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment of a data dir holding :data:`SMALL_KB` indexed with the real model."""
    import json

    data_dir = tmp_path_factory.mktemp("real-small")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TTHC_")}
    env["TTHC_DATA_DIR"] = str(data_dir)
    run_tthc(env, "kb", "import", *map(str, SMALL_KB), "--json")
    report = json.loads(run_tthc(env, "index", "build", "--json"))
    # Repeated passage texts (one name under several codes) are embedded once,
    # so fewer texts are embedded than vectors stored (798 of over 1,000 here).
    assert report["dense_vectors"] > 1000
    assert report["dense_vectors"] // 2 < report["embedded"] <= report["dense_vectors"]
    return env
