"""Conversation state per (channel, user): what is being discussed, pending choices."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

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
