"""Money amounts written the Vietnamese way (số tiền), read by every importer and editor path.

One reader for "35.000", "35.000đ", "35 nghìn", "1,5 triệu", "35,000", "35.000 đồng/hồ sơ",
"5 USD" and "Miễn phí", so that a fee typed by staff and a fee read from the portal mean
the same thing. Vietnamese groups thousands with "." (and the portal often with ","):
"35.000" is thirty-five thousand đồng, never 35. A decimal comma or point is only
accepted before a multiplier word ("1,5 triệu") or in a foreign currency ("2,5 USD").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

__all__ = [
    "MIN_PLAUSIBLE_VND",
    "Amount",
    "AmountError",
    "format_vnd",
    "parse_amount",
    "staff_vnd",
]

#: No fee of a procedure is below 1,000 đồng: a smaller figure lost its thousands
#: ("35" typed for "35.000", the portal's "40 VNĐ" beside a note saying "40.000đ").
MIN_PLAUSIBLE_VND = 1000


class AmountError(ValueError):
    """The text is not an amount this reader can vouch for; ``str()`` is the Vietnamese reason."""


@dataclass(frozen=True)
class Amount:
    """An amount of money: ``value`` in units of ``currency`` (ISO 4217: "VND", "USD", ...).

    ``per`` is the unit the amount is charged by when written ("hồ sơ" for
    "35.000 đồng/hồ sơ"), else "".
    """

    value: Decimal
    currency: str = "VND"
    per: str = ""

    @property
    def vnd(self) -> int | None:
        """The amount in whole đồng, or ``None`` for another currency."""
        return int(self.value) if self.currency == "VND" else None


_CURRENCIES: tuple[tuple[str, str], ...] = (
    (r"việt nam đồng|vnđ|vnd|đồng|đ", "VND"),
    (r"usd|us\$|\$|đô la mỹ|đô la|đô", "USD"),
    (r"eur|euro|€", "EUR"),
)
_MULTIPLIERS = {
    "nghìn": 1_000,
    "ngàn": 1_000,
    "k": 1_000,
    "triệu": 1_000_000,
    "tr": 1_000_000,
    "tỷ": 1_000_000_000,
    "tỉ": 1_000_000_000,
}
_FREE = re.compile(r"^(?:miễn phí|miễn|không thu|không mất phí|0)$")
_NUMBER = r"\d[\d.,\s]*\d|\d"
_CURRENCY_WORDS = "|".join(p for p, _ in _CURRENCIES)
_AMOUNT = re.compile(
    rf"^(?P<pre>{_CURRENCY_WORDS})?\s*(?P<num>{_NUMBER})\s*"
    rf"(?P<mult>{'|'.join(sorted(_MULTIPLIERS, key=len, reverse=True))})?\s*"
    rf"(?P<cur>{_CURRENCY_WORDS})?\s*(?:/\s*(?P<per>[^\d/][^/]*))?$"
)


def _currency(word: str) -> str:
    for pattern, code in _CURRENCIES:
        if re.fullmatch(pattern, word):
            return code
    raise AmountError(f"không rõ đơn vị tiền {word!r}")


def _grouped(number: str) -> Decimal | None:
    """Read digits grouped by thousands ("35.000", "2,000,000", "15 000"), else ``None``."""
    for sep in (".", ",", " "):
        parts = number.split(sep)
        if (
            len(parts) > 1
            and 1 <= len(parts[0]) <= 3
            and all(len(p) == 3 and p.isdigit() for p in parts[1:])
            and parts[0].isdigit()
        ):
            return Decimal("".join(parts))
    return None


def _decimal(number: str) -> Decimal | None:
    """Read "1,5" / "1.5" (one decimal separator) as a decimal fraction, else ``None``."""
    match = re.fullmatch(r"(\d+)[.,](\d+)", number)
    if match is None:
        return None
    try:
        return Decimal(f"{match.group(1)}.{match.group(2)}")
    except InvalidOperation:  # pragma: no cover - the pattern only lets digits through
        return None


def parse_amount(text: str | int | float | Decimal, *, currency: str = "VND") -> Amount:
    """Read one amount; ``currency`` applies when the text names none.

    Accepted: integers; thousands grouped by "." "," or space; a multiplier word
    ("nghìn", "ngàn", "k", "triệu", "tr", "tỷ") after a whole or decimal number; a currency
    word or sign before or after ("đ", "đồng", "VNĐ", "VND", "USD", "$", "EUR"); a
    "/unit" tail ("đồng/hồ sơ"); "Miễn phí", "không thu" and "0" as zero.
    A float is accepted only when whole (JSON ``35.0``). Raises :class:`AmountError`
    for anything else: a negative number, "35,5" in đồng, "1.2.3", words.
    """
    if isinstance(text, bool):
        raise AmountError("không phải số tiền")
    if isinstance(text, int):
        if text < 0:
            raise AmountError("số tiền không được âm")
        return Amount(Decimal(text), currency)
    if isinstance(text, float | Decimal):
        exact = Decimal(str(text))
        if exact < 0:
            raise AmountError("số tiền không được âm")
        if currency == "VND" and exact != exact.to_integral_value():
            raise AmountError(f"{text} đồng có phần lẻ: hãy viết số tiền đầy đủ, ví dụ 35.000")
        return Amount(exact, currency)
    raw = unicodedata.normalize("NFC", str(text)).strip()
    lowered = " ".join(raw.lower().split()).rstrip(".")
    if not lowered:
        raise AmountError("ô số tiền đang trống")
    if _FREE.match(lowered):
        return Amount(Decimal(0), currency)
    if lowered.startswith("-"):
        raise AmountError("số tiền không được âm")
    match = _AMOUNT.match(lowered)
    if match is None:
        raise AmountError(f"không đọc được số tiền {raw!r}")
    if match["pre"] and match["cur"]:
        raise AmountError(f"số tiền {raw!r} ghi hai đơn vị tiền")
    unit = match["pre"] or match["cur"]
    code = _currency(unit) if unit else currency
    number = match["num"].strip()
    multiplier = _MULTIPLIERS.get(match["mult"] or "", 1)
    value: Decimal | None = Decimal(number) if number.isdigit() else _grouped(number)
    if value is None:
        fraction = _decimal(number)
        if fraction is None or (multiplier == 1 and code == "VND"):
            raise AmountError(
                f"không đọc được số tiền {raw!r}: dấu chấm hoặc phẩy chỉ dùng để tách hàng "
                "nghìn (35.000) hoặc trước chữ nghìn/triệu (1,5 triệu)"
            )
        value = fraction
    value *= multiplier
    if code == "VND" and value != value.to_integral_value():
        raise AmountError(f"số tiền {raw!r} có phần lẻ đồng")
    return Amount(value, code, (match["per"] or "").strip())


def staff_vnd(value: str | int | float | Decimal | None) -> int | None:
    """An amount in đồng as staff type it (export sheets), or ``None`` for an empty cell.

    Stricter than :func:`parse_amount`: another currency or a non-zero amount below
    :data:`MIN_PLAUSIBLE_VND` is refused (:class:`AmountError`), because "35" is almost
    always "35.000" with its thousands lost.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, Decimal):
        # A JSON cell typed 35.000 arrives as Decimal("35.000"): read it as written.
        value = str(value)
    amount = parse_amount(value)
    if amount.currency != "VND":
        raise AmountError(f"số tiền {value!r} không phải đồng: ghi vào currency và foreign_amount")
    vnd = int(amount.value)
    if 0 < vnd < MIN_PLAUSIBLE_VND:
        raise AmountError(
            f"{value!r} đồng nhỏ bất thường (dưới {format_vnd(MIN_PLAUSIBLE_VND)} đồng): "
            f'có phải {format_vnd(vnd * 1000)}? Hãy ghi đủ, ví dụ "{format_vnd(vnd * 1000)}"'
        )
    return vnd


def format_vnd(amount: int) -> str:
    """35000 → "35.000" (Vietnamese thousands grouping, no currency word)."""
    return f"{amount:,}".replace(",", ".")
