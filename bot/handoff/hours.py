"""Office hours of the officers who answer handed-off conversations.

Written as ``TTHC_HANDOFF_HOURS``: day ranges and sessions, groups separated by ``;``,
in the office's time zone (``TTHC_HANDOFF_TIMEZONE``, default Asia/Ho_Chi_Minh)::

    Mon-Fri 07:30-11:30,13:30-17:00
    Mon-Fri 07:30-11:30,13:30-17:00; Sat 07:30-11:30

Parsed once at start-up: a malformed value stops the process with a message naming it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.engine import texts

DEFAULT_HOURS = "Mon-Fri 07:30-11:30,13:30-17:00"
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_GROUP = re.compile(r"^([a-z]{3})(?:-([a-z]{3}))?\s+(.+)$")
_SESSION = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class Session:
    """One working session: ``weekday`` 0 = Monday, start and end in local time."""

    weekday: int
    start: dt.time
    end: dt.time


@dataclass(frozen=True)
class OfficeHours:
    """When officers answer; ``spec`` is the text it was read from."""

    sessions: tuple[Session, ...]
    zone: ZoneInfo
    spec: str

    @classmethod
    def parse(cls, spec: str, timezone: str = DEFAULT_TIMEZONE) -> OfficeHours:
        """Read ``spec`` (module docstring); raises ValueError naming what is wrong."""
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"TTHC_HANDOFF_TIMEZONE: unknown time zone {timezone!r}") from exc
        sessions: list[Session] = []
        for group in (g.strip() for g in spec.split(";")):
            match = _GROUP.match(group.lower())
            if not match:
                raise ValueError(
                    f"TTHC_HANDOFF_HOURS: {group!r} is not like 'Mon-Fri 07:30-11:30,13:30-17:00'"
                )
            first, last, times = match.groups()
            if first not in _DAYS or (last or first) not in _DAYS:
                raise ValueError(f"TTHC_HANDOFF_HOURS: unknown day in {group!r} (Mon..Sun)")
            start_day, end_day = _DAYS.index(first), _DAYS.index(last or first)
            if end_day < start_day:
                raise ValueError(f"TTHC_HANDOFF_HOURS: day range {group!r} runs backwards")
            for piece in (p.strip() for p in times.split(",")):
                found = _SESSION.match(piece)
                if not found:
                    raise ValueError(f"TTHC_HANDOFF_HOURS: session {piece!r} is not HH:MM-HH:MM")
                h1, m1, h2, m2 = (int(x) for x in found.groups())
                if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
                    raise ValueError(f"TTHC_HANDOFF_HOURS: {piece!r} is not a time of day")
                start, end = dt.time(h1, m1), dt.time(h2, m2)
                if end <= start:
                    raise ValueError(f"TTHC_HANDOFF_HOURS: session {piece!r} ends before it starts")
                sessions += [Session(day, start, end) for day in range(start_day, end_day + 1)]
        if not sessions:
            raise ValueError("TTHC_HANDOFF_HOURS is empty")
        ordered = tuple(sorted(sessions, key=lambda s: (s.weekday, s.start)))
        return cls(sessions=ordered, zone=zone, spec=spec.strip())

    def is_open(self, now: dt.datetime) -> bool:
        """Whether ``now`` (aware) falls inside a session."""
        local = now.astimezone(self.zone)
        moment = local.time()
        return any(
            s.weekday == local.weekday() and s.start <= moment < s.end for s in self.sessions
        )

    def next_open(self, now: dt.datetime) -> dt.datetime:
        """The start of the next session after ``now`` (aware, in the office's zone)."""
        local = now.astimezone(self.zone)
        for offset in range(8):
            day = local.date() + dt.timedelta(days=offset)
            for session in self.sessions:
                if session.weekday != day.weekday():
                    continue
                start = dt.datetime.combine(day, session.start, tzinfo=self.zone)
                if start > local:
                    return start
        raise AssertionError("a week always holds a session")  # parse refuses none

    def session_end(self, moment: dt.datetime) -> dt.datetime:
        """The end of the session in progress at ``moment``, else of the next one."""
        local = moment.astimezone(self.zone)
        for session in self.sessions:
            if session.weekday == local.weekday() and session.start <= local.time() < session.end:
                return dt.datetime.combine(local.date(), session.end, tzinfo=self.zone)
        start = self.next_open(moment)
        end = next(
            s.end for s in self.sessions if s.weekday == start.weekday() and s.start == start.time()
        )
        return dt.datetime.combine(start.date(), end, tzinfo=self.zone)

    def describe(self) -> str:
        """Vietnamese wording: "Thứ Hai–Thứ Sáu: 07:30–11:30, 13:30–17:00"."""
        by_times: dict[tuple[tuple[dt.time, dt.time], ...], list[int]] = {}
        for day in range(7):
            times = tuple((s.start, s.end) for s in self.sessions if s.weekday == day)
            if times:
                by_times.setdefault(times, []).append(day)
        parts = []
        for times, days in by_times.items():
            names = (
                f"{texts.WEEKDAYS[days[0]]}–{texts.WEEKDAYS[days[-1]]}"
                if len(days) > 1 and days == list(range(days[0], days[-1] + 1))
                else ", ".join(texts.WEEKDAYS[d] for d in days)
            )
            hours = ", ".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in times)
            parts.append(f"{names}: {hours}")
        return "; ".join(parts)

    def describe_moment(self, moment: dt.datetime) -> str:
        """ "07:30 Thứ Hai, 08/12/2026" for a session start."""
        local = moment.astimezone(self.zone)
        return f"{local:%H:%M} {texts.WEEKDAYS[local.weekday()]}, {local:%d/%m/%Y}"
