"""Importer for official FAQ pairs (``moh_dvc_faq/faq_pairs.jsonl``)."""

from __future__ import annotations

from typing import Any

from knowledge.importers.text import clean
from knowledge.records import FaqData

REQUIRED_FIELDS = ("id", "question", "answer")


def is_faq(row: dict[str, Any]) -> bool:
    """A FAQ pair has an id, a question and an answer."""
    return all(k in row for k in REQUIRED_FIELDS) and "kind" not in row


def faq_from_row(row: dict[str, Any]) -> FaqData:
    """Map one FAQ object; the ``moh-faq-0017`` style id is kept as the source id."""
    for name in REQUIRED_FIELDS:
        if not clean(row.get(name)):
            raise ValueError(f"thiếu giá trị bắt buộc ({name})")
    return FaqData(
        source_id=clean(row["id"]),
        question=clean(row["question"]),
        answer=clean(row["answer"]),
        topic=clean(row.get("topic")),
        title=clean(row.get("title")),
        source_url=clean(row.get("source_url")),
        question_truncated=bool(row.get("question_truncated")),
        answer_truncated=bool(row.get("answer_may_be_truncated") or row.get("answer_truncated")),
    )
