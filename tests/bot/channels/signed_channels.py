"""Every channel as a webhook sender sees it: the adapter (over a fake platform or none),
how a body is signed correctly, a text event body, and what the citizen received.

Shared by the bad-input tests (``test_webhook_input.py``) and the fuzzing test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from bot.channels.base import ChannelAdapter
from bot.channels.messenger import MessengerAdapter
from bot.channels.telegram import SECRET_HEADER, TelegramAdapter
from bot.channels.zalo_bot import ZaloBotAdapter
from bot.channels.zalo_oa import InMemoryTokenStore, ZaloOAAdapter
from tests.bot.channels import fake_meta as meta
from tests.bot.channels import fake_telegram as tg
from tests.bot.channels import fake_zalo as zalo
from tests.bot.channels.harness import FakePlatform

ZALO_BOT_TOKEN = "1234567890:AbCdEfGhIjKlMnOpQrStUvWxYz"
ZALO_BOT_SECRET = "webhook-secret-token-123"
ZALO_BOT_CHAT = "a1b2c3d4e5f6"


def zalo_oa_sign(raw: bytes, timestamp: str | None = None) -> dict[str, str]:
    """Zalo's documented MAC over the raw bytes and the top-level ``timestamp``.

    Unlike ``fake_zalo.oa_sign`` it never parses a body it cannot (deep JSON): the
    timestamp then is "", as Zalo would hash a body without one.
    """
    if timestamp is None:
        try:  # numbers kept as text: a 4,301-digit one must not stop the signing
            body = json.loads(raw, parse_int=str, parse_float=str)
        except (ValueError, RecursionError):
            body = None
        value = body.get("timestamp") if isinstance(body, dict) else None
        timestamp = value if isinstance(value, str) else ""
    return {"X-ZEvent-Signature": f"mac={zalo.zalo_mac(raw, timestamp)}"}


def messenger_sign(raw: bytes) -> dict[str, str]:
    digest = hmac.new(meta.APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}"}


def zalo_bot_text(event_id: str, text: str) -> bytes:
    update = {
        "event_name": "message.text.received",
        "message": {
            "message_id": event_id,
            "date": 1733800000000,
            "chat": {"id": ZALO_BOT_CHAT, "chat_type": "PRIVATE"},
            "from": {"id": "u-42", "display_name": "Nguyễn Văn A", "is_bot": False},
            "text": text,
        },
    }
    return json.dumps({"ok": True, "result": update}, ensure_ascii=False).encode()


def _zalo_bot_platform(delivered: list[str]) -> Callable[..., tuple[int, dict[str, Any]]]:
    def respond(path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if not path.endswith("/sendMessage"):
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        delivered.append(str(body.get("text")))
        return 200, {"ok": True, "result": {"message_id": f"bm{len(delivered)}"}}

    return respond


@dataclass
class SignedChannel:
    """One channel: adapter, signer, a text event and the texts the platform accepted."""

    name: str
    adapter: ChannelAdapter
    sign: Callable[[bytes], dict[str, str]]
    text_body: Callable[[str, str], bytes]
    delivered: Callable[[], list[str]]


NAMES = ("telegram", "zalo-oa", "zalo-bot", "messenger")


@contextmanager
def signed_channel(name: str, client: httpx.AsyncClient) -> Iterator[SignedChannel]:
    """The channel ``name`` over its fake platform on loopback (sends really happen)."""
    if name == "telegram":
        with FakePlatform(tg.BotAPI()).running() as platform:
            adapter = TelegramAdapter(
                token=tg.TOKEN,
                webhook_secret=tg.SECRET,
                api_base_url=f"{platform.base_url}/bot",
                transport=httpx.AsyncHTTPTransport(),
                username="tthc",
            )
            yield SignedChannel(
                name,
                adapter,
                lambda _: {SECRET_HEADER: tg.SECRET},
                tg.text_update,
                lambda: tg.replies(platform),
            )
    elif name == "zalo-oa":
        fake = zalo.ZaloOAFake()
        with zalo.HeaderAwarePlatform(fake).running() as platform:
            adapter = ZaloOAAdapter(
                app_id=zalo.APP_ID,
                oa_secret_key=zalo.OA_SECRET_KEY,
                app_secret=zalo.APP_SECRET,
                token_store=InMemoryTokenStore(fake.valid_access, fake.valid_refresh),
                client=client,
                api_base_url=platform.base_url,
                oauth_base_url=platform.base_url,
                oa_id=zalo.OA_ID,
            )
            yield SignedChannel(
                name, adapter, zalo_oa_sign, zalo.oa_text_event, lambda: list(fake.delivered)
            )
    elif name == "zalo-bot":
        delivered: list[str] = []
        with FakePlatform(_zalo_bot_platform(delivered)).running() as platform:
            adapter = ZaloBotAdapter(
                token=ZALO_BOT_TOKEN,
                webhook_secret=ZALO_BOT_SECRET,
                client=client,
                api_base_url=platform.base_url,
            )
            yield SignedChannel(
                name,
                adapter,
                lambda _: {"X-Bot-Api-Secret-Token": ZALO_BOT_SECRET},
                zalo_bot_text,
                lambda: list(delivered),
            )
    elif name == "messenger":
        with FakePlatform(meta.graph_responder()).running() as platform:
            adapter = MessengerAdapter(
                page_id=meta.PAGE_ID,
                page_access_token=meta.PAGE_TOKEN,
                app_secret=meta.APP_SECRET,
                verify_token=meta.VERIFY_TOKEN,
                client=client,
                graph_base_url=platform.base_url,
            )
            yield SignedChannel(
                name,
                adapter,
                messenger_sign,
                lambda event_id, text: meta.page_body(
                    meta.messaging_entry(meta.text_item(event_id, text))
                ),
                lambda: meta.accepted_texts(platform),
            )
    else:
        raise ValueError(name)
