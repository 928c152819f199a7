"""The conversation record (every message, masked), feedback and unanswered questions."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.engine.masking import mask_personal_data
from bot.engine.model import Answer
from knowledge.db import transaction
from knowledge.models import AnswerExchange, AnswerFeedback, Procedure, UnansweredQuestion

logger = logging.getLogger(__name__)


class SqlQuestionLog:
    """Writes unanswered and hand-off questions to the knowledge database."""

    def __init__(self, *, factory: sessionmaker[Session]) -> None:
        self._factory = factory

    def unanswered(self, *, question: str, channel: str, status: str, best: str) -> None:
        """Store one question (masked again here: idempotent); a storage failure never
        breaks the reply."""
        try:
            with transaction(self._factory) as session:
                session.add(
                    UnansweredQuestion(
                        channel=channel,
                        status=status,
                        question=mask_personal_data(question)[:2000],
                        best_candidate=best,
                    )
                )
        except Exception:  # the citizen still gets an answer; the log gets the traceback
            logger.exception("could not record an unanswered question")


class SqlFeedbackSink:
    """Writes 👍/👎 feedback to the knowledge database."""

    def __init__(
        self, *, factory: sessionmaker[Session], exchanges: SqlExchangeLog | None = None
    ) -> None:
        self._factory = factory
        self._exchanges = exchanges

    def rate(self, *, channel: str, answer_id: str, value: str) -> None:
        """A chat button's 👍/👎 (it carries only the answer id): stored with the
        question, status, answer and citations the exchange log kept for that id."""
        about = self._exchanges.find(channel, answer_id) if self._exchanges else None
        self.record(
            channel=channel,
            answer_id=answer_id,
            value=value,
            cited=about.cited if about else "",
            question=about.question if about else "",
            status=about.status if about else "",
            answer=about.answer if about else "",
        )

    def record(
        self,
        *,
        channel: str,
        answer_id: str,
        value: str,
        cited: str,
        question: str = "",
        status: str = "",
        answer: str = "",
    ) -> None:
        """Store one feedback row with what it rates: the question (masked), the
        answer's status and text, and the records it cited (comma-separated keys)."""
        with transaction(self._factory) as session:
            session.add(
                AnswerFeedback(
                    channel=channel,
                    answer_id=answer_id[:64],
                    value=value,
                    cited=cited[:255],
                    question=mask_personal_data(question)[:2000],
                    status=status[:16],
                    answer=answer[:4000],
                )
            )


@dataclass(frozen=True)
class Exchange:
    """One citizen message and what the assistant did with it, as
    :class:`SqlExchangeLog` keeps it (the conversation record).

    ``status``: the engine's (answered, clarify, no_answer, out_of_scope, smalltalk,
    handoff, too_long) or the channel's for messages the engine never saw
    (rate_limited, feedback, command, follow, unsupported, officer_thread, error).
    ``cited``: comma-separated record keys; ``procedures``: codes of the cited
    procedures; ``promoted``: "" | "toan_trinh" | "mot_phan"; ``latency_ms``: ms.
    """

    question: str
    answer: str
    status: str
    cited: str
    intent: str = ""
    procedures: tuple[str, ...] = ()
    promoted: str = ""
    latency_ms: int = 0
    handoff: bool = False


#: Words of :data:`bot.engine.texts.LEVEL_WORDS` back to the stored online levels.
_LEVELS = {"toàn trình": "toan_trinh", "một phần": "mot_phan"}


def exchange_of(answer: Answer, *, latency_ms: float, handoff: bool = False) -> Exchange:
    """The record of one engine answer: intent, cited procedures, promoted service."""
    procedures = tuple(c.id for c in answer.citations if c.kind == "procedure")
    kinds = [c.kind for c in answer.citations]
    intent = answer.aspect or (kinds[0] if kinds else "") or (
        answer.status if answer.status in ("smalltalk", "handoff") else ""
    )
    service = answer.online_service or {}
    return Exchange(
        question=answer.question,
        answer=answer.text,
        status=answer.status,
        cited=",".join(c.id for c in answer.citations),
        intent=intent,
        procedures=procedures,
        promoted=_LEVELS.get(service.get("level", ""), "") if service else "",
        latency_ms=max(0, round(latency_ms)),
        handoff=handoff or bool(answer.handoff),
    )


class SqlExchangeLog:
    """The conversation record: every citizen message (masked) with its status, intent,
    cited procedures and their fields, promotion, latency and handoff. 👍/👎 (which
    carries only the answer id) finds here what it rates, an officer sees what came
    before, and the reports (``bot.reports``) count it.

    ``keep_days``: after that the question and answer texts are blanked now and then
    (the row and its figures stay: quarterly and yearly reports count them).
    """

    def __init__(self, *, factory: sessionmaker[Session], keep_days: int = 30) -> None:
        self._factory = factory
        self._keep = dt.timedelta(days=keep_days)
        self._writes = 0

    def record(
        self, *, channel: str, account_id: str, user_id: str, answer_id: str, exchange: Exchange
    ) -> None:
        """Store one exchange; a storage failure never breaks the reply."""
        try:
            with transaction(self._factory) as session:
                codes = [c[:32] for c in exchange.procedures][:10]
                session.add(
                    AnswerExchange(
                        channel=channel,
                        account_id=account_id[:255],
                        user_id=user_id[:128],
                        answer_id=answer_id[:64],
                        question=mask_personal_data(exchange.question)[:2000],
                        answer=exchange.answer[:4000],
                        status=exchange.status[:16],
                        cited=exchange.cited[:255],
                        intent=exchange.intent[:32],
                        procedures=codes,
                        fields=_fields_of(session, codes),
                        promoted=exchange.promoted[:16],
                        latency_ms=exchange.latency_ms,
                        handoff=exchange.handoff,
                    )
                )
                self._writes += 1
                if self._writes % 1000 == 0:  # forget old texts now and then
                    cutoff = dt.datetime.now(dt.UTC) - self._keep
                    session.execute(
                        update(AnswerExchange)
                        .where(AnswerExchange.at < cutoff, AnswerExchange.question != "")
                        .values(question="", answer="")
                    )
        except Exception:  # the citizen still gets the answer; the log gets the traceback
            logger.exception("could not record an exchange")

    def find(self, channel: str, answer_id: str) -> Exchange | None:
        """The exchange an answer id names on a channel (the latest), or None."""
        with self._factory() as session:
            row = session.execute(
                select(AnswerExchange)
                .where(AnswerExchange.channel == channel, AnswerExchange.answer_id == answer_id)
                .order_by(AnswerExchange.id.desc())
                .limit(1)
            ).scalar()
            if row is None:
                return None
            return Exchange(row.question, row.answer, row.status, row.cited)


def _fields_of(session: Session, codes: list[str]) -> list[str]:
    """The fields (lĩnh vực) of the procedures ``codes``, in order, without repeats."""
    if not codes:
        return []
    rows = session.execute(
        select(Procedure.code, Procedure.fields).where(Procedure.code.in_(codes))
    )
    by_code = {code: fields or [] for code, fields in rows}
    seen: list[str] = []
    for code in codes:
        for name in by_code.get(code, []):
            if isinstance(name, str) and name and name not in seen:
                seen.append(name[:200])
    return seen[:10]
