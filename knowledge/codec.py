"""Conversions between record dataclasses, JSON-ready dicts and ORM rows.

The JSON form is the one canonical shape: revisions diff it, exports write it and the
export importer reads it back, so a round trip cannot drift.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any, Literal, cast

from knowledge.amounts import AmountError, parse_amount, staff_vnd
from knowledge.fee_notes import with_facts
from knowledge.models import (
    ChannelFee,
    Faq,
    Hotline,
    LegalBasis,
    PlanDocument,
    Procedure,
    ProcedureChannel,
    ProcedureDocument,
)
from knowledge.records import (
    ChannelData,
    DocumentData,
    FaqData,
    FeeData,
    HotlineData,
    LegalBasisData,
    PlanData,
    PlanSection,
    ProcedureData,
)

RecordKind = Literal["procedure", "hotline", "plan", "faq"]
KINDS: tuple[RecordKind, ...] = ("procedure", "hotline", "plan", "faq")
Record = ProcedureData | HotlineData | PlanData | FaqData
Row = Procedure | Hotline | PlanDocument | Faq

_DATE_FIELDS = {"crawled_at", "verified_at", "issued_on"}


def to_json(record: Record) -> dict[str, Any]:
    """The canonical JSON-ready dict of a record (dates as ISO strings, tuples as lists)."""
    return cast(dict[str, Any], _jsonable(dataclasses.asdict(record)))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and value.is_integer():
        # 7.0 and 7 must compare equal after a trip through a database or a CSV cell.
        return int(value)
    return value


def record_key(record: Record) -> str:
    """The natural key a record is upserted by."""
    if isinstance(record, ProcedureData):
        return record.code
    if isinstance(record, FaqData):
        return record.source_id
    if isinstance(record, PlanData):
        return plan_key(record)
    return hotline_key(record.scope, record.area, record.name)


def record_kind(record: Record) -> RecordKind:
    """The kind name used in revisions, exports and statistics."""
    if isinstance(record, ProcedureData):
        return "procedure"
    if isinstance(record, FaqData):
        return "faq"
    if isinstance(record, PlanData):
        return "plan"
    return "hotline"


def plan_key(plan: PlanData) -> str:
    """A plan is identified by its number, or by its source file when it has none."""
    return plan.number or plan.source_file or plan.title


def hotline_key(scope: str, area: str, name: str) -> str:
    """Hotlines have no code of their own: scope, area and name identify one."""
    return f"{scope}|{area}|{name}"


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def from_json(kind: RecordKind, data: dict[str, Any]) -> Record:
    """Rebuild a record from its canonical dict; unknown keys are a ``KeyError``/``TypeError``."""
    values: dict[str, Any] = {k: (_date(v) if k in _DATE_FIELDS else v) for k, v in data.items()}
    if kind == "procedure":
        channels: list[ChannelData] = []
        for i, channel in enumerate(values.get("channels", [])):
            try:
                channels.append(_channel_from_json(channel))
            except ValueError as exc:
                raise ValueError(f"channels[{i}].{exc}") from exc
        values["channels"] = channels
        values["documents"] = [DocumentData(**d) for d in values.get("documents", [])]
        values["legal_bases"] = [LegalBasisData(**b) for b in values.get("legal_bases", [])]
        return ProcedureData(**values)
    if kind == "hotline":
        return HotlineData(**values)
    if kind == "plan":
        values["sections"] = [_section_from_json(s) for s in values.get("sections", [])]
        return PlanData(**values)
    return FaqData(**values)


def _channel_from_json(data: dict[str, Any]) -> ChannelData:
    fees: list[FeeData] = []
    for fee in data.get("fees", []):
        fees.extend(_fee_from_json(fee))
    time_value = data.get("time_value")
    if isinstance(time_value, Decimal | int):
        time_value = float(time_value)
    return ChannelData(**{**data, "fees": tuple(fees), "time_value": time_value})


def _fee_from_json(data: dict[str, Any]) -> tuple[FeeData, ...]:
    """A fee as staff or an export wrote it; amounts go through the one amount reader.

    Raises ``ValueError("fees.<field>: reason")`` for an amount it cannot vouch for
    ("35" đồng, "35,5", words). A fee written before fees had a ``meaning`` (an older
    export or revision) gets its meaning, setter and validity read from its note.
    """
    values = dict(data)
    try:
        values["amount_vnd"] = staff_vnd(values.get("amount_vnd"))
        foreign = values.get("foreign_amount")
        if foreign not in (None, ""):
            # '' is "the source names no currency" (kept for staff to fix), never VND.
            currency = str(values.get("currency", "VND"))
            if currency == "VND":
                raise AmountError("foreign_amount cần currency khác VND (ví dụ USD)")
            values["foreign_amount"] = float(parse_amount(foreign, currency=currency).value)
        elif "foreign_amount" in values:
            values["foreign_amount"] = None
        base = values.get("base_vnd")
        values["base_vnd"] = staff_vnd(base) if base not in (None, "") else None
    except AmountError as exc:
        field = "amount_vnd" if "foreign" not in str(exc) else "foreign_amount"
        raise ValueError(f"fees.{field}: {exc}") from exc
    for name in ("valid_from", "valid_until"):
        try:
            values[name] = _date(values.get(name))
        except ValueError as exc:
            raise ValueError(f"fees.{name}: ngày không hợp lệ {values.get(name)!r}") from exc
    fee = FeeData(**values)
    if "meaning" in data:
        return (fee,)
    return with_facts(fee)


def _section_from_json(data: dict[str, Any]) -> PlanSection:
    children = [_section_from_json(c) for c in data.get("children", [])]
    return PlanSection(**{**data, "children": children})


# ---------------------------------------------------------------- ORM -> record


def row_to_record(row: Row) -> Record:
    """Read an ORM row back into its record dataclass."""
    if isinstance(row, Procedure):
        return _procedure_record(row)
    if isinstance(row, Hotline):
        return HotlineData(
            scope=cast(Any, row.scope),
            area=row.area,
            name=row.name,
            phones=list(row.phones),
            email=row.email,
            hours=row.hours,
            source=row.source,
            verified_at=row.verified_at,
            status=cast(Any, row.status),
        )
    if isinstance(row, PlanDocument):
        return PlanData(
            number=row.number,
            title=row.title,
            issuer=row.issuer,
            issued_on=row.issued_on,
            province=row.province,
            year=row.year,
            sections=[_section_from_json(s) for s in row.body],
            source_file=row.source_file,
            status=cast(Any, row.status),
        )
    return FaqData(
        source_id=row.source_id,
        question=row.question,
        answer=row.answer,
        topic=row.topic,
        title=row.title,
        source_url=row.source_url,
        question_truncated=row.question_truncated,
        answer_truncated=row.answer_truncated,
        status=cast(Any, row.status),
    )


def _procedure_record(row: Procedure) -> ProcedureData:
    scalars = {
        f.name: getattr(row, f.name)
        for f in dataclasses.fields(ProcedureData)
        if f.name not in {"channels", "documents", "legal_bases"}
    }
    for name in ("fields", "levels", "target_groups", "steps", "results"):
        scalars[name] = list(scalars[name])
    return ProcedureData(
        **scalars,
        channels=[
            ChannelData(
                method=cast(Any, c.method),
                time_value=c.time_value,
                time_unit=cast(Any, c.time_unit),
                time_text=c.time_text,
                fees=tuple(
                    FeeData(
                        kind=f.kind,
                        amount_vnd=f.amount_vnd,
                        description=f.description,
                        currency=f.currency,
                        foreign_amount=f.foreign_amount,
                        meaning=cast(Any, f.meaning),
                        set_by=f.set_by,
                        valid_from=f.valid_from,
                        valid_until=f.valid_until,
                        base_vnd=f.base_vnd,
                    )
                    for f in c.fees
                ),
                description=c.description,
            )
            for c in row.channels
        ],
        documents=[
            DocumentData(
                name=d.name,
                originals=d.originals,
                copies=d.copies,
                required=d.required,
                has_form=d.has_form,
                form_name=d.form_name,
                case=d.case,
            )
            for d in row.documents
        ],
        legal_bases=[LegalBasisData(b.number, b.title) for b in row.legal_bases],
    )


# ---------------------------------------------------------------- record -> ORM


def new_row(record: Record) -> Row:
    """An empty ORM row of the record's kind (to be filled by :func:`fill_row`)."""
    if isinstance(record, ProcedureData):
        return Procedure(code=record.code, name=record.name)
    if isinstance(record, HotlineData):
        return Hotline(scope=record.scope, area=record.area, name=record.name)
    if isinstance(record, PlanData):
        return PlanDocument(key=plan_key(record), title=record.title)
    return Faq(source_id=record.source_id, question=record.question, answer=record.answer)


def fill_row(row: Row, record: Record) -> None:
    """Overwrite every field of ``row`` with the record's values (children replaced)."""
    if isinstance(record, PlanData):
        assert isinstance(row, PlanDocument)
        for name in ("number", "title", "issuer", "issued_on", "province", "year"):
            setattr(row, name, getattr(record, name))
        row.source_file, row.status = record.source_file, record.status
        row.body = cast(list[Any], _jsonable([dataclasses.asdict(s) for s in record.sections]))
        return
    simple = {
        f.name: getattr(record, f.name)
        for f in dataclasses.fields(record)
        if f.name not in {"channels", "documents", "legal_bases"}
    }
    for name, value in simple.items():
        setattr(row, name, list(value) if isinstance(value, list) else value)
    if isinstance(record, ProcedureData):
        assert isinstance(row, Procedure)
        _fill_children(row, record)


def _fill_children(row: Procedure, record: ProcedureData) -> None:
    row.channels = [
        ProcedureChannel(
            position=i,
            method=c.method,
            time_value=c.time_value,
            time_unit=c.time_unit,
            time_text=c.time_text,
            description=c.description,
            fees=[
                ChannelFee(
                    position=j,
                    kind=f.kind,
                    amount_vnd=f.amount_vnd,
                    description=f.description,
                    currency=f.currency,
                    foreign_amount=f.foreign_amount,
                    meaning=f.meaning,
                    set_by=f.set_by,
                    valid_from=f.valid_from,
                    valid_until=f.valid_until,
                    base_vnd=f.base_vnd,
                )
                for j, f in enumerate(c.fees)
            ],
        )
        for i, c in enumerate(record.channels)
    ]
    row.documents = [
        ProcedureDocument(
            position=i,
            name=d.name,
            originals=d.originals,
            copies=d.copies,
            required=d.required,
            has_form=d.has_form,
            form_name=d.form_name,
            case=d.case,
        )
        for i, d in enumerate(record.documents)
    ]
    row.legal_bases = [
        LegalBasis(position=i, number=b.number, title=b.title)
        for i, b in enumerate(record.legal_bases)
    ]
