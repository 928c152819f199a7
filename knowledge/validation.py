"""Checks of what staff type into the admin: phone numbers, web addresses, codes.

Each checker returns the cleaned value or raises :class:`FieldError` whose ``str()``
is the Vietnamese reason shown under the field. Amounts are read by
:mod:`knowledge.amounts` (one reader for every path).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from knowledge.errors import KnowledgeError

__all__ = [
    "FieldError",
    "check_document_number",
    "check_file_names",
    "check_phone",
    "check_procedure_code",
    "check_url",
]


class FieldError(KnowledgeError, ValueError):
    """A typed value is not acceptable; ``str()`` says why, in Vietnamese."""


_SEPARATORS = re.compile(r"[\s.\-()]")
#: 10-digit mobile numbers (03, 05, 07, 08, 09) and 11-digit landlines (02x + 8 digits).
_MOBILE = re.compile(r"^0[35789]\d{8}$")
_LANDLINE = re.compile(r"^02\d{9}$")
#: Toll-free / shared-cost numbers (1800 xxxx, 1900 xxxx(xx)) and emergency short codes.
_SERVICE = re.compile(r"^1[89]00\d{4}(?:\d{2})?$")
_SHORT = re.compile(r"^1\d{2,3}$")
#: A Vietnamese document number (số ký hiệu văn bản): "733/KH-STP", "104/2022/NĐ-CP",
#: "59/2020/QH14", "02/2024/TT-BTP", "15a/QĐ-UBND": number, optional year, then the
#: type-and-issuer symbol in capitals and digits joined by hyphens.
_DOCUMENT_NUMBER = re.compile(r"^\d{1,6}[a-zA-Z]?(?:/\d{4})?/[A-ZĐ0-9]+(?:[-.][A-ZĐ0-9]+)*$")
_FILE_NAME = re.compile(r"^[^/\\<>:\"|?*]{1,200}\.[A-Za-z0-9]{2,5}$")
_PROCEDURE_CODE = re.compile(r"^\d\.\d{6}(?:\.\d{3}\.\d{2}\.\d{2}\.H\d{2})?$|^[A-Z0-9._-]{3,32}$")


def check_phone(text: str) -> str:
    """A Vietnamese phone number as written for citizens (spacing kept, +84 → 0).

    Accepted: mobile (0912 345 678), landline with area code (024 3823 4567,
    0213 3796 888), 1800/1900 numbers and short codes (111, 113, 1022).
    """
    raw = " ".join(text.split())
    if not raw:
        raise FieldError("số điện thoại đang trống")
    digits = _SEPARATORS.sub("", raw)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
        raw = "0" + raw[3:].lstrip()
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if not digits.isdigit():
        raise FieldError(
            f"số điện thoại {text!r} chỉ được có chữ số, dấu cách, dấu chấm, gạch ngang"
        )
    if any(p.match(digits) for p in (_MOBILE, _LANDLINE, _SERVICE, _SHORT)):
        return raw
    raise FieldError(
        f"{text!r} không phải số điện thoại Việt Nam hợp lệ (di động 10 số như 0912 345 678, "
        "cố định 11 số kèm mã vùng như 024 3823 4567, hoặc 1800/1900…)"
    )


def check_url(text: str) -> str:
    """A web address starting with http:// or https:// and naming a host ("" is kept)."""
    value = text.strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in value:
        raise FieldError(
            f"đường dẫn {value!r} không hợp lệ: phải bắt đầu bằng http:// hoặc https:// "
            "và không có dấu cách"
        )
    return value


def check_procedure_code(text: str) -> str:
    """A national procedure code ("1.004222", "2.000123") or a local code (letters, digits)."""
    value = text.strip()
    if not _PROCEDURE_CODE.match(value):
        raise FieldError(f"mã thủ tục {value!r} không hợp lệ (ví dụ đúng: 1.004222)")
    return value


def check_document_number(text: str) -> str:
    """A document number (số ký hiệu) such as "733/KH-STP" or "104/2022/NĐ-CP".

    Spaces around the slashes are removed and the symbol is upper-cased ("nđ-cp" →
    "NĐ-CP"); "Nghị định số 123/2015/NĐ-CP" is refused (the number alone, the title goes
    in its own field).
    """
    value = re.sub(r"\s*/\s*", "/", " ".join(text.split()))
    head, sep, tail = value.partition("/")
    value = head + sep + tail.upper()
    if not _DOCUMENT_NUMBER.match(value):
        raise FieldError(
            f"số ký hiệu “{text.strip()}” không hợp lệ: chỉ ghi số và ký hiệu, "
            "ví dụ 733/KH-STP hoặc 104/2022/NĐ-CP"
        )
    return value


def check_file_names(text: str) -> str:
    """Template file names ("mau-01.docx; to-khai.pdf"): each a name with an extension.

    ``""`` is kept. The cleaned names are joined with "; ".
    """
    names = [part.strip() for part in text.split(";") if part.strip()]
    for name in names:
        if not _FILE_NAME.match(name):
            raise FieldError(
                f"tên tệp mẫu “{name}” không hợp lệ: ghi tên tệp có đuôi, ví dụ to-khai.docx "
                "(nhiều tệp cách nhau bằng dấu chấm phẩy), không có / hoặc \\"
            )
    return "; ".join(names)
