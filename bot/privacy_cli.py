"""``tthc privacy``: one citizen's data on request, and the retention purge by hand."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy.orm import Session, sessionmaker

from bot.reports.figures import CHANNEL_NAMES


@contextmanager
def _database() -> Iterator[sessionmaker[Session]]:
    from knowledge import migrate
    from knowledge.db import make_engine, make_session_factory
    from knowledge.settings import KnowledgeSettings

    database = make_engine(KnowledgeSettings().resolved_database_url())
    try:
        migrate.upgrade(database)
        yield make_session_factory(database)
    finally:
        database.dispose()


_CHANNEL = click.option(
    "--channel", required=True, type=click.Choice(list(CHANNEL_NAMES)), help="Kênh của người dân."
)
_USER = click.option(
    "--user", "user_id", required=True, help="Mã người dùng trên kênh (Telegram user id, PSID…)."
)


@click.group()
def privacy() -> None:
    """Citizens' personal data: export or erase one citizen's, purge what is too old.

    \b
    Examples:
      tthc privacy export --channel telegram --user 123456789 --out du-lieu.json
      tthc privacy erase --channel zalo-oa --user 84123456789
      tthc privacy purge --dry-run       # what TTHC_RETENTION_DAYS would remove now
    """


@privacy.command()
@_CHANNEL
@_USER
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Tệp JSON để ghi (mặc định: in ra màn hình).",
)
def export(channel: str, user_id: str, out: Path | None) -> None:
    """Write everything stored about one citizen as JSON (every table, every column).

    Exit codes: 0 written (also when nothing is stored: the tables are then empty).
    """
    from bot.privacy import export_citizen

    with _database() as factory, factory() as session:
        data = export_citizen(session, channel, user_id)
    text = json.dumps(data, ensure_ascii=False, indent=2)
    rows = sum(len(v) for v in data["tables"].values())
    if out is None:
        sys.stdout.write(text + "\n")
        click.echo(f"{rows} dòng dữ liệu.", err=True)
        return
    out.write_text(text + "\n", encoding="utf-8")
    click.echo(f"Đã ghi {rows} dòng dữ liệu vào {out}")


@privacy.command()
@_CHANNEL
@_USER
@click.option("--yes", is_flag=True, help="Không hỏi lại.")
def erase(channel: str, user_id: str, yes: bool) -> None:
    """Erase one citizen's personal data; the report figures stay (their rows are kept
    without texts and ids). Prints what was removed per table.

    Exit codes: 0 erased, 1 nothing stored about this citizen, 2 not confirmed.
    """
    from bot.privacy import erase_citizen
    from knowledge.db import transaction

    if not yes and not click.confirm(
        f"Xóa dữ liệu cá nhân của người dùng {user_id} trên kênh {channel}?", err=True
    ):
        click.echo("Đã hủy.", err=True)
        sys.exit(2)
    with _database() as factory, transaction(factory) as session:
        removed = erase_citizen(session, channel, user_id)
    removed.rows["conversations"] += _forget_in_redis(channel, user_id)
    for line in removed.lines():
        click.echo(line)
    if not removed.total:
        click.echo("Không có dữ liệu nào của người dùng này.", err=True)
        sys.exit(1)
    click.echo(f"Đã xóa dữ liệu cá nhân: {removed.total} dòng.")


def _forget_in_redis(channel: str, user_id: str) -> int:
    """The conversation kept in Redis (``TTHC_REDIS_URL``) too: 1 if there was one."""
    from bot.settings import ServerSettings

    url = ServerSettings().redis_url
    if not url:
        return 0
    import redis

    from bot.conversations import RedisConversationStore

    client = redis.Redis.from_url(url)
    try:
        return RedisConversationStore(client=client, ttl=1).forget(channel, user_id)
    finally:
        client.close()


@privacy.command()
@click.option("--dry-run", is_flag=True, help="Chỉ đếm, không xóa.")
def purge(dry_run: bool) -> None:
    """Remove personal data older than TTHC_RETENTION_DAYS once (the server also does
    it every hour). Exit codes: 0 done (or nothing to do), 2 bad setting."""
    from pydantic import ValidationError

    from bot.privacy import purge_once
    from bot.settings import PrivacySettings

    try:
        days = PrivacySettings().retention_days
    except ValidationError as exc:
        click.echo(f"TTHC_RETENTION_DAYS không hợp lệ: {exc.errors()[0]['msg']}", err=True)
        sys.exit(2)
    if days == 0:
        click.echo("TTHC_RETENTION_DAYS=0: giữ dữ liệu vô thời hạn, không xóa gì.")
        return
    with _database() as factory:
        removed = purge_once(factory, days, dry_run=dry_run)
    for line in removed.lines():
        click.echo(line)
    verb = "Sẽ xóa" if dry_run else "Đã xóa"
    click.echo(f"{verb} dữ liệu cũ hơn {days} ngày: {removed.total} dòng.")
