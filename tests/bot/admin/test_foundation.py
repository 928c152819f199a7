"""The admin's foundation over HTTP: login, sessions, throttling, CSRF, roles, audit, CLI."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette

from bot.cli import main
from knowledge.db import transaction
from knowledge.models import AuditEntry, StaffUser
from knowledge.staff import authenticate
from tests.bot.admin.conftest import PASSWORD, AdminClient, Login, csrf_of, make_web
from tests.fakes import FakeIndexRefresh


def _audit(factory: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    with transaction(factory) as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        return [(r.actor, r.action, r.target_key) for r in rows]


def test_anonymous_is_sent_to_login_with_next(web: Starlette) -> None:
    with AdminClient(web, follow_redirects=False) as client:
        for path in ("/admin/", "/admin/audit?actor=lan"):
            response = client.get(path)
            assert response.status_code == 303, path
            location = response.headers["location"]
            assert location.startswith("/admin/login?next=%2Fadmin%2F"), location
        page = client.get("/admin/login")
        assert page.status_code == 200
        assert "Đăng nhập" in page.text and 'name="csrftoken"' in page.text


def test_login_sets_safe_cookies_and_goes_to_next(
    web: Starlette, factory: sessionmaker[Session]
) -> None:
    with AdminClient(web, follow_redirects=False) as client:
        token = csrf_of(client.get("/admin/login").text)
        response = client.post(
            "/admin/login",
            data={
                "username": "Lan",
                "password": PASSWORD,
                "csrftoken": token,
                "next": "/admin/changes",
            },
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/admin/changes"
        cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith("tthc_admin=")
        )
        assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
        assert "path=/admin" in cookie.lower()
        home = client.get("/admin/")
        assert home.status_code == 200 and "biên tập viên" in home.text
        assert "gen-test" in home.text  # the serving generation from IndexRefresh.status()
        # An open redirect is refused: next must stay inside the admin.
        client.post("/admin/logout", data={"csrftoken": csrf_of(home.text)})
        token = csrf_of(client.get("/admin/login").text)
        response = client.post(
            "/admin/login",
            data={
                "username": "lan",
                "password": PASSWORD,
                "csrftoken": token,
                "next": "//evil.example/admin",
            },
        )
        assert response.headers["location"] == "/admin/"
    assert ("lan", "login.ok", "lan") in _audit(factory)
    assert ("lan", "logout", "lan") in _audit(factory)


def test_secure_cookie_flag_by_default(
    factory: sessionmaker[Session], users: dict[str, str]
) -> None:
    refresh = FakeIndexRefresh()
    app = make_web(factory, refresh)
    # make_web turns Secure off for plain-http tests; the default is on.
    from starlette.routing import Mount

    from bot.admin.app import build_admin

    secure = Starlette(
        routes=[
            Mount("/admin", app=build_admin(factory=factory, refresh=refresh, secret_key="s" * 40))
        ]
    )
    with AdminClient(secure, base_url="https://testserver", follow_redirects=False) as client:
        page = client.get("/admin/login")
        csrf_cookie = page.headers["set-cookie"]
        assert "secure" in csrf_cookie.lower()
        response = client.post(
            "/admin/login",
            data={"username": "lan", "password": PASSWORD, "csrftoken": csrf_of(page.text)},
        )
        session_cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith("tthc_admin=")
        )
        assert "secure" in session_cookie.lower()
    assert app is not None


def test_wrong_password_five_times_is_throttled(
    web: Starlette, factory: sessionmaker[Session]
) -> None:
    with AdminClient(web, follow_redirects=False) as client:
        token = csrf_of(client.get("/admin/login").text)

        def attempt(password: str) -> int:
            return client.post(
                "/admin/login",
                data={"username": "minh", "password": password, "csrftoken": token},
            ).status_code

        assert [attempt(f"sai mật khẩu {i}") for i in range(5)] == [401] * 5
        refused = client.post(
            "/admin/login", data={"username": "minh", "password": PASSWORD, "csrftoken": token}
        )
        assert refused.status_code == 429
        assert "sai mật khẩu quá nhiều lần" in refused.text and "15 phút" in refused.text
        # Another account from the same address is not locked by minh's failures.
        other = client.post(
            "/admin/login", data={"username": "thu", "password": PASSWORD, "csrftoken": token}
        )
        assert other.status_code == 303
    actions = [a for _, a, key in _audit(factory) if key == "minh"]
    assert actions.count("login.fail") == 5 and actions[-1] == "login.throttled"


def test_idle_session_expires(factory: sessionmaker[Session], users: dict[str, str]) -> None:
    now = [dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)]
    app = make_web(factory, FakeIndexRefresh(), idle_minutes=30, clock=lambda: now[0])
    with AdminClient(app, follow_redirects=False) as client:
        token = csrf_of(client.get("/admin/login").text)
        client.post(
            "/admin/login", data={"username": "lan", "password": PASSWORD, "csrftoken": token}
        )
        now[0] += dt.timedelta(minutes=29)
        assert client.get("/admin/").status_code == 200
        now[0] += dt.timedelta(minutes=29)  # 29 minutes after the last request: still in
        assert client.get("/admin/").status_code == 200
        now[0] += dt.timedelta(minutes=31)
        assert client.get("/admin/").status_code == 303


def test_post_without_csrf_is_403(login: Login) -> None:
    client = login("quan")
    for path in ("/admin/logout", "/admin/login", "/admin/changes/1/approve"):
        response = client.post(path, data={"x": "1"})
        assert response.status_code == 403, path
        assert "mã chống giả mạo" in response.text
    forged = client.post("/admin/logout", data={"csrftoken": "giả-mạo"})
    assert forged.status_code == 403
    # Still logged in: the forged logout did nothing.
    assert client.get("/admin/").status_code == 200


def test_post_without_any_cookie_is_403(web: Starlette) -> None:
    with AdminClient(web, follow_redirects=False) as client:
        response = client.post("/admin/login", data={"username": "lan", "password": PASSWORD})
        assert response.status_code == 403


def test_malformed_bodies_are_4xx(login: Login) -> None:
    client = login("lan")
    bad_utf8 = client.post(
        "/admin/logout",
        content=b"csrftoken=\xff\xfe",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert bad_utf8.status_code in (400, 403)
    no_boundary = client.post(
        "/admin/logout", content=b"--x\r\n", headers={"content-type": "multipart/form-data"}
    )
    assert no_boundary.status_code in (400, 403)
    json_body = client.post("/admin/logout", json={"csrftoken": "x"})
    assert json_body.status_code == 403


def test_wrong_role_gets_a_vietnamese_403(login: Login) -> None:
    officer = login("hoa")
    response = officer.get("/admin/audit")
    assert response.status_code == 403
    assert "không có quyền" in response.text


def test_disabled_account_loses_its_session(
    login: Login, factory: sessionmaker[Session], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTHC_DATABASE_URL", db_url)
    client = login("lan")
    assert client.get("/admin/").status_code == 200
    result = CliRunner().invoke(main, ["admin", "disable", "lan"])
    assert result.exit_code == 0, result.output
    assert client.get("/admin/").status_code == 303
    with transaction(factory) as session:
        assert authenticate(session, "lan", PASSWORD) is None


def test_cli_create_user_reads_stdin_and_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["admin", "create-user", "ngoc", "--role", "reviewer", "--password-stdin"],
        input="mật khẩu bí mật 2026\n",
    )
    assert result.exit_code == 0, result.output
    assert "người duyệt" in result.output and "bí mật" not in result.output
    monkeypatch.setenv("TTHC_ADMIN_PASSWORD", "một mật khẩu khác 99")
    result = runner.invoke(main, ["admin", "create-user", "an", "--role", "editor"])
    assert result.exit_code == 0, result.output
    # Too short, unknown role, taken name: refused with a reason and a non-zero exit.
    short = runner.invoke(
        main, ["admin", "create-user", "b1", "--role", "editor", "--password-stdin"], input="ngắn\n"
    )
    assert short.exit_code != 0 and "ít nhất 10 ký tự" in short.output
    taken = runner.invoke(main, ["admin", "create-user", "an", "--role", "editor"])
    assert taken.exit_code != 0 and "đã có" in taken.output
    bad_role = runner.invoke(main, ["admin", "create-user", "c1", "--role", "boss"])
    assert bad_role.exit_code != 0
    listed = runner.invoke(main, ["admin", "list-users", "--json"])
    assert '"username": "ngoc"' in listed.output and '"role": "reviewer"' in listed.output
    changed = runner.invoke(
        main,
        ["admin", "set-password", "ngoc", "--password-stdin"],
        input="mật khẩu mới hoàn toàn\n",
    )
    assert changed.exit_code == 0, changed.output
    from knowledge.db import make_engine, make_session_factory
    from knowledge.settings import KnowledgeSettings

    engine = make_engine(KnowledgeSettings().resolved_database_url())
    try:
        with transaction(make_session_factory(engine)) as session:
            assert authenticate(session, "ngoc", "mật khẩu mới hoàn toàn") is not None
            assert authenticate(session, "ngoc", "mật khẩu bí mật 2026") is None
            user = session.scalar(select(StaffUser).where(StaffUser.username == "ngoc"))
            assert user is not None and user.password_hash.startswith("$argon2id$")
            actions = session.scalars(
                select(AuditEntry.action).where(AuditEntry.actor == "cli")
            ).all()
            assert list(actions) == ["user.create", "user.create", "user.password"]
    finally:
        engine.dispose()


def test_cli_without_password_fails() -> None:
    result = CliRunner().invoke(main, ["admin", "create-user", "x1", "--role", "editor"])
    assert result.exit_code != 0 and "TTHC_ADMIN_PASSWORD" in result.output
