"""Importer for the portal API crawl (``dvcqg_opengov_crawl``): typed details and catalogue.

Details carry typed channels, fees and documents and win over every other source for
the same code; catalogue rows become summary-only procedures for codes with no detail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from knowledge.amounts import MIN_PLAUSIBLE_VND, Amount, AmountError, parse_amount
from knowledge.fee_notes import with_facts
from knowledge.importers.text import clean, split_steps
from knowledge.records import (
    ChannelData,
    ChannelMethod,
    DocumentData,
    FeeData,
    LegalBasisData,
    OnlineLevel,
    ProcedureData,
    TimeUnit,
)

DETAILS_DATASET = "dvcqg_opengov_details"
CATALOG_DATASET = "dvcqg_opengov_catalog"
#: The crawl window's day (crawl manifest: 2026-07-18).
CRAWLED_AT = dt.date(2026, 7, 18)
PORTAL_PAGE = "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/{id}"

METHODS: dict[str, ChannelMethod] = {
    "ONLINE": "truc_tuyen",
    "DIRECT": "truc_tiep",
    "POSTAL": "buu_chinh",
}
UNITS: dict[str, TimeUnit] = {
    "WORKING_DAY": "working_day",
    "DAY": "day",
    "HOUR": "hour",
    "MONTH": "month",
    "YEAR": "year",
    "OTHER": "other",
}
UNIT_WORDS: dict[str, str] = {
    "working_day": "ngày làm việc",
    "day": "ngày",
    "hour": "giờ",
    "month": "tháng",
    "year": "năm",
    "other": "",
}
FEE_KINDS = {"FEE": "Lệ phí", "SERVICE_FEE": "Phí", "PRICE_LEVEL": "Mức giá"}
#: The portal's ``currencyName`` values and their ISO codes; a missing name means đồng.
CURRENCIES = {"Việt Nam Đồng": "VND", "VNĐ": "VND", "VND": "VND", "USD": "USD", "EUR": "EUR"}


def is_detail(row: dict[str, Any]) -> bool:
    """A full API detail object has execution methods."""
    return "executionMethods" in row and "code" in row


def is_catalog(row: dict[str, Any]) -> bool:
    """A catalogue row has categories and departments but no execution methods."""
    return "codeNotation" in row and "categories" in row and "executionMethods" not in row


def fee_facts(raw: dict[str, Any]) -> tuple[FeeData, ...]:
    """One portal fee object → the fee with its currency and meaning, then any temporary
    reduced rates its note states (:func:`knowledge.fee_notes.with_facts`).

    ``currencyName`` "USD" keeps the number as ``foreign_amount`` ("5 USD", not "5 đồng").
    A number with no currency name is in đồng unless it is below
    :data:`~knowledge.amounts.MIN_PLAUSIBLE_VND` ("45", "200" beside procedures charged in
    USD abroad): then it is kept as an amount of unstated currency (``currency`` ''),
    which ``tthc kb audit`` lists. Raises ``ValueError("fees.value: ...")`` for a value
    the amount reader cannot read.
    """
    description = clean(raw.get("description"))
    name = clean(raw.get("currencyName"))
    currency = CURRENCIES.get(name, name.upper() if name else "VND")
    value = raw.get("value")
    kind = FEE_KINDS.get(str(raw.get("type")), str(raw.get("type") or ""))
    amount: Amount | None = None
    if value not in (None, "", "None"):
        try:
            amount = parse_amount(value, currency=currency)
        except AmountError as exc:
            raise ValueError(f"fees.value: {exc}") from exc
    if amount is None:
        fee = FeeData(kind, None, description, currency=currency)
    elif amount.currency != "VND":
        fee = FeeData(
            kind, None, description, currency=amount.currency, foreign_amount=float(amount.value)
        )
    elif 0 < amount.value < MIN_PLAUSIBLE_VND and not name:
        fee = FeeData(kind, None, description, currency="", foreign_amount=float(amount.value))
    else:
        fee = FeeData(kind, int(amount.value), description)
    facts = with_facts(fee)
    if fee.currency == "" and facts[0].meaning == "amount":
        facts = (replace(facts[0], meaning="unknown"), *facts[1:])
    return facts


def _channel(method: dict[str, Any]) -> ChannelData:
    raw_method = str(method.get("submissionMethod", ""))
    if raw_method not in METHODS:
        raise ValueError(f"submissionMethod không hợp lệ: {raw_method!r}")
    unit = UNITS.get(str(method.get("processingTimeUnit", "")), "other")
    raw_time = clean(method.get("processingTime"))
    number = _number(raw_time)
    value: float | None
    unit_out: TimeUnit | None
    if number is not None and unit != "other":
        value, unit_out, time_text = number, unit, f"{raw_time} {UNIT_WORDS[unit]}"
    else:
        # Not a clean number with a known unit: keep the source words, never a guess.
        value, unit_out, time_text = None, ("other" if raw_time else None), raw_time
    fees = tuple(fee for f in method.get("fees") or [] for fee in fee_facts(f))
    return ChannelData(
        method=METHODS[raw_method],
        time_value=value,
        time_unit=unit_out,
        time_text=time_text,
        fees=fees,
        description=clean(method.get("description")),
    )


def _documents(row: dict[str, Any]) -> list[DocumentData]:
    docs: list[DocumentData] = []
    groups = [
        (clean(c.get("name")), c.get("profileComponents") or [])
        for c in row.get("executionCases") or []
    ]
    groups.append(("", row.get("profileComponents") or []))
    for case, components in groups:
        for comp in components:
            attachments = comp.get("attachments") or []
            docs.append(
                DocumentData(
                    name=clean(comp.get("name")),
                    originals=_int(comp.get("originalQty")),
                    copies=_int(comp.get("copyQty")),
                    required=_bool(comp.get("required")),
                    has_form=bool(_bool(comp.get("hasElectronicForm"))) or bool(attachments),
                    form_name=clean(attachments[0].get("name")) if attachments else "",
                    case=case,
                )
            )
    return [d for d in docs if d.name]


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    if value in (None, "", "None"):
        return None
    return int(float(value))


def _bool(value: Any) -> bool | None:
    if value in (None, "", "None"):
        return None
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _names(items: Any) -> list[str]:
    return [clean(i.get("name")) for i in items or [] if clean(i.get("name"))]


def procedure_from_detail(row: dict[str, Any]) -> ProcedureData:
    """Map one API detail object to a full procedure."""
    channels = [_channel(m) for m in row.get("executionMethods") or []]
    online = any(c.method == "truc_tuyen" for c in channels)
    level: OnlineLevel = (
        "toan_trinh"
        if _bool(row.get("isFullProcess")) and online
        else "mot_phan"
        if online
        else "none"
    )
    levels = [
        label
        for flag, label in (
            ("isMinistry", "Cấp bộ"),
            ("isProvince", "Cấp tỉnh"),
            ("isWard", "Cấp xã"),
        )
        if _bool(row.get(flag))
    ]
    url = PORTAL_PAGE.format(id=row["id"]) if row.get("id") else ""
    proposal = row.get("procedureProposal") or {}
    steps = [
        s
        for step in row.get("executionSteps") or []
        for s in split_steps(str(step.get("description") or ""))
    ]
    return ProcedureData(
        code=clean(row.get("code")),
        name=clean(row.get("name")),
        detail="full",
        fields=_names(row.get("categoriesDetails")),
        levels=levels,
        procedure_type=clean(row.get("type")),
        decision_number=clean(proposal.get("proposalNumber")) or clean(row.get("decisionNo")),
        issuing_body=clean(row.get("departmentPromulgateName")),
        implementing_agencies=clean(row.get("executingAgencies"))
        or "; ".join(_names(row.get("departmentsExecuting"))),
        competent_agencies="; ".join(_names(row.get("departmentsAuthority"))),
        target_groups=_names(row.get("subjectTypesDetails")),
        steps=steps,
        conditions=clean(row.get("requirementsAndConditions")),
        results=_names(row.get("resultsDetails")),
        receiving_address=clean(row.get("dossierReceivingAddresses")),
        channels=channels,
        documents=_documents(row),
        legal_bases=[
            LegalBasisData(number=clean(b.get("code")), title=clean(b.get("name")))
            for b in row.get("legalBasisesDetails") or []
            if clean(b.get("code")) or clean(b.get("name"))
        ],
        online_level=level,
        online_url=url if online else "",
        portal_url=url,
        dataset=DETAILS_DATASET,
        source_id=str(row.get("id") or ""),
        crawled_at=CRAWLED_AT,
    )


def procedure_from_catalog(row: dict[str, Any]) -> ProcedureData:
    """Map one catalogue row to a summary-only procedure."""
    url = PORTAL_PAGE.format(id=row["id"]) if row.get("id") else ""
    return ProcedureData(
        code=clean(row.get("code")),
        name=clean(row.get("name")),
        detail="summary",
        fields=[clean(c) for c in row.get("categories") or [] if clean(c)],
        procedure_type=clean(row.get("type")),
        issuing_body=clean(row.get("departmentPromulgate")),
        implementing_agencies="; ".join(clean(d) for d in row.get("departments") or [] if clean(d)),
        target_groups=[clean(t) for t in row.get("formalityTargetType") or [] if clean(t)],
        portal_url=url,
        dataset=CATALOG_DATASET,
        source_id=str(row.get("id") or ""),
        crawled_at=CRAWLED_AT,
    )
