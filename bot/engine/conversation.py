"""Conversation state per (channel, user): what is being discussed, pending choices."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from bot.engine.model import Aspect, Choice

#: A conversation is forgotten after this many seconds of silence.
DEFAULT_TTL = 30 * 60


@dataclass
class ConversationState:
    """The procedure under discussion and an open clarification, if any."""

    topic_kind: str = ""
    topic_id: str = ""
    topic_title: str = ""
    pending_choices: list[Choice] = field(default_factory=list)
    pending_aspect: Aspect | None = None
    #: The last few numbered lists shown, by list id (oldest first), so a button of
    #: an earlier list still answers from its own list.
    choice_lists: dict[str, list[Choice]] = field(default_factory=dict)
    #: No-answers in a row (two hand the conversation to an officer where one can take it).
    misses: int = 0
    updated_at: float = 0.0

    def offer(self, choices: list[Choice], aspect: Aspect | None, *, keep: int = 5) -> None:
        """Make ``choices`` the open list (and remember it for its buttons)."""
        self.pending_choices, self.pending_aspect = choices, aspect
        if choices:
            self.choice_lists[choices[0].list_id] = choices
            while len(self.choice_lists) > keep:
                self.choice_lists.pop(next(iter(self.choice_lists)))


class ConversationStore(Protocol):
    """Keeps state between messages (in memory, or shared by several processes)."""

    def load(self, channel: str, user_id: str) -> ConversationState: ...

    def save(self, channel: str, user_id: str, state: ConversationState) -> None: ...


class InMemoryConversationStore:
    """One process's conversations, expiring after ``ttl`` seconds."""

    def __init__(self, *, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.time) -> None:
        self._ttl = ttl
        self._clock = clock
        self._states: dict[tuple[str, str], ConversationState] = {}
        self._lock = threading.Lock()

    def load(self, channel: str, user_id: str) -> ConversationState:
        with self._lock:
            state = self._states.get((channel, user_id))
            if state is None or self._clock() - state.updated_at > self._ttl:
                return ConversationState()
            return state

    def save(self, channel: str, user_id: str, state: ConversationState) -> None:
        state.updated_at = self._clock()
        with self._lock:
            self._states[(channel, user_id)] = state
            if len(self._states) > 10_000:  # drop expired conversations now and then
                now = self._clock()
                self._states = {
                    k: v for k, v in self._states.items() if now - v.updated_at <= self._ttl
                }


def state_to_dict(state: ConversationState) -> dict[str, Any]:
    """The state as plain JSON data (for a store shared by several processes)."""
    return {
        "topic_kind": state.topic_kind,
        "topic_id": state.topic_id,
        "topic_title": state.topic_title,
        "pending_choices": [asdict(c) for c in state.pending_choices],
        "pending_aspect": state.pending_aspect,
        "choice_lists": {k: [asdict(c) for c in v] for k, v in state.choice_lists.items()},
        "misses": state.misses,
        "updated_at": state.updated_at,
    }


def state_from_dict(data: Mapping[str, Any]) -> ConversationState:
    """The inverse of :func:`state_to_dict`; unknown or broken data gives a fresh state."""
    try:
        return ConversationState(
            topic_kind=str(data.get("topic_kind", "")),
            topic_id=str(data.get("topic_id", "")),
            topic_title=str(data.get("topic_title", "")),
            pending_choices=[Choice(**c) for c in data.get("pending_choices", [])],
            pending_aspect=data.get("pending_aspect"),
            choice_lists={
                str(k): [Choice(**c) for c in v] for k, v in data.get("choice_lists", {}).items()
            },
            misses=int(data.get("misses", 0)),
            updated_at=float(data.get("updated_at", 0.0)),
        )
    except (TypeError, ValueError, AttributeError):
        return ConversationState()
