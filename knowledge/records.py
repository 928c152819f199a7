"""Plain, typed records exchanged between importers, the repository and exporters.

Importers turn source files into these dataclasses; the repository upserts them into
the database; exporters turn database rows back into them. They carry no SQLAlchemy
state, so parsers can be tested without a database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

#: Submission method of a channel (cách thức thực hiện).
ChannelMethod = Literal["truc_tiep", "truc_tuyen", "buu_chinh"]
#: Unit of a processing time (thời hạn giải quyết).
TimeUnit = Literal["working_day", "day", "hour", "month", "year", "other"]
#: Online public-service level (dịch vụ công trực tuyến).
OnlineLevel = Literal["none", "mot_phan", "toan_trinh"]
#: Whether a procedure record carries full detail or only the catalogue summary.
DetailLevel = Literal["full", "summary"]
#: Publication status of any knowledge record.
Status = Literal["draft", "published", "retired"]
#: What a fee's number means (see :mod:`knowledge.fee_notes`): ``amount`` a stated amount,
#: ``free`` free by law ("Miễn phí", or 0 with nothing else said), ``set_elsewhere`` 0 or no
#: number while the note names who sets it or lists amounts, ``reduced`` a temporary share of
#: the channel's fee stated in its note, ``unknown`` no number and no word about it.
FeeMeaning = Literal["amount", "free", "set_elsewhere", "reduced", "unknown"]
#: Scope of a hotline (đường dây nóng).
HotlineScope = Literal["national", "province", "commune", "agency", "field"]


@dataclass(frozen=True)
class FeeData:
    """One fee or charge (phí, lệ phí) of a channel.

    ``amount_vnd`` is the amount in đồng, ``None`` when the source gives no VND number
    ("theo quy định", or a fee in another currency). A fee in another currency has
    ``currency`` (ISO 4217, e.g. "USD") and ``foreign_amount`` in that currency.
    ``meaning`` says what the number stands for (a 0 is "free" only when the record says
    so); ``set_by`` names who sets a ``set_elsewhere`` amount as the note writes it.
    ``valid_from``/``valid_until`` are the dates the note gives for this rate (inclusive);
    a ``reduced`` rate keeps the full amount it is a share of in ``base_vnd``.
    """

    kind: str
    amount_vnd: int | None
    description: str = ""
    currency: str = "VND"
    foreign_amount: float | None = None
    meaning: FeeMeaning = "amount"
    set_by: str = ""
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    base_vnd: int | None = None


@dataclass(frozen=True)
class ChannelData:
    """One submission channel (hình thức nộp) with its processing time and fees.

    ``time_value``/``time_unit`` hold the parsed processing time when it is a number;
    ``time_text`` keeps the source wording (always when the time is not a number).
    """

    method: ChannelMethod
    time_value: float | None = None
    time_unit: TimeUnit | None = None
    time_text: str = ""
    fees: tuple[FeeData, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class DocumentData:
    """One required document of the dossier (thành phần hồ sơ).

    ``case`` names the situation the document belongs to when the source groups
    documents by case (trường hợp); ``form_name`` is the attached template file name.
    """

    name: str
    originals: int | None = None
    copies: int | None = None
    required: bool | None = None
    has_form: bool = False
    form_name: str = ""
    case: str = ""


@dataclass(frozen=True)
class LegalBasisData:
    """One legal document the procedure rests on (căn cứ pháp lý)."""

    number: str
    title: str = ""


@dataclass
class ProcedureData:
    """An administrative procedure (thủ tục hành chính) as importers produce it."""

    code: str
    name: str
    detail: DetailLevel = "full"
    fields: list[str] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    procedure_type: str = ""
    decision_number: str = ""
    issuing_body: str = ""
    implementing_agencies: str = ""
    competent_agencies: str = ""
    target_groups: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    conditions: str = ""
    results: list[str] = field(default_factory=list)
    receiving_address: str = ""
    channels: list[ChannelData] = field(default_factory=list)
    documents: list[DocumentData] = field(default_factory=list)
    legal_bases: list[LegalBasisData] = field(default_factory=list)
    online_level: OnlineLevel = "none"
    online_url: str = ""
    portal_url: str = ""
    dataset: str = ""
    source_id: str = ""
    crawled_at: dt.date | None = None
    status: Status = "published"


@dataclass
class HotlineData:
    """A hotline (đường dây nóng) with a real, cited source."""

    scope: HotlineScope
    name: str
    phones: list[str]
    area: str = ""
    email: str = ""
    hours: str = ""
    source: str = ""
    verified_at: dt.date | None = None
    status: Status = "published"


@dataclass
class PlanSection:
    """One node of a plan's body tree.

    ``marker`` is the numbering as written (``I.``, ``1.``, ``a)``, ``-``, ``+``, or ``""``
    for a paragraph); ``heading`` is the first line, ``text`` the rest of the section's
    own prose; ``rows`` holds a table's rows (cells as strings) when the node is a table.
    """

    marker: str
    heading: str
    text: str = ""
    rows: list[list[str]] = field(default_factory=list)
    children: list[PlanSection] = field(default_factory=list)


@dataclass
class PlanData:
    """A plan document (kế hoạch), e.g. a CCHC communication plan."""

    number: str
    title: str
    issuer: str = ""
    issued_on: dt.date | None = None
    province: str = ""
    year: int | None = None
    sections: list[PlanSection] = field(default_factory=list)
    source_file: str = ""
    status: Status = "published"


@dataclass
class FaqData:
    """A question-and-answer entry (hỏi đáp) from an official FAQ."""

    source_id: str
    question: str
    answer: str
    topic: str = ""
    title: str = ""
    source_url: str = ""
    question_truncated: bool = False
    answer_truncated: bool = False
    status: Status = "published"
