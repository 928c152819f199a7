"""The admin is mounted at /admin only with a real secret key."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.routing import Mount

from bot.app import Assistant, build_admin_app
from bot.settings import AdminSettings, ServerSettings
from tests.bot.admin.conftest import AdminClient
from tests.fakes import FakeIndexRefresh


def _assistant(engine: Engine) -> Assistant:
    nothing: Any = None  # the admin reads only the database
    return Assistant(engine=nothing, retriever=nothing, database=engine)


def test_unset_key_means_no_admin(engine: Engine) -> None:
    app = build_admin_app(_assistant(engine), ServerSettings(), AdminSettings(), FakeIndexRefresh())
    assert app is None


def test_placeholder_or_short_key_fails_fast(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    for value, reason in (("changeme", "placeholder"), ("too-short", "32 characters")):
        monkeypatch.setenv("TTHC_ADMIN_SECRET_KEY", value)
        with pytest.raises(ValueError, match=reason):
            build_admin_app(
                _assistant(engine), ServerSettings(), AdminSettings(), FakeIndexRefresh()
            )


def test_key_from_environment_mounts_the_admin(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTHC_ADMIN_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("TTHC_ADMIN_SECURE_COOKIES", "false")
    admin = build_admin_app(
        _assistant(engine), ServerSettings(), AdminSettings(), FakeIndexRefresh()
    )
    assert admin is not None
    with AdminClient(Starlette(routes=[Mount("/admin", app=admin)])) as client:
        assert client.get("/admin/").status_code == 303
        page = client.get("/admin/login")
        assert page.status_code == 200 and "Đăng nhập" in page.text
        assert "secure" not in page.headers["set-cookie"].lower()
