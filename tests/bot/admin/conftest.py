"""Admin fixtures: the real admin app on a real database, staff accounts, a logged-in client."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher, profiles
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.routing import Mount

from bot.admin.app import build_admin
from bot.admin.pages import ADMIN_PAGES
from knowledge import staff
from knowledge.db import transaction
from knowledge.records import ChannelData, FeeData, PlanData, PlanSection, ProcedureData
from knowledge.repository import KnowledgeRepository
from knowledge.staff import create_user
from tests.fakes import FakeIndexRefresh


class AdminClient:
    """A synchronous cookie-keeping client over the real ASGI app (httpx ``ASGITransport``)."""

    def __init__(
        self, app: Starlette, *, base_url: str = "http://testserver", follow_redirects: bool = False
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url=base_url,
            follow_redirects=follow_redirects,
        )

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._loop.run_until_complete(self._client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def close(self) -> None:
        self._loop.run_until_complete(self._client.aclose())
        self._loop.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


SECRET = "test-secret-key-that-is-long-enough-0123456789"
PASSWORD = "mật khẩu đủ dài 123"
_CSRF = re.compile(r'name="csrftoken" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = _CSRF.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


@pytest.fixture(autouse=True)
def _cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2's cheapest profile: the real algorithm, a fraction of the production cost."""
    monkeypatch.setattr(staff, "HASHER", PasswordHasher.from_parameters(profiles.CHEAPEST))


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """SQLite for the page tests; ``test_workflow_postgres.py`` runs the workflow on
    PostgreSQL (a fresh schema per test costs seconds there)."""
    return f"sqlite:///{tmp_path / 'admin.sqlite3'}"


@pytest.fixture
def refresh() -> FakeIndexRefresh:
    return FakeIndexRefresh()


@pytest.fixture
def users(factory: sessionmaker[Session]) -> dict[str, str]:
    """One account per role (name → role), all with :data:`PASSWORD`."""
    accounts = {
        "lan": "editor",
        "minh": "reviewer",
        "hoa": "officer",
        "quan": "admin",
        "tuan": "editor",
        "thu": "reviewer",
    }
    with transaction(factory) as session:
        for name, role in accounts.items():
            create_user(session, name, PASSWORD, role, actor="test")
    return accounts


def make_web(
    factory: sessionmaker[Session], refresh: FakeIndexRefresh, **kwargs: object
) -> Starlette:
    admin = build_admin(
        factory=factory,
        refresh=refresh,
        secret_key=SECRET,
        secure_cookies=False,
        pages=ADMIN_PAGES,
        **kwargs,  # type: ignore[arg-type]
    )
    return Starlette(routes=[Mount("/admin", app=admin)])


@pytest.fixture
def web(
    factory: sessionmaker[Session], refresh: FakeIndexRefresh, users: dict[str, str]
) -> Starlette:
    return make_web(factory, refresh)


Login = Callable[[str], AdminClient]


@pytest.fixture
def login(web: Starlette) -> Iterator[Login]:
    """``login(name)`` → a client holding that staff member's session."""
    clients: list[AdminClient] = []

    def go(name: str) -> AdminClient:
        client = AdminClient(web, follow_redirects=False)
        clients.append(client)
        page = client.get("/admin/login")
        response = client.post(
            "/admin/login",
            data={
                "username": name,
                "password": PASSWORD,
                "csrftoken": csrf_of(page.text),
                "next": "/admin/",
            },
        )
        assert response.status_code == 303, response.text
        return client

    yield go
    for client in clients:
        client.close()


def post(client: AdminClient, page_path: str, action: str, data: dict[str, str]) -> httpx.Response:
    """Submit a form of ``page_path`` to ``action`` with the page's CSRF token."""
    token = csrf_of(client.get(page_path).text)
    return client.post(action, data={**data, "csrftoken": token})


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright (skipped when absent, unless CI
    requires it)."""
    from tests.bot.test_webchat_browser import BROWSER_ARGS, BROWSER_REQUIRED, CHROMIUM

    if not Path(CHROMIUM).exists():
        if BROWSER_REQUIRED:
            pytest.fail(f"Chromium not found at {CHROMIUM}")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS)
        yield launched
        launched.close()


__all__ = ["PASSWORD", "AdminClient", "Engine", "csrf_of", "make_web", "post"]


#: The procedure the workflow and transfer tests edit (fees 20.000 / 10.000 đồng).
RESIDENCE = "1.004222"


def residence_procedure() -> ProcedureData:
    """Đăng ký thường trú (:data:`RESIDENCE`) as the portal's detail records hold it:
    direct filing 20.000 đồng, online 10.000 đồng, 7 working days each."""
    return ProcedureData(
        code=RESIDENCE,
        name="Đăng ký thường trú",
        fields=["Đăng ký, quản lý cư trú"],
        levels=["Cấp Xã"],
        implementing_agencies="Công an xã",
        channels=[
            ChannelData("truc_tiep", 7, "working_day", "", (FeeData("Lệ phí", 20000),)),
            ChannelData("truc_tuyen", 7, "working_day", "", (FeeData("Lệ phí", 10000),)),
        ],
        dataset="dvcqg_opengov_details",
    )


#: The plan the plan pages edit: Hà Tĩnh's Sở Tư pháp, CCHC propaganda for 2020.
PLAN = "733/KH-STP"


def seed_plan(
    factory: sessionmaker[Session], sections: list[PlanSection], *others: PlanData | ProcedureData
) -> None:
    """Publish plan :data:`PLAN` with ``sections``, and ``others`` with it, as an import."""
    plan = PlanData(
        number=PLAN,
        title="Kế hoạch tuyên truyền cải cách hành chính năm 2020",
        issuer="Sở Tư pháp",
        issued_on=dt.date(2019, 12, 30),
        province="Hà Tĩnh",
        year=2020,
        sections=sections,
    )
    with transaction(factory) as session:
        KnowledgeRepository(session).upsert([plan, *others], author="import")
