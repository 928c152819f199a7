"""Thống kê: the dashboard of the conversation record, and the report downloads.

Routes (relative to ``/admin``; every staff role):

- ``GET /dashboard?period=2026-Q4&channel=<channel>`` (or ``from=YYYY-MM-DD&to=...``
  instead of ``period``; default: the current quarter): questions per day and channel,
  answered / clarified / unanswered shares, top procedures and fields, promotions and
  clicks, 👍/👎, handoffs, latency p50/p95; charts are server-drawn SVG
  (:mod:`bot.reports.charts`). A bad period shows the error and the default period.
- ``GET /dashboard/report.xlsx`` and ``/dashboard/report.pdf`` with the same filters:
  the files of ``tthc report`` (:mod:`bot.reports.export`). Bad filters: 400.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from bot.admin.web import admin_context, render, require, run_db
from bot.reports import charts
from bot.reports.export import file_stem, write_report
from bot.reports.figures import CHANNEL_NAMES, STATUS_NAMES, Figures, compute
from bot.reports.periods import VIETNAM, Period, PeriodError, between, current_quarter, parse
from bot.settings import ReportSettings

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _today(request: Request) -> dt.date:
    return admin_context(request).clock().astimezone(VIETNAM).date()


def _choices(today: dt.date) -> dict[str, str]:
    """The periods offered in the filter (label → title), most recent first."""
    quarter = current_quarter(today)
    half = parse(f"{today.year}-H{1 if today.month <= 6 else 2}")
    month = parse(f"{today.year}-{today.month:02d}")
    periods = [
        month,
        month.previous(),
        quarter,
        quarter.previous(),
        half,
        half.previous(),
        parse(str(today.year)),
        parse(str(today.year - 1)),
    ]
    return {p.label: p.title for p in periods}


def period_of(values: Any, today: dt.date) -> Period:
    """The period the query asks for; raises :class:`PeriodError` (Vietnamese message)."""
    first, last = str(values.get("from", "")).strip(), str(values.get("to", "")).strip()
    if first or last:
        try:
            return between(dt.date.fromisoformat(first), dt.date.fromisoformat(last))
        except ValueError as exc:
            if isinstance(exc, PeriodError):
                raise
            raise PeriodError("Ngày phải có dạng năm-tháng-ngày, ví dụ 2026-10-01.") from exc
    label = str(values.get("period", "")).strip()
    return parse(label) if label else current_quarter(today)


def _channel(values: Any) -> str:
    channel = str(values.get("channel", ""))
    if channel and channel not in CHANNEL_NAMES:
        raise PeriodError(f"Kênh '{channel[:40]}' không có.")
    return channel


def _svg(figures: Figures) -> dict[str, str]:
    """Each chart as a data: URI of its SVG (no scripts, no ids shared between charts)."""
    out = {}
    for name, make in charts.CHARTS.items():
        data = charts.svg(make(figures)).encode("utf-8")
        out[name] = "data:image/svg+xml;base64," + base64.b64encode(data).decode("ascii")
    return out


async def dashboard(request: Request) -> Response:
    await require(request)
    today = _today(request)
    error = ""
    try:
        period, channel = period_of(request.query_params, today), _channel(request.query_params)
    except PeriodError as exc:
        error, period, channel = str(exc), current_quarter(today), ""
    figures = await run_db(request, compute, period, channel)
    previous = await run_db(request, compute, period.previous(), channel)
    images = await asyncio.to_thread(_svg, figures)
    query = (
        f"period={period.label}"
        if ".." not in period.label
        else (f"from={period.first.isoformat()}&to={period.last.isoformat()}")
    )
    if channel:
        query += f"&channel={channel}"
    return render(
        request,
        "dashboard.html",
        nav="dashboard",
        status_code=400 if error else 200,
        error=error,
        figures=figures,
        previous=previous,
        period=period,
        channel=channel,
        choices=_choices(today),
        channels=CHANNEL_NAMES,
        status_names=STATUS_NAMES,
        images=images,
        query=query,
        custom=".." in period.label,
    )


async def download(request: Request) -> Response:
    await require(request)
    kind = request.path_params["kind"]
    try:
        period = period_of(request.query_params, _today(request))
        channel = _channel(request.query_params)
    except PeriodError as exc:
        return HTMLResponse(str(exc), status_code=400)
    settings = ReportSettings()
    with tempfile.TemporaryDirectory(prefix="tthc-report-") as folder:
        files = await run_db(
            request,
            write_report,
            period,
            Path(folder),
            channel=channel,
            unit=settings.report_unit,
            recipient=settings.report_recipient,
        )
        path = files.xlsx if kind == "xlsx" else files.pdf
        content = path.read_bytes()
    name = f"{file_stem(period, channel)}.{kind}"
    return Response(
        content,
        media_type=XLSX if kind == "xlsx" else "application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


def _known_kind(
    handler: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    async def checked(request: Request) -> Response:
        if request.path_params.get("kind") not in ("xlsx", "pdf"):
            await require(request)
            return HTMLResponse("Chỉ có báo cáo .xlsx hoặc .pdf.", status_code=404)
        return await handler(request)

    return checked


def routes() -> list[BaseRoute]:
    """The dashboard and its downloads."""
    return [
        Route("/dashboard", dashboard),
        Route("/dashboard/report.{kind:str}", _known_kind(download)),
    ]
