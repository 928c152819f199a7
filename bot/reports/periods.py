"""Reporting periods: a quarter (``2026-Q4``), a half-year (``2026-H2``), a year
(``2026``), a month (``2026-11``) or explicit dates, in Vietnam's time (UTC+7)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

#: Reports count days as citizens live them.
VIETNAM = dt.timezone(dt.timedelta(hours=7), "Asia/Ho_Chi_Minh")

_FORMS = re.compile(r"^(\d{4})(?:-(Q[1-4]|H[12]|\d{2}))?$", re.IGNORECASE)


class PeriodError(ValueError):
    """A period that cannot be read (the message is Vietnamese, for staff)."""


@dataclass(frozen=True)
class Period:
    """``[first, last]`` days (inclusive), ``label`` as staff write it, ``title`` as
    the report prints it ("Quý IV năm 2026")."""

    label: str
    title: str
    first: dt.date
    last: dt.date

    @property
    def start(self) -> dt.datetime:
        """The first instant (aware, Vietnam time)."""
        return dt.datetime.combine(self.first, dt.time(), VIETNAM)

    @property
    def end(self) -> dt.datetime:
        """The instant after the last day (exclusive bound)."""
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), VIETNAM)

    @property
    def days(self) -> list[dt.date]:
        """Every day of the period, in order."""
        return [self.first + dt.timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def previous(self) -> Period:
        """The period of the same kind just before (the quarter before, the year before);
        for explicit dates, as many days just before."""
        form = _FORMS.match(self.label)
        if form:
            year, part = int(form.group(1)), (form.group(2) or "").upper()
            if not part:
                return parse(str(year - 1))
            if part.startswith("Q"):
                q = int(part[1])
                return parse(f"{year}-Q{q - 1}" if q > 1 else f"{year - 1}-Q4")
            if part.startswith("H"):
                return parse(f"{year}-H1" if part == "H2" else f"{year - 1}-H2")
            month = int(part)
            return parse(f"{year}-{month - 1:02d}" if month > 1 else f"{year - 1}-12")
        length = self.last - self.first + dt.timedelta(days=1)
        return between(self.first - length, self.first - dt.timedelta(days=1))


_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


def parse(label: str) -> Period:
    """``2026-Q4`` | ``2026-H2`` | ``2026`` | ``2026-11`` → :class:`Period`.

    Raises :class:`PeriodError` for anything else.
    """
    form = _FORMS.match(label.strip())
    if not form:
        raise PeriodError(
            f"Kỳ báo cáo '{label}' không hợp lệ: dùng 2026-Q4 (quý), 2026-H2 (6 tháng), "
            "2026 (năm) hoặc 2026-11 (tháng)."
        )
    year, part = int(form.group(1)), (form.group(2) or "").upper()
    if not 2000 <= year <= 2100:
        raise PeriodError(f"Năm {year} nằm ngoài khoảng 2000–2100.")
    if not part:
        return Period(str(year), f"Năm {year}", dt.date(year, 1, 1), dt.date(year, 12, 31))
    if part.startswith("Q"):
        q = int(part[1])
        first = dt.date(year, 3 * q - 2, 1)
        return Period(f"{year}-Q{q}", f"Quý {_ROMAN[q]} năm {year}", first, _month_end(year, 3 * q))
    if part.startswith("H"):
        h = int(part[1])
        first = dt.date(year, 1 if h == 1 else 7, 1)
        title = f"6 tháng {'đầu' if h == 1 else 'cuối'} năm {year}"
        return Period(f"{year}-H{h}", title, first, _month_end(year, 6 if h == 1 else 12))
    month = int(part)
    if not 1 <= month <= 12:
        raise PeriodError(f"Tháng {month} không hợp lệ.")
    return Period(
        f"{year}-{month:02d}",
        f"Tháng {month} năm {year}",
        dt.date(year, month, 1),
        _month_end(year, month),
    )


def between(first: dt.date, last: dt.date) -> Period:
    """Explicit days ``first``..``last`` (inclusive); raises :class:`PeriodError` when
    reversed or longer than three years."""
    if last < first:
        raise PeriodError("Ngày kết thúc phải sau ngày bắt đầu.")
    if (last - first).days > 3 * 366:
        raise PeriodError("Khoảng thời gian dài quá 3 năm.")
    label = f"{first.isoformat()}..{last.isoformat()}"
    title = f"Từ ngày {first:%d/%m/%Y} đến ngày {last:%d/%m/%Y}"
    return Period(label, title, first, last)


def current_quarter(today: dt.date) -> Period:
    """The quarter ``today`` falls in."""
    return parse(f"{today.year}-Q{(today.month - 1) // 3 + 1}")


def _month_end(year: int, month: int) -> dt.date:
    if month == 12:
        return dt.date(year, 12, 31)
    return dt.date(year, month + 1, 1) - dt.timedelta(days=1)
