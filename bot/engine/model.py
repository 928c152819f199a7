"""Engine data types. No channel, database or model type ever appears here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, get_args

Status = Literal[
    "answered", "clarify", "no_answer", "out_of_scope", "smalltalk", "handoff", "too_long"
]
#: Every status a reply to a question can carry, in this order: the engine's own
#: (:data:`Status`) and ``"error"``, which the serving layer records when the engine
#: failed. The reports, the OpenAPI document and the tests take the list from here.
ANSWER_STATUSES: tuple[str, ...] = (*get_args(Status), "error")
Aspect = Literal[
    "documents", "fee", "time", "where", "steps", "legal_basis", "conditions", "result", "online"
]


@dataclass(frozen=True)
class Question:
    """A citizen's message as the engine sees it (already masked of personal numbers)."""

    text: str
    channel: str = "console"
    user_id: str = "local"
    area: str = ""
    #: A pressed choice button: ``(list_id, number)``. The list id ties the button to
    #: the list it was shown with, so an old button never answers a newer list.
    choice: tuple[str, int] | None = None


@dataclass(frozen=True)
class Candidate:
    """A record the engine considered, best first."""

    kind: str
    id: str
    title: str
    score: float


@dataclass(frozen=True)
class Citation:
    """A record the answer text relies on."""

    kind: str
    id: str
    title: str
    url: str | None


@dataclass(frozen=True)
class Choice:
    """A numbered option of a clarification question."""

    number: int
    label: str
    kind: str
    id: str
    #: The list this option belongs to (buttons carry it back: ``choice:<list>:<n>``).
    list_id: str = ""


@dataclass
class Answer:
    """What the engine says; adapters render ``text`` and the optional buttons."""

    question: str
    status: Status
    text: str
    candidates: list[Candidate] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    online_service: dict[str, str] | None = None
    choices: list[Choice] = field(default_factory=list)
    aspect: str | None = None
    latency_ms: float = 0.0
    #: "" or why a person should take over: "asked" (the citizen asked for one) or
    #: "failed_twice" (two no-answers in a row). Channels with a live handoff start it.
    handoff: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The machine-readable contract of ``tthc ask --json``."""
        return {
            "question": self.question,
            "status": self.status,
            "text": self.text,
            "candidates": [c.__dict__ for c in self.candidates],
            "citations": [c.__dict__ for c in self.citations],
            "online_service": self.online_service,
            "choices": [c.__dict__ for c in self.choices],
            "aspect": self.aspect,
            "latency_ms": round(self.latency_ms, 2),
        }


class Hit(Protocol):
    """What the engine needs of a search result (the indexer's SearchHit fits)."""

    @property
    def kind(self) -> str: ...

    @property
    def id(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def score(self) -> float: ...

    @property
    def field(self) -> str: ...

    @property
    def raw(self) -> dict[str, float]: ...


class KnowledgeSearch(Protocol):
    """Search over the current index generation and read its records."""

    def search(self, query: str, *, k: int = 10, kinds: Any = None) -> list[Any]: ...

    def record(self, kind: str, record_id: str) -> dict[str, Any] | None: ...


class HotlineDirectory(Protocol):
    """The published hotlines staff entered, read fresh enough that an edit shows
    without a restart (the database with a short cache; ``bot.hotlines``).

    Each record is a dict: ``scope`` (national|province|commune|agency|field), ``area``,
    ``name``, ``phones`` (list of str), ``email``, ``hours``, ``source``,
    ``verified_at`` (ISO date str or "").
    """

    def published(self) -> list[dict[str, Any]]: ...


class Answerer(Protocol):
    """Anything that answers questions (the engine; fakes in channel tests)."""

    def answer(self, question: Question) -> Answer: ...


class QuestionLog(Protocol):
    """Where unanswered questions are recorded (masked) for staff to review."""

    def unanswered(self, *, question: str, channel: str, status: str, best: str) -> None: ...
