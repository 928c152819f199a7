"""Checks on a real engine's reply that hold whichever near-tied record ranks first.

Plumbing tests that run the real engine (end-to-end, CLI) assert that the reply is one
coherent answer — it cites one procedure and quotes an amount of *that* procedure — not
which procedure wins; ranking claims live in the quality tests and the benchmark.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from bot.engine import texts

CITED = re.compile(r"\(mã ([^)\s]+)\)")

RecordOf = Callable[[str], dict[str, Any] | None]


def check_fee_answer(reply: str, record_of: RecordOf) -> str:
    """Assert ``reply`` is one Vietnamese fee answer true to the record it cites.

    It cites exactly one procedure ("(mã CODE)") and quotes one of that record's amounts,
    or, when the record gives none, says that there is no fee information.

    ``record_of(code)`` returns the procedure record (as the retriever stores it) or None.
    Returns the cited procedure code.
    """
    text = html.unescape(reply)
    cited = set(CITED.findall(text))
    assert len(cited) == 1, text
    code = cited.pop()
    record = record_of(code)
    assert record is not None, text
    amounts = {
        f"{fee['amount_vnd']:,}".replace(",", ".")
        for channel in record.get("channels") or []
        for fee in channel.get("fees") or []
        if fee.get("amount_vnd")
    }
    assert texts.FEES_TITLE in text, text
    if amounts:
        assert any(f"{amount} đồng" in text for amount in amounts), (amounts, text)
    else:  # the record gives no amount: the answer must say so rather than invent one
        assert texts.NO_FEE_INFO in text or texts.FEE_UNKNOWN in text, text
        assert "đồng" not in text, text
    return code
