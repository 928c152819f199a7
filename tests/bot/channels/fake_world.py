"""Fake Telegram, Zalo OA and Meta servers on loopback, and the settings pointing at them
(shared by the end-to-end test and bench/webhooks.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bot.settings import ChannelSettings
from tests.bot.channels import fake_meta as meta
from tests.bot.channels import fake_telegram as tg
from tests.bot.channels import fake_zalo as zalo
from tests.bot.channels.harness import FakePlatform


@dataclass
class FakeWorld:
    """The three running fakes and the channel settings that use them."""

    telegram: FakePlatform
    zalo_oa: FakePlatform
    zalo_fake: zalo.ZaloOAFake
    graph: FakePlatform
    settings: ChannelSettings


@contextmanager
def fake_world() -> Iterator[FakeWorld]:
    """Start the fakes; settings carry the test credentials of each channel's tests."""
    zalo_fake = zalo.ZaloOAFake()
    with (
        FakePlatform(tg.BotAPI()).running() as telegram,
        zalo.HeaderAwarePlatform(zalo_fake).running() as zalo_oa,
        FakePlatform(meta.graph_responder()).running() as graph,
    ):
        settings = ChannelSettings(
            telegram_bot_token=tg.TOKEN,
            telegram_webhook_secret=tg.SECRET,
            telegram_api_base_url=f"{telegram.base_url}/bot",
            zalo_oa_app_id=zalo.APP_ID,
            zalo_oa_secret_key=zalo.OA_SECRET_KEY,
            zalo_oa_access_token="access-0",
            zalo_oa_refresh_token="refresh-0",
            zalo_app_secret=zalo.APP_SECRET,
            zalo_oa_api_base_url=zalo_oa.base_url,
            zalo_oauth_base_url=zalo_oa.base_url,
            facebook_page_id=meta.PAGE_ID,
            facebook_page_access_token=meta.PAGE_TOKEN,
            facebook_app_secret=meta.APP_SECRET,
            facebook_verify_token=meta.VERIFY_TOKEN,
            facebook_graph_api_base_url=graph.base_url,
        )
        yield FakeWorld(telegram, zalo_oa, zalo_fake, graph, settings)
