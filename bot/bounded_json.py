"""The one JSON reader for untrusted request bodies: nesting depth and number size bounded.

Python's ``json`` recurses once per nesting level (100,000 ``[`` raise ``RecursionError``)
and converts every integer literal however long (4,301 digits raise ``ValueError`` from
``int``, and a shorter one still costs quadratic time). Every webhook, ``/api/chat`` and
``/api/feedback`` read their bodies here, so bad input is always a :class:`JSONRejected`
(a ``ValueError``) that the caller turns into 400, never a 500.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

#: Deepest nesting accepted. Platform payloads nest fewer than 12 levels.
MAX_DEPTH = 64
#: Longest number literal accepted (ids and timestamps have at most 20 digits).
MAX_NUMBER_CHARS = 64

# A JSON string, possibly unterminated: it then runs to the end, so no byte after an
# opening quote is scanned twice (linear time whatever the quotes and backslashes).
_STRINGS = re.compile(rb'"(?:[^"\\]|\\[\s\S])*(?:"|\\?\Z)')
_NOT_BRACKETS = bytes(range(256)).translate(None, b"[]{}")
# Opening bracket → +1, closing → -1.
_STEP = np.zeros(256, dtype=np.int64)
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1


class JSONRejected(ValueError):
    """The body is not JSON we accept; the message says why (safe to show a client)."""


def loads(
    raw: bytes | str, *, max_depth: int = MAX_DEPTH, max_number_chars: int = MAX_NUMBER_CHARS
) -> Any:
    """Parse ``raw`` like ``json.loads``, refusing deep nesting and long numbers.

    Raises :class:`JSONRejected` for anything that is not acceptable JSON: a syntax error,
    bytes that are not UTF-8/16/32, ``NaN``/``Infinity``, too deep, a number too long.
    """
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    if too_deep(data, max_depth):
        raise JSONRejected(f"JSON nested deeper than {max_depth} levels")

    def number(kind: type[int] | type[float]) -> Any:
        def convert(literal: str) -> int | float:
            if len(literal) > max_number_chars:
                raise JSONRejected(f"JSON number longer than {max_number_chars} characters")
            return kind(literal)

        return convert

    def no_constant(name: str) -> Any:
        raise JSONRejected(f"{name} is not JSON")

    try:
        return json.loads(
            data,
            parse_int=number(int),
            parse_float=number(float),
            parse_constant=no_constant,
        )
    except JSONRejected:
        raise
    except RecursionError as exc:  # unreachable after ``too_deep``; kept as a backstop
        raise JSONRejected("JSON nested too deeply") from exc
    except UnicodeDecodeError as exc:
        raise JSONRejected("body is not UTF-8 text") from exc
    except ValueError as exc:  # JSONDecodeError and anything a hook refused
        raise JSONRejected(f"invalid JSON: {_short(exc)}") from exc


def too_deep(data: bytes, max_depth: int = MAX_DEPTH) -> bool:
    """Whether brackets outside strings nest deeper than ``max_depth`` (linear time)."""
    if data.count(b"[") + data.count(b"{") <= max_depth:
        return False  # cannot nest deeper than the number of opening brackets
    brackets = _STRINGS.sub(b'""', data).translate(None, _NOT_BRACKETS)
    if not brackets:
        return False
    steps = _STEP[np.frombuffer(brackets, dtype=np.uint8)]
    return int(np.cumsum(steps).max()) > max_depth


def _short(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at position {exc.pos}"
    return str(exc)[:120]
