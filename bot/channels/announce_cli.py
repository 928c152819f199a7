"""``tthc announce``: write, schedule, cancel an announcement and read its delivery report.

The command only writes to the database; the running service (``tthc serve`` or
``tthc worker``) sends it: its periodic ``tthc.announce_due`` job picks the announcement
up within 15 s of its time (``TTHC_RECOVER_CRON``).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import click

from bot.channels.announcements import (
    ANNOUNCE_CHANNELS,
    DELIVERY_STATES,
    AnnouncementError,
    AnnouncementStore,
    AnnouncementView,
)

#: A time written without a zone is Vietnam's (UTC+7, no daylight saving).
VIETNAM = dt.timezone(dt.timedelta(hours=7))

STATE_NAMES = {
    "draft": "nháp",
    "scheduled": "đã lên lịch",
    "sending": "đang gửi",
    "done": "đã gửi xong",
    "cancelled": "đã hủy",
}


def parse_time(value: str) -> dt.datetime:
    """ISO 8601 (``2026-12-01T08:00``, ``2026-12-01 08:00+07:00``) → aware datetime;
    no zone means Vietnam time. Raises ``ValueError`` with a Vietnamese message."""
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValueError(
            f"Thời điểm {value!r} không hợp lệ; dùng dạng 2026-12-01T08:00 (giờ Việt Nam)."
        ) from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=VIETNAM)


def _store() -> tuple[AnnouncementStore, Any]:
    from knowledge import migrate
    from knowledge.db import make_engine, make_session_factory
    from knowledge.settings import KnowledgeSettings

    database = make_engine(KnowledgeSettings().resolved_database_url())
    migrate.upgrade(database)
    return AnnouncementStore(factory=make_session_factory(database)), database


def _as_dict(view: AnnouncementView) -> dict[str, Any]:
    return {
        "id": view.id,
        "state": view.state,
        "channels": view.channels,
        "scheduled_at": view.scheduled_at.isoformat() if view.scheduled_at else None,
        "finished_at": view.finished_at.isoformat() if view.finished_at else None,
        "author": view.author,
        "report": view.report,
    }


def _print_report(view: AnnouncementView) -> None:
    when = (
        view.scheduled_at.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")
        if view.scheduled_at
        else "—"
    )
    click.echo(f"Thông báo #{view.id}: {STATE_NAMES.get(view.state, view.state)}, gửi lúc {when}")
    click.echo("kênh\t" + "\t".join(DELIVERY_STATES))
    for channel, counts in view.report.items():
        click.echo(channel + "\t" + "\t".join(str(counts.get(s, 0)) for s in DELIVERY_STATES))


@click.command()
@click.option("--text", "text", default=None, help="Nội dung thông báo (tiếng Việt).")
@click.option(
    "--channels",
    default=None,
    help=f"Các kênh, cách nhau bằng dấu phẩy: {','.join(ANNOUNCE_CHANNELS)}.",
)
@click.option(
    "--at",
    "at",
    default=None,
    help="Thời điểm gửi, ví dụ 2026-12-01T08:00 (giờ Việt Nam); mặc định: ngay.",
)
@click.option("--draft", is_flag=True, help="Chỉ lưu nháp, chưa lên lịch gửi.")
@click.option("--author", default="cli", show_default=True, help="Người soạn (ghi vào nhật ký).")
@click.option(
    "--report", "report_id", type=int, default=None, help="In báo cáo gửi của thông báo ID."
)
@click.option("--cancel", "cancel_id", type=int, default=None, help="Hủy thông báo ID chưa gửi.")
@click.option("--list", "list_all", is_flag=True, help="Liệt kê các thông báo gần đây.")
@click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON.")
def announce(
    text: str | None,
    channels: str | None,
    at: str | None,
    draft: bool,
    author: str,
    report_id: int | None,
    cancel_id: int | None,
    list_all: bool,
    as_json: bool,
) -> None:
    """Send an announcement to the subscribers of chat channels, or see its report.

    \b
    Examples:
      tthc announce --text "Từ 01/12, cấp lại căn cước nộp trực tuyến toàn trình." \\
                    --channels telegram,zalo-oa,messenger --at 2026-12-01T08:00
      tthc announce --report 3          # sent / skipped_window / unsubscribed / failed per channel
      tthc announce --cancel 4          # before it starts
      tthc announce --list

    Zalo OA subscribers who have not interacted for 7 days and Messenger subscribers
    outside the 24-hour window are skipped and counted. Exit codes: 0 done, 1 unknown
    id or not cancellable, 2 bad text, channels or time.
    """
    if report_id is not None or cancel_id is not None or list_all:
        _manage(report_id, cancel_id, list_all, as_json)
        return
    if text is None:
        raise click.UsageError("Thiếu --text (hoặc dùng --report/--cancel/--list).")
    if channels is None:
        raise click.UsageError("Thiếu --channels, ví dụ --channels telegram,zalo-oa.")
    try:
        when = parse_time(at) if at is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--at") from exc
    store, database = _store()
    try:
        try:
            announcement_id = store.create(
                text=text, channels=channels, author=author, at=when, draft=draft
            )
        except AnnouncementError as exc:
            raise click.UsageError(str(exc)) from exc
        preview = store.preview(channels)
        view = store.get(announcement_id)
    finally:
        database.dispose()
    assert view is not None
    if as_json:
        payload = _as_dict(view)
        payload["recipients"] = {
            p.channel: {"subscribers": p.subscribers, "outside_window": p.outside_window}
            for p in preview
        }
        json.dump(payload, sys.stdout, ensure_ascii=False)
        click.echo()
        return
    state = STATE_NAMES[view.state]
    when_text = (
        view.scheduled_at.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")
        if view.scheduled_at
        else ""
    )
    click.echo(f"Thông báo #{announcement_id} {state}, gửi lúc {when_text} (giờ Việt Nam).")
    for p in preview:
        click.echo(
            f"  {p.channel}: {p.subscribers} người đăng ký, "
            f"{p.outside_window} ngoài khung tương tác (sẽ bỏ qua)"
        )
    click.echo(f"Xem kết quả: tthc announce --report {announcement_id}")


def _manage(report_id: int | None, cancel_id: int | None, list_all: bool, as_json: bool) -> None:
    store, database = _store()
    try:
        if cancel_id is not None:
            if not store.cancel(cancel_id):
                click.echo(
                    f"Không hủy được thông báo #{cancel_id} (không có hoặc đã gửi).", err=True
                )
                sys.exit(1)
            click.echo(f"Đã hủy thông báo #{cancel_id}.")
            return
        views = store.recent() if list_all else [store.get(report_id or 0)]
    finally:
        database.dispose()
    found = [view for view in views if view is not None]
    if not found and not list_all:
        click.echo(f"Không có thông báo #{report_id}.", err=True)
        sys.exit(1)
    if as_json:
        data: Any = [_as_dict(v) for v in found] if list_all else _as_dict(found[0])
        json.dump(data, sys.stdout, ensure_ascii=False)
        click.echo()
        return
    for view in found:
        _print_report(view)
