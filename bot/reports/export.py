"""One call for the report files: figures of the period and the one before, then the
XLSX and the PDF (used by ``tthc report`` and the admin dashboard's downloads)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from bot.reports import pdf, xlsx
from bot.reports.figures import Figures, compute
from bot.reports.periods import Period


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`write_report` wrote, with the figures it counted."""

    xlsx: Path
    pdf: Path
    figures: Figures
    previous: Figures


def file_stem(period: Period, channel: str = "") -> str:
    """``bao-cao-tro-ly-tthc-2026-Q4[-telegram]`` (safe in any file system)."""
    label = period.label.replace("..", "_")
    return f"bao-cao-tro-ly-tthc-{label}" + (f"-{channel}" if channel else "")


def write_report(
    session: Session,
    period: Period,
    out: Path,
    *,
    channel: str = "",
    unit: str,
    recipient: str = "",
) -> ReportFiles:
    """Count ``period`` (and the one before) and write ``<out>/<stem>.xlsx`` and ``.pdf``."""
    figures = compute(session, period, channel)
    previous = compute(session, period.previous(), channel)
    stem = file_stem(period, channel)
    return ReportFiles(
        xlsx=xlsx.write(figures, previous, out / f"{stem}.xlsx", unit=unit),
        pdf=pdf.write(figures, previous, out / f"{stem}.pdf", unit=unit, recipient=recipient),
        figures=figures,
        previous=previous,
    )
