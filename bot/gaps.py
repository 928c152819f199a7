"""Knowledge gaps: unanswered and 👎 questions grouped by similarity, and what staff do
with a group (an FAQ draft, or citizens' words for a procedure).

Similarity is the overlap of folded content syllables (``indexer.textnorm``): cheap,
explainable to staff, and good enough to put "làm lại sổ đỏ bị mất" next to "mất sổ đỏ
làm lại thế nào". Questions are stored masked, so groups hold no personal numbers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.engine.intents import STOP
from indexer.glossary import Glossary
from indexer.textnorm import fold, normalize
from knowledge.models import AnswerFeedback, UnansweredQuestion

#: Question words and fillers that never tell two questions apart.
_FILLERS = frozenset(STOP) | frozenset(
    [
        "thu",
        "tuc",
        "lam",
        "the",
        "nao",
        "bao",
        "nhieu",
        "o",
        "dau",
        "gi",
        "sao",
        "nhu",
        "can",
        "ho",
        "so",
        "giay",
        "to",
        "muon",
        "hoi",
        "cho",
        "toi",
        "xin",
        "da",
        "an",
        "so",
        "email",
    ]
)
#: At most this many examples are kept per group.
MAX_EXAMPLES = 5


@dataclass
class GapGroup:
    """Questions that look alike: ``wording`` is the most common one (masked).

    ``channels`` counts questions per channel; ``kinds`` per source (``no_answer``,
    ``handoff``, ``thumbs_down``); ``last_seen`` is aware UTC.
    """

    wording: str
    count: int
    channels: dict[str, int]
    kinds: dict[str, int]
    examples: list[str]
    last_seen: dt.datetime
    terms: frozenset[str] = field(repr=False, default=frozenset())


def _terms(question: str) -> frozenset[str]:
    return frozenset(w for w in fold(question).split() if w not in _FILLERS and len(w) > 1)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def knowledge_gaps(
    factory: sessionmaker[Session],
    *,
    since: dt.datetime | None = None,
    channel: str | None = None,
    similarity: float = 0.5,
    limit: int = 50,
) -> list[GapGroup]:
    """Unanswered (no-answer and handoff) and 👎 questions since ``since`` (on
    ``channel`` only, when given), grouped.

    Two questions share a group when the Jaccard overlap of their content syllables
    reaches ``similarity`` (0..1) with the group's first question. Largest groups
    first (then the most recent); at most ``limit`` groups.
    """
    rows: list[tuple[str, str, str, dt.datetime]] = []
    with factory() as session:
        unanswered = select(
            UnansweredQuestion.question,
            UnansweredQuestion.channel,
            UnansweredQuestion.status,
            UnansweredQuestion.created_at,
        )
        disliked = select(
            AnswerFeedback.question, AnswerFeedback.channel, AnswerFeedback.created_at
        ).where(AnswerFeedback.value == "down", AnswerFeedback.question != "")
        if since is not None:
            unanswered = unanswered.where(UnansweredQuestion.created_at >= since)
            disliked = disliked.where(AnswerFeedback.created_at >= since)
        if channel is not None:
            unanswered = unanswered.where(UnansweredQuestion.channel == channel)
            disliked = disliked.where(AnswerFeedback.channel == channel)
        rows += [(q, c, s, _aware(at)) for q, c, s, at in session.execute(unanswered)]
        rows += [(q, c, "thumbs_down", _aware(at)) for q, c, at in session.execute(disliked)]
    groups: list[GapGroup] = []
    wordings: list[Counter[str]] = []
    for question, channel, kind, at in sorted(rows, key=lambda r: r[3], reverse=True):
        terms = _terms(question)
        if not terms:
            continue
        home = next(
            (
                i
                for i, g in enumerate(groups)
                if len(terms & g.terms) / len(terms | g.terms) >= similarity
            ),
            None,
        )
        if home is None:
            groups.append(GapGroup(question, 0, {}, {}, [], at, terms))
            wordings.append(Counter())
            home = len(groups) - 1
        group = groups[home]
        group.count += 1
        group.channels[channel] = group.channels.get(channel, 0) + 1
        group.kinds[kind] = group.kinds.get(kind, 0) + 1
        group.last_seen = max(group.last_seen, at)
        wordings[home][question.strip()] += 1
        if question.strip() not in group.examples and len(group.examples) < MAX_EXAMPLES:
            group.examples.append(question.strip())
    for group, counted in zip(groups, wordings, strict=True):
        group.wording = counted.most_common(1)[0][0]
    groups.sort(key=lambda g: (g.count, g.last_seen), reverse=True)
    return groups[:limit]


def faq_draft(group: GapGroup, *, answer: str = "") -> dict[str, object]:
    """An FAQ entry to be written and reviewed (the fields of ``knowledge.records.FaqData``).

    The question is the group's most common wording; ``status`` is ``draft`` so nothing
    reaches citizens before a reviewer publishes it.
    """
    stamp = group.last_seen.strftime("%Y%m%d%H%M%S")
    digest = " ".join(sorted(group.terms))
    return {
        "source_id": f"gap-{stamp}-{hashlib.sha256(digest.encode()).hexdigest()[:8]}",
        "question": normalize(group.wording),
        "answer": answer,
        "topic": "",
        "title": "",
        "source_url": "",
        "status": "draft",
        "examples": list(group.examples),
    }


def add_citizen_words(glossary_path: Path, wording: str, procedure_name: str) -> str:
    """Append "citizens' words → the procedure's wording" to the staff glossary file
    (``TTHC_GLOSSARY_PATH``, same TSV format as ``indexer/data/glossary.tsv``).

    Returns the line written. Raises ``indexer.glossary.GlossaryError`` (the file is left
    as it was) when the wording has no syllable left or the line would not load, and
    ValueError when the line is there already. The next index build uses it.
    """
    term = " ".join(w for w in fold(wording).split() if w not in STOP)
    line = f"{term}\t{normalize(procedure_name).strip()}"
    before = glossary_path.read_text("utf-8") if glossary_path.exists() else ""
    if line in before.splitlines():
        raise ValueError(f"Từ của người dân “{term}” đã có cho thủ tục này.")
    glossary_path.parent.mkdir(parents=True, exist_ok=True)
    separator = "" if not before or before.endswith("\n") else "\n"
    glossary_path.write_text(f"{before}{separator}{line}\n", "utf-8")
    try:
        Glossary.load(glossary_path)
    except Exception:
        glossary_path.write_text(before, "utf-8")
        raise
    return line
