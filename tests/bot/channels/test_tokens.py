"""Channel tokens: encrypted at rest, and a single-use Zalo refresh token spent once even
when two processes find the access token expired at the same moment."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.tokens import SqlTokenStore, TokenCipher
from bot.channels.zalo_oa import ZaloOAAdapter
from knowledge import migrate
from knowledge.db import make_engine, make_session_factory
from tests.bot.channels.fake_zalo import (
    APP_ID,
    APP_SECRET,
    OA_SECRET_KEY,
    HeaderAwarePlatform,
    ZaloOAFake,
)
from tests.bot.channels.test_zalo import OA_ID, oa_event

KEY = Fernet.generate_key().decode()


def test_tokens_are_encrypted_at_rest_and_read_back(factory: sessionmaker[Session]) -> None:
    store = SqlTokenStore(
        factory=factory,
        channel="zalo-oa",
        access="acc-secret",
        refresh="ref-secret",
        cipher=TokenCipher(KEY),
    )

    async def scenario() -> tuple[str, str]:
        assert await store.get() == ("acc-secret", "ref-secret")  # seeded
        await store.save("acc-new-secret", "ref-new-secret")
        return await store.get()

    assert asyncio.run(scenario()) == ("acc-new-secret", "ref-new-secret")
    with factory() as session:
        stored = session.execute(
            text("SELECT access_token, refresh_token FROM channel_tokens")
        ).one()
    assert all(value.startswith("fernet:") and "secret" not in value for value in stored)
    other_key = SqlTokenStore(
        factory=factory,
        channel="zalo-oa",
        access="",
        refresh="",
        cipher=TokenCipher(Fernet.generate_key().decode()),
    )
    with pytest.raises(ValueError, match="TTHC_TOKEN_KEY"):
        asyncio.run(other_key.get())


@pytest.mark.postgres
def test_two_processes_refresh_a_single_use_token_once(postgres_server_url: str) -> None:
    admin = create_engine(postgres_server_url)
    with admin.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    admin.dispose()
    fake = ZaloOAFake(access="access-live", refresh="refresh-0")  # stored access expired
    engines = [make_engine(postgres_server_url) for _ in range(2)]  # one per "process"
    migrate.upgrade(engines[0])
    with HeaderAwarePlatform(fake).running() as platform:

        async def scenario() -> None:
            async with httpx.AsyncClient() as client:
                adapters = [
                    ZaloOAAdapter(
                        app_id=APP_ID,
                        oa_secret_key=OA_SECRET_KEY,
                        app_secret=APP_SECRET,
                        token_store=SqlTokenStore(
                            factory=make_session_factory(engine),
                            channel="zalo-oa",
                            access="access-0",
                            refresh="refresh-0",
                            cipher=TokenCipher(KEY),
                        ),
                        client=client,
                        api_base_url=platform.base_url,
                        oauth_base_url=platform.base_url,
                        oa_id=OA_ID,
                    )
                    for engine in engines
                ]
                await asyncio.gather(
                    *(
                        adapter.send(oa_event(key=f"m{n}"), [{"text": f"trả lời {n}"}])
                        for n, adapter in enumerate(adapters)
                    )
                )

        asyncio.run(scenario())
    for engine in engines:
        engine.dispose()
    assert fake.refresh_calls == 1
    assert sorted(fake.delivered) == ["trả lời 0", "trả lời 1"]
