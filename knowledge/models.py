"""SQLAlchemy 2 typed models: the source of truth of the assistant.

Every model's docstring gives the Vietnamese term staff use. Lists of short strings
(fields, levels, steps, ...) are JSON columns; the parts a citizen asks about one by
one (channels with fees, documents, legal bases) are rows, ordered by ``position``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base with a stable constraint naming scheme (needed by Alembic)."""

    metadata = MetaData(naming_convention=NAMING)


class Procedure(Base):
    """Thủ tục hành chính: one administrative procedure, keyed by its national code."""

    __tablename__ = "procedures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    name: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(String(16), default="full")
    fields: Mapped[list[Any]] = mapped_column(JSON, default=list)
    levels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    procedure_type: Mapped[str] = mapped_column(Text, default="")
    decision_number: Mapped[str] = mapped_column(Text, default="")
    issuing_body: Mapped[str] = mapped_column(Text, default="")
    implementing_agencies: Mapped[str] = mapped_column(Text, default="")
    competent_agencies: Mapped[str] = mapped_column(Text, default="")
    target_groups: Mapped[list[Any]] = mapped_column(JSON, default=list)
    steps: Mapped[list[Any]] = mapped_column(JSON, default=list)
    conditions: Mapped[str] = mapped_column(Text, default="")
    results: Mapped[list[Any]] = mapped_column(JSON, default=list)
    receiving_address: Mapped[str] = mapped_column(Text, default="")
    online_level: Mapped[str] = mapped_column(String(16), default="none", index=True)
    online_url: Mapped[str] = mapped_column(Text, default="")
    portal_url: Mapped[str] = mapped_column(Text, default="")
    dataset: Mapped[str] = mapped_column(String(64), default="", index=True)
    source_id: Mapped[str] = mapped_column(String(128), default="")
    crawled_at: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="published", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_utcnow, onupdate=_utcnow
    )

    channels: Mapped[list[ProcedureChannel]] = relationship(
        back_populates="procedure",
        cascade="all, delete-orphan",
        order_by="ProcedureChannel.position",
    )
    documents: Mapped[list[ProcedureDocument]] = relationship(
        cascade="all, delete-orphan", order_by="ProcedureDocument.position"
    )
    legal_bases: Mapped[list[LegalBasis]] = relationship(
        cascade="all, delete-orphan", order_by="LegalBasis.position"
    )


class ProcedureChannel(Base):
    """Cách thức thực hiện: one submission channel with processing time and fees."""

    __tablename__ = "procedure_channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    procedure_id: Mapped[int] = mapped_column(
        ForeignKey("procedures.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(16))
    time_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    time_unit: Mapped[str | None] = mapped_column(String(16), nullable=True)
    time_text: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")

    procedure: Mapped[Procedure] = relationship(back_populates="channels")
    fees: Mapped[list[ChannelFee]] = relationship(
        cascade="all, delete-orphan", order_by="ChannelFee.position"
    )


class ChannelFee(Base):
    """Phí, lệ phí: one fee of a channel; ``amount_vnd`` NULL when no VND number is given.

    ``currency``/``foreign_amount`` hold a fee in another currency ("5 USD"); ``meaning``
    tells free-by-law from "set elsewhere" (see :class:`knowledge.records.FeeData`).
    """

    __tablename__ = "channel_fees"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("procedure_channels.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(Text, default="")
    amount_vnd: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    description: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(8), default="VND", server_default="VND")
    foreign_amount: Mapped[float | None] = mapped_column(Float, nullable=True)
    meaning: Mapped[str] = mapped_column(String(16), default="amount", server_default="amount")
    set_by: Mapped[str] = mapped_column(Text, default="", server_default="")
    valid_from: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    valid_until: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    base_vnd: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class ProcedureDocument(Base):
    """Thành phần hồ sơ: one document of the dossier with original and copy counts."""

    __tablename__ = "procedure_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    procedure_id: Mapped[int] = mapped_column(
        ForeignKey("procedures.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    originals: Mapped[int | None] = mapped_column(Integer, nullable=True)
    copies: Mapped[int | None] = mapped_column(Integer, nullable=True)
    required: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    has_form: Mapped[bool] = mapped_column(Boolean, default=False)
    form_name: Mapped[str] = mapped_column(Text, default="")
    case: Mapped[str] = mapped_column("case_name", Text, default="")


class LegalBasis(Base):
    """Căn cứ pháp lý: a legal document (number and title) a procedure rests on."""

    __tablename__ = "legal_bases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    procedure_id: Mapped[int] = mapped_column(
        ForeignKey("procedures.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")


class Hotline(Base):
    """Đường dây nóng: a hotline with its scope, area and the source it was taken from."""

    __tablename__ = "hotlines"
    __table_args__ = (UniqueConstraint("scope", "area", "name", name="uq_hotlines_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))
    area: Mapped[str] = mapped_column(String(255), default="")
    name: Mapped[str] = mapped_column(String(255))
    phones: Mapped[list[Any]] = mapped_column(JSON, default=list)
    email: Mapped[str] = mapped_column(Text, default="")
    hours: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")
    verified_at: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="published", index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_utcnow, onupdate=_utcnow
    )


class PlanDocument(Base):
    """Kế hoạch: a plan document whose body is kept as a tree of numbered sections."""

    __tablename__ = "plan_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True, index=True)
    number: Mapped[str] = mapped_column(String(128), default="")
    title: Mapped[str] = mapped_column(Text)
    issuer: Mapped[str] = mapped_column(Text, default="")
    issued_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    province: Mapped[str] = mapped_column(String(128), default="")
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    body: Mapped[list[Any]] = mapped_column(JSON, default=list)
    source_file: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="published", index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_utcnow, onupdate=_utcnow
    )


class Faq(Base):
    """Hỏi đáp: an official question-and-answer entry, keyed by its source id."""

    __tablename__ = "faqs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    topic: Mapped[str] = mapped_column(Text, default="")
    title: Mapped[str] = mapped_column(Text, default="")
    source_url: Mapped[str] = mapped_column(Text, default="")
    question_truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    answer_truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="published", index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_utcnow, onupdate=_utcnow
    )


class Revision(Base):
    """Lịch sử chỉnh sửa: who changed which record when, field by field.

    ``diff`` maps each changed field to ``[old, new]``; ``snapshot`` is the whole
    record after the write, so any revision can be restored (rollback).
    """

    __tablename__ = "revisions"
    __table_args__ = (Index("ix_revisions_record", "record_kind", "record_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_kind: Mapped[str] = mapped_column(String(16))
    record_key: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(16))
    author: Mapped[str] = mapped_column(String(128))
    comment: Mapped[str] = mapped_column(Text, default="")
    diff: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_utcnow, server_default=func.now()
    )


class UnansweredQuestion(Base):
    """Câu hỏi chưa trả lời được: a citizen's question the assistant could not answer.

    Stored already masked (no CCCD or phone numbers) so staff can add what is missing.
    """

    __tablename__ = "unanswered_questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    channel: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    question: Mapped[str] = mapped_column(Text)
    best_candidate: Mapped[str] = mapped_column(String(255), default="")


class AnswerFeedback(Base):
    """Phản hồi: a citizen's 👍/👎 on one answer, with what the answer cited."""

    __tablename__ = "answer_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    channel: Mapped[str] = mapped_column(String(32))
    answer_id: Mapped[str] = mapped_column(String(64), index=True)
    value: Mapped[str] = mapped_column(String(8))
    cited: Mapped[str] = mapped_column(String(255), default="")
    #: The question the answer was for (masked), the answer's status and its text.
    question: Mapped[str] = mapped_column(Text, default="", server_default="")
    status: Mapped[str] = mapped_column(String(16), default="", server_default="")
    answer: Mapped[str] = mapped_column(Text, default="", server_default="")


class AnswerExchange(Base):
    """Lượt hỏi đáp: one citizen message on a channel or the web chat and what the
    assistant did with it (masked), the conversation record the reports count.

    Feedback (👍/👎 carries only the answer id) finds here which question, status and
    cited records it is about; an officer taking over a conversation sees the last few.
    """

    __tablename__ = "answer_exchanges"
    __table_args__ = (
        Index("ix_answer_exchanges_answer", "channel", "answer_id"),
        Index("ix_answer_exchanges_user", "channel", "user_id", "at"),
        Index("ix_answer_exchanges_at", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[str] = mapped_column(String(255), default="")
    user_id: Mapped[str] = mapped_column(String(128))
    answer_id: Mapped[str] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    cited: Mapped[str] = mapped_column(String(255), default="")
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    #: What was asked about: the aspect (documents, fee, ...), else the kind of the cited
    #: record (procedure, faq, plan, hotline), else the kind of message (command, feedback,
    #: follow, sticker). "" when nothing tells.
    intent: Mapped[str] = mapped_column(String(32), default="", server_default="")
    #: Codes of the procedures cited (list of str) and their fields (lĩnh vực, list of str)
    #: as they were when the answer was given.
    procedures: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")
    fields: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")
    #: The online service the answer promoted: "" | "toan_trinh" | "mot_phan".
    promoted: Mapped[str] = mapped_column(String(16), default="", server_default="")
    #: Milliseconds from the message to the answer (engine time, queueing included).
    latency_ms: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Whether this message started (or went to) a handoff to an officer.
    handoff: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class PromoLink(Base):
    """Liên kết dịch vụ công có đếm lượt: the opaque token of ``/r/<token>`` for one
    procedure's online-service URL on one channel (no personal data: one token is
    shared by every citizen of that channel)."""

    __tablename__ = "promo_links"
    __table_args__ = (UniqueConstraint("procedure_code", "channel", "target_url"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    procedure_code: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    #: Hash-free on purpose: staff see where the link leads. Portal URLs stay short.
    target_url: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)


class PromoClick(Base):
    """Lượt bấm: one citizen's click on a :class:`PromoLink` (when, nothing about who)."""

    __tablename__ = "promo_clicks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    link_id: Mapped[int] = mapped_column(
        ForeignKey("promo_links.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow, index=True)


class Handoff(Base):
    """Chuyển cho cán bộ: a citizen's conversation held by (or waiting for) an officer.

    ``state`` waiting → officer → closed (the bot answers again). ``open_key``
    (``channel|account|user``) is set while the handoff is open and NULL once closed:
    its unique constraint allows one open handoff per conversation on every database.
    ``reason``: asked | failed_twice | human_echo; ``close_reason``: released |
    timeout | citizen.
    """

    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[str] = mapped_column(String(255), default="")
    user_id: Mapped[str] = mapped_column(String(128))
    reply_target: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(String(16))
    officer: Mapped[str] = mapped_column(String(64), default="")
    open_key: Mapped[str | None] = mapped_column(String(255), nullable=True, unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_activity_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_utcnow
    )
    #: The citizen's last message: the platforms' reply windows count from it.
    last_citizen_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_utcnow
    )
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    close_reason: Mapped[str] = mapped_column(String(16), default="")


class HandoffMessage(Base):
    """Tin nhắn trong cuộc chuyển cán bộ: one message of a handoff's thread (masked).

    ``direction`` citizen | officer | bot; ``author`` is the officer's username (or
    ``page-inbox`` / ``oa-console`` for a reply typed on the platform itself).
    """

    __tablename__ = "handoff_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handoff_id: Mapped[int] = mapped_column(
        ForeignKey("handoffs.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)


class InboxEvent(Base):
    """Tin nhắn đến: one verified platform event, stored before the webhook answers 200.

    The unique ``key`` (channel:account:platform event id) is the claim: a redelivery
    finds the row and is not answered again. The row then carries the reply through
    its life: ``status`` received → replying (``reply`` holds the rendered parts) →
    answered | failed; ``parts_sent`` counts the parts the platform accepted and
    ``in_flight`` marks the part being sent, so a crash resumes at the first unsent
    part and never re-sends one whose outcome is unknown. ``event`` is the normalised
    event as JSON with personal numbers masked.
    """

    __tablename__ = "inbox_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    chat_key: Mapped[str] = mapped_column(String(255), index=True)
    event: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    reply: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    parts_sent: Mapped[int] = mapped_column(Integer, default=0)
    in_flight: Mapped[int | None] = mapped_column(Integer, nullable=True)
    uncertain_parts: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_utcnow, onupdate=_utcnow
    )
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ConversationRecord(Base):
    """Hội thoại: one citizen's conversation state (topic, open choice lists) as JSON,
    shared by every bot process; forgotten after the conversation TTL."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "user_id", name="uq_conversations_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(128))
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_utcnow, index=True
    )


class ChannelToken(Base):
    """Mã truy cập kênh: a platform's current access and (single-use) refresh token."""

    __tablename__ = "channel_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), unique=True)
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_utcnow, onupdate=_utcnow
    )


class Subscription(Base):
    """Đăng ký nhận tin: a chat user who asked (/subscribe) to be told about updates."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("channel", "user_id", name="uq_subscriptions_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    #: How the citizen opted in: "command" (/subscribe), "follow" (Zalo OA follow event)
    #: or "button" (the "Nhận thông báo" button).
    source: Mapped[str] = mapped_column(String(16), default="command", server_default="command")


class Announcement(Base):
    """Thông báo tuyên truyền: a message staff send to the subscribers of some channels.

    ``state``: draft → scheduled → sending → done, or cancelled (from draft/scheduled).
    ``scheduled_at`` (UTC) is when it goes out; ``channels`` a list of channel names.
    """

    __tablename__ = "announcements"
    __table_args__ = (Index("ix_announcements_due", "state", "scheduled_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    channels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    audience: Mapped[str] = mapped_column(String(32), default="subscribers")
    scheduled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(16), default="draft")
    author: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AnnouncementDelivery(Base):
    """Lượt gửi thông báo: one (announcement, channel, recipient) and what became of it.

    ``state``: pending → sending → sent, or skipped_window / unsubscribed / failed. A
    row a crash left in "sending" counts as sent and is never sent again.
    """

    __tablename__ = "announcement_deliveries"
    __table_args__ = (
        UniqueConstraint(
            "announcement_id", "channel", "user_id", name="uq_announcement_deliveries_recipient"
        ),
        Index("ix_announcement_deliveries_state", "announcement_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcements.id", ondelete="CASCADE")
    )
    channel: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    #: Why it failed or was counted as sent without an answer (no personal data).
    detail: Mapped[str] = mapped_column(String(255), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)


class StaffUser(Base):
    """Tài khoản cán bộ: a staff account of the web admin.

    ``role`` is one of ``editor`` (biên tập viên), ``reviewer`` (người duyệt), ``officer``
    (cán bộ trả lời) and ``admin`` (quản trị); ``password_hash`` is an argon2id hash.
    ``session_epoch`` grows on logout, a password change or a disable: every signed
    session cookie carries the epoch it was issued at, so an older cookie stops working.
    """

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )


class AuditEntry(Base):
    """Nhật ký thao tác: one staff action (who, what, on which record, from where, when).

    ``actor`` is the username ("" for a failed login of an unknown name, ``cli`` for
    the operator's console); ``detail`` is JSON with no password and no citizen data.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target_kind", "target_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(32))
    target_kind: Mapped[str] = mapped_column(String(16), default="")
    target_key: Mapped[str] = mapped_column(String(255), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    client: Mapped[str] = mapped_column(String(64), default="")


class ChangeRequest(Base):
    """Đề xuất thay đổi: a staff edit of one record on its way draft → review → publish.

    ``data`` is the proposed record in the canonical JSON form of
    :func:`knowledge.codec.to_json`; ``base_revision`` is the newest revision id of the
    record when the draft was started (``None`` for a new record): publishing is
    refused when the record has changed since. ``status`` is ``draft``, ``submitted``,
    ``approved``, ``rejected``, ``published`` or ``withdrawn``; ``version`` grows with
    every save so a stale form cannot overwrite a newer one. ``effective_on`` (ngày
    hiệu lực) holds an approved change back until that day.
    """

    __tablename__ = "change_requests"
    __table_args__ = (Index("ix_change_requests_record", "record_kind", "record_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_kind: Mapped[str] = mapped_column(String(16))
    record_key: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(16), default="edit")
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    base_revision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    author: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    reviewer: Mapped[str] = mapped_column(String(64), default="")
    review_comment: Mapped[str] = mapped_column(Text, default="")
    effective_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    published_revision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_utcnow, onupdate=_utcnow
    )
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
