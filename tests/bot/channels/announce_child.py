"""A worker process for the kill test: runs one announcement's send job against a fake
Telegram (``python -m tests.bot.channels.announce_child DB_URL TELEGRAM_BASE ID``)."""

from __future__ import annotations

import asyncio
import sys

import httpx

from bot.channels import inflight
from bot.channels.announcements import AnnouncementSender, AnnouncementStore
from bot.channels.telegram import TelegramAdapter
from knowledge.db import make_engine, make_session_factory
from tests.bot.channels import fake_telegram as tg


async def _run(db_url: str, base: str, announcement_id: int) -> bool:
    factory = make_session_factory(make_engine(db_url))
    adapter = TelegramAdapter(token=tg.TOKEN, webhook_secret=tg.SECRET, api_base_url=f"{base}/bot")
    async with httpx.AsyncClient(event_hooks=inflight.event_hooks()):
        sender = AnnouncementSender(store=AnnouncementStore(factory=factory), adapters=[adapter])
        return await sender.run(announcement_id)


if __name__ == "__main__":
    asyncio.run(_run(sys.argv[1], sys.argv[2], int(sys.argv[3])))
