"""HTML form ⇄ record JSON for the edit pages, with Vietnamese errors per field.

``*_values(data)`` turns a record's canonical JSON into ``{input name: text}`` for a
form; ``parse_*(form, base)`` reads a submitted form over the current record ``base``
and returns ``(data, errors)``: the proposed canonical JSON (``None`` when there are
errors) and ``{input name: reason}``. Amounts go through :mod:`knowledge.amounts`,
phones, URLs, document numbers (căn cứ pháp lý) and template file names (thành phần hồ
sơ) through :mod:`knowledge.validation`. Repeated rows (fees, documents, legal bases)
come with a hidden row count; a row left as it was is kept exactly as the record had it,
a row with every cell cleared is removed. Plans are in :mod:`bot.admin.plan_forms`.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from knowledge.amounts import AmountError, format_vnd, parse_amount, staff_vnd
from knowledge.record_diff import ONLINE_LEVELS, TIME_UNITS
from knowledge.validation import (
    FieldError,
    check_document_number,
    check_file_names,
    check_phone,
    check_url,
)

Form = Mapping[str, Any]
CURRENCIES = ("VND", "USD", "EUR")
HOTLINE_SCOPES = {
    "national": "Toàn quốc",
    "province": "Tỉnh, thành phố",
    "commune": "Xã, phường",
    "agency": "Cơ quan, đơn vị",
    "field": "Lĩnh vực",
}


def _s(form: Form, name: str, limit: int = 5000) -> str:
    return str(form.get(name, "") or "").strip()[:limit]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _date(text: str, name: str, errors: dict[str, str]) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        errors[name] = "ngày không hợp lệ (dạng năm-tháng-ngày, ví dụ 2026-12-31)"
        return None


def _amount_text(fee: dict[str, Any]) -> tuple[str, str]:
    currency = str(fee.get("currency") or "VND")
    if currency != "VND" and fee.get("foreign_amount") is not None:
        return f"{fee['foreign_amount']:g}".replace(".", ","), currency
    if fee.get("amount_vnd") is not None:
        return format_vnd(int(fee["amount_vnd"])), "VND"
    return "", currency if currency in CURRENCIES else "VND"


# ------------------------------------------------------------------ procedures


def procedure_values(data: dict[str, Any]) -> dict[str, str]:
    """Form fields of a procedure (common fields, each channel's time and fees)."""
    values = {
        "name": data.get("name", ""),
        "fields": "\n".join(data.get("fields", [])),
        "levels": "\n".join(data.get("levels", [])),
        "implementing_agencies": data.get("implementing_agencies", ""),
        "competent_agencies": data.get("competent_agencies", ""),
        "receiving_address": data.get("receiving_address", ""),
        "conditions": data.get("conditions", ""),
        "online_level": data.get("online_level", "none"),
        "online_url": data.get("online_url", ""),
        "portal_url": data.get("portal_url", ""),
    }
    for i, channel in enumerate(data.get("channels", [])):
        value = channel.get("time_value")
        values[f"ch{i}_time_value"] = "" if value is None else f"{value:g}".replace(".", ",")
        values[f"ch{i}_time_unit"] = channel.get("time_unit") or ""
        values[f"ch{i}_time_text"] = channel.get("time_text", "")
        fees = channel.get("fees", [])
        values[f"ch{i}_fees"] = str(len(fees) + 1)
        for j, fee in enumerate(fees):
            amount, currency = _amount_text(fee)
            values[f"ch{i}_fee{j}_kind"] = fee.get("kind", "")
            values[f"ch{i}_fee{j}_amount"] = amount
            values[f"ch{i}_fee{j}_currency"] = currency
            values[f"ch{i}_fee{j}_description"] = fee.get("description", "")
    docs = data.get("documents", [])
    values["docs"] = str(len(docs) + 1)
    for i, doc in enumerate(docs):
        values.update(_document_values(f"doc{i}_", doc))
    bases = data.get("legal_bases", [])
    values["bases"] = str(len(bases) + 1)
    for i, basis in enumerate(bases):
        values[f"basis{i}_number"] = basis.get("number", "")
        values[f"basis{i}_title"] = basis.get("title", "")
    return {k: str(v) for k, v in values.items()}


REQUIRED = {"": "Không ghi", "yes": "Bắt buộc", "no": "Không bắt buộc"}


def _document_values(prefix: str, doc: dict[str, Any]) -> dict[str, str]:
    required = doc.get("required")
    return {
        f"{prefix}name": str(doc.get("name", "")),
        f"{prefix}case": str(doc.get("case", "")),
        f"{prefix}originals": "" if doc.get("originals") is None else str(doc["originals"]),
        f"{prefix}copies": "" if doc.get("copies") is None else str(doc["copies"]),
        f"{prefix}required": "" if required is None else ("yes" if required else "no"),
        f"{prefix}form_name": str(doc.get("form_name", "")),
    }


def _rows(form: Form, name: str, originals: int, limit: int = 200) -> int:
    """How many rows a repeated block has (the hidden count; at most ``limit``)."""
    try:
        return min(int(_s(form, name, 5) or 0), limit)
    except ValueError:
        return originals + 1


def _count(text: str, name: str, errors: dict[str, str]) -> int | None:
    if not text:
        return None
    if not text.isdigit() or int(text) > 100:
        errors[name] = "số bản phải là số nguyên từ 0 đến 100"
        return None
    return int(text)


def _document(
    form: Form, prefix: str, original: dict[str, Any] | None, errors: dict[str, str]
) -> dict[str, Any] | None:
    typed = {k[len(prefix) :]: _s(form, k, 5000) for k in _document_values(prefix, {})}
    if not any(typed.values()):
        return None  # the blank row, or a document the editor cleared
    if original is not None and typed == _document_values("", original):
        return dict(original)  # unchanged: kept as the source wrote it
    if not typed["name"]:
        errors[f"{prefix}name"] = "hãy ghi tên giấy tờ"
    if typed["required"] not in REQUIRED:
        errors[f"{prefix}required"] = "hãy chọn bắt buộc hay không"
    try:
        form_name = check_file_names(typed["form_name"])
    except FieldError as exc:
        errors[f"{prefix}form_name"] = str(exc)
        form_name = typed["form_name"]
    return {
        "name": typed["name"],
        "originals": _count(typed["originals"], f"{prefix}originals", errors),
        "copies": _count(typed["copies"], f"{prefix}copies", errors),
        "required": {"yes": True, "no": False}.get(typed["required"]),
        "has_form": bool(form_name) or bool(original and original.get("has_form")),
        "form_name": form_name,
        "case": typed["case"],
    }


def _legal_basis(
    form: Form, prefix: str, original: dict[str, Any] | None, errors: dict[str, str]
) -> dict[str, Any] | None:
    number, title = _s(form, f"{prefix}number", 200), _s(form, f"{prefix}title", 2000)
    if not (number or title):
        return None
    if original is not None and (number, title) == (original["number"], original["title"]):
        return dict(original)  # unchanged (older records may carry a looser number)
    try:
        number = check_document_number(number)
    except FieldError as exc:
        errors[f"{prefix}number"] = str(exc)
    return {"number": number, "title": title}


def _fee(
    form: Form, prefix: str, original: dict[str, Any] | None, errors: dict[str, str]
) -> dict[str, Any] | None:
    kind = _s(form, f"{prefix}_kind", 500)
    amount = _s(form, f"{prefix}_amount", 100)
    currency = _s(form, f"{prefix}_currency", 8) or "VND"
    description = _s(form, f"{prefix}_description")
    if not (kind or amount or description):
        return None  # an empty row: the blank one, or a fee the editor cleared
    if currency not in CURRENCIES:
        errors[f"{prefix}_currency"] = "đơn vị tiền phải là VND, USD hoặc EUR"
        return None
    if not kind:
        errors[f"{prefix}_kind"] = "hãy ghi tên khoản thu (ví dụ: Lệ phí, Phí thẩm định)"
    fee: dict[str, Any] = {"kind": kind, "description": description, "currency": currency}
    try:
        if currency == "VND":
            fee["amount_vnd"] = staff_vnd(amount) if amount else None
            fee["foreign_amount"] = None
        else:
            fee["amount_vnd"] = None
            fee["foreign_amount"] = (
                float(parse_amount(amount, currency=currency).value) if amount else None
            )
    except AmountError as exc:
        errors[f"{prefix}_amount"] = str(exc)
        return None
    if (
        original is not None
        and all(
            original.get(k) == fee[k] for k in ("kind", "description", "currency", "amount_vnd")
        )
        and (currency == "VND" or original.get("foreign_amount") == fee["foreign_amount"])
    ):
        return dict(original)  # unchanged: keep what the record says about it
    return fee  # its meaning, setter and validity are read from the note by the codec


def _number(text: str) -> float | None:
    if not text:
        return None
    if not re.fullmatch(r"\d+(?:[.,]\d+)?", text):
        raise ValueError
    return float(text.replace(",", "."))


def parse_procedure(
    form: Form, base: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The proposed procedure over ``base``; see the module docstring."""
    errors: dict[str, str] = {}
    data = copy.deepcopy(base)
    name = _s(form, "name", 1000)
    if not name:
        errors["name"] = "tên thủ tục không được để trống"
    data["name"] = name
    for field in ("fields", "levels"):
        data[field] = _lines(_s(form, field))
    for field in ("implementing_agencies", "competent_agencies", "receiving_address", "conditions"):
        data[field] = _s(form, field, 20000)
    level = _s(form, "online_level") or "none"
    if level not in ONLINE_LEVELS:
        errors["online_level"] = "mức dịch vụ công trực tuyến không hợp lệ"
    data["online_level"] = level
    for field in ("online_url", "portal_url"):
        try:
            data[field] = check_url(_s(form, field, 2000))
        except FieldError as exc:
            errors[field] = str(exc)
    channels = []
    for i, channel in enumerate(base.get("channels", [])):
        new = dict(channel)
        try:
            new["time_value"] = _number(_s(form, f"ch{i}_time_value", 20))
        except ValueError:
            errors[f"ch{i}_time_value"] = "thời hạn phải là một số (ví dụ 15 hoặc 0,5)"
        unit = _s(form, f"ch{i}_time_unit", 16)
        if new.get("time_value") is not None and unit not in TIME_UNITS:
            errors[f"ch{i}_time_unit"] = "hãy chọn đơn vị thời hạn"
        new["time_unit"] = unit or None
        new["time_text"] = _s(form, f"ch{i}_time_text", 2000)
        originals = channel.get("fees", [])
        fees = []
        for j in range(min(_rows(form, f"ch{i}_fees", len(originals)), 50)):
            fee = _fee(form, f"ch{i}_fee{j}", originals[j] if j < len(originals) else None, errors)
            if fee is not None:
                fees.append(fee)
        new["fees"] = fees
        channels.append(new)
    data["channels"] = channels
    # A form without the blocks (an older page) leaves documents and legal bases as they are.
    docs = base.get("documents", [])
    if "docs" in form:
        data["documents"] = [
            doc
            for i in range(_rows(form, "docs", len(docs)))
            if (doc := _document(form, f"doc{i}_", docs[i] if i < len(docs) else None, errors))
        ]
    bases = base.get("legal_bases", [])
    if "bases" in form:
        data["legal_bases"] = [
            basis
            for i in range(_rows(form, "bases", len(bases)))
            if (
                basis := _legal_basis(
                    form, f"basis{i}_", bases[i] if i < len(bases) else None, errors
                )
            )
        ]
    return (None if errors else data), errors


# ------------------------------------------------------------------ hotlines


def hotline_values(data: dict[str, Any]) -> dict[str, str]:
    """Form fields of a hotline."""
    return {
        "scope": str(data.get("scope", "province")),
        "area": str(data.get("area", "")),
        "name": str(data.get("name", "")),
        "phones": "\n".join(data.get("phones", [])),
        "email": str(data.get("email", "")),
        "hours": str(data.get("hours", "")),
        "source": str(data.get("source", "")),
        "verified_at": str(data.get("verified_at") or ""),
        "status": str(data.get("status", "published")),
    }


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def parse_hotline(
    form: Form, base: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """A hotline from its form; for an existing one (``base``) scope, area and name stay."""
    errors: dict[str, str] = {}
    if base is not None:
        scope, area, name = base["scope"], base["area"], base["name"]
    else:
        scope, area, name = _s(form, "scope", 16), _s(form, "area", 255), _s(form, "name", 255)
        if scope not in HOTLINE_SCOPES:
            errors["scope"] = "hãy chọn phạm vi"
        if not name:
            errors["name"] = "tên đơn vị không được để trống"
        if scope in ("province", "commune") and not area:
            errors["area"] = "hãy ghi tỉnh, thành phố hoặc xã, phường"
    phones = []
    for line in _lines(_s(form, "phones")):
        for part in line.split(";"):
            if part.strip():
                try:
                    phones.append(check_phone(part))
                except FieldError as exc:
                    errors["phones"] = str(exc)
    if not phones and "phones" not in errors:
        errors["phones"] = "hãy ghi ít nhất một số điện thoại"
    email = _s(form, "email", 255)
    if email and not _EMAIL.match(email):
        errors["email"] = f"thư điện tử {email!r} không hợp lệ"
    source = _s(form, "source", 2000)
    if not source:
        errors["source"] = "hãy ghi nguồn (văn bản, trang web) của số điện thoại này"
    verified = _date(_s(form, "verified_at", 10), "verified_at", errors)
    status = _s(form, "status", 16) or "published"
    if status not in ("published", "retired"):
        errors["status"] = "trạng thái không hợp lệ"
    data = {
        "scope": scope,
        "name": name,
        "phones": phones,
        "area": area,
        "email": email,
        "hours": _s(form, "hours", 1000),
        "source": source,
        "verified_at": verified.isoformat() if verified else None,
        "status": status,
    }
    return (None if errors else data), errors


# ------------------------------------------------------------------ FAQ


def faq_values(data: dict[str, Any]) -> dict[str, str]:
    """Form fields of an FAQ entry."""
    return {
        "question": str(data.get("question", "")),
        "answer": str(data.get("answer", "")),
        "topic": str(data.get("topic", "")),
        "source_url": str(data.get("source_url", "")),
        "status": str(data.get("status", "published")),
    }


def parse_faq(form: Form, base: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """An FAQ entry over ``base`` (which holds at least its ``source_id``)."""
    errors: dict[str, str] = {}
    data = copy.deepcopy(base)
    for field, limit, message in (
        ("question", 4000, "câu hỏi không được để trống"),
        ("answer", 20000, "câu trả lời không được để trống"),
    ):
        data[field] = _s(form, field, limit)
        if not data[field]:
            errors[field] = message
    data["topic"] = _s(form, "topic", 500)
    try:
        data["source_url"] = check_url(_s(form, "source_url", 2000))
    except FieldError as exc:
        errors["source_url"] = str(exc)
    status = _s(form, "status", 16) or "published"
    if status not in ("published", "retired"):
        errors["status"] = "trạng thái không hợp lệ"
    data["status"] = status
    return (None if errors else data), errors


def effective_on(form: Form, errors: dict[str, str]) -> dt.date | None:
    """The optional effective date (ngày hiệu lực) of a change."""
    return _date(_s(form, "effective_on", 10), "effective_on", errors)
