"""Kiểm tra dữ liệu: procedures whose fee or time facts cannot be told with confidence.

``tthc kb audit`` lists them so staff can fix the record; ``tthc kb stats`` prints the
counts. Each finding names the procedure, the channel and what is wrong:

- ``zero_fee_amount_in_note``: a fee with no amount (0 or empty at the source) whose note
  writes amounts in đồng: the answer can only quote the note, staff should split it into
  fees with amounts;
- ``unknown_time_unit``: a processing time that is a bare number with no unit;
- ``expired_rate``: a rate whose note says it applied only until a day before ``today``;
- ``currency_missing``: an amount whose currency the source does not name (a figure
  below 1,000 that is not a plausible number of đồng).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

from knowledge.fee_notes import note_vnd_amounts
from knowledge.records import ProcedureData

__all__ = ["PROBLEMS", "Finding", "audit", "counts"]

Problem = Literal[
    "zero_fee_amount_in_note", "unknown_time_unit", "expired_rate", "currency_missing"
]
PROBLEMS: tuple[Problem, ...] = (
    "zero_fee_amount_in_note",
    "unknown_time_unit",
    "expired_rate",
    "currency_missing",
)
_BARE = re.compile(r"\s*\d+(?:[.,]\d+)?\s*")


@dataclass(frozen=True)
class Finding:
    """One fact of one procedure that cannot be rendered with confidence."""

    code: str
    name: str
    method: str
    problem: Problem
    detail: str

    def as_dict(self) -> dict[str, str]:
        """JSON-ready form (what ``tthc kb audit --json`` prints)."""
        return asdict(self)


def _procedure_findings(proc: ProcedureData, today: dt.date) -> list[Finding]:
    found: list[Finding] = []

    def add(method: str, problem: Problem, detail: str) -> None:
        finding = Finding(proc.code, proc.name, method, problem, " ".join(detail.split())[:200])
        if finding not in found:
            found.append(finding)

    for channel in proc.channels:
        bare = channel.time_value is not None and channel.time_unit in (None, "other")
        if bare or (channel.time_value is None and _BARE.fullmatch(channel.time_text or "x")):
            add(channel.method, "unknown_time_unit", channel.time_text)
        for fee in channel.fees:
            if fee.meaning in ("set_elsewhere", "free") and note_vnd_amounts(fee.description):
                add(channel.method, "zero_fee_amount_in_note", fee.description)
            if fee.valid_until is not None and fee.valid_until < today:
                what = fee.amount_vnd if fee.amount_vnd is not None else fee.meaning
                add(
                    channel.method,
                    "expired_rate",
                    f"{what} đến hết {fee.valid_until:%d/%m/%Y}: {fee.description}",
                )
            if fee.currency == "":
                add(
                    channel.method,
                    "currency_missing",
                    f"{fee.foreign_amount:g}: {fee.description}"
                    if fee.foreign_amount is not None
                    else fee.description,
                )
    return found


def audit(procedures: Iterable[ProcedureData], today: dt.date) -> list[Finding]:
    """Every finding of ``procedures`` as of ``today``, in procedure order."""
    return [f for proc in procedures for f in _procedure_findings(proc, today)]


def counts(findings: Iterable[Finding]) -> dict[str, int]:
    """Procedures per problem (a procedure counts once per problem), every problem listed."""
    seen = {(f.problem, f.code) for f in findings}
    per = Counter(problem for problem, _ in seen)
    return {problem: per.get(problem, 0) for problem in PROBLEMS}
