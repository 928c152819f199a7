"""Recording what the assistant could not answer (masked), for staff to act on."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from knowledge.db import transaction
from knowledge.models import AnswerFeedback, UnansweredQuestion

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

    def __init__(self, *, factory: sessionmaker[Session]) -> None:
        self._factory = factory

    def record(self, *, channel: str, answer_id: str, value: str, cited: str) -> None:
        """Store one feedback row."""
        with transaction(self._factory) as session:
            session.add(
                AnswerFeedback(channel=channel, answer_id=answer_id, value=value, cited=cited)
            )
