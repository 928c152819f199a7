"""Importer for hotline lists (đường dây nóng) in the documented CSV/XLSX template.

Template columns (header row, any order): ``scope, area, name, phones, email, hours,
source, verified_at``. ``phones`` holds one or more numbers separated by ``;``. Every row
needs a ``source`` (where the number was published): the assistant never gives a
number nobody can trace. See ``docs/hotlines.md``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import get_args

from knowledge.importers.text import clean
from knowledge.records import HotlineData, HotlineScope

COLUMNS = ("scope", "area", "name", "phones", "email", "hours", "source", "verified_at")
REQUIRED = ("scope", "name", "phones", "source")
SCOPES: tuple[str, ...] = get_args(HotlineScope)
_PHONE = re.compile(r"^\+?[0-9][0-9 .()-]{5,18}[0-9]$")


def is_hotline_header(header: list[str]) -> bool:
    """Does a header row follow the hotline template?"""
    names = {h.strip().lower() for h in header}
    return set(REQUIRED) <= names and "kind" not in names


def hotline_from_cells(cells: dict[str, str]) -> HotlineData:
    """Validate and map one template row; ``ValueError("field: reason")`` on bad input."""
    values = {k: clean(cells.get(k)) for k in COLUMNS}
    for name in REQUIRED:
        if not values[name]:
            raise ValueError(f"{name}: bắt buộc, đang để trống")
    if values["scope"] not in SCOPES:
        raise ValueError(f"scope: phải là một trong {', '.join(SCOPES)}")
    phones = [p.strip() for p in re.split(r"[;\n]", values["phones"]) if p.strip()]
    for phone in phones:
        if not _PHONE.match(phone):
            raise ValueError(f"phones: {phone!r} không phải số điện thoại")
    verified: dt.date | None = None
    if values["verified_at"]:
        try:
            verified = dt.date.fromisoformat(values["verified_at"][:10])
        except ValueError as exc:
            raise ValueError("verified_at: cần dạng YYYY-MM-DD") from exc
    return HotlineData(
        scope=values["scope"],  # type: ignore[arg-type]  # checked against SCOPES above
        area=values["area"],
        name=values["name"],
        phones=phones,
        email=values["email"],
        hours=values["hours"],
        source=values["source"],
        verified_at=verified,
    )
