"""Recording what the assistant could not answer (masked), for staff to act on."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from bot.engine.masking import mask_personal_data
from knowledge.db import transaction
from knowledge.models import AnswerExchange, AnswerFeedback, UnansweredQuestion

logger = logging.getLogger(__name__)


class SqlQuestionLog:
    """Writes unanswered and hand-off questions to the knowledge database."""

    def __init__(self, *, factory: sessionmaker[Session]) -> None:
        self._factory = factory

    def unanswered(self, *, question: str, channel: str, status: str, best: str) -> None:
        """Store one masked question; a storage failure never breaks the reply."""
        try:
            with transaction(self._factory) as session:
                session.add(
                    UnansweredQuestion(
                        channel=channel,
                        status=status,
                        question=question[:2000],
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
    """One answered question as :class:`SqlExchangeLog` keeps it."""

    question: str
    answer: str
    status: str
    cited: str


class SqlExchangeLog:
    """The questions chat channels answered (masked), so that 👍/👎, which carries only
    the answer id, is stored with what it rates, and an officer sees what came before."""

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
                    )
                )
                self._writes += 1
                if self._writes % 1000 == 0:  # forget old exchanges now and then
                    cutoff = dt.datetime.now(dt.UTC) - self._keep
                    session.execute(delete(AnswerExchange).where(AnswerExchange.at < cutoff))
        except Exception:  # the citizen still gets the answer; the log gets the traceback
            logger.exception("could not record an answered question")

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
