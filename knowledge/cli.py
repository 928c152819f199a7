"""``tthc kb ...``: the operator's and staff's commands for the knowledge base."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from knowledge import migrate
from knowledge.audit import PROBLEMS, audit, counts
from knowledge.bundled import DEFAULT_DATA_DIR, bundled_paths
from knowledge.codec import KINDS, RecordKind, to_json
from knowledge.db import make_engine, make_session_factory, transaction
from knowledge.errors import ImportFileError, RecordNotFound
from knowledge.exporting import EXPORT_FORMATS, XLSX_LAYOUTS, ProcedureFilter, export
from knowledge.importers.reading import FORMATS
from knowledge.importing import import_files
from knowledge.preview import format_preview, preview_files
from knowledge.records import ProcedureData
from knowledge.repository import KnowledgeRepository
from knowledge.settings import KnowledgeSettings

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class KbContext:
    """What every ``kb`` command needs, built once per process (composition root)."""

    engine: Engine
    factory: sessionmaker[Session]


def _context(ctx: click.Context) -> KbContext:
    obj = ctx.find_object(KbContext)
    if obj is None:
        settings = KnowledgeSettings()
        engine = make_engine(settings.resolved_database_url())
        obj = KbContext(engine=engine, factory=make_session_factory(engine))
        ctx.obj = obj
    return obj


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group(name="kb")
def kb() -> None:
    """Knowledge base: procedures, hotlines, plans, FAQ and their revisions.

    The database is $TTHC_DATABASE_URL, or the embedded SQLite file in $TTHC_DATA_DIR
    (default ./var).
    """


@kb.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create or upgrade the schema (Alembic migrations to the newest revision).

    Example: tthc kb init
    """
    kbc = _context(ctx)
    migrate.upgrade(kbc.engine)
    click.echo(f"Schema up to date: {kbc.engine.url.render_as_string(hide_password=True)}")


@kb.command(name="import")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Force a format.")
@click.option("--bundled", is_flag=True, help="Import all public data shipped with the package.")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where the bundled data lives (default: $TTHC_BUNDLED_DATA_DIR, else the copy "
    "shipped inside the package).",
)
@click.option("--author", default="import", show_default=True, help="Name in revisions.")
@click.option(
    "--if-empty",
    is_flag=True,
    help="Import only into an empty knowledge base (a container's first start): a "
    "re-import must never overwrite what staff have edited since.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Write nothing: list the new, changed, removed and unchanged records with "
    "field-level differences, and every error as file:line:field (exit 2 on errors).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def import_(
    ctx: click.Context,
    paths: tuple[Path, ...],
    fmt: str | None,
    bundled: bool,
    data_dir: Path | None,
    author: str,
    if_empty: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Import files; the format is detected (portal JSONL/XLSX, FAQ, hotline CSV/XLSX,
    plans .txt/.md/.docx/.pdf, or our own export). All files land or none do.

    \b
    Examples:
      tthc kb import --bundled
      tthc kb import data/dvcqg_opengov_crawl/details.jsonl.gz
      tthc kb import hotlines.xlsx --author "nguyen.van.a"
      tthc kb import --bundled --if-empty   # the image's entrypoint
      tthc kb import le-phi.xlsx --dry-run  # what would change, nothing written
    """
    from tqdm import tqdm  # only the import command draws a progress bar

    files = list(paths)
    if bundled:
        folder = data_dir or KnowledgeSettings().bundled_data_dir or DEFAULT_DATA_DIR
        try:
            files = bundled_paths(folder) + files
        except FileNotFoundError as exc:
            click.echo(f"Không tìm thấy dữ liệu kèm theo: {exc}", err=True)
            sys.exit(2)
    if not files:
        raise click.UsageError("give at least one PATH or --bundled")
    kbc = _context(ctx)
    migrate.upgrade(kbc.engine)
    if dry_run:
        _dry_run(kbc, files, fmt, as_json)
        return
    if if_empty:
        with transaction(kbc.factory) as session:
            revision = KnowledgeRepository(session).max_revision()
        if revision:
            if as_json:
                _echo_json({"imported": False, "knowledge_revision": revision})
            else:
                click.echo(f"Cơ sở tri thức đã có dữ liệu (phiên bản {revision}): không nhập lại.")
            return
    bar = tqdm(
        total=len(files), desc="Đọc tệp", unit="tệp", file=sys.stderr, disable=as_json or None
    )
    try:
        result = import_files(
            kbc.factory,
            files,
            fmt=fmt,
            author=author,
            on_file=lambda _p, _n: bar.update(1),
        )
    except ImportFileError as exc:
        bar.close()
        click.echo(f"Lỗi nhập dữ liệu, không có gì được ghi: {exc}", err=True)
        sys.exit(2)
    bar.close()
    summary: dict[str, Any] = {
        "files": result.files,
        **result.report.as_dict(),
        "warnings": result.warnings,
    }
    for warning in result.warnings:
        click.echo(f"Cảnh báo: {warning}", err=True)
    if as_json:
        _echo_json(summary)
        return
    for path, count in result.files.items():
        click.echo(f"{count:6d} bản ghi  {path}")
    for name in ("created", "updated", "unchanged", "skipped"):
        counts = summary[name]
        if counts:
            click.echo(f"{name}: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))


def _dry_run(kbc: Any, files: list[Path], fmt: str | None, as_json: bool) -> None:
    with transaction(kbc.factory) as session:
        preview = preview_files(session, files, fmt)
        session.rollback()
    if as_json:
        _echo_json(preview.as_dict())
    else:
        click.echo(format_preview(preview))
    if not preview.ok:
        sys.exit(2)


@kb.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """Counts by kind, source dataset, status, detail and online-service level.

    Example: tthc kb stats --json
    """
    kbc = _context(ctx)
    with transaction(kbc.factory) as session:
        repo = KnowledgeRepository(session)
        data = repo.stats()
        procedures = [r for r in repo.iter_records("procedure") if isinstance(r, ProcedureData)]
        data["audit"] = counts(audit(procedures, _today()))
    if as_json:
        _echo_json(data)
        return
    p = data["procedures"]
    click.echo(f"Thủ tục hành chính: {p['total']}")
    for name in ("by_detail", "by_dataset", "by_status", "by_online_level"):
        click.echo(f"  {name}: " + ", ".join(f"{k}={v}" for k, v in p[name].items()))
    for kind, label in (("faqs", "Hỏi đáp"), ("plans", "Kế hoạch"), ("hotlines", "Đường dây nóng")):
        click.echo(f"{label}: {data[kind]['total']}")
    click.echo(f"Lịch sử chỉnh sửa: {data['revisions']}")
    click.echo(
        "Cần kiểm tra (tthc kb audit): " + ", ".join(f"{k}={v}" for k, v in data["audit"].items())
    )


def _today() -> dt.date:
    """Today in Vietnam (UTC+7): which fee rates have expired is decided by this day."""
    return dt.datetime.now(dt.timezone(dt.timedelta(hours=7))).date()


@kb.command(name="audit")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Judge expired rates as of this day (default: today in Vietnam).",
)
@click.pass_context
def audit_(ctx: click.Context, as_json: bool, today: dt.datetime | None) -> None:
    """List procedures whose fees or times cannot be told with confidence.

    Problems: zero_fee_amount_in_note (no amount but the note writes amounts),
    unknown_time_unit (a bare number), expired_rate (the note's end date has passed),
    currency_missing (an amount with no currency). Exit code 0 either way.

    \b
    Examples:
      tthc kb audit
      tthc kb audit --json --today 2026-11-30
    """
    kbc = _context(ctx)
    day = today.date() if today else _today()
    with transaction(kbc.factory) as session:
        procedures = [
            r
            for r in KnowledgeRepository(session).iter_records("procedure")
            if isinstance(r, ProcedureData)
        ]
    findings = audit(procedures, day)
    if as_json:
        _echo_json(
            {
                "today": day.isoformat(),
                "counts": counts(findings),
                "findings": [f.as_dict() for f in findings],
            }
        )
        return
    for finding in findings:
        click.echo(f"{finding.code}\t{finding.method}\t{finding.problem}\t{finding.detail}")
    total = counts(findings)
    click.echo(
        f"{len({f.code for f in findings})} thủ tục cần kiểm tra (ngày {day:%d/%m/%Y}): "
        + ", ".join(f"{k}={total[k]}" for k in PROBLEMS)
    )


def _kind_option() -> Callable[[F], F]:
    return click.option(
        "--kind",
        type=click.Choice(KINDS),
        default="procedure",
        show_default=True,
        help="Record kind.",
    )


@kb.command()
@click.argument("key")
@_kind_option()
@click.option("--json", "as_json", is_flag=True, help="The whole structured record as JSON.")
@click.pass_context
def show(ctx: click.Context, key: str, kind: RecordKind, as_json: bool) -> None:
    """Show one record: a procedure by national code, a FAQ by source id, a plan by number.

    \b
    Examples:
      tthc kb show 1.004222 --json
      tthc kb show moh-faq-0017 --kind faq
    """
    kbc = _context(ctx)
    with transaction(kbc.factory) as session:
        repo = KnowledgeRepository(session)
        try:
            record = repo.get(kind, key)
        except RecordNotFound as exc:
            click.echo(str(exc), err=True)
            sys.exit(1)
        data = {"kind": kind, **to_json(record), "updated_at": repo.updated_at(kind, key)}
    if as_json:
        _echo_json(data)
        return
    for name, value in data.items():
        if value in ("", [], None):
            continue
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        click.echo(f"{name}: {text}")


@kb.command(name="export")
@click.option(
    "--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="jsonl", show_default=True
)
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    required=True,
    help="File (JSONL, XLSX, single-kind CSV) or folder (CSV).",
)
@click.option(
    "--kind",
    "kinds",
    type=click.Choice(KINDS),
    multiple=True,
    help="Kinds to export (default: all; only procedures when a filter is given).",
)
@click.option("--code", "codes", multiple=True, help="Only this procedure code (repeatable).")
@click.option("--field", "field_", default="", help="Only procedures of this field (lĩnh vực).")
@click.option("--agency", default="", help="Only procedures whose agency names contain this.")
@click.option(
    "--changed-since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Only procedures written on or after this day (UTC).",
)
@click.option(
    "--layout",
    type=click.Choice(XLSX_LAYOUTS),
    default=None,
    help="XLSX layout: 'readable' (default for procedures: one row per fee and per "
    "document, amounts like 1.500.000) or 'columns' (one column per field, JSON cells).",
)
@click.pass_context
def export_(
    ctx: click.Context,
    fmt: str,
    out: Path,
    kinds: tuple[RecordKind, ...],
    codes: tuple[str, ...],
    field_: str,
    agency: str,
    changed_since: dt.datetime | None,
    layout: str | None,
) -> None:
    """Export records; importing the export again changes nothing.

    \b
    Examples:
      tthc kb export --format jsonl --out kb.jsonl.gz
      tthc kb export --format csv --out kb-csv/
      tthc kb export --format xlsx --kind hotline --out hotlines.xlsx
      tthc kb export --format xlsx --code 1.004222 --code 2.000986 --out le-phi.xlsx
      tthc kb export --format xlsx --field "Hộ tịch" --agency "Ủy ban nhân dân cấp xã" \\
          --out ho-tich.xlsx
      tthc kb export --format xlsx --changed-since 2026-11-01 --out thay-doi.xlsx
    """
    kbc = _context(ctx)
    where = ProcedureFilter(
        codes=codes,
        field=field_,
        agency=agency,
        changed_since=changed_since.date() if changed_since else None,
    )
    if where.active and not kinds:
        kinds = ("procedure",)
    with transaction(kbc.factory) as session:
        try:
            counts = export(session, kinds or KINDS, fmt, out, where=where, layout=layout)
        except ValueError as exc:
            click.echo(str(exc), err=True)
            sys.exit(2)
    click.echo(", ".join(f"{k}={v}" for k, v in counts.items()) + f" → {out}")


@kb.command()
@click.argument("key")
@_kind_option()
@click.pass_context
def history(ctx: click.Context, key: str, kind: RecordKind) -> None:
    """List the revisions of one record (id, time, author, action, changed fields)."""
    kbc = _context(ctx)
    with transaction(kbc.factory) as session:
        for rev in KnowledgeRepository(session).revisions(kind, key):
            fields = ", ".join(sorted(rev.diff)) or "-"
            click.echo(
                f"{rev.id}\t{rev.created_at:%Y-%m-%d %H:%M}\t{rev.author}\t"
                f"{rev.action}\t{fields}\t{rev.comment}"
            )


@kb.command(name="set-status")
@click.argument("key")
@click.argument("status", type=click.Choice(["draft", "published", "retired"]))
@_kind_option()
@click.option("--author", required=True, help="Staff member making the change.")
@click.option("--comment", default="", help="Why.")
@click.pass_context
def set_status(
    ctx: click.Context, key: str, status: str, kind: RecordKind, author: str, comment: str
) -> None:
    """Publish, retire or return a record to draft (writes a revision).

    Example: tthc kb set-status 1.004222 retired --author staff1 --comment "bãi bỏ"
    """
    kbc = _context(ctx)
    try:
        with transaction(kbc.factory) as session:
            KnowledgeRepository(session).set_status(
                kind, key, status, author=author, comment=comment
            )
    except RecordNotFound as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(f"{kind} {key}: {status}")


@kb.command()
@click.argument("key")
@click.argument("revision", type=int)
@_kind_option()
@click.option("--author", required=True, help="Staff member making the change.")
@click.pass_context
def rollback(ctx: click.Context, key: str, revision: int, kind: RecordKind, author: str) -> None:
    """Restore a record as it was after REVISION (see `tthc kb history`)."""
    kbc = _context(ctx)
    try:
        with transaction(kbc.factory) as session:
            KnowledgeRepository(session).rollback(kind, key, revision, author=author)
    except RecordNotFound as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(f"{kind} {key}: khôi phục phiên bản {revision}")
