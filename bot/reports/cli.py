"""``tthc report``: the periodic report (XLSX + PDF) from the conversation record."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bot.reports.figures import CHANNEL_NAMES
from bot.reports.periods import PeriodError, parse


@click.command()
@click.option(
    "--period",
    "period_label",
    required=True,
    help="2026-Q4 (quý), 2026-H2 (6 tháng), 2026 (năm) hoặc 2026-11 (tháng).",
)
@click.option(
    "--channel",
    default="",
    type=click.Choice(["", *CHANNEL_NAMES]),
    help="Chỉ một kênh (mặc định: tất cả).",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Thư mục ghi tệp XLSX và PDF.",
)
@click.option("--json", "as_json", is_flag=True, help="In số liệu tổng hợp dạng JSON.")
def report(period_label: str, channel: str, out: Path, as_json: bool) -> None:
    """Write the report of a period: an XLSX workbook and a printable PDF.

    \b
    Examples:
      tthc report --period 2026-Q4 --out bao-cao/          # quarter IV of 2026
      tthc report --period 2026-H2 --channel zalo-oa --out bao-cao/
      tthc report --period 2026 --out bao-cao/ --json      # the year, figures on stdout

    The unit and recipient printed come from TTHC_REPORT_UNIT and TTHC_REPORT_RECIPIENT.
    Exit codes: 0 written, 2 bad period or option.
    """
    try:
        period = parse(period_label)
    except PeriodError as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from exc
    from bot.reports.export import write_report
    from bot.settings import ReportSettings
    from knowledge import migrate
    from knowledge.db import make_engine, make_session_factory
    from knowledge.settings import KnowledgeSettings

    database = make_engine(KnowledgeSettings().resolved_database_url())
    try:
        migrate.upgrade(database)
        settings = ReportSettings()
        with make_session_factory(database)() as session:
            files = write_report(
                session,
                period,
                out,
                channel=channel,
                unit=settings.report_unit,
                recipient=settings.report_recipient,
            )
    finally:
        database.dispose()
    total = files.figures.total
    if as_json:
        json.dump(
            {
                "period": period.label,
                "channel": channel or None,
                "xlsx": str(files.xlsx),
                "pdf": str(files.pdf),
                "questions": total.questions,
                "answered": total.answered,
                "clarified": total.clarified,
                "unanswered": total.unanswered,
                "promotions": total.promotions,
                "clicks": total.clicks,
                "messages": total.messages,
            },
            sys.stdout,
            ensure_ascii=False,
        )
        sys.stdout.write("\n")
        return
    click.echo(
        f"{period.title}: {total.questions} câu hỏi, {total.answered} đã trả lời, "
        f"{total.promotions} lượt giới thiệu DVC, {total.clicks} lượt bấm."
    )
    click.echo(f"Đã ghi {files.xlsx}")
    click.echo(f"Đã ghi {files.pdf}")
