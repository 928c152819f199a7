"""Jinja filters of the admin pages: amounts, dates and times the Vietnamese way."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment

from knowledge.amounts import format_vnd

#: Staff read times in Vietnam's time zone; the database keeps UTC.
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def vnd(value: Any) -> str:
    """35000 → "35.000 đồng"; ``None`` → "—"."""
    if value is None or value == "":
        return "—"
    return f"{format_vnd(int(value))} đồng"


def when(value: Any) -> str:
    """A UTC timestamp or ISO text → "01/12/2026 09:30" (Vietnam time); a date → "01/12/2026"."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return str(value.astimezone(LOCAL).strftime("%d/%m/%Y %H:%M"))
    if isinstance(value, dt.date):
        return str(value.strftime("%d/%m/%Y"))
    return str(value)


def install(env: Environment) -> None:
    """Register the filters on a template environment."""
    env.filters["vnd"] = vnd
    env.filters["when"] = when
