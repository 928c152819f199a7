"""``tthc handoff``: the operator's view of live handoffs (the officer inbox's backend)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import click

from bot.handoff.errors import HandoffError
from bot.handoff.service import HandoffService, HandoffView


def _service() -> HandoffService:
    """The service over the configured database, without channels (list/claim/release)."""
    from bot.settings import HandoffSettings
    from knowledge import migrate
    from knowledge.db import make_engine, make_session_factory
    from knowledge.settings import KnowledgeSettings

    database = make_engine(KnowledgeSettings().resolved_database_url())
    migrate.upgrade(database)
    settings = HandoffSettings()
    return HandoffService(
        factory=make_session_factory(database),
        hours=settings.office_hours(),
        timeout=dt.timedelta(minutes=settings.handoff_timeout_minutes),
    )


def _plain(view: HandoffView) -> dict[str, Any]:
    data = asdict(view)
    return {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in data.items()}


def _line(view: HandoffView) -> str:
    held = f" ({view.officer})" if view.officer else ""
    return (
        f"#{view.id}  {view.state}{held}  {view.channel}:{view.user_id}  lý do: {view.reason}  "
        f"tin cuối của người dân: {view.last_citizen_at:%d/%m/%Y %H:%M} UTC"
    )


@click.group()
def handoff() -> None:
    """Live handoff: conversations waiting for or held by an officer (cán bộ).

    \b
    Examples:
      tthc handoff list                 # open conversations, waiting ones first
      tthc handoff list --json
      tthc handoff show 12              # the thread and what the bot said before
      tthc handoff claim 12 --officer nguyen.van.a
      tthc handoff reply 12 --officer nguyen.van.a "Chào anh/chị, ..."
      tthc handoff release 12 --officer nguyen.van.a   # back to the bot
    """


@handoff.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array.")
def list_(as_json: bool) -> None:
    """Open handoffs (stale ones are returned to the bot first)."""
    views = _service().list_open()
    if as_json:
        click.echo(json.dumps([_plain(v) for v in views], ensure_ascii=False))
        return
    if not views:
        click.echo("Không có cuộc trò chuyện nào đang chờ cán bộ.")
    for view in views:
        click.echo(_line(view))


@handoff.command()
@click.argument("handoff_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def show(handoff_id: int, as_json: bool) -> None:
    """The thread of one handoff and the bot's exchanges before it."""
    try:
        history = _service().history(handoff_id)
    except HandoffError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(
            json.dumps(
                {
                    "handoff": _plain(history.handoff),
                    "before": [_message(m) for m in history.before],
                    "messages": [_message(m) for m in history.messages],
                },
                ensure_ascii=False,
            )
        )
        return
    click.echo(_line(history.handoff))
    for message in [*history.before, *history.messages]:
        who = message.author or message.direction
        click.echo(f"[{message.at:%d/%m %H:%M}] {who}: {message.text}")


def _message(message: Any) -> dict[str, str]:
    return {
        "direction": message.direction,
        "text": message.text,
        "author": message.author,
        "at": message.at.isoformat(),
    }


def _act(action: Callable[[HandoffService], HandoffView]) -> None:
    """Run one officer action on the service; a refusal is the command's error."""
    try:
        view = action(_service())
    except HandoffError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(_line(view))


@handoff.command()
@click.argument("handoff_id", type=int)
@click.option("--officer", required=True, help="The officer's username.")
def claim(handoff_id: int, officer: str) -> None:
    """Take a conversation (the bot stays silent on it)."""
    _act(lambda service: service.claim(handoff_id, officer))


@handoff.command()
@click.argument("handoff_id", type=int)
@click.option("--officer", required=True, help="The officer's username.")
def release(handoff_id: int, officer: str) -> None:
    """Give a conversation back to the bot."""
    _act(lambda service: service.release(handoff_id, officer))


@handoff.command()
@click.argument("handoff_id", type=int)
@click.argument("text")
@click.option("--officer", required=True, help="The officer's username.")
@click.option("--wait", default=60.0, show_default=True, help="Seconds to wait for delivery.")
def reply(handoff_id: int, text: str, officer: str, wait: float) -> None:
    """Send TEXT to the citizen on their own channel (claims the conversation).

    On PostgreSQL the reply is queued for the workers; on SQLite this command delivers
    it itself. Refused, with the reason, outside the platform's reply window.
    """
    from bot.app import build_channels
    from bot.cli import _assistant
    from bot.settings import ChannelSettings, ServerSettings

    assistant = _assistant()
    built = build_channels(assistant, ServerSettings(), ChannelSettings(), run_worker=False)
    assert built.handoffs is not None

    async def send() -> tuple[int, bool]:
        try:
            receipt = await built.handoffs.reply(handoff_id, officer, text)  # type: ignore[union-attr]
            delivered = True
            if not built.queue.durable:
                delivered = await built.queue.drain(timeout=wait)
            return receipt.inbox_id, delivered
        finally:
            for hook in built.shutdown:
                result = hook()
                if asyncio.iscoroutine(result):
                    await result

    try:
        inbox_id, delivered = asyncio.run(send())
    except HandoffError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        assistant.close()
    if not delivered:
        raise click.ClickException(f"Tin (hàng đợi số {inbox_id}) chưa gửi xong; sẽ được gửi lại.")
    click.echo(f"Đã gửi (hàng đợi số {inbox_id}).")
